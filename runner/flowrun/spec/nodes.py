"""A YAML document as a tree of located nodes.

Every node keeps the line and column it was written at, and the profile it came from once
profiles are merged, so that any problem found later (by pydantic, by a rule, by
interpolation) can be reported at the exact place a user has to edit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from flowrun.spec.scalars import with_text

EXTENSION_PREFIX = "x-"
Loc = tuple[str | int, ...]
"""A path into the document: mapping keys and sequence indexes, like pydantic's `loc`."""


class Mark(NamedTuple):
    """1-based line and column."""

    line: int
    column: int


@dataclass(slots=True, eq=False)
class Scalar:
    mark: Mark
    value: Any
    text: str
    plain: bool
    profile: str | None = None
    size: int = 1


@dataclass(slots=True, eq=False)
class Seq:
    mark: Mark
    items: list[Node] = field(default_factory=list)
    profile: str | None = None
    size: int = 1


class Entry(NamedTuple):
    key_mark: Mark
    node: Node


@dataclass(slots=True, eq=False)
class Map:
    mark: Mark
    entries: dict[str, Entry] = field(default_factory=dict)
    profile: str | None = None
    size: int = 1

    def get(self, key: str) -> Node | None:
        entry = self.entries.get(key)
        return entry.node if entry else None


Node = Scalar | Seq | Map


class Problem(NamedTuple):
    """A problem found at a node, before it is turned into a SpecIssue naming the file."""

    loc: Loc
    mark: Mark
    message: str
    profile: str | None = None


def to_data(node: Node) -> Any:
    """Plain Python data (dicts, lists, scalars) for pydantic and the rules."""
    if isinstance(node, Scalar):
        return with_text(node.value, node.text)
    if isinstance(node, Seq):
        return [to_data(item) for item in node.items]
    return {key: to_data(entry.node) for key, entry in node.entries.items()}


def walk(root: Node, loc: Loc) -> Iterator[tuple[Node, Entry | None]]:
    """The nodes along `loc` from the root, each with the entry that led to it (if a key)."""
    node: Node = root
    yield node, None
    for part in loc:
        if isinstance(node, Map) and isinstance(part, str) and part in node.entries:
            entry = node.entries[part]
            node = entry.node
            yield node, entry
        elif isinstance(node, Seq) and isinstance(part, int) and 0 <= part < len(node.items):
            node = node.items[part]
            yield node, None
        else:
            return


def locate(root: Node, loc: Loc, *, at_key: bool = False) -> tuple[Mark, str | None]:
    """Where to report a problem at `loc`: the deepest node found along it.

    With `at_key`, a problem about a key itself (unknown, duplicate) points at the key
    rather than at its value; so does a problem about a whole mapping.
    """
    steps = list(walk(root, loc))
    node, entry = steps[-1]
    found = len(steps) == len(loc) + 1
    # A mapping as a whole (a missing key, an empty map) is best shown at the key naming it.
    if entry is not None and ((at_key and found) or isinstance(node, Map)):
        return entry.key_mark, node.profile
    return node.mark, node.profile


def node_at(root: Node, loc: Loc) -> Node | None:
    steps = list(walk(root, loc))
    return steps[-1][0] if len(steps) == len(loc) + 1 else None


def with_profile(node: Node, profile: str, memo: dict[int, Node] | None = None) -> Node:
    """A copy of `node` (and everything below it) marked as coming from `profile`."""
    memo = {} if memo is None else memo
    if id(node) in memo:
        return memo[id(node)]
    copy: Node
    if isinstance(node, Scalar):
        copy = replace(node, profile=profile)
    elif isinstance(node, Seq):
        copy = replace(node, items=[with_profile(i, profile, memo) for i in node.items])
        copy.profile = profile
    else:
        entries = {
            key: Entry(entry.key_mark, with_profile(entry.node, profile, memo))
            for key, entry in node.entries.items()
        }
        copy = replace(node, entries=entries, profile=profile)
    memo[id(node)] = copy
    return copy


def without_extensions(root: Node, places: tuple[Loc, ...]) -> Node:
    """The tree without `x-` keys in the mappings at `places` (docker compose's extension
    fields, where users keep YAML anchors to reuse)."""
    for loc in sorted(places, key=len, reverse=True):
        target = node_at(root, loc)
        if not isinstance(target, Map):
            continue
        kept = {k: e for k, e in target.entries.items() if not k.startswith(EXTENSION_PREFIX)}
        root = _replace_at(root, loc, replace(target, entries=kept))
    return root


def _replace_at(root: Node, loc: Loc, new: Node) -> Node:
    if not loc:
        return new
    assert isinstance(root, Map) and isinstance(loc[0], str)
    entry = root.entries[loc[0]]
    child = _replace_at(entry.node, loc[1:], new)
    return replace(root, entries={**root.entries, loc[0]: Entry(entry.key_mark, child)})


def format_loc(loc: Loc) -> str:
    """`spec.components.sink.inputs[0]`: keys dotted, indexes in brackets."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text
