"""The replay pace of one stream: at most `ledgers_per_second`, in whole ledgers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class LedgerPace:
    """How many ledgers a stream may emit now; waits until at least one is due.

    Ledger k of the stream (k = 0, 1, ...) is due `k / rate` seconds after the first; a
    consumer that stalled gets at most one batch at once, not the whole backlog.
    Rate 0: no pacing.
    """

    def __init__(
        self, ledgers_per_second: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = ledgers_per_second
        self._clock = clock
        self._started: float | None = None
        self._emitted = 0

    def take(self, most: int, stopping: threading.Event) -> int:
        """Ledgers to emit now (1..most), after waiting for the first to be due; 0 when
        `stopping` was set while waiting."""
        if self.rate <= 0:
            self._emitted += most
            return most
        now = self._clock()
        if self._started is None:
            self._started = now
        while True:
            due = int((now - self._started) * self.rate) + 1 - self._emitted
            if due > most:  # the consumer stalled: do not catch up with a burst
                self._started = now - (self._emitted + most - 1) / self.rate
                due = most
            if due >= 1:
                count = due
                self._emitted += count
                return count
            wait = (self._emitted / self.rate) - (now - self._started)
            if stopping.wait(max(wait, 0.001)):
                return 0
            now = self._clock()
