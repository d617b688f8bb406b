"""flowctl.v1 heartbeat metrics: Go `%v` strings, read as numbers where they are numbers.

flowctl-sdk formats every value with `%v`, so a float may arrive as `1.2345e-05` and an
integer as `42`. Numbers go through the same cleaning as the legacy API's doubles (and so
feed load, throughput and latency); a value is shown back as it was sent (bounded) unless
its number prints the same.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from flowrun.controller.sanitize import (
    KNOWN_METRICS,
    MAX_EXAMINED,
    MAX_KEY_LENGTH,
    MAX_METRIC_KEYS,
    CleanMetrics,
    clean_metrics,
    clean_text,
)

MAX_NUMBER_TEXT = 64  # longer strings are not numbers worth parsing


@dataclass(frozen=True, slots=True)
class TextMetrics:
    numbers: CleanMetrics
    """The values that are numbers, cleaned as the legacy API's doubles are."""
    texts: dict[str, str]
    """The values shown back as sent: those that are not numbers, and those whose number
    would print otherwise (`18446744073709551615` past 2^53, `1.50`, `-3` refused for load)."""


def parse_text_metrics(raw: Mapping[str, str]) -> TextMetrics:
    parsed: dict[str, float] = {}
    texts: dict[str, str] = {}
    for examined, key in enumerate(raw):  # by key: see clean_metrics
        if examined >= MAX_EXAMINED:
            # A huge map: the keys flow control needs still count, wherever they are.
            for known in KNOWN_METRICS:
                if known in raw and known not in parsed and known not in texts:
                    _take(known, raw[known], parsed, texts)
            break
        _take(key, raw[key], parsed, texts)
    numbers = clean_metrics(parsed)
    kept = numbers.values
    for key, number in parsed.items():
        value = raw[key]
        if (key not in kept or kept[key] != number or not _prints_as(value, number)) and (
            len(texts) < MAX_METRIC_KEYS and len(key) <= MAX_KEY_LENGTH
        ):
            texts[key] = clean_text(value)  # clamped, refused, or written otherwise
    dropped = len(raw) - len((parsed.keys() & kept.keys()) | texts.keys())
    return TextMetrics(CleanMetrics(kept, dropped), texts)


def _take(key: str, value: str, parsed: dict[str, float], texts: dict[str, str]) -> None:
    number = _number(value)
    if number is not None:
        parsed[key] = number
    elif len(texts) < MAX_METRIC_KEYS and len(key) <= MAX_KEY_LENGTH:
        texts[key] = clean_text(value)


def _prints_as(text: str, number: float) -> bool:
    """Whether `number` reads back as `text`: most counters are plain digits, checked
    without formatting."""
    if text.isdigit() and len(text) < 16:
        return text[0] != "0" or text == "0"
    return format_number(number) == text


def format_number(value: float) -> str:
    """How Go's `%v` would print it: integers without a fraction, others shortest-exact."""
    if value.is_integer() and abs(value) <= 2**53:
        return str(int(value))
    return repr(value)


def _number(text: str) -> float | None:
    if len(text) > MAX_NUMBER_TEXT:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    # "NaN" and "Inf" parse, but are no measurement: keep them as the text they were.
    return value if math.isfinite(value) else None
