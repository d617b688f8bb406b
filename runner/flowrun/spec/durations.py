"""Durations written as `250ms`, `10s`, `5m`, `1h`; held as float seconds."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
DURATION_PATTERN = r"^\d+(\.\d+)?(ms|s|m|h)$"


def parse_duration(value: Any) -> float:
    """Seconds from a duration string; plain numbers are rejected so units are never guessed."""
    if isinstance(value, bool) or not isinstance(value, str | float | int):
        raise ValueError("a duration must be a string like '250ms', '10s' or '5m'")
    if isinstance(value, int | float):
        raise ValueError(f"duration {value!r} has no unit: write '{value}s' or '{value}ms'")
    match = _DURATION.match(value)
    if not match:
        raise ValueError(
            f"invalid duration {value!r}: write a number and a unit, like '250ms', '10s', '5m'"
        )
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be greater than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact spelling: 0.25 -> '250ms', 300 -> '5m'."""
    millis = round(seconds * 1000)
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{millis}ms"


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {"type": "string", "pattern": DURATION_PATTERN, "examples": ["250ms", "10s", "5m"]}
    ),
]
