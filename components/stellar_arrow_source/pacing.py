"""The replay pace of one stream: `ledgers_per_second`, scaled by the throttle rate.

A paced source's own full speed is its pace, so a throttle directive (run at r times
full speed) slows the pace itself to r x ledgers_per_second. (The SDK's pacer, which
sleeps in proportion to the time spent working, cannot slow a loop that mostly waits
for its schedule.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

_RECHECK_SECONDS = 0.25  # a long wait re-reads the rate, which a directive may change


class LedgerPace:
    """How many ledgers a stream may emit now; waits until at least one is due.

    Each ledger is due 1 / (rate x factor) seconds after the previous one. A consumer
    that stalled gets at most one batch at once, not the whole backlog. Rate 0: no pace.
    """

    def __init__(
        self,
        ledgers_per_second: float,
        *,
        factor: Callable[[], float] = lambda: 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = ledgers_per_second
        self._factor = factor
        self._clock = clock
        self._next_due: float | None = None

    def current_rate(self) -> float:
        return self.rate * max(self._factor(), 1e-3)

    def take(self, most: int, stopping: threading.Event) -> int:
        """Ledgers to emit now (1..most), after waiting for the next to be due; 0 when
        `stopping` was set while waiting."""
        if self.rate <= 0:
            return most
        now = self._clock()
        if self._next_due is None:
            self._next_due = now
        while now < self._next_due:
            if stopping.wait(min(self._next_due - now, _RECHECK_SECONDS)):
                return 0
            now = self._clock()
        rate = self.current_rate()
        count = min(most, 1 + int((now - self._next_due) * rate))
        self._next_due = max(self._next_due + count / rate, now)
        return count
