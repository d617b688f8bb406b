"""A stall of the controller's own loop (the runner stopped with its embedded controller) is
not held against the services it judges: the janitor notices its late sweep, and a service
live before the stall has its whole allowance (and retention) from the resume. One that was
silent already stays so, and one that stays silent after the resume is marked then.

ControllerState on a manual clock and the Janitor's sweeps called directly, with a second
manual clock for the gaps between sweeps: `controller_away` moves both, as a stopped process
sees time on resume; moving `clock` alone plays time that passed with the loop running.
"""

from __future__ import annotations

import logging

import pytest
from fixtures.manual_clock import ManualClock
from flowctl import control_plane_pb2 as cp
from flowctl.contract import Policy
from flowrun.controller.janitor import Janitor, sweep_interval
from flowrun.controller.state import ControllerState

POLICY = Policy(heartbeat_interval_seconds=1.0, heartbeat_ttl_seconds=5.0)
SWEEP = sweep_interval(POLICY.heartbeat_ttl_seconds)
STALL_SECONDS = 12.0


class Rig:
    def __init__(self, retention_seconds: float = 600.0) -> None:
        self.clock = ManualClock()
        self.awake = ManualClock()
        self.state = ControllerState(
            POLICY,
            wall_clock=self.clock,
            monotonic=self.clock,
            declared_components={"src", "snk"},
            retention_seconds=retention_seconds,
        )
        self.janitor = Janitor(self.state, clock=self.awake)

    def register(self, component_id: str, service_type: int = 1) -> str:
        info = cp.ServiceInfo(component_id=component_id, service_type=service_type)
        return self.state.register(info).service_id

    def beat(self, service_id: str, **metrics: float) -> None:
        heartbeat = cp.ServiceHeartbeat(service_id=service_id, metrics=metrics)
        assert self.state.heartbeat(heartbeat) is not None

    def controller_away(self, seconds: float) -> None:
        self.clock.now += seconds
        self.awake.now += seconds

    def sweep(self) -> list[str]:
        """One sweep, on time as far as the janitor's own loop is concerned."""
        self.awake.now += SWEEP
        self.clock.now += SWEEP
        return self.janitor.sweep(SWEEP)

    def healthy(self) -> dict[str, bool]:
        return {view.component_id: view.healthy for view in self.state.views()}


def test_after_a_stall_services_heard_from_within_their_allowance_stay_healthy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = Rig()
    src, snk = rig.register("src"), rig.register("snk", service_type=3)
    rig.beat(snk, load=0.95)  # overloaded: its upstream is throttled
    assert rig.state.decision.active and rig.sweep() == []

    with caplog.at_level(logging.WARNING, logger="flowrun.controller.janitor"):
        rig.controller_away(STALL_SECONDS)
        assert rig.janitor.sweep(SWEEP) == []
    assert rig.healthy() == {"src": True, "snk": True}
    assert rig.state.decision.active  # the overloaded sink still throttles its upstream
    assert "the controller did not run for 12.0s" in caplog.text
    assert "silent for more than" not in caplog.text

    rig.clock.now += 4.0
    rig.beat(src)
    rig.beat(snk, load=0.95)
    rig.clock.now += 4.0
    assert rig.janitor.sweep(SWEEP) == [] and rig.state.counters.went_unhealthy == 0


def test_a_service_silent_after_the_stall_is_marked_one_allowance_after_the_resume() -> None:
    rig = Rig()
    src, snk = rig.register("src"), rig.register("snk", service_type=3)
    rig.sweep()

    rig.controller_away(STALL_SECONDS)
    assert rig.janitor.sweep(SWEEP) == []
    rig.clock.now += 4.9
    rig.beat(src)
    assert rig.janitor.sweep(SWEEP) == []
    rig.clock.now += 0.2  # snk: 5.1 s since the resume, past its 5 s allowance

    assert rig.janitor.sweep(SWEEP) == [snk]
    assert rig.healthy() == {"src": True, "snk": False}


def test_without_a_stall_silence_counts_as_before() -> None:
    rig = Rig()
    src = rig.register("src")
    rig.sweep()

    rig.clock.now += 5.0  # five seconds pass with the loop running
    rig.awake.now += 0.99  # its sweep late by less than the slack
    assert rig.janitor.sweep(SWEEP) == [src]
    assert rig.state.liveness.resumed_at == float("-inf")


def test_a_stall_revives_no_service_that_was_silent_before_it() -> None:
    rig = Rig()
    src, snk = rig.register("src"), rig.register("snk", service_type=3)
    rig.clock.now += 3.0
    rig.beat(src)
    rig.clock.now += 3.0
    assert rig.sweep() == [snk]  # silent for 6 s before the stall

    rig.controller_away(STALL_SECONDS)
    assert rig.janitor.sweep(SWEEP) == []
    assert rig.healthy() == {"src": True, "snk": False}
    assert rig.state.counters.went_unhealthy == 1


def test_a_stall_longer_than_the_retention_forgets_only_services_silent_before_it() -> None:
    rig = Rig(retention_seconds=60.0)
    src, gone = rig.register("src"), rig.register("foreign", service_type=2)
    rig.clock.now += 40.0  # a foreign client's allowance is 30 s: gone is silent, src too
    rig.beat(src)
    assert rig.sweep() == [gone]

    rig.controller_away(100.0)  # past the 60 s retention for both
    assert rig.janitor.sweep(SWEEP) == []

    assert [record.service_id for record in rig.state.registry] == [src]
    assert rig.state.counters.expired == 1
