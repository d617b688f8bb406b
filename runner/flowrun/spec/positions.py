"""A YAML loader that keeps the line and column of every node.

It builds the node tree from libyaml's event stream itself (no recursion, so no deep
document can overflow the stack) and refuses what a spec never needs: duplicate keys,
more than one document, unsupported tags, nesting deeper than MAX_DEPTH and alias
expansions ("billion laughs") larger than MAX_NODES, each detected while reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from flowrun.spec.nodes import Entry, Loc, Map, Mark, Node, Problem, Scalar, Seq
from flowrun.spec.scalars import resolve_plain, resolve_tagged
from flowrun.spec.syntax_hints import syntax_hint

MAX_DEPTH = 64
MAX_NODES = 250_000
_NOWHERE = Mark(0, 0)
_PARSER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_KEY = "<<"


class _Abort(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _mark(event: Any) -> Mark:
    return Mark(event.start_mark.line + 1, event.start_mark.column + 1)


@dataclass
class _MapFrame:
    node: Map
    anchor: str | None
    key: str | None = None
    key_mark: Mark = _NOWHERE
    skip_value: bool = False
    merging: bool = False  # the key is a plain `<<`; a quoted '<<' is an ordinary key
    merges: list[Node] = field(default_factory=list)


@dataclass
class _SeqFrame:
    node: Seq
    anchor: str | None


class _Composer:
    def __init__(self) -> None:
        self.stack: list[_MapFrame | _SeqFrame] = []
        self.anchors: dict[str, Node] = {}
        self.root: Node | None = None
        self.documents = 0
        self.problems: list[Problem] = []

    def loc(self) -> Loc:
        parts: list[str | int] = []
        for frame in self.stack:
            if isinstance(frame, _SeqFrame):
                parts.append(len(frame.node.items))
            elif frame.key is not None:
                parts.append(frame.key)
        return tuple(parts)

    def feed(self, event: Any) -> None:
        if isinstance(event, yaml.ScalarEvent):
            self.add(self.scalar(event), event.anchor)
        elif isinstance(event, yaml.AliasEvent):
            self.add(self.alias(event), None)
        elif isinstance(event, yaml.MappingStartEvent):
            self.check_tag(event, "map")
            self.push(_MapFrame(Map(_mark(event)), event.anchor), event)
        elif isinstance(event, yaml.SequenceStartEvent):
            self.check_tag(event, "seq")
            self.push(_SeqFrame(Seq(_mark(event)), event.anchor), event)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            frame = self.stack.pop()
            if isinstance(frame, _MapFrame):
                self.apply_merges(frame)
            self.add(frame.node, frame.anchor)
        elif isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                message = "a spec is one YAML document; remove the second '---' and what follows"
                raise _Abort(Problem((), _mark(event), message))

    def push(self, frame: _MapFrame | _SeqFrame, event: Any) -> None:
        if len(self.stack) >= MAX_DEPTH:
            message = f"nesting deeper than {MAX_DEPTH} levels; a spec never needs this"
            raise _Abort(Problem((), _mark(event), message))
        self.stack.append(frame)

    def check_tag(self, event: Any, kind: str) -> None:
        if event.tag is not None and event.tag not in ("!", f"tag:yaml.org,2002:{kind}"):
            message = f"unsupported YAML tag {event.tag!r}: a spec holds only plain data"
            self.problems.append(Problem(self.loc(), _mark(event), message))

    def scalar(self, event: Any) -> Scalar:
        plain = not event.style  # libyaml says "", the pure-Python parser None
        text: str = event.value
        value: Any = text
        if event.tag is not None and event.tag != "!":
            try:
                value = resolve_tagged(event.tag, text)
            except ValueError as error:
                self.problems.append(Problem(self.loc(), _mark(event), str(error)))
        elif plain and event.implicit[0]:
            value = resolve_plain(text)
        return Scalar(_mark(event), value, text, plain)

    def alias(self, event: Any) -> Node:
        name = event.anchor
        if any(frame.anchor == name for frame in self.stack):
            message = f"alias *{name} refers to a collection that contains it"
            raise _Abort(Problem(self.loc(), _mark(event), message))
        if name not in self.anchors:
            raise _Abort(Problem(self.loc(), _mark(event), f"alias *{name} has no anchor &{name}"))
        return self.anchors[name]

    def add(self, node: Node, anchor: str | None) -> None:
        if node.size > MAX_NODES:
            message = (
                f"aliases expand this document beyond {MAX_NODES} nodes; refusing it (a YAML bomb?)"
            )
            raise _Abort(Problem(self.loc(), node.mark, message))
        if anchor is not None:
            self.anchors[anchor] = node
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        frame.node.size += node.size
        if isinstance(frame, _SeqFrame):
            frame.node.items.append(node)
        elif frame.key is None and not frame.skip_value:
            self.take_key(frame, node)
        else:
            self.take_value(frame, node)

    def take_key(self, frame: _MapFrame, node: Node) -> None:
        frame.node.size -= node.size
        if not isinstance(node, Scalar):
            message = "a mapping key must be a plain string, not a list or mapping"
            self.problems.append(Problem(self.loc(), node.mark, message))
            frame.skip_value = True
            return
        key = node.text
        frame.merging = key == _MERGE_KEY and node.plain
        first = frame.node.entries.get(key)
        if first is not None and not frame.merging:
            message = f"duplicate key {key!r} (first written at line {first.key_mark.line})"
            self.problems.append(Problem((*self.loc(), key), node.mark, message))
            frame.skip_value = True
            return
        frame.key = key
        frame.key_mark = node.mark

    def take_value(self, frame: _MapFrame, node: Node) -> None:
        if frame.skip_value:
            frame.node.size -= node.size
        elif frame.merging:
            frame.merges.append(node)
        else:
            assert frame.key is not None
            frame.node.entries[frame.key] = Entry(frame.key_mark, node)
        frame.key = None
        frame.skip_value = False
        frame.merging = False

    def apply_merges(self, frame: _MapFrame) -> None:
        """`<<: *defaults` copies keys not written in this mapping (the first merge wins)."""
        entries = frame.node.entries
        for merged in frame.merges:
            sources = merged.items if isinstance(merged, Seq) else [merged]
            for source in sources:
                if not isinstance(source, Map):
                    message = "'<<' merges a mapping (or a list of mappings) into this one"
                    self.problems.append(Problem(self.loc(), source.mark, message))
                    continue
                for key, entry in source.entries.items():
                    entries.setdefault(key, entry)


def compose(text: str) -> tuple[Node | None, list[Problem]]:
    """The document's node tree (None when it holds no document) and the problems found.

    A problem that makes reading impossible (invalid YAML, a bomb, too deep) ends the list.
    """
    composer = _Composer()
    try:
        for event in yaml.parse(text, Loader=_PARSER):
            composer.feed(event)
    except _Abort as abort:
        return None, [*composer.problems, abort.problem]
    except yaml.MarkedYAMLError as error:
        return None, [*composer.problems, _syntax_problem(error, text)]
    except yaml.YAMLError as error:
        return None, [*composer.problems, _reader_problem(error, text)]
    return composer.root, composer.problems


def _syntax_problem(error: yaml.MarkedYAMLError, text: str) -> Problem:
    mark = error.problem_mark or error.context_mark
    where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
    detail = error.problem or "syntax error"
    if error.context:
        detail = f"{detail} ({error.context})"
    lines = text.splitlines()
    line = lines[where.line - 1] if 0 < where.line <= len(lines) else ""
    hint = syntax_hint(error, line, where.column)
    return Problem((), where, f"invalid YAML: {detail}" + (f"; {hint}" if hint else ""))


def _reader_problem(error: yaml.YAMLError, text: str) -> Problem:
    position = int(getattr(error, "position", 0))
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    character = getattr(error, "character", "")
    code = character if isinstance(character, int) else ord(character[:1] or "\0")
    reason = getattr(error, "reason", "unreadable character")
    return Problem((), Mark(line, column), f"invalid YAML: {reason} (#x{code:04x})")
