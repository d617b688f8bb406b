"""The streams a component's `stream()` failed, for its health.

A reader resumes a failed stream after its last batch, so the pipeline goes on and
nothing else would say that the component keeps failing: this record makes the
component degraded for a while after each failure (the `stream` check).
"""

from __future__ import annotations

import threading
import time
from collections import deque

from flowctl.health import Check

STREAM_FAILURE_INTERVALS = 6
"""Monitoring intervals a stream failure keeps the component degraded (30 s at the
default 5 s). A failure is an instant, not a state: the runner reads /health once an
interval and the health watch logs a verdict only once it lasted a second, so the window
spans several reads for each of them to see it; twice the input checks' 3 intervals, so
that a bug hit every half minute reads as one lasting finding, not one that flaps."""
_REMEMBERED = 1000  # failure times kept to count the window: memory stays bounded


class StreamFailures:
    """Written by the Flight server's threads, read by the health check."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failed_at: deque[float] = deque(maxlen=_REMEMBERED)  # monotonic seconds
        self.total = 0
        self.last_reason = ""

    def record(self, reason: str) -> None:
        with self._lock:
            self._failed_at.append(time.monotonic())
            self.total += 1
            self.last_reason = reason

    def check(self, interval_seconds: float) -> list[Check]:
        """`stream`: degraded while a stream failed in the last STREAM_FAILURE_INTERVALS
        monitoring intervals; healthy after, with the count since start (no check at all
        while no stream ever failed)."""
        window = STREAM_FAILURE_INTERVALS * interval_seconds
        now = time.monotonic()
        with self._lock:
            while self._failed_at and now - self._failed_at[0] > window:
                self._failed_at.popleft()
            recent, total, last = len(self._failed_at), self.total, self.last_reason
            last_age = now - self._failed_at[-1] if self._failed_at else 0.0
        if total == 0:
            return []
        if recent == 0:
            since = f"{total} since start, none in the last {window:g}s; the last: {last}"
            return [Check("stream", "healthy", f"failed streams: {since}")]
        count = f"at least {recent}" if recent == _REMEMBERED else str(recent)
        return [
            Check(
                "stream",
                "degraded",
                f"failed streams: {count} in the last {window:g}s (the last {last_age:.1f}s "
                f"ago): {last}; readers resume after their last batch, so data stutters: "
                "see this component's log for the traceback and fix it",
            )
        ]
