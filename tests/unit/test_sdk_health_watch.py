"""HealthWatch: assesses every interval, logs each change of verdict, follows a new interval."""

from __future__ import annotations

import logging
import threading

import pytest
from fixtures.manual_clock import ManualClock
from flowctl.health import Check, HealthReport
from flowctl.health_watch import HealthWatch
from polling import wait_for


class ScriptedHealth:
    """Returns the queued reports in order, then repeats the last; counts calls."""

    def __init__(self, *reports: HealthReport) -> None:
        self.reports = list(reports)
        self.calls = 0
        self.called = threading.Event()

    def __call__(self) -> HealthReport:
        self.calls += 1
        self.called.set()
        return self.reports.pop(0) if len(self.reports) > 1 else self.reports[0]


def report(status: str, *failing: str, load: float = 0.5) -> HealthReport:
    checks = [Check(name, status, f"{name} is bad at load {load}") for name in failing]  # type: ignore[arg-type]
    return HealthReport(status, tuple(checks))  # type: ignore[arg-type]


def test_logs_only_changes_of_verdict(caplog: pytest.LogCaptureFixture) -> None:
    health = ScriptedHealth(
        report("healthy"),
        report("degraded", "load", load=0.85),
        report("degraded", "load", load=0.9),  # same verdict, new numbers: quiet
        report("unhealthy", "output"),
        report("healthy"),
    )
    watch = HealthWatch(health, interval_seconds=60, settle_seconds=0)
    with caplog.at_level(logging.INFO, logger="flowctl.health"):
        for _ in range(5):
            watch.check()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "health: healthy",
        "health: degraded (load: load is bad at load 0.85)",
        "health: unhealthy (output: output is bad at load 0.5)",
        "health: healthy",
    ]
    assert [r.levelno for r in caplog.records] == [20, 30, 30, 20]
    assert watch.last is not None and watch.last.status == "healthy"


def test_a_verdict_that_does_not_last_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A component starting: degraded for a moment, then healthy. No false alarm."""
    health = ScriptedHealth(
        report("healthy"),
        report("healthy"),
        report("degraded", "controller"),  # seen once...
        report("healthy"),  # ...and gone before it lasted a second
        report("healthy"),
    )
    clock = ManualClock(0.0)
    watch = HealthWatch(health, interval_seconds=60, settle_seconds=1.0, clock=clock)
    with caplog.at_level(logging.INFO, logger="flowctl.health"):
        for now in (0.0, 1.0, 1.5, 1.9, 5.0):
            clock.now = now
            watch.check()
    assert [r.getMessage() for r in caplog.records] == ["health: healthy"]


def test_a_verdict_that_lasts_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """A controller that stays unreachable: said once it has lasted, then not again."""
    health = ScriptedHealth(report("healthy"), report("degraded", "controller"))
    clock = ManualClock(0.0)
    watch = HealthWatch(health, interval_seconds=60, settle_seconds=1.0, clock=clock)
    with caplog.at_level(logging.INFO, logger="flowctl.health"):
        for now in (0.0, 0.5, 1.0, 1.5, 9.0):  # healthy for half a second only: not said
            clock.now = now
            watch.check()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "health: degraded (controller: controller is bad at load 0.5)",
    ]
    assert caplog.records[0].levelno == logging.WARNING


def test_a_new_verdict_is_confirmed_after_the_settle_time_not_the_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    health = ScriptedHealth(report("degraded", "controller"))
    watch = HealthWatch(health, interval_seconds=3600, settle_seconds=0.05)
    with caplog.at_level(logging.INFO, logger="flowctl.health"):
        watch.start()
        try:
            wait_for(lambda: caplog.records, 10, "the lasting verdict logged", interval=0.01)
        finally:
            watch.stop()
    assert caplog.records[0].getMessage().startswith("health: degraded (controller")
    assert health.calls >= 2  # the hour-long interval did not hold the confirmation back


def test_runs_on_its_interval_and_follows_a_new_one_at_once() -> None:
    health = ScriptedHealth(report("healthy"))
    watch = HealthWatch(health, interval_seconds=3600).start()
    try:
        assert health.called.wait(10), "the first assessment runs at start"
        calls = health.calls
        watch.interval_seconds = 0.01  # the hour-long wait in progress ends now
        wait_for(lambda: health.calls >= calls + 3, 10, "three assessments", interval=0.01)
    finally:
        watch.stop()


def test_a_failing_assessment_does_not_end_the_watch(caplog: pytest.LogCaptureFixture) -> None:
    results: list[HealthReport | Exception] = [RuntimeError("boom"), report("healthy")]
    done = threading.Event()

    def assess() -> HealthReport:
        item = results.pop(0) if results else report("healthy")
        if not results:
            done.set()
        if isinstance(item, Exception):
            raise item
        return item

    watch = HealthWatch(assess, interval_seconds=0.01)
    with caplog.at_level(logging.INFO, logger="flowctl.health"):
        watch.start()
        assert done.wait(10)
        watch.stop()
    assert any("health assessment failed" in r.getMessage() for r in caplog.records)
