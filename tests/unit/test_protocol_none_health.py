"""A `protocol: none` component never registers by design: the supervisor judges it by its
process, and status, health (and top, which reads the status) must judge it the same way,
by its process and its own health endpoint, never by heartbeats it does not send. Driven
through the real Supervisor on fakes (fixtures/supervision_fakes.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fixtures.status_samples import pipeline_of
from fixtures.supervision_fakes import Rig, component, eventually, supervising
from flowrun.daemon.component_health import ComponentHealth
from flowrun.daemon.health import NOT_REGISTERED_HINT, HealthVerdict, health_report
from flowrun.daemon.status import component_status, health_targets
from flowrun.daemon.status_types import ComponentStatus
from flowrun.spec.model import ControllerMode
from flowrun.supervision.states import ComponentState

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(10)]

# The auditor's component: `sleep 3600` under an embedded controller.
CHATTY = component(command=["sleep", "3600"], protocol="none", ready="started")


def _no_health(name: str, pid: int | None) -> ComponentHealth | None:
    return None


def _status(rig: Rig, name: str) -> ComponentStatus:
    return component_status(rig.component(name), rig.control, _no_health)


async def _running_past_the_ttl(rig: Rig, name: str) -> None:
    """Started, ready, then silent for ten heartbeat_ttl's with two liveness checks seen."""
    rig.begin()
    await eventually(lambda: rig.spawn.launched(name), f"{name} launched")
    assert (await rig.component(name).first_result).ready
    before = rig.control.lookups
    rig.clock.advance(10.0)
    await eventually(lambda: rig.control.lookups > before + 1, "two liveness checks")


async def test_a_plain_program_that_never_registers_is_healthy_while_it_runs(
    tmp_path: Path,
) -> None:
    async with supervising(tmp_path, {"chatty": CHATTY}, heartbeat_ttl="1s") as rig:
        await _running_past_the_ttl(rig, "chatty")
        status = _status(rig, "chatty")
        report = health_report(pipeline_of(status))

    assert rig.spawn.launched("chatty") == 1  # the supervisor never judged it dead...
    assert status.state is ComponentState.RUNNING
    assert (status.registered, status.healthy) == (False, True)  # ...nor does status
    assert report.verdict is HealthVerdict.HEALTHY and report.exit_code == 0
    assert report.reasons == ()


async def test_the_same_program_with_a_protocol_that_registers_is_not_healthy(
    tmp_path: Path,
) -> None:
    """protocol auto (the default) expects a registration: without one it is degraded, and
    the reason says how to declare a plain program."""
    expecting = {**CHATTY, "protocol": "auto"}
    async with supervising(tmp_path, {"chatty": expecting}, heartbeat_ttl="1s") as rig:
        await _running_past_the_ttl(rig, "chatty")
        unregistered = _status(rig, "chatty")
        rig.control.register("chatty")
        registered = _status(rig, "chatty")

    assert (unregistered.registered, unregistered.healthy) == (False, False)
    report = health_report(pipeline_of(unregistered))
    assert report.verdict is HealthVerdict.DEGRADED and report.exit_code == 1
    assert report.reasons == (
        f"chatty runs but has not registered with the controller{NOT_REGISTERED_HINT}",
    )
    assert "`protocol: none`" in NOT_REGISTERED_HINT
    assert (registered.registered, registered.healthy) == (True, True)


async def test_a_plain_program_that_registers_anyway_is_judged_by_its_heartbeats(
    tmp_path: Path,
) -> None:
    """As the supervisor does (`heartbeat_lost`: one that registered anyway)."""
    async with supervising(tmp_path, {"chatty": CHATTY}, heartbeat_ttl="1s") as rig:
        await _running_past_the_ttl(rig, "chatty")
        rig.control.register("chatty")
        snapshot = rig.control.service("chatty")
        assert snapshot is not None
        rig.control._services["chatty"] = dataclasses.replace(snapshot, healthy=False)
        status = _status(rig, "chatty")

    assert (status.registered, status.healthy) == (True, False)


async def test_a_plain_program_is_judged_by_its_own_health_endpoint(tmp_path: Path) -> None:
    served = {**CHATTY, "health_port": 0}
    async with supervising(tmp_path, {"chatty": served}) as rig:
        await _running_past_the_ttl(rig, "chatty")
        chatty = rig.component("chatty")
        targets = health_targets(rig.supervisor.components, rig.control)
        said = ComponentHealth("degraded", ("disk: full",), chatty.pid or 0, rig.clock.time())
        status = component_status(chatty, rig.control, lambda name, pid: said)

    assert [(t.name, t.url) for t in targets] == [
        ("chatty", f"http://127.0.0.1:{chatty.ports.health_port}/health")
    ]
    assert status.healthy and status.health == "degraded"
    report = health_report(pipeline_of(status))
    assert report.verdict is HealthVerdict.DEGRADED
    assert report.reasons == ("chatty reports itself degraded: disk: full",)


async def test_a_plain_program_that_exited_is_not_healthy(tmp_path: Path) -> None:
    once = {**CHATTY, "restart": {**CHATTY["restart"], "policy": "never"}}
    async with supervising(tmp_path, {"chatty": once}) as rig:
        await _running_past_the_ttl(rig, "chatty")
        rig.spawn.latest("chatty").exit(1)
        chatty = rig.component("chatty")
        await eventually(lambda: chatty.state is ComponentState.FAILED, "chatty failed")
        status = _status(rig, "chatty")

    assert not status.healthy
    assert health_report(pipeline_of(status)).verdict is HealthVerdict.UNHEALTHY


async def test_without_a_controller_every_running_component_lives_by_its_process(
    tmp_path: Path,
) -> None:
    components = {"chatty": CHATTY, "sdk": {**CHATTY, "protocol": "auto"}}
    async with supervising(tmp_path, components) as rig:
        await _running_past_the_ttl(rig, "chatty")
        await eventually(lambda: rig.component("sdk").state is ComponentState.RUNNING, "sdk")
        rig.control.mode = ControllerMode.DISABLED
        statuses = [_status(rig, name) for name in components]

    assert [(s.name, s.healthy) for s in statuses] == [("chatty", True), ("sdk", True)]
