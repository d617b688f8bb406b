"""`${VAR}` interpolation in string values, with docker compose's syntax.

`${VAR}` (must be set), `${VAR:-default}` (default when unset or empty), `${VAR-default}`
(default when unset), `${VAR:?message}` / `${VAR?message}` (an error with that message),
`$$` for a literal `$`. A `$` followed by anything else is kept as written. A default may
hold expressions itself: `${A:-${B:-x}}`.

A plain (unquoted) scalar is re-read after interpolation, so `port: ${PORT:-9464}` is the
number 9464, exactly as if it had been written.

The values put in for variables whose names look secret are collected, so that `render`
and error messages can mask them wherever they ended up (a URL, a command argument).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import NamedTuple

from flowrun.secrets import is_secret
from flowrun.spec.nodes import Entry, Loc, Map, Node, Problem, Seq
from flowrun.spec.scalars import resolve_plain

_EXPR = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>.*))?", re.S)
_UNTERMINATED = "unterminated '${': close it with '}' (write '$$' for a '$')"


class InterpolationError(ValueError):
    """A `${}` expression that cannot be replaced; the message says what to do."""


class Interpolated(NamedTuple):
    node: Node
    problems: list[Problem]
    secrets: frozenset[str]
    """Values put in for secret-looking variables (see flowrun.secrets.is_secret)."""


def interpolate_text(text: str, environ: Mapping[str, str], secrets: set[str] | None = None) -> str:
    """`text` with every `${}` expression replaced from `environ`.

    A default or message may hold expressions of its own (`${A:-${B:-x}}`), as in docker
    compose; they are replaced only when used. The values put in for secret-looking
    variables are added to `secrets`.
    """
    if "$" not in text:
        return text
    pieces: list[str] = []
    done = 0
    while (start := text.find("$", done)) != -1:
        pieces.append(text[done:start])
        following = text[start + 1 : start + 2]
        if following == "$":
            pieces.append("$")
            done = start + 2
        elif following == "{":
            end = _closing_brace(text, start + 2)
            pieces.append(_replacement(text[start + 2 : end], environ, secrets))
            done = end + 1
        else:
            pieces.append("$")
            done = start + 1
    pieces.append(text[done:])
    return "".join(pieces)


def _closing_brace(text: str, index: int) -> int:
    """The index of the `}` closing an expression whose text starts at `index`."""
    depth = 0
    while index < len(text):
        if text.startswith(("$$", "${"), index):
            depth += text[index + 1] == "{"
            index += 2
            continue
        if text[index] == "}":
            if depth == 0:
                return index
            depth -= 1
        index += 1
    raise InterpolationError(_UNTERMINATED)


def _replacement(expression: str, environ: Mapping[str, str], secrets: set[str] | None) -> str:
    """The text `${expression}` is replaced with."""
    parsed = _EXPR.fullmatch(expression)
    if parsed is None:
        raise InterpolationError(
            f"invalid interpolation '${{{expression}}}': write ${{NAME}} or ${{NAME:-default}}"
        )
    name, operator, argument = parsed.group("name", "op", "arg")
    value = environ.get(name)
    if value is None or (value == "" and operator is not None and operator.startswith(":")):
        value = _when_unset(name, operator, argument or "", environ, secrets)
    _check_text(name, value)
    if secrets is not None and is_secret(name, value):
        secrets.add(value)
    return value


def _check_text(name: str, value: str) -> None:
    """A spec is UTF-8 text, and so is what goes into it. A variable whose bytes are not
    UTF-8 reaches Python with a surrogate for each such byte, which nothing downstream can
    write (the revision, render, FLOWRUN_CONFIG): it was a traceback. The value itself is
    not quoted: it may be a secret."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        char = ord(value[error.start])
        byte = f"byte 0x{char - 0xDC00:02x}" if 0xDC80 <= char <= 0xDCFF else f"U+{char:04X}"
        raise InterpolationError(
            f"variable {name} is not UTF-8 text ({byte} at offset {error.start}); "
            f"set it to UTF-8 text, e.g. convert it with iconv"
        ) from error


def _when_unset(
    name: str,
    operator: str | None,
    argument: str,
    environ: Mapping[str, str],
    secrets: set[str] | None,
) -> str:
    """The default given for an unset variable; InterpolationError if it has none."""
    if operator is None:
        raise InterpolationError(
            f"variable {name} is not set; set it in the environment or in .env, "
            f"or give a default: ${{{name}:-value}}"
        )
    argument = interpolate_text(argument, environ, secrets)
    if operator.endswith("?"):
        raise InterpolationError(f"variable {name} is required: {argument or 'it is not set'}")
    return argument


class _Walk(NamedTuple):
    environ: Mapping[str, str]
    skip: frozenset[Loc]
    problems: list[Problem]
    secrets: set[str]


def interpolate_tree(
    node: Node, environ: Mapping[str, str], loc: Loc = (), *, skip: frozenset[Loc] = frozenset()
) -> Interpolated:
    """A copy of the tree with every string value interpolated, the problems met, and the
    secret values put in.

    Subtrees at a location in `skip` are left as written (the raw profiles).
    """
    walk = _Walk(environ, skip, [], set())
    return Interpolated(_interpolate(node, loc, walk), walk.problems, frozenset(walk.secrets))


def _interpolate(node: Node, loc: Loc, walk: _Walk) -> Node:
    if loc in walk.skip:
        return node
    # Nodes are rebuilt only where a value changed: most of a spec has no ${}.
    if isinstance(node, Map):
        entries = {
            key: Entry(entry.key_mark, _interpolate(entry.node, (*loc, key), walk))
            for key, entry in node.entries.items()
        }
        changed = any(entries[key].node is not entry.node for key, entry in node.entries.items())
        return replace(node, entries=entries) if changed else node
    if isinstance(node, Seq):
        items = [_interpolate(item, (*loc, index), walk) for index, item in enumerate(node.items)]
        changed = any(new is not old for new, old in zip(items, node.items, strict=True))
        return replace(node, items=items) if changed else node
    if not isinstance(node.value, str) or "$" not in node.value:
        return node
    try:
        text = interpolate_text(node.value, walk.environ, walk.secrets)
    except InterpolationError as error:
        walk.problems.append(Problem(loc, node.mark, str(error), node.profile))
        return node
    value = resolve_plain(text) if node.plain and text != node.value else text
    return replace(node, value=value, text=text)
