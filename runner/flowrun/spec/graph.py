"""The component graph: the rules it must follow (names, inputs, types, no cycles) and the
order its components start in. Its edges are a component's `inputs` (data) and its
`depends_on` (start order alone): both must name components, and no cycle may run
through either.

Rules read the plain document data, not the validated model, so that they still run when
pydantic has found other problems: a spec's problems are reported all at once. A value of
the wrong type is skipped here (pydantic reports it). The order is read from the validated
model, by the supervisor (which starts components in it) and by the reload plan (which
shows what it would start), so neither depends on the other for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from flowrun.spec.messages import Finding
from flowrun.spec.model import ComponentSpec
from flowrun.spec.modelwalk import did_you_mean
from flowrun.spec.nodes import Loc

COMPONENTS: Loc = ("spec", "components")
MAX_COMPONENT_NAME = 63
COMPONENT_NAME_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9_-]{{0,{MAX_COMPONENT_NAME - 1}}}$"
_NAME = re.compile(COMPONENT_NAME_PATTERN)
_NEEDS_INPUTS = ("processor", "sink")


def components_of(data: Any) -> dict[str, dict[str, Any]]:
    """The component mappings of the document (components of the wrong shape left out)."""
    spec = data.get("spec") if isinstance(data, dict) else None
    components = spec.get("components") if isinstance(spec, dict) else None
    if not isinstance(components, dict):
        return {}
    return {name: body for name, body in components.items() if isinstance(body, dict)}


EDGE_KEYS = ("inputs", "depends_on")


def inputs_of(component: dict[str, Any], key: str = "inputs") -> list[Any]:
    inputs = component.get(key)
    return inputs if isinstance(inputs, list) else []


def _edges_of(component: dict[str, Any]) -> Iterator[tuple[str, int, Any]]:
    for key in EDGE_KEYS:
        for index, target in enumerate(inputs_of(component, key)):
            yield key, index, _as_name(target)


def _as_name(target: Any) -> Any:
    """A target as the model will hold it: a number becomes the text it was written with
    (the model coerces numbers to strings, `inputs: [007]` to '007'), so these rules judge
    the same name."""
    if isinstance(target, int | float) and not isinstance(target, bool):
        return str(target)
    return target


def prerequisites(spec: ComponentSpec) -> list[str]:
    """What must be ready before `spec` starts: its inputs, then its depends_on."""
    return list(dict.fromkeys([*spec.inputs, *spec.depends_on]))


def check_component_map(data: Any) -> Iterator[Finding]:
    spec = data.get("spec") if isinstance(data, dict) else None
    components = spec.get("components") if isinstance(spec, dict) else None
    if isinstance(components, dict) and not components:
        yield Finding(COMPONENTS, "no components: a pipeline needs at least one")
    for name in components if isinstance(components, dict) else ():
        if not _NAME.fullmatch(name):
            yield Finding((*COMPONENTS, name), _name_problem(name), at_key=True)


def _name_problem(name: str) -> str:
    """Why `name` cannot name a component (it names files, processes and Kubernetes
    objects), and what would."""
    rule = (
        f"use letters, digits, '-' and '_' (at most {MAX_COMPONENT_NAME}, starting with a "
        "letter or digit)"
    )
    if len(name) > MAX_COMPONENT_NAME:
        return f"component name {name[:20]!r}... is {len(name)} characters long: {rule}"
    return f"invalid component name {name!r}: {rule}"


def check_inputs(data: Any) -> Iterator[Finding]:
    """inputs and depends_on name other components, each once."""
    components = components_of(data)
    for name, component in components.items():
        for key in EDGE_KEYS:
            seen: set[str] = set()
            for index, written in enumerate(inputs_of(component, key)):
                where: Loc = (*COMPONENTS, name, key, index)
                source = _as_name(written)
                if not isinstance(source, str):
                    continue
                if source in seen:
                    yield Finding(where, f"{source!r} is listed twice")
                elif source not in components:
                    hint = did_you_mean(source, [other for other in components if other != name])
                    if source is not written:
                        hint += " (written as a number: put the name in quotes)"
                    yield Finding(where, f"no component named {source!r}{hint}")
                seen.add(source)


def check_types(data: Any) -> Iterator[Finding]:
    for name, component in components_of(data).items():
        kind, inputs = component.get("type"), inputs_of(component)
        where = (*COMPONENTS, name, "inputs")
        if kind == "source" and inputs:
            yield Finding(where, "a source reads no inputs; remove them or make it a processor")
        elif kind in _NEEDS_INPUTS and not inputs:
            yield Finding(where, f"a {kind} needs at least one input (a component it reads from)")


_CYCLE_WORDS = {
    frozenset({"inputs"}): "reads from",
    frozenset({"depends_on"}): "depends on",
    frozenset(EDGE_KEYS): "reads from or depends on",
}


def check_cycles(data: Any) -> Iterator[Finding]:
    """Each dependency cycle once, named in full, at the input that closes it."""
    components = components_of(data)
    edges = {
        name: [
            (key, i, s) for key, i, s in _edges_of(body) if isinstance(s, str) and s in components
        ]
        for name, body in components.items()
    }
    state: dict[str, str] = {}
    reported: set[frozenset[str]] = set()
    for start in edges:
        if start not in state:
            yield from _cycles_from(start, edges, state, reported)


def _cycles_from(
    start: str,
    edges: dict[str, list[tuple[str, int, str]]],
    state: dict[str, str],
    reported: set[frozenset[str]],
) -> Iterator[Finding]:
    # Iterative depth-first search: a generated spec may chain thousands of components.
    path: list[str] = [start]
    entered_by: list[str] = [""]  # the key of the edge that led to each node of the path
    pending: list[Iterator[tuple[str, int, str]]] = [iter(edges[start])]
    state[start] = "open"
    while pending:
        step = next(pending[-1], None)
        if step is None:
            state[path.pop()] = "done"
            entered_by.pop()
            pending.pop()
            continue
        key, index, target = step
        current = path[-1]
        if state.get(target) == "open":
            at = path.index(target)
            cycle = path[at:]
            if frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                names = [current, *cycle[: cycle.index(current)], current]
                how = _CYCLE_WORDS[frozenset({key, *entered_by[at + 1 :]})]
                message = f"dependency cycle {' -> '.join(names)} (each {how} the next)"
                yield Finding((*COMPONENTS, current, key, index), message)
        elif target not in state:
            state[target] = "open"
            path.append(target)
            entered_by.append(key)
            pending.append(iter(edges[target]))


def topological_order(components: Mapping[str, ComponentSpec]) -> list[str]:
    """Names with every input and depends_on before its dependents (spec order among
    equals).

    A name that is no component of the mapping is ignored: the caller may pass a part of
    the pipeline (the components common to two revisions, say).
    """
    order: list[str] = []
    placed: set[str] = set()
    remaining = list(components)
    while remaining:
        ready = [
            name
            for name in remaining
            if all(i in placed or i not in components for i in prerequisites(components[name]))
        ]
        batch = ready or remaining[:1]  # a cycle cannot pass validation; never loop forever on one
        order.extend(batch)
        placed.update(batch)
        remaining = [name for name in remaining if name not in placed]
    return order
