"""Pydantic's validation errors rewritten as messages a spec author can act on."""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from flowrun.spec.model import ENDPOINT_PATTERN, PIPELINE_NAME_PATTERN, QUANTITY_PATTERN
from flowrun.spec.modelwalk import did_you_mean, model_at, unknown_key_message
from flowrun.spec.nodes import Loc
from flowrun.spec.scalars import resolve_plain


class Finding(NamedTuple):
    """A problem at `loc`; `at_key` when it is about the key rather than its value."""

    loc: Loc
    message: str
    at_key: bool = False


_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "finite_number": "a finite number",
}
_NUMBER_TYPES = frozenset({"int_type", "int_parsing", "float_type", "float_parsing"})
_BOUNDS = {
    "greater_than_equal": ("ge", ">="),
    "greater_than": ("gt", ">"),
    "less_than_equal": ("le", "<="),
    "less_than": ("lt", "<"),
}


def describe(value: Any) -> str:
    """A value as a user wrote it: `null`, `true`, `'text'`, `8080`, `a list`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str) and len(value) > 40:
        return repr(value[:37] + "...")
    return repr(value)


def _quoted_number(kind: str, value: Any) -> bool:
    """Whether `value` is text that, written without quotes, is a number of this `kind`."""
    if not isinstance(value, str) or not value.strip():
        return False
    number = resolve_plain(value.strip())
    if isinstance(number, bool) or not isinstance(number, int | float):
        return False
    return kind.startswith("float") or float(number).is_integer()


def finding_from_error(error: ErrorDetails, root_model: type[BaseModel]) -> Finding:
    kind, loc, value = error["type"], tuple(error["loc"]), error.get("input")
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind == "missing":
        return Finding(loc[:-1], f"missing required key {loc[-1]!r}")
    if kind == "extra_forbidden":
        parent = model_at(root_model, loc[:-1])
        message = unknown_key_message(str(loc[-1]), parent) if parent else "unknown key"
        return Finding(loc, message, at_key=True)
    return Finding(loc, _value_message(kind, ctx, value, str(error["msg"])))


def _value_message(kind: str, ctx: dict[str, Any], value: Any, default: str) -> str:
    got = f"got {describe(value)}"
    if kind in _EXPECTED:
        hint = ""
        if kind == "string_type" and isinstance(value, bool):
            hint = " (quote it to mean the text)"
        elif kind in _NUMBER_TYPES and _quoted_number(kind, value):
            # `metrics_port: "9464"`: YAML reads text, and a number field takes no text.
            hint = f" (write {value.strip()} without quotes)"
        elif kind == "list_type" and isinstance(value, str) and " " in value.strip():
            # `command: python sink.py`: no shell splits it.
            hint = f" (write it as a list: [{', '.join(value.split())}])"
        return f"expected {_EXPECTED[kind]}, {got}{hint}"
    if kind == "enum":
        expected = str(ctx["expected"]).replace(" or ", ", ")
        choices = [choice.strip(" '") for choice in expected.split(",")]
        hint = did_you_mean(str(value), choices) if isinstance(value, str) else ""
        return f"must be one of {', '.join(choices)}, {got}{hint}"
    if kind == "literal_error":
        return f"must be {ctx['expected']}, {got}"
    if kind in _BOUNDS:
        name, symbol = _BOUNDS[kind]
        return f"must be {symbol} {ctx[name]}, {got}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind == "string_pattern_mismatch":
        if ctx.get("pattern") == ENDPOINT_PATTERN:
            return f"expected host:port (like 127.0.0.1:8815), {got}"
        if ctx.get("pattern") == QUANTITY_PATTERN:
            return f"expected an amount as Kubernetes writes it (like 500m, 2, 256Mi), {got}"
        if ctx.get("pattern") == PIPELINE_NAME_PATTERN:
            return (
                "a pipeline name is one line of text, not blank: no line break, tab or other "
                f"control character, {got}"
            )
        return f"must match {ctx.get('pattern')}, {got}"
    if kind == "value_error":
        return str(ctx.get("error", default))
    return default[:1].lower() + default[1:]
