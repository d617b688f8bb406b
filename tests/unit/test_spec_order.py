"""The start order of a pipeline: every input before the components that read it."""

from __future__ import annotations

from typing import Any

from flowrun.spec.graph import topological_order
from flowrun.spec.model import ComponentSpec


def components(inputs: dict[str, list[str]]) -> dict[str, ComponentSpec]:
    def spec(name: str) -> Any:
        kind = "sink" if inputs[name] else "source"
        return {"type": kind, "command": ["run", name], "inputs": inputs[name]}

    return {name: ComponentSpec.model_validate(spec(name)) for name in inputs}


def test_inputs_come_first_whatever_the_order_of_the_spec() -> None:
    chain = components({"sink": ["proc"], "proc": ["src"], "src": []})
    assert topological_order(chain) == ["src", "proc", "sink"]


def test_components_free_to_start_keep_the_order_of_the_spec() -> None:
    fan = components({"b": [], "join": ["b", "a"], "a": [], "audit": ["a"]})
    assert topological_order(fan) == ["b", "a", "join", "audit"]


def test_an_input_outside_the_mapping_does_not_hold_a_component_back() -> None:
    part = components({"proc": ["src"], "sink": ["proc"], "src": []})
    del part["src"]  # a part of the pipeline, such as the components two revisions share
    assert topological_order(part) == ["proc", "sink"]
