"""A stall of the runner itself (SIGSTOP, a VM pause, a host suspend) is not held against the
components it supervises: after it, each has a whole heartbeat_ttl from the moment the
runner resumed before its silence counts, and one that stays silent is restarted then.

The real Supervisor on the fakes of fixtures/supervision_fakes.py, plus a manual awake
clock: `runner_away` moves every clock at once, as a stopped runner sees time on resume,
while moving only the FakeClock plays time that passed with the runner running.
"""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fixtures.manual_clock import ManualClock
from fixtures.supervision_fakes import (
    FakeClock,
    FakeControlPlane,
    Rig,
    component,
    eventually,
    supervising,
)
from flowrun.controller.stall import LoopGaps, stall_slack
from flowrun.spec.readiness import ReadyCheck, ReadyKind
from flowrun.supervision.readiness import heartbeat_lost
from flowrun.supervision.states import ComponentState

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(10)]

RUNNING = ComponentState.RUNNING
TTL_SECONDS = 1.0
STALL_SECONDS = 12.0
REGISTERED = ReadyCheck(ReadyKind.REGISTERED)


class StallRig:
    """A Rig whose runner can be stopped for a while (`runner_away`)."""

    def __init__(self, rig: Rig, awake: ManualClock) -> None:
        self.rig = rig
        self.awake = awake

    def runner_away(self, seconds: float) -> None:
        """The runner did not run for `seconds`: on resume, every clock has moved on."""
        self.rig.clock.advance(seconds)
        self.awake.now += seconds

    async def checks(self, count: int = 2) -> None:
        """Wait for `count` more liveness checks of the running components."""
        control = self.rig.control
        before = control.lookups
        await eventually(lambda: control.lookups >= before + count, f"{count} liveness checks")

    async def running(self, name: str) -> None:
        self.rig.control.register(name)
        await self.rig.component(name).first_result
        assert self.rig.component(name).state is RUNNING


@asynccontextmanager
async def stalling(
    tmp_path: Path, components: dict[str, dict[str, Any]]
) -> AsyncIterator[StallRig]:
    """fixtures.supervision_fakes.supervising, with a manual awake clock, every component
    launched and running."""
    awake = ManualClock()
    heartbeat_ttl = f"{TTL_SECONDS:g}s"
    async with supervising(
        tmp_path, components, awake_clock=awake, heartbeat_ttl=heartbeat_ttl
    ) as rig:
        stall = StallRig(rig, awake)
        rig.begin()
        for name in components:
            await eventually(lambda name=name: rig.spawn.launched(name), f"{name} launched")
            await stall.running(name)
        yield stall


async def test_after_a_stall_longer_than_the_ttl_a_component_heard_from_in_time_lives(
    tmp_path: Path,
) -> None:
    async with stalling(tmp_path, {"src": component()}) as stall:
        rig = stall.rig
        stall.runner_away(STALL_SECONDS)  # twelve ttl's without reading a heartbeat
        await eventually(lambda: rig.said("src: the runner did not run"), "the stall noticed")
        assert rig.said(
            "src: the runner did not run for about 12.0s (stopped, paused or suspended): "
            "heartbeats missed meanwhile do not count, it has heartbeat_ttl 1s from now"
        )
        rig.clock.advance(0.9)  # its first heartbeat after the resume comes late, but in time
        await stall.checks()
        rig.control.heartbeat("src")
        rig.clock.advance(0.9)
        await stall.checks()

        assert rig.spawn.launched("src") == 1 and rig.spawn.latest("src").signals == []
        assert rig.component("src").state is RUNNING and rig.component("src").restarts == 0
        assert not rig.said("no heartbeat")


async def test_a_component_silent_after_the_stall_is_restarted_one_ttl_after_the_resume(
    tmp_path: Path,
) -> None:
    async with stalling(tmp_path, {"src": component(), "snk": component("sink")}) as stall:
        rig = stall.rig
        silent = rig.spawn.latest("snk")

        stall.runner_away(STALL_SECONDS)
        await eventually(lambda: rig.said("snk: the runner did not run"), "the stall noticed")
        rig.clock.advance(0.9)
        rig.control.heartbeat("src")  # src talks again, snk never does
        await stall.checks()
        assert rig.spawn.launched("snk") == 1
        rig.clock.advance(0.2)  # one ttl and a bit since the resume
        await eventually(lambda: rig.spawn.launched("snk") == 2, "snk launched again")

        assert silent.signals == [signal.SIGTERM]
        assert rig.said(
            "snk: no heartbeat for 13.1s (heartbeat_ttl 1s, counted from the end of a pause "
            "1.1s ago) while its process runs; restarting it"
        )
        assert rig.component("snk").restarts == 1
        assert rig.spawn.launched("src") == 1 and rig.component("src").restarts == 0


async def test_without_a_stall_a_silent_component_is_restarted_after_one_ttl_as_before(
    tmp_path: Path,
) -> None:
    async with stalling(tmp_path, {"src": component()}) as stall:
        rig = stall.rig

        # Late, but by less than the slack: a slow loop, not a stall.
        stall.awake.now += stall_slack(TTL_SECONDS) * 0.9
        rig.clock.advance(1.5)
        await eventually(lambda: rig.spawn.launched("src") == 2, "src launched again")

        assert rig.said("src: no heartbeat for 1.5s (heartbeat_ttl 1s) while its process runs")
        assert not rig.said("the runner did not run")
        assert rig.component("src").restarts == 1


def test_heartbeat_lost_counts_silence_from_the_resume_only_for_a_later_resume() -> None:
    control = FakeControlPlane(FakeClock(epoch=1000.0))
    control.register("src")  # heard from at epoch 1000

    def lost(now: float, resumed: float) -> str | None:
        return heartbeat_lost(
            "src", control, 5.0, 900.0, now_epoch=now, check=REGISTERED, resumed_epoch=resumed
        )

    assert lost(1005.0, resumed=0.0) is None
    assert lost(1005.1, resumed=0.0) == (
        "no heartbeat for 5.1s (heartbeat_ttl 5s) while its process runs"
    )
    assert lost(1017.0, resumed=1012.5) is None  # a stall: five seconds from the resume
    assert lost(1017.6, resumed=1012.5) == (
        "no heartbeat for 17.6s (heartbeat_ttl 5s, counted from the end of a pause 5.1s ago) "
        "while its process runs"
    )
    assert lost(1005.1, resumed=999.0) is not None  # a resume before its heartbeat: as usual


def test_silence_while_an_external_controller_was_away_counts_from_its_return() -> None:
    """A stopped or partitioned external controller took no heartbeat meanwhile; the runner's
    last snapshot of it predates its return (an operator audit saw every component
    restarted after 4.5 s of SIGSTOP of the controller, ttl 5 s)."""
    control = FakeControlPlane(FakeClock(epoch=1000.0))
    control.register("src")  # heard from at epoch 1000, then the controller was stopped
    control.reachable_since = 1012.0  # and answers again since

    def lost(now: float) -> str | None:
        return heartbeat_lost("src", control, 5.0, 900.0, now_epoch=now, check=REGISTERED)

    assert lost(1016.9) is None
    assert lost(1017.1) == (
        "no heartbeat for 17.1s (heartbeat_ttl 5s, counted from the end of a pause 5.1s ago) "
        "while its process runs"
    )
    control.reachable = False  # while it is away, nothing is judged
    assert lost(1030.0) is None


def test_loop_gaps_report_a_pass_later_than_planned_by_more_than_the_slack() -> None:
    clock = ManualClock()
    gaps = LoopGaps(clock)
    assert stall_slack(5.0) == 1.0 and stall_slack(1.0) == 0.25

    clock.now += 1.0 + 0.99  # planned 1 s: late by less than the slack of a 5 s ttl
    assert gaps.stalled(1.0, 5.0) is None
    clock.now += 1.0 + 1.01
    assert gaps.stalled(1.0, 5.0) == pytest.approx(2.01)
    clock.now += 0.3
    assert gaps.stalled(0.005, 1.0) == pytest.approx(0.3)  # a shorter ttl, a shorter slack
    assert gaps.stalled(0.005, 1.0) is None  # measured from the previous pass
