"""flowctl.v1 heartbeat metrics: Go `%v` strings, read as numbers where they are numbers.

flowctl-sdk formats every value with `%v`, so a float may arrive as `1.2345e-05` and an
integer as `42`. Numbers go through the same cleaning as the legacy API's doubles (and so
feed load, throughput and latency); anything else (`true`, `2s`, a name) is kept as text,
bounded, and shown back as it was sent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from flowrun.controller.sanitize import (
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
    texts: dict[str, str]


def parse_text_metrics(raw: Mapping[str, str]) -> TextMetrics:
    numbers: dict[str, float] = {}
    texts: dict[str, str] = {}
    for examined, key in enumerate(raw):  # by key: see clean_metrics
        if examined >= MAX_EXAMINED:
            break
        value = raw[key]
        number = _number(value)
        if number is not None:
            numbers[key] = number
        elif len(texts) < MAX_METRIC_KEYS and len(key) <= MAX_KEY_LENGTH:
            texts[key] = clean_text(value)
    cleaned = clean_metrics(numbers)
    dropped = cleaned.dropped + len(raw) - len(numbers) - len(texts)
    return TextMetrics(CleanMetrics(cleaned.values, dropped), texts)


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
