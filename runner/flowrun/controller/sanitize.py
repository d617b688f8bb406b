"""Defence against what clients send: bounded, finite, non-negative where it matters.

A heartbeat's metrics feed the backpressure decision and the pipeline totals, so one
buggy or hostile client must not be able to crash the controller, exhaust its memory or
turn a total into NaN. Bad values are dropped, extreme ones clamped, maps truncated.

Real clients report under their own names (`ALIASES`): the legacy obsrvr client sends
`current_inflight`, `inflight_utilization` (a fraction of max_inflight, 0..1, as its
name and its code's inflight / max_inflight say), `events_per_second` and
`processing_latency_ms`. Each fills flowrun's own name when the client did not send that
one; both stay in the service's metrics as sent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

MAX_METRIC_KEYS = 64
MAX_KEY_LENGTH = 128
MAX_EXAMINED = 4 * MAX_METRIC_KEYS
MAX_LOAD = 10.0
# Counters (bytes written, events processed) keep every integer a double holds exactly.
MAX_VALUE = float(2**53)
MAX_METADATA_KEYS = 64
MAX_TEXT_LENGTH = 1024
MAX_INPUTS = 64

INFLIGHT = "inflight"
MAX_INFLIGHT = "max_inflight"
LOAD = "load"
THROUGHPUT = "throughput"
LATENCY = "latency_seconds"
# client's name -> (flowrun's name, factor to flowrun's unit)
ALIASES: dict[str, tuple[str, float]] = {
    "current_inflight": (INFLIGHT, 1.0),
    "inflight_utilization": (LOAD, 1.0),
    "events_per_second": (THROUGHPUT, 1.0),
    "processing_latency_ms": (LATENCY, 1e-3),
}
KNOWN_METRICS = (INFLIGHT, MAX_INFLIGHT, LOAD, THROUGHPUT, LATENCY, *ALIASES)
LOAD_KEYS = (
    LOAD,
    INFLIGHT,
    *(alias for alias, (name, _) in ALIASES.items() if name in (LOAD, INFLIGHT)),
)
"""The metrics a service's load is derived from (`CleanMetrics.derived_load`)."""
_KNOWN_SET = frozenset(KNOWN_METRICS)
_ALIAS_SET = frozenset(ALIASES)


@dataclass(frozen=True, slots=True)
class CleanMetrics:
    values: dict[str, float]
    dropped: int

    def derived_load(self, registered_max_inflight: int) -> float | None:
        """The service's load: as reported, else inflight / max_inflight, else unknown."""
        if LOAD in self.values:
            return self.values[LOAD]
        inflight = self.values.get(INFLIGHT)
        if inflight is None:
            return None
        capacity = self.values.get(MAX_INFLIGHT) or registered_max_inflight
        if capacity <= 0:
            return None
        return min(inflight / capacity, MAX_LOAD)


def clean_metrics(raw: Mapping[str, float]) -> CleanMetrics:
    """One pass over at most MAX_EXAMINED entries (bounded work on a map of garbage).

    Known keys are kept apart from the rest so truncation never loses the ones flow
    control needs, even when they come late in a huge map.
    """
    known: dict[str, float] = {}
    others: dict[str, float] = {}
    room = MAX_METRIC_KEYS - len(KNOWN_METRICS)
    # Keys, then each value by its key: a protobuf map's items() is a Python-level view,
    # while its iteration and lookup are C (this runs on every heartbeat).
    for examined, key in enumerate(raw):
        if examined >= MAX_EXAMINED:
            _find_known(raw, known)
            break
        value = raw[key]
        if key in _KNOWN_SET:
            _keep_known(known, key, value)
        elif len(others) < room and len(key) <= MAX_KEY_LENGTH and math.isfinite(value):
            others[key] = max(-MAX_VALUE, min(value, MAX_VALUE))
    dropped = len(raw) - len(known) - len(others)
    if not _ALIAS_SET.isdisjoint(known):
        _fill_from_aliases(known)
    known.update(others)
    return CleanMetrics(known, dropped=dropped)


def _fill_from_aliases(known: dict[str, float]) -> None:
    for alias, (name, factor) in ALIASES.items():
        if alias in known and name not in known:
            _keep_known(known, name, known[alias] * factor)


def _find_known(raw: Mapping[str, float], known: dict[str, float]) -> None:
    for key in KNOWN_METRICS:
        if key not in known and key in raw:
            _keep_known(known, key, raw[key])


def _keep_known(known: dict[str, float], key: str, value: float) -> None:
    if math.isfinite(value) and value >= 0:
        known[key] = min(value, MAX_LOAD if key == LOAD else MAX_VALUE)


def load_refused(raw: Mapping[str, object], metrics: CleanMetrics) -> bool:
    """The heartbeat sent values to derive a load from and cleaning dropped every one (NaN,
    infinite, negative, not a number): the service's previous load stands."""
    kept = metrics.values
    return not any(key in kept for key in LOAD_KEYS) and any(key in raw for key in LOAD_KEYS)


def clean_text(text: str) -> str:
    return text[:MAX_TEXT_LENGTH]


def clean_metadata(raw: Mapping[str, str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for key, value in raw.items():
        if len(kept) >= MAX_METADATA_KEYS:
            break
        if len(key) <= MAX_KEY_LENGTH:
            kept[key] = clean_text(value)
    return kept


def parse_inputs(text: str) -> tuple[str, ...]:
    """`"a, b,,a"` -> `("a", "b")`: comma-separated component ids, blanks and repeats dropped."""
    names = (name.strip() for name in text.split(","))
    unique = dict.fromkeys(name for name in names if name)
    return tuple(list(unique)[:MAX_INPUTS])
