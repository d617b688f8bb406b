"""Profiles: partial specs deep-merged over `spec`, selected by --profile or FLOWRUN_PROFILE.

Mappings merge key by key (so a profile overrides one component by name, or one field of
it); anything else (a scalar, a list, null) replaces what the base had. Every node taken
from a profile is marked with the profile's name, so that a problem it causes is reported
at the profile's line, "(from profile 'x')".
"""

from __future__ import annotations

from dataclasses import replace

from flowrun.spec.model import PipelineBody
from flowrun.spec.modelwalk import check_keys, did_you_mean
from flowrun.spec.nodes import (
    Entry,
    Loc,
    Map,
    Mark,
    Node,
    Problem,
    Scalar,
    locate,
    node_at,
    with_profile,
)

PROFILES: Loc = ("spec", "profiles")
_OVERRIDABLE = ", ".join(key for key in PipelineBody.model_fields if key != "profiles")


def profiles_map(root: Node) -> Map | None:
    node = node_at(root, PROFILES)
    return node if isinstance(node, Map) else None


def profile_names(root: Node) -> list[str]:
    profiles = profiles_map(root)
    return list(profiles.entries) if profiles else []


def normalise_profiles(root: Node) -> Node:
    """An empty profile (`flowctl:` with nothing under it) is an empty mapping."""
    profiles, spec = profiles_map(root), node_at(root, ("spec",))
    if profiles is None or not isinstance(root, Map) or not isinstance(spec, Map):
        return root
    entries = {
        name: Entry(e.key_mark, Map(e.node.mark) if _is_null(e.node) else e.node)
        for name, e in profiles.entries.items()
    }
    spec = _with_entry(spec, "profiles", replace(profiles, entries=entries))
    return _with_entry(root, "spec", spec)


def check_profiles(root: Node, selected: str | None) -> list[Problem]:
    """Shape problems of every profile, and unknown keys of those not selected.

    The selected profile's keys are checked after merging, where their path is the one
    they override and the message says which profile they came from.
    """
    problems: list[Problem] = []
    profiles = profiles_map(root)
    for name, entry in profiles.entries.items() if profiles else ():
        loc, node = (*PROFILES, name), entry.node
        if not isinstance(node, Map):
            message = f"a profile is a mapping of overrides ({_OVERRIDABLE})"
            problems.append(Problem(loc, node.mark, message))
            continue
        if "profiles" in node.entries:
            nested = node.entries["profiles"].key_mark
            problems.append(Problem((*loc, "profiles"), nested, "profiles cannot be nested"))
        if name != selected:
            problems += check_keys(_without(node, "profiles"), PipelineBody, loc)
        for component, key_mark in _stray_overrides(root, node):
            hint = did_you_mean(component, _base_components(root))
            message = (
                f"no component {component!r} to override{hint}; "
                "a component added by a profile needs type and command"
            )
            problems.append(Problem((*loc, "components", component), key_mark, message))
    return problems


def _base_components(root: Node) -> list[str]:
    components = node_at(root, ("spec", "components"))
    return list(components.entries) if isinstance(components, Map) else []


def _stray_overrides(root: Node, profile: Map) -> list[tuple[str, Mark]]:
    """Components a profile overrides that the spec does not define (typos, mostly)."""
    components = profile.get("components")
    if not isinstance(components, Map):
        return []
    known = set(_base_components(root))
    return [
        (name, entry.key_mark)
        for name, entry in components.entries.items()
        if name not in known and not (isinstance(entry.node, Map) and "type" in entry.node.entries)
    ]


def _without_strays(root: Node, profile: Map) -> Map:
    strays = {name for name, _ in _stray_overrides(root, profile)}
    components = profile.get("components")
    if not strays or not isinstance(components, Map):
        return profile
    kept = {k: e for k, e in components.entries.items() if k not in strays}
    return _with_entry(profile, "components", replace(components, entries=kept))


def apply_profile(root: Node, name: str, chosen_by: str) -> tuple[Node, list[Problem]]:
    """The document with profile `name` merged over its `spec`."""
    profiles, spec = profiles_map(root), node_at(root, ("spec",))
    if profiles is None or name not in profiles.entries:
        return root, [_unknown_profile(root, name, chosen_by)]
    overlay = profiles.entries[name].node
    if not isinstance(root, Map) or not isinstance(spec, Map) or not isinstance(overlay, Map):
        return root, []
    # Stray overrides were reported by check_profiles; merged they would only add noise.
    marked = with_profile(_without_strays(root, _without(overlay, "profiles")), name)
    return _with_entry(root, "spec", merge(spec, marked)), []


def merge(base: Node, overlay: Node) -> Node:
    """`overlay` deep-merged over `base`; mappings merge, anything else replaces."""
    if not isinstance(base, Map) or not isinstance(overlay, Map):
        return overlay
    entries = dict(base.entries)
    for key, entry in overlay.entries.items():
        old = entries.get(key)
        if old is not None and isinstance(old.node, Map) and isinstance(entry.node, Map):
            entries[key] = Entry(old.key_mark, merge(old.node, entry.node))
        else:
            entries[key] = entry
    return replace(base, entries=entries)


def _unknown_profile(root: Node, name: str, chosen_by: str) -> Problem:
    known = profile_names(root)
    mark, _ = locate(root, PROFILES)
    listing = f"known profiles: {', '.join(known)}" if known else "this spec defines no profiles"
    message = f"unknown profile {name!r} (chosen by {chosen_by}){did_you_mean(name, known)}; "
    return Problem(PROFILES, mark, message + listing)


def _is_null(node: Node) -> bool:
    return isinstance(node, Scalar) and node.value is None


def _without(node: Map, key: str) -> Map:
    if key not in node.entries:
        return node
    return replace(node, entries={k: e for k, e in node.entries.items() if k != key})


def _with_entry(node: Map, key: str, value: Node) -> Map:
    old = node.entries.get(key)
    mark = old.key_mark if old else Mark(node.mark.line, node.mark.column)
    return replace(node, entries={**node.entries, key: Entry(mark, value)})
