"""The spec's numeric fields: `Integer` and `Number` take a number as YAML reads it, never text.

A spec is read the YAML 1.2 way (flowrun.spec.scalars): `"9464"` is text and `true` a
boolean. A string field takes a number as its text (`VER: 1.10`) because a number has one
spelling as text; the reverse, pydantic's lax reading of `metrics_port: "9464"` as 9464 (and
of `true` as 1), is a guess the published JSON Schema refuses, and so do Kubernetes and the
Go and Rust tools users know. Refused here too, so editors and `flowrun validate` agree; the
message says to drop the quotes (flowrun.spec.messages). A whole float (`5.0`) stays an
integer, as it is in JSON Schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError


def _not_text(error_type: str, message: str) -> Callable[[Any], Any]:
    """A check raising pydantic's own error `error_type` for text or a boolean, so that the
    message reads as any type error of that field."""

    def check(value: Any) -> Any:
        if isinstance(value, str | bool):
            raise PydanticCustomError(error_type, message)
        return value

    return check


_NOT_TEXT_INT = BeforeValidator(_not_text("int_type", "Input should be a valid integer"))
_NOT_TEXT_FLOAT = BeforeValidator(_not_text("float_type", "Input should be a valid number"))

Integer = Annotated[int, _NOT_TEXT_INT]
IntegerOrNull = Annotated[int | None, _NOT_TEXT_INT]
"""An optional integer. Checked around the union, not inside it (`Integer | None`), so that
the field's bounds stay JSON Schema bounds (pydantic writes `ge` otherwise)."""
Number = Annotated[float, _NOT_TEXT_FLOAT]
