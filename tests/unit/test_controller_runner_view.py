"""The runner's view of a service that registered and never heartbeats (flowctl-sdk v0.1.3
sink): alive while its process runs, in the liveness rule and in the controller's view."""

from __future__ import annotations

from dataclasses import dataclass, field

from flowctl import control_plane_pb2 as cp
from flowctl.contract import Policy
from flowrun.controller.state import ControllerState
from flowrun.spec.model import ControllerMode
from flowrun.spec.readiness import ReadyCheck, ReadyKind
from flowrun.supervision.controlplane import ServiceSnapshot
from flowrun.supervision.readiness import heartbeat_lost

STARTED = 1000.0
REGISTERED = ReadyCheck(ReadyKind.REGISTERED)


@dataclass
class OneServiceControl:
    snapshot: ServiceSnapshot | None
    mode: ControllerMode = ControllerMode.EMBEDDED
    reachable: bool = True
    reachable_since: float = 0.0
    asked: list[str] = field(default_factory=list)

    def service(self, component_id: str) -> ServiceSnapshot | None:
        self.asked.append(component_id)
        return self.snapshot


def lost(snapshot: ServiceSnapshot | None, now: float) -> str | None:
    control = OneServiceControl(snapshot)
    return heartbeat_lost(
        "sink",
        control,
        5.0,
        STARTED,
        now_epoch=now,
        check=REGISTERED,  # type: ignore[arg-type]
    )


def test_registered_and_never_heartbeated_is_not_lost_while_its_process_runs() -> None:
    silent_sink = ServiceSnapshot(
        "sink", STARTED + 1, STARTED + 1, False, 0.0, 1.0, heartbeated=False
    )
    assert lost(silent_sink, now=STARTED + 3600) is None


def test_one_that_heartbeated_and_stopped_is_still_lost() -> None:
    stopped = ServiceSnapshot("sink", STARTED + 1, STARTED + 2, False, 0.0, 1.0)
    assert lost(stopped, now=STARTED + 60) is not None


def test_one_that_never_registered_is_still_lost() -> None:
    assert lost(None, now=STARTED + 60) is not None


def test_a_registration_of_an_earlier_process_does_not_count() -> None:
    earlier = ServiceSnapshot("sink", STARTED - 9, STARTED - 9, False, 0.0, 1.0, heartbeated=False)
    assert lost(earlier, now=STARTED + 60) is not None


def test_the_controllers_view_counts_heartbeats() -> None:
    clock = [STARTED]
    state = ControllerState(Policy(), wall_clock=lambda: clock[0], monotonic=lambda: clock[0])
    state.register(cp.ServiceInfo(service_id="sink"))
    assert state.views()[0].heartbeats == 0
    clock[0] += 1
    state.heartbeat(cp.ServiceHeartbeat(service_id="sink"))
    assert state.views()[0].heartbeats == 1


def test_a_component_the_runner_removed_is_forgotten_with_every_record_of_it() -> None:
    state = ControllerState(Policy(), wall_clock=lambda: STARTED, monotonic=lambda: STARTED)
    state.register(cp.ServiceInfo(service_id="gone"))
    state.register(cp.ServiceInfo(service_id="kept"))

    assert state.forget_component("gone") == ["gone"]

    assert [view.component_id for view in state.views()] == ["kept"]
    assert state.forget_component("gone") == []
