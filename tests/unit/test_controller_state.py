"""ControllerState without gRPC: fake clocks, real mailboxes."""

from __future__ import annotations

import asyncio

import pytest
from fixtures.manual_clock import ManualClock
from flowctl import control_plane_pb2 as cp
from flowctl import flow_control_pb2 as fc
from flowctl.contract import Policy
from flowrun.controller.directives import DirectiveHub, Mailbox
from flowrun.controller.janitor import sweep_interval
from flowrun.controller.state import ControllerState


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def state(clock: ManualClock) -> ControllerState:
    # Components the runner runs: judged by the policy (heartbeat_ttl 5 s), not inferred.
    state = ControllerState(
        Policy(heartbeat_ttl_seconds=5.0),
        wall_clock=clock,
        monotonic=clock,
        declared_components={"src", "snk"},
    )
    state.register(cp.ServiceInfo(service_id="src-1", component_id="src", service_type=1))
    state.register(
        cp.ServiceInfo(
            service_id="snk-1", component_id="snk", service_type=3, metadata={"inputs": "src"}
        )
    )
    return state


def beat(state: ControllerState, service_id: str, **metrics: float) -> None:
    assert state.heartbeat(cp.ServiceHeartbeat(service_id=service_id, metrics=metrics)) is not None


def test_sweep_marks_silent_services_once_and_back(
    state: ControllerState, clock: ManualClock
) -> None:
    clock.now += 4.0
    beat(state, "snk-1", load=0.9)
    assert state.sweep() == []
    clock.now += 2.0  # src silent for 6 s, snk for 2 s
    assert state.sweep() == ["src-1"]
    assert state.sweep() == []  # reported once
    assert {v.service_id: v.healthy for v in state.views()} == {"src-1": False, "snk-1": True}
    clock.now += 4.0
    assert state.sweep() == ["snk-1"]
    assert not state.decision.active  # the silent sink released its upstream
    beat(state, "src-1")
    assert state.sweep() == []
    assert state.counters.went_unhealthy == 2


def test_a_sink_whose_process_ended_throttles_no_one_until_it_is_back(
    state: ControllerState, clock: ManualClock
) -> None:
    beat(state, "snk-1", load=0.95)
    assert state.decision.active and state.decision.throttle_rate("src-1") < 1.0
    state.component_ended("snk")  # the runner saw it crash: its last load is stale
    assert not state.decision.active and state.decision.throttle_rate("src-1") == 1.0
    assert {v.service_id: v.healthy for v in state.views()} == {"src-1": True, "snk-1": False}
    clock.now += 1.0
    assert state.sweep() == []  # its last heartbeat is recent, yet it stays silent
    assert not state.decision.active
    beat(state, "snk-1", load=0.95)  # a live process speaks again
    assert state.decision.active


def test_longer_ttl_in_a_policy_update_revives_services(
    state: ControllerState, clock: ManualClock
) -> None:
    clock.now += 10.0
    assert len(state.sweep()) == 2
    revision, _ = state.update_policy(Policy(heartbeat_ttl_seconds=60.0))
    assert revision == 2
    assert all(view.healthy for view in state.views())


def test_unknown_heartbeat_is_counted(state: ControllerState) -> None:
    assert state.heartbeat(cp.ServiceHeartbeat(service_id="ghost")) is None
    assert state.counters.unknown_heartbeats == 1


def test_directives_are_published_only_on_change(state: ControllerState) -> None:
    mailbox = state.hub.subscribe("src-1")
    beat(state, "snk-1", load=0.5)
    assert state.hub.sent == 0
    beat(state, "snk-1", load=0.85)
    assert state.hub.sent == 1
    beat(state, "snk-1", load=0.7)
    assert state.hub.sent == 1
    directive = asyncio.run(mailbox.get())
    assert directive is not None and directive.throttle_rate == 0.5
    assert "snk-1" in directive.reason and directive.policy.revision == 1


def test_discover_filters(state: ControllerState) -> None:
    sinks = state.discover(fc.DiscoverRequest(service_type=cp.SERVICE_TYPE_SINK))
    assert [e.service_id for e in sinks.endpoints] == ["snk-1"]
    assert [e.service_id for e in state.discover(fc.DiscoverRequest(name="src")).endpoints] == [
        "src-1"
    ]
    assert len(state.discover(fc.DiscoverRequest()).endpoints) == 2


def test_mailbox_keeps_only_the_latest_and_ends_after_close() -> None:
    async def scenario() -> list[str | None]:
        mailbox = Mailbox("s")
        for reason in ("a", "b", "c"):
            mailbox.put(fc.Directive(service_id="s", reason=reason))
        first = await mailbox.get()
        mailbox.put(fc.Directive(service_id="s", reason="d"))
        mailbox.close()
        second, third = await mailbox.get(), await mailbox.get()
        return [d.reason if d else None for d in (first, second, third)]

    assert asyncio.run(scenario()) == ["c", "d", None]


def test_hub_unsubscribe_leaves_nothing_behind() -> None:
    hub = DirectiveHub()
    boxes = [hub.subscribe("s") for _ in range(3)]
    assert hub.publish(fc.Directive(service_id="s")) == 3
    for box in boxes:
        hub.unsubscribe(box)
        hub.unsubscribe(box)
    assert hub.subscriber_count() == 0 and hub.subscribed_services() == []
    assert hub.publish(fc.Directive(service_id="s")) == 0


def test_sweep_interval_bounds() -> None:
    assert sweep_interval(5.0) == 1.0
    assert sweep_interval(0.4) == pytest.approx(0.1)
    assert sweep_interval(0.01) == 0.05
