"""`${VAR}` interpolation in string values, with docker compose's syntax.

`${VAR}` (must be set), `${VAR:-default}` (default when unset or empty), `${VAR-default}`
(default when unset), `${VAR:?message}` / `${VAR?message}` (an error with that message),
`$$` for a literal `$`. A `$` followed by anything else is kept as written.

A plain (unquoted) scalar is re-read after interpolation, so `port: ${PORT:-9464}` is the
number 9464, exactly as if it had been written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from flowrun.spec.nodes import Entry, Loc, Map, Node, Problem, Seq
from flowrun.spec.scalars import resolve_plain

_TOKEN = re.compile(r"\$(?:(?P<dollar>\$)|\{(?P<expr>[^}]*)\}|(?P<open>\{))")
_EXPR = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>.*))?", re.S)


class InterpolationError(ValueError):
    """A `${}` expression that cannot be replaced; the message says what to do."""


def interpolate_text(text: str, environ: Mapping[str, str]) -> str:
    """`text` with every `${}` expression replaced from `environ`."""
    if "$" not in text:
        return text
    return _TOKEN.sub(lambda match: _replacement(match, environ), text)


def _replacement(match: re.Match[str], environ: Mapping[str, str]) -> str:
    if match.group("dollar"):
        return "$"
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
        return str(value)
    if operator is None:
        raise InterpolationError(
            f"variable {name} is not set; set it in the environment or in .env, "
            f"or give a default: ${{{name}:-value}}"
        )
    if operator.endswith("?"):
        raise InterpolationError(f"variable {name} is required: {argument or 'it is not set'}")
    return argument or ""


def interpolate_tree(
    node: Node, environ: Mapping[str, str], loc: Loc = (), *, skip: frozenset[Loc] = frozenset()
) -> tuple[Node, list[Problem]]:
    """A copy of the tree with every string value interpolated, and the problems met.

    Subtrees at a location in `skip` are left as written (the raw profiles).
    """
    problems: list[Problem] = []
    return _interpolate(node, environ, loc, skip, problems), problems


def _interpolate(
    node: Node, environ: Mapping[str, str], loc: Loc, skip: frozenset[Loc], problems: list[Problem]
) -> Node:
    if loc in skip:
        return node
    # Nodes are rebuilt only where a value changed: most of a spec has no ${}.
    if isinstance(node, Map):
        entries = {
            key: Entry(
                entry.key_mark, _interpolate(entry.node, environ, (*loc, key), skip, problems)
            )
            for key, entry in node.entries.items()
        }
        changed = any(entries[key].node is not entry.node for key, entry in node.entries.items())
        return replace(node, entries=entries) if changed else node
    if isinstance(node, Seq):
        items = [
            _interpolate(item, environ, (*loc, index), skip, problems)
            for index, item in enumerate(node.items)
        ]
        changed = any(new is not old for new, old in zip(items, node.items, strict=True))
        return replace(node, items=items) if changed else node
    if not isinstance(node.value, str) or "$" not in node.value:
        return node
    try:
        text = interpolate_text(node.value, environ)
    except InterpolationError as error:
        problems.append(Problem(loc, node.mark, str(error), node.profile))
        return node
    value = resolve_plain(text) if node.plain and text != node.value else text
    return replace(node, value=value, text=text)
