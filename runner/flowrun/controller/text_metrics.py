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
    sent: dict[str, str] = {}
    for examined, key in enumerate(raw):  # by key: see clean_metrics
        if examined >= MAX_EXAMINED:
            # A huge map: the keys flow control needs still count, wherever they are.
            sent.update((known, raw[known]) for known in KNOWN_METRICS if known in raw)
            break
        sent[key] = raw[key]
    parsed = {key: number for key, value in sent.items() if (number := _number(value)) is not None}
    numbers = clean_metrics(parsed)
    texts: dict[str, str] = {}
    for key, value in sent.items():
        kept = numbers.values.get(key)
        shown_otherwise = kept is None or format_number(kept) != value
        if shown_otherwise and len(texts) < MAX_METRIC_KEYS and len(key) <= MAX_KEY_LENGTH:
            texts[key] = clean_text(value)
    kept_keys = sum(1 for key in sent if key in numbers.values or key in texts)
    return TextMetrics(CleanMetrics(numbers.values, len(raw) - kept_keys), texts)


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
