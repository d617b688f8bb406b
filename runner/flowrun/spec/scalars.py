"""Scalar types by the YAML 1.2 core schema, the one editors and Go tools (docker compose) use.

PyYAML follows YAML 1.1, where `no` is false, `1:30` is the integer 90 and `2024-01-01` a
date. A pipeline spec is read the 1.2 way instead: only `true`/`false` are booleans,
and anything that is not plainly a number, boolean or null stays the string written.

A number read into a string field (an env value, an argument) is the text written:
`VER: 1.10` is '1.10', not '1.1', as docker compose gives it. `with_text` keeps that text
on the numbers that need it.
"""

from __future__ import annotations

import math
import re
from typing import Any

_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"[-+]?[0-9]+")
_OCTAL = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")

_NUMBER_START = frozenset("0123456789+-.")
_TAG = "tag:yaml.org,2002:"
_STRING_TAGS = frozenset({"!", f"{_TAG}str"})


def resolve_plain(text: str) -> Any:
    """The value of an untagged plain scalar."""
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if text[0] not in _NUMBER_START:
        return text
    return _number(text, text)


def _number(text: str, otherwise: Any) -> Any:
    if _INT.fullmatch(text):
        return int(text, 10)
    if _OCTAL.fullmatch(text):
        return int(text[2:], 8)
    if _HEX.fullmatch(text):
        return int(text[2:], 16)
    if _FLOAT.fullmatch(text):
        return float(text)
    if _INF.fullmatch(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.fullmatch(text):
        return math.nan
    return otherwise


class _KeepsText:
    """A number that reads as the text it was written with: `str()` and `repr()` give
    `text`; arithmetic, comparison and JSON see the number."""

    text: str
    real: Any  # the plain number (int.real and float.real drop the subclass)

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__

    def __reduce__(self) -> tuple[Any, tuple[Any, str]]:
        return (with_text, (self.real, self.text))


class WrittenInt(_KeepsText, int):
    """`01234`, `0x1F`, `+5`."""

    def __new__(cls, value: int, text: str) -> WrittenInt:
        number = int.__new__(cls, value)
        number.text = text
        return number


class WrittenFloat(_KeepsText, float):
    """`1.10`, `1e3`, `.5`."""

    def __new__(cls, value: float, text: str) -> WrittenFloat:
        number = float.__new__(cls, value)
        number.text = text
        return number


def with_text(value: Any, text: str) -> Any:
    """`value`, remembering `text` when it is a number that Python would write otherwise.

    The number is unchanged for arithmetic, comparison and JSON (which writes `float.__repr__`
    and `int.__repr__`); only `str()` and `repr()` give the text, which is what pydantic's
    `coerce_numbers_to_str` and the error messages use.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or str(value) == text:
        return value
    if isinstance(value, int):
        return WrittenInt(value, text)
    return WrittenFloat(value, text)


def resolve_tagged(tag: str, text: str) -> Any:
    """The value of a scalar with an explicit tag such as `!!str 8080`.

    Raises ValueError for a tag a spec cannot hold (`!!binary`, `!!python/object`, `!Ref`).
    """
    if tag in _STRING_TAGS:
        return text
    kind = tag.removeprefix(_TAG)
    value: Any = resolve_plain(text)
    valid = {
        "int": type(value) is int,
        "float": type(value) in (int, float),
        "bool": type(value) is bool,
        "null": value is None,
    }
    if kind not in valid:
        raise ValueError(f"unsupported YAML tag {tag!r}: a spec holds only plain data")
    if not valid[kind]:
        raise ValueError(f"{text!r} is not a valid !!{kind}")
    return float(value) if kind == "float" else value
