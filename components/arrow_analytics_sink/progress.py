"""The sink's periodic one-line progress report.

    progress: ledger 1234 (24.8 ledgers/s), 651 events/s, lag 3 ledgers (source at 1237),
    backpressure off, load 0.02

Rates come from the checkpoint (what is committed, not what is read); the lag is the
source's current ledger, asked through the input chain (`get_current_ledger`, forwarded
by the processor), minus the checkpoint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from arrow_analytics_sink.checkpoint import Checkpoint


@dataclass(frozen=True)
class Progress:
    last_ledger: int
    ledgers_per_second: float | None  # None: the report holds the run's first commit
    events_per_second: float
    lag: int | None
    source_ledger: int | None
    backpressure: bool | None
    source_throttle: float | None
    load: float

    def line(self) -> str:
        if self.lag is None:
            lag = "lag unknown (source not reachable)"
        else:
            ledgers = "ledger" if self.lag == 1 else "ledgers"
            lag = f"lag {self.lag} {ledgers} (source at {self.source_ledger})"
        if self.backpressure is None:
            pressure = "backpressure unknown"
        elif self.backpressure:
            pressure = f"backpressure ON (source throttled to {self.source_throttle or 0:.0%})"
        else:
            pressure = "backpressure off"
        if self.ledgers_per_second is None:
            ledger_rate = "first commit"
        else:
            ledger_rate = f"{self.ledgers_per_second:.1f} ledgers/s"
        return (
            f"progress: ledger {self.last_ledger} ({ledger_rate}), "
            f"{self.events_per_second:.0f} events/s, {lag}, {pressure}, load {self.load:.2f}"
        )


class ProgressMeter:
    """Turns successive checkpoints and the source's answer into Progress lines."""

    def __init__(
        self,
        checkpoint: Callable[[], Checkpoint],
        source: Callable[[], dict[str, Any]],
        load: Callable[[], float],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._checkpoint = checkpoint
        self._source = source
        self._load = load
        self._clock = clock
        self._last: tuple[float, Checkpoint] | None = None

    def measure(self) -> Progress:
        now, current = self._clock(), self._checkpoint()
        previous = self._last or (now, current)
        self._last = (now, current)
        elapsed = max(now - previous[0], 1e-9)
        try:
            answer = self._source()
            source_ledger: int | None = int(answer["current_ledger"])
            backpressure: bool | None = bool(answer.get("backpressure_active", False))
            throttle: float | None = float(answer.get("throttle_rate", 1.0))
        except Exception as e:  # any failure only makes the lag unknown
            logging.getLogger(__name__).debug("source not reachable for progress: %s", e)
            source_ledger = backpressure = throttle = None
        lag = None if source_ledger is None else max(0, source_ledger - current.last_ledger)
        ledger_rate: float | None = 0.0
        event_rate = 0.0
        if previous[0] != now:
            event_rate = (current.events_written - previous[1].events_written) / elapsed
            ledger_rate = (current.last_ledger - previous[1].last_ledger) / elapsed
            if not previous[1].last_ledger and current.last_ledger:
                # Before the first commit the checkpoint says ledger 0, not where the
                # range starts (53312000 for a real ledger): no ledger rate over it.
                ledger_rate = None
        return Progress(
            last_ledger=current.last_ledger,
            ledgers_per_second=ledger_rate,
            events_per_second=event_rate,
            lag=lag,
            source_ledger=source_ledger,
            backpressure=backpressure,
            source_throttle=throttle,
            load=self._load(),
        )
