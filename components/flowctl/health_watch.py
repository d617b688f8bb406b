"""Re-assess a component's health every monitoring interval and log each lasting change.

`/health` and the metrics are computed when asked; this watch is what makes a component
say, in its own log, the moment it turns degraded or unhealthy (and why) without anyone
polling it. The interval follows `monitoring.interval` of the spec, live.

A new verdict is said only once it has lasted `settle_seconds` (the watch looks again
then, whatever the interval): a verdict that flips back sooner is no alarm, one that
stays is said as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flowctl.health import HealthReport

log = logging.getLogger("flowctl.health")

SETTLE_SECONDS = 1.0
"""How long a new verdict must last to be logged: one (default) heartbeat interval."""

Verdict = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class _Pending:
    verdict: Verdict
    report: HealthReport
    since: float


class HealthWatch:
    def __init__(
        self,
        assess: Callable[[], HealthReport],
        interval_seconds: float,
        *,
        settle_seconds: float = SETTLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval_seconds = interval_seconds
        self.settle_seconds = settle_seconds
        self.last: HealthReport | None = None
        self._assess = assess
        self._clock = clock
        self._logged: Verdict | None = None
        self._pending: _Pending | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flowctl-health", daemon=True)

    @property
    def interval_seconds(self) -> float:
        return self._interval_seconds

    @interval_seconds.setter
    def interval_seconds(self, seconds: float) -> None:
        # Cut the wait in progress short, so a shorter interval applies at once.
        self._interval_seconds = seconds
        self._wake.set()

    def start(self) -> HealthWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def check(self) -> HealthReport:
        """Assess now; log when the verdict or the failing checks differ from the last
        logged ones and have for `settle_seconds`."""
        report = self._assess()
        self.last = report
        verdict, now = _verdict(report), self._clock()
        pending = self._pending
        if verdict == self._logged:
            self._pending = None
        elif pending is None or pending.verdict != verdict:
            self._pending = _Pending(verdict, report, now)
        if self._pending is not None and now - self._pending.since >= self.settle_seconds:
            self._say(self._pending.verdict, report)
        return report

    def _say(self, verdict: Verdict, report: HealthReport) -> None:
        self._logged, self._pending = verdict, None
        level = logging.INFO if report.status == "healthy" else logging.WARNING
        reasons = "; ".join(report.reasons)
        log.log(level, "health: %s%s", report.status, f" ({reasons})" if reasons else "")

    def _next_check_in(self) -> float:
        """The interval, or sooner when a new verdict is due to be confirmed."""
        pending = self._pending
        if pending is None:
            return self._interval_seconds
        settled_in = pending.since + self.settle_seconds - self._clock()
        return max(0.0, min(self._interval_seconds, settled_in))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # a failing assessment must not end the watch
                log.exception("health assessment failed")
            self._wake.wait(self._next_check_in())
            self._wake.clear()


def _verdict(report: HealthReport) -> Verdict:
    # Names, not reasons: a reason carries live numbers (a load) that change every time.
    return report.status, tuple(c.name for c in report.checks if c.status != "healthy")
