"""`${VAR}` interpolation in string values, with docker compose's syntax.

`${VAR}` (must be set), `${VAR:-default}` (default when unset or empty), `${VAR-default}`
(default when unset), `${VAR:?message}` / `${VAR?message}` (an error with that message),
`$$` for a literal `$`. A `$` followed by anything else is kept as written.

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

_TOKEN = re.compile(r"\$(?:(?P<dollar>\$)|\{(?P<expr>[^}]*)\}|(?P<open>\{))")
_EXPR = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>.*))?", re.S)


class InterpolationError(ValueError):
    """A `${}` expression that cannot be replaced; the message says what to do."""


class Interpolated(NamedTuple):
    node: Node
    problems: list[Problem]
    secrets: frozenset[str]
    """Values put in for secret-looking variables (see flowrun.secrets.is_secret)."""


def interpolate_text(text: str, environ: Mapping[str, str], secrets: set[str] | None = None) -> str:
    """`text` with every `${}` expression replaced from `environ`.

    The values put in for secret-looking variables are added to `secrets`.
    """
    if "$" not in text:
        return text

    def substitute(match: re.Match[str]) -> str:
        name, value = _replacement(match, environ)
        if secrets is not None and name is not None and is_secret(name, value):
            secrets.add(value)
        return value

    return _TOKEN.sub(substitute, text)


def _replacement(match: re.Match[str], environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The variable named (None for `$$`) and the text it is replaced with."""
    if match.group("dollar"):
        return None, "$"
    if match.group("open"):
        raise InterpolationError("unterminated '${': close it with '}' (write '$$' for a '$')")
    expression = match.group("expr")
    parsed = _EXPR.fullmatch(expression)
    if parsed is None:
        raise InterpolationError(
            f"invalid interpolation '${{{expression}}}': write ${{NAME}} or ${{NAME:-default}}"
        )
    name, operator, argument = parsed.group("name", "op", "arg")
    value = environ.get(name)
    missing = value is None or (value == "" and operator is not None and operator[0] == ":")
    if not missing:
        return name, str(value)
    if operator is None:
        raise InterpolationError(
            f"variable {name} is not set; set it in the environment or in .env, "
            f"or give a default: ${{{name}:-value}}"
        )
    if operator.endswith("?"):
        raise InterpolationError(f"variable {name} is required: {argument or 'it is not set'}")
    return name, argument or ""


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
