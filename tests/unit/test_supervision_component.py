"""One supervised component's state machine, driven through the real Supervisor by a fake
spawn, a fake controller and a fake clock: ready, crash and backoff, start timeout, lost
heartbeats, stop with SIGKILL after stop_grace, the `never` policy, and a reload."""

from __future__ import annotations

import errno
import os
import signal
import sys
from pathlib import Path

import pytest
from fixtures.supervision_fakes import Rig, component, eventually, pipeline_body, supervising
from flowrun.supervision.readiness import NOT_REGISTERING_HINT
from flowrun.supervision.states import ComponentState, StartResult
from flowrun.supervision.supervised import SupervisedComponent

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(10)]

RUNNING, BACKOFF = ComponentState.RUNNING, ComponentState.BACKOFF


async def _ready(rig: Rig, name: str) -> SupervisedComponent:
    """Start the pipeline and register `name`: the component once it runs."""
    rig.begin()
    await eventually(lambda: rig.spawn.launched(name), f"{name} launched")
    rig.control.register(name)
    started = rig.component(name)
    await started.first_result
    return started


async def test_a_component_is_starting_until_it_registers_then_running(tmp_path: Path) -> None:
    async with supervising(tmp_path, {"src": component()}) as rig:
        rig.begin()
        await eventually(lambda: rig.spawn.launched("src"), "src launched")
        src, process = rig.component("src"), rig.spawn.latest("src")
        await eventually(lambda: src.waiting_for != "launch", "src waits for readiness")

        assert src.state is ComponentState.STARTING
        assert src.waiting_for == "registration with the controller"
        assert not src.first_result.done()
        launch = rig.spawn.launches[0]
        assert launch.argv == [sys.executable, "-c", "pass"]  # `python` is the runner's own
        assert launch.env["FLOWCTL_COMPONENT_ID"] == "src" and launch.cwd == tmp_path

        rig.control.register("src")
        result = await src.first_result
        rig.clock.advance(3.0)

        assert result == StartResult("src", True, "ready", 0.0)
        assert src.state is RUNNING and src.pid == process.pid
        assert src.uptime_seconds() == pytest.approx(3.0)
        assert rig.said(f"src: started pid {process.pid}, waiting for registration")
        assert rig.said(f"src: ready in 0.00s (pid {process.pid})")


async def test_a_component_that_exited_is_not_running_while_its_group_is_stopped(
    tmp_path: Path,
) -> None:
    """For up to a second after a kill -9 status said running (pid null) and health said
    healthy, while what the process left of its group was reaped (crash audit)."""
    async with supervising(tmp_path, {"src": component()}) as rig:
        src = await _ready(rig, "src")
        killed = rig.spawn.latest("src")
        killed.group_gone.clear()

        killed.exit(-signal.SIGKILL)
        await eventually(lambda: src.state is not RUNNING, "src no longer running")

        assert (src.state, src.waiting_for, src.pid) == (BACKOFF, "killed by SIGKILL", None)
        killed.group_gone.set()
        await eventually(lambda: rig.spawn.launched("src") == 2, "src launched again")


async def test_an_exit_with_code_1_backs_off_then_restarts_and_counts_it(tmp_path: Path) -> None:
    async with supervising(tmp_path, {"src": component()}) as rig:
        src = await _ready(rig, "src")
        crashed = rig.spawn.latest("src")

        crashed.print("connecting\nboom: no such table\n")
        crashed.exit(1)
        await eventually(lambda: rig.spawn.launched("src") == 2, "src launched again")

        assert ("src", BACKOFF, "restart in 0.0s") in rig.states
        assert src.restarts == 1 and src.exit_code == 1
        assert src.last_error is not None and src.last_error.startswith("exited with code 1")
        assert "last lines of its log:\n    connecting\n    boom: no such table" in src.last_error
        assert rig.said("src: exited with code 1; restarting in 0.0s")
        assert rig.control.ended_components == ["src"]  # its last load no longer counts

        rig.control.register("src")
        await eventually(lambda: src.state is RUNNING, "src running again")
        assert src.pid == rig.spawn.latest("src").pid != crashed.pid
        assert src.tracker.consecutive_failures == 1


async def test_a_missed_start_timeout_stops_the_process_and_restarts_it(tmp_path: Path) -> None:
    async with supervising(tmp_path, {"src": component(start_timeout="5s")}) as rig:
        rig.begin()
        await eventually(lambda: rig.spawn.launched("src"), "src launched")
        src, sleepy = rig.component("src"), rig.spawn.latest("src")

        rig.clock.advance(4.9)
        before = rig.control.lookups
        await eventually(lambda: rig.control.lookups > before + 1, "two readiness checks")
        assert rig.spawn.launched("src") == 1 and sleepy.signals == []
        rig.clock.advance(0.1)
        await eventually(lambda: rig.spawn.launched("src") == 2, "src launched again")

        assert sleepy.signals == [signal.SIGTERM] and sleepy.stop_grace_seconds == 10.0
        reason = (
            "not ready after 5s (start_timeout): no registration with the controller"
            + NOT_REGISTERING_HINT
        )
        first = await src.first_result
        assert not first.ready and first.message.startswith(f"{reason} (retrying)")
        assert rig.said(f"src: {reason}; restarting in")
        assert src.restarts == 1


async def test_a_component_that_heartbeats_lives_and_one_that_goes_silent_is_restarted(
    tmp_path: Path,
) -> None:
    async with supervising(tmp_path, {"src": component()}, heartbeat_ttl="1s") as rig:
        src = await _ready(rig, "src")
        silent = rig.spawn.latest("src")

        for _ in range(3):  # three ttl's worth of time, but a heartbeat in each
            rig.clock.advance(0.6)
            rig.control.heartbeat("src")
            before = rig.control.lookups
            await eventually(lambda n=before: rig.control.lookups > n + 1, "two liveness checks")
        assert rig.spawn.launched("src") == 1 and src.state is RUNNING

        rig.clock.advance(1.5)
        await eventually(lambda: rig.spawn.launched("src") == 2, "src launched again")

        assert silent.signals == [signal.SIGTERM]
        assert rig.said("src: no heartbeat for 1.5s (heartbeat_ttl 1s) while its process runs")
        assert not rig.said("src: exited")
        assert src.restarts == 1


async def test_a_plain_program_is_ready_once_started_and_never_judged_by_heartbeats(
    tmp_path: Path,
) -> None:
    components = {"plain": component(protocol="none")}
    async with supervising(tmp_path, components, heartbeat_ttl="1s") as rig:
        rig.begin()
        await eventually(lambda: rig.spawn.launched("plain"), "plain launched")
        plain = rig.component("plain")
        result = await plain.first_result
        assert result.ready and plain.state is RUNNING
        before = rig.control.lookups
        rig.clock.advance(10.0)  # ten ttl's of silence
        await eventually(lambda: rig.control.lookups > before + 1, "two liveness checks")
        assert rig.spawn.launched("plain") == 1 and plain.state is RUNNING


async def test_an_older_obsrvr_component_is_judged_by_its_own_10s_heartbeat(
    tmp_path: Path,
) -> None:
    components = {"legacy": component(protocol="flowctl-legacy")}
    async with supervising(tmp_path, components, heartbeat_ttl="1s") as rig:
        rig.begin()
        await eventually(lambda: rig.spawn.launched("legacy"), "legacy launched")
        rig.control.register("legacy")
        legacy = rig.component("legacy")
        await legacy.first_result
        rig.clock.advance(25.0)  # silent, but less than three of its heartbeats
        before = rig.control.lookups
        await eventually(lambda: rig.control.lookups > before + 1, "two liveness checks")
        assert rig.spawn.launched("legacy") == 1
        rig.clock.advance(6.0)
        await eventually(lambda: rig.spawn.launched("legacy") == 2, "legacy restarted")
        assert rig.said("legacy: no heartbeat for 31.0s")


async def test_stop_sends_sigterm_and_sigkill_once_stop_grace_has_passed(tmp_path: Path) -> None:
    components = {"stubborn": component(stop_grace="2s"), "polite": component()}
    async with supervising(tmp_path, components) as rig:
        rig.spawn.ignoring_sigterm.add("stubborn")
        rig.control.register("stubborn")
        rig.control.register("polite")
        await rig.supervisor.start()
        stubborn, polite = rig.spawn.latest("stubborn"), rig.spawn.latest("polite")

        killed = await rig.supervisor.stop_all()

        assert killed == {"stubborn": True, "polite": False}
        assert stubborn.signals == [signal.SIGTERM, signal.SIGKILL]
        assert stubborn.stop_grace_seconds == 2.0
        assert polite.signals == [signal.SIGTERM]
        assert rig.said("stubborn: did not stop within stop_grace 2s: killed (SIGKILL)")
        assert rig.said("stubborn: killed in 2.00s")
        assert rig.said("polite: stopped (killed by SIGTERM)")
        assert {c.state for c in rig.supervisor.components.values()} == {ComponentState.STOPPED}
        assert rig.spawn.launched("stubborn") == rig.spawn.launched("polite") == 1


async def test_with_the_never_policy_a_clean_exit_stops_and_a_crash_fails(tmp_path: Path) -> None:
    never = {"policy": "never"}
    components = {"clean": component(restart=never), "crash": component(restart=never)}
    async with supervising(tmp_path, components) as rig:
        rig.control.register("clean")
        rig.control.register("crash")
        await rig.supervisor.start()

        rig.spawn.latest("clean").exit(0)
        rig.spawn.latest("crash").print("bad config: port missing\n")
        rig.spawn.latest("crash").exit(3)
        clean, crash = rig.component("clean"), rig.component("crash")
        await eventually(lambda: clean.state is ComponentState.STOPPED, "clean stopped")
        await eventually(lambda: crash.state is ComponentState.FAILED, "crash failed")

        assert clean.last_error is None and clean.exit_code == 0 and clean.restarts == 0
        assert crash.exit_code == 3 and crash.restarts == 0 and crash.pid is None
        assert crash.last_error is not None
        assert crash.last_error.startswith("exited with code 3 (restart policy: never)")
        assert crash.last_error.endswith("last lines of its log:\n    bad config: port missing")
        assert rig.spawn.launched("clean") == rig.spawn.launched("crash") == 1


async def test_max_restarts_within_the_window_fails_the_component(tmp_path: Path) -> None:
    flaky = component(restart={"max_restarts": 2})
    async with supervising(tmp_path, {"flaky": flaky}) as rig:
        rig.begin()
        for launch in range(1, 4):
            await eventually(lambda n=launch: rig.spawn.launched("flaky") == n, f"launch {launch}")
            rig.spawn.latest("flaky").exit(1)

        flaky_component = rig.component("flaky")
        await eventually(lambda: flaky_component.state is ComponentState.FAILED, "flaky failed")

        assert flaky_component.restarts == 2
        assert flaky_component.last_error is not None
        assert "restarted 2 times within 60s (max_restarts: 2), giving up" in (
            flaky_component.last_error
        )
        assert rig.spawn.launched("flaky") == 3


async def test_a_component_that_cannot_be_launched_fails_without_restarting(
    tmp_path: Path,
) -> None:
    components = {
        "refused": component(restart={"policy": "always"}),
        "nowhere": component(working_dir="missing"),
    }
    async with supervising(tmp_path, components) as rig:
        rig.spawn.refused["refused"] = "cannot run python: Permission denied"

        results = {result.name: result for result in await rig.supervisor.start()}

        assert rig.component("refused").state is ComponentState.FAILED
        assert results["refused"].message.startswith(
            "component 'refused': cannot run python: Permission denied"
        )
        assert rig.component("nowhere").state is ComponentState.FAILED
        assert f"working_dir {tmp_path / 'missing'} does not exist" in results["nowhere"].message
        assert rig.spawn.launches == []


async def test_a_launch_the_system_refuses_for_now_is_retried(tmp_path: Path) -> None:
    """Out of processes (the user's ulimit -u, a container's pids.max) or files: the start
    was fatal, as if the program were missing."""
    async with supervising(tmp_path, {"src": component()}) as rig:
        rig.spawn.refused_for_now["src"] = [
            OSError(errno.EAGAIN, os.strerror(errno.EAGAIN)),
            OSError(errno.EMFILE, os.strerror(errno.EMFILE)),
        ]
        (first,) = await rig.supervisor.start()
        assert first.message == (
            "cannot start: Resource temporarily unavailable: the system refused a new process "
            "(the user's process limit, `ulimit -u`, or the container's pids.max) (retrying)"
        )
        await eventually(lambda: rig.spawn.launched("src") == 1, "launched at the third try")
        rig.control.register("src")
        await eventually(lambda: rig.component("src").state is RUNNING, "running")
        assert rig.component("src").restarts == 2


async def test_a_reload_keeps_the_restart_count_and_the_restart_history(tmp_path: Path) -> None:
    async with supervising(tmp_path, {"src": component(), "other": component()}) as rig:
        rig.control.register("src")
        rig.control.register("other")
        await rig.supervisor.start()
        for name in ("src", "other"):
            rig.spawn.latest(name).exit(1)
            await eventually(lambda n=name: rig.spawn.launched(n) == 2, f"{name} restarted")
        await eventually(lambda: rig.component("src").state is RUNNING, "src running again")
        old_src, other = rig.component("src"), rig.component("other")
        replaced = rig.spawn.latest("src")

        new_body = pipeline_body(
            {
                "src": component(env={"GENERATION": "2"}),
                "other": component(restart={"backoff": "2ms"}),
            },
        )
        result = await rig.supervisor.apply(new_body, restart=["src"])

        new_src = rig.component("src")
        assert result.restarted == ["src"] and result.reconfigured == ["other"]
        assert not result.failed and new_src is not old_src
        assert new_src.restarts == 1  # the count survives the reload
        assert replaced.signals == [signal.SIGTERM]
        assert rig.spawn.launches[-1].env["GENERATION"] == "2"
        assert rig.component("other") is other and other.restarts == 1
        assert other.tracker.config.backoff == 0.002 and other.tracker.consecutive_failures == 1


async def test_a_component_removed_by_a_reload_is_forgotten_by_the_controller(
    tmp_path: Path,
) -> None:
    """Its record stayed at the embedded controller as unhealthy for the retention window
    (10 minutes of a silent service in metrics and warnings; spec audit)."""
    async with supervising(tmp_path, {"src": component(), "gone": component()}) as rig:
        rig.control.register("src")
        rig.control.register("gone")
        await rig.supervisor.start()

        result = await rig.supervisor.apply(pipeline_body({"src": component()}))

        assert result.stopped == ["gone"]
        assert rig.control.forgotten == ["gone"]
        assert rig.control.service("gone") is None and rig.control.service("src") is not None
