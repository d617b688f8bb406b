"""Rates over a sliding window, computed from cumulative counters sampled at read time.

The hot path (FlowController.release) only adds to counters: no clock call, no
allocation. Each `read` samples the counters; the rate is the difference to the newest
sample at least one window old (or to the start), so it covers about the last window
when reads are regular (heartbeats, scrapes) and the time since the last read otherwise.
Not thread-safe by itself: its owner holds a lock around it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Totals:
    items: int = 0
    latency_sum: float = 0.0
    latency_count: int = 0


class SlidingWindow:
    def __init__(self, window_seconds: float, clock: Callable[[], float]) -> None:
        if window_seconds < 1:
            raise ValueError(f"window_seconds must be >= 1, got {window_seconds}")
        self._span = window_seconds
        self._clock = clock
        self._samples: deque[tuple[float, Totals]] = deque([(clock(), Totals())])

    def read(self, totals: Totals) -> tuple[float, float]:
        """(items per second, mean latency in seconds) since about one window ago."""
        now = self._clock()
        samples = self._samples
        while len(samples) > 1 and samples[1][0] <= now - self._span:
            samples.popleft()
        since, base = samples[0]
        if now - samples[-1][0] >= 0.05:  # bound the deque under rapid reads
            samples.append((now, totals))
        # At least 1s, so that one item a moment after start is not 1000 items/s.
        elapsed = max(1.0, now - since)
        count = totals.latency_count - base.latency_count
        latency = (totals.latency_sum - base.latency_sum) / count if count else 0.0
        return (totals.items - base.items) / elapsed, latency
