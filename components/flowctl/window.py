"""A sliding window of per-second buckets: items/s and mean latency of the last N seconds.

Not thread-safe by itself: its owner (FlowController) holds a lock around it. Buckets
keep `add` O(1) and allocation-free in the common case (same second as the last add).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable


class _Bucket:
    __slots__ = ("items", "latency_count", "latency_sum", "second")

    def __init__(self, second: int) -> None:
        self.second = second
        self.items = 0
        self.latency_sum = 0.0
        self.latency_count = 0


class SlidingWindow:
    def __init__(self, window_seconds: float, clock: Callable[[], float]) -> None:
        if window_seconds < 1:
            raise ValueError(f"window_seconds must be >= 1, got {window_seconds}")
        self._span = math.ceil(window_seconds)
        self._clock = clock
        self._started = clock()
        self._buckets: deque[_Bucket] = deque()
        self._total = 0

    def add(self, items: int, latency_seconds: float | None = None) -> None:
        second = int(self._clock())
        buckets = self._buckets
        if not buckets or buckets[-1].second != second:
            buckets.append(_Bucket(second))
            self._expire(second)
        bucket = buckets[-1]
        bucket.items += items
        self._total += items
        if latency_seconds is not None and latency_seconds >= 0:
            bucket.latency_sum += latency_seconds
            bucket.latency_count += 1

    def _expire(self, second: int) -> None:
        oldest = second - self._span
        while self._buckets and self._buckets[0].second <= oldest:
            self._buckets.popleft()

    def read(self) -> tuple[float, float, int]:
        """(items per second, mean latency in seconds, items ever added)."""
        now = self._clock()
        self._expire(int(now))
        items = sum(bucket.items for bucket in self._buckets)
        count = sum(bucket.latency_count for bucket in self._buckets)
        latency = sum(bucket.latency_sum for bucket in self._buckets) / count if count else 0.0
        # The buckets cover from the start of the oldest kept second (or from the
        # window's birth, when younger) to now; at least 1s so one early item is not 1000/s.
        window_start = max(float(int(now) - self._span + 1), self._started)
        elapsed = max(1.0, now - window_start)
        return items / elapsed, latency, self._total
