"""Durations written `250ms`, `10s`, `5m`, `1h`, held as float seconds: the one parser.

Two readers share it. A spec requires the unit (`unit_required=True`, the default) so a
bare `10` is never guessed to mean seconds; an environment variable may be a bare number
of seconds (`unit_required=False`), as the Go flowctl components accept. Either way a
duration is greater than zero: every duration of the contract is an interval or a timeout.
"""

from __future__ import annotations

import re

from flowctl.errors import SettingsError

UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_UNITS = "|".join(UNIT_SECONDS)
_DURATION = re.compile(rf"^\s*(\d+(?:\.\d+)?)\s*({_UNITS})?\s*$")
DURATION_PATTERN = rf"^\s*(?=[^1-9]*[1-9])\d+(\.\d+)?\s*({_UNITS})\s*$"
"""The written form with its unit, as a JSON Schema `pattern`: what parse_duration takes
from a spec (spaces around and before the unit; greater than zero)."""
EXAMPLES = ("250ms", "10s", "5m")


def parse_duration(value: object, *, unit_required: bool = True) -> float:
    """Seconds from `value`; SettingsError (a ValueError) that says how to write it."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SettingsError("a duration must be a string like '250ms', '10s' or '5m'")
    if not isinstance(value, str):
        if unit_required:
            raise SettingsError(_no_unit(value))
        return _positive(float(value), value)
    match = _DURATION.match(value)
    if not match:
        raise SettingsError(_invalid(value, unit_required))
    number, unit = match.groups()
    if unit is None and unit_required:
        raise SettingsError(_no_unit(value))
    return _positive(float(number) * UNIT_SECONDS[unit or "s"], value)


def format_duration(seconds: float) -> str:
    """The shortest exact spelling, to the millisecond: 0.25 -> '250ms', 300 -> '5m'."""
    millis = round(seconds * 1000)
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if millis % size == 0:
            return f"{millis // size}{unit}"
    return f"{millis}ms"


def _positive(seconds: float, written: object) -> float:
    if seconds <= 0:
        raise SettingsError(f"duration {written!r} must be greater than zero")
    return seconds


def _no_unit(value: object) -> str:
    number = value.strip() if isinstance(value, str) else value
    return f"duration {value!r} has no unit: write '{number}s' or '{number}ms'"


def _invalid(value: str, unit_required: bool) -> str:
    like = ", ".join(repr(example) for example in EXAMPLES)
    how = "a number and a unit" if unit_required else "a number of seconds, or a number and a unit"
    return f"invalid duration {value!r}: write {how}, like {like}"
