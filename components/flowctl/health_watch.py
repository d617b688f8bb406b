"""Re-assess a component's health every monitoring interval and log each change of verdict.

`/health` and the metrics are computed when asked; this watch is what makes a component
say, in its own log, the moment it turns degraded or unhealthy (and why) without anyone
polling it. The interval follows `monitoring.interval` of the spec, live.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flowctl.health import HealthReport

log = logging.getLogger("flowctl.health")


class HealthWatch:
    def __init__(self, assess: Callable[[], HealthReport], interval_seconds: float) -> None:
        self._interval_seconds = interval_seconds
        self.last: HealthReport | None = None
        self._assess = assess
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
        """Assess now; log when the verdict or the failing checks differ from the last time."""
        report = self._assess()
        previous = self.last
        self.last = report
        if previous is None or _verdict(previous) != _verdict(report):
            level = logging.INFO if report.status == "healthy" else logging.WARNING
            reasons = "; ".join(report.reasons)
            log.log(level, "health: %s%s", report.status, f" ({reasons})" if reasons else "")
        return report

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # a failing assessment must not end the watch
                log.exception("health assessment failed")
            self._wake.wait(self._interval_seconds)
            self._wake.clear()


def _verdict(report: HealthReport) -> tuple[str, tuple[str, ...]]:
    # Names, not reasons: a reason carries live numbers (a load) that change every time.
    return report.status, tuple(c.name for c in report.checks if c.status != "healthy")
