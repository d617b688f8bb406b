"""Every field of the spec says how a hot reload applies a change to it (`x-reload`), and
its schema description says the same in words."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any, Literal, Union, get_args, get_origin

from flowrun.reload.diff import reload_mark
from flowrun.spec.model import COMPONENT, LIVE, PIPELINE, PipelineBody, PipelineSpec
from flowrun.spec.schema import build_schema
from pydantic import BaseModel

RELOAD_TEXT = {
    LIVE: "Reload: applied live",
    COMPONENT: "Reload: a change restarts this component alone",
    PIPELINE: "Reload: a change restarts the whole pipeline",
}
# Not fields a reload can see change: the profiles are merged by the loader (the revision
# and the reload diff leave them out), and a Literal header cannot differ in a valid spec.
NOT_RELOADED = {("PipelineBody", "profiles")}


def _members(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        return [arg for arg in get_args(annotation) if arg is not type(None)]
    return [annotation]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds directly or as the values of a mapping (the components)."""
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
        if get_origin(member) is dict:
            value = get_args(member)[1]
            if isinstance(value, type) and issubclass(value, BaseModel):
                return value
    return None


def _leaves(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[tuple[str, str, Any]]:
    """(model name, field name, FieldInfo) of every field that is not a plain container."""
    if model in seen:
        return
    seen.add(model)
    for name, info in model.model_fields.items():
        nested = _model_in(info.annotation)
        if nested is not None:
            yield from _leaves(nested, seen)
            if reload_mark(info) is None:
                continue  # a container: its own fields carry the marks
        yield model.__name__, name, info


def test_every_field_has_a_reload_mark() -> None:
    unmarked = [
        f"{model}.{name}"
        for model, name, info in _leaves(PipelineSpec, set())
        if reload_mark(info) is None
        and (model, name) not in NOT_RELOADED
        and get_origin(info.annotation) is not Literal
    ]
    assert unmarked == [], f"fields without x-reload (use reloads(...) in model.py): {unmarked}"


def test_marks_are_known_classes() -> None:
    marks = {reload_mark(info) for _, _, info in _leaves(PipelineSpec, set())} - {None}
    assert marks == {LIVE, COMPONENT, PIPELINE}


def test_schema_descriptions_state_the_reload_class() -> None:
    defs = build_schema()["$defs"]
    checked: set[str] = set()
    for model, name, info in _leaves(PipelineSpec, set()):
        mark = reload_mark(info)
        if mark is None:
            continue
        prop = defs[model]["properties"][info.alias or name]
        assert prop["x-reload"] == mark, f"{model}.{name}"
        assert RELOAD_TEXT[mark] in prop["description"], f"{model}.{name}: {prop['description']}"
        checked.add(model)
    assert checked == {  # the walk reached every section, the components' included
        "Metadata",
        "ControllerConfig",
        "TLSConfig",
        "FlowControlConfig",
        "PoolConfig",
        "MonitoringConfig",
        "ComponentSpec",
        "RestartConfig",
        "ResourcesConfig",
        "ResourceAmounts",
    }


def test_the_containers_are_what_the_walk_descends_into() -> None:
    containers = {
        name
        for name, info in PipelineBody.model_fields.items()
        if _model_in(info.annotation) is not None
    }
    assert containers == {"controller", "flow_control", "pool", "monitoring", "components"}
