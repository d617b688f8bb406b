"""ControllerClient against a scripted servicer on a real loopback gRPC server."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from fixtures.manual_clock import ManualClock
from flowctl import FlowController
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl import flow_control_pb2 as fc
from flowctl import flow_control_pb2_grpc as fc_grpc
from flowctl.client import ControllerClient, Registration
from flowctl.contract import FlowControlSettings, Policy, PoolSettings
from flowctl.policy_codec import policy_to_proto
from flowctl.settings import ComponentSettings
from google.protobuf import empty_pb2
from polling import wait_for
from ports import free_port


class ScriptedControlPlane(cp_grpc.ControlPlaneServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.registrations: list[cp.ServiceInfo] = []
        self.heartbeats: list[cp.ServiceHeartbeat] = []
        self.metadata: list[dict[str, str]] = []
        self.forget_next = 0

    def Register(
        self, request: cp.ServiceInfo, context: grpc.ServicerContext
    ) -> cp.RegistrationAck:
        self.registrations.append(request)
        self.metadata.append(dict(context.invocation_metadata()))
        return cp.RegistrationAck(service_id=request.service_id)

    def Heartbeat(
        self, request: cp.ServiceHeartbeat, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        if self.forget_next:
            self.forget_next -= 1
            context.abort(grpc.StatusCode.NOT_FOUND, f"service {request.service_id} not registered")
        self.heartbeats.append(request)
        return empty_pb2.Empty()


class ScriptedFlowControl(fc_grpc.FlowControlServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.directives: list[fc.Directive] = []
        self.changed = threading.Condition()

    def push(self, directive: fc.Directive) -> None:
        with self.changed:
            self.directives.append(directive)
            self.changed.notify_all()

    def WatchDirectives(
        self, request: fc.DirectiveRequest, context: grpc.ServicerContext
    ) -> Iterator[fc.Directive]:
        sent = 0
        while context.is_active():
            with self.changed:
                self.changed.wait_for(lambda n=sent: len(self.directives) > n, timeout=0.1)
                pending = self.directives[sent:]
            for directive in pending:
                sent += 1
                yield directive


@pytest.fixture
def servicers() -> Iterator[tuple[ScriptedControlPlane, ScriptedFlowControl, str]]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    control, flow = ScriptedControlPlane(), ScriptedFlowControl()
    cp_grpc.add_ControlPlaneServicer_to_server(control, server)
    fc_grpc.add_FlowControlServicer_to_server(flow, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield control, flow, f"127.0.0.1:{port}"
    server.stop(0)


def make_client(endpoint: str, **kwargs: Any) -> tuple[ControllerClient, FlowController]:
    settings = ComponentSettings(
        component_id="proc",
        service_id="proc-1",
        component_type="processor",
        inputs={"src": "127.0.0.1:9", "other": ""},
        flowctl_enabled=True,
        flowctl_endpoint=endpoint,
        heartbeat_interval_seconds=kwargs.pop("heartbeat_interval_seconds", 0.1),
        token=kwargs.pop("token", None),
    )
    flow = FlowController(50)
    client = ControllerClient(settings, flow, Registration(endpoint="127.0.0.1:7777"), **kwargs)
    return client, flow


def test_a_controller_that_answers_at_once_raises_no_alarm(
    servicers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client, flow = make_client(servicers[2])
    assert client.starting  # before start: nothing tried yet
    with caplog.at_level(logging.WARNING, logger="flowctl"):
        client.start()
        try:
            assert client.wait_registered(20)
            assert not client.starting
            assert flow.controller_connected
        finally:
            client.stop()
    assert caplog.records == []


class HeldControlPlane(cp_grpc.ControlPlaneServicer):  # type: ignore[misc]
    """A controller that takes a Register call and never answers it (until released)."""

    def __init__(self) -> None:
        self.called = threading.Event()
        self.release = threading.Event()

    def Register(
        self, request: cp.ServiceInfo, context: grpc.ServicerContext
    ) -> cp.RegistrationAck:
        self.called.set()
        self.release.wait(HELD_SECONDS)
        return cp.RegistrationAck(service_id=request.service_id)


HELD_SECONDS = 30.0
PROMPT_SECONDS = 2.5  # half the 5 s call timeout a stuck call would otherwise wait out


def test_the_components_stop_cuts_a_pending_registration_short() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    held = HeldControlPlane()
    cp_grpc.add_ControlPlaneServicer_to_server(held, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    component_stopping = threading.Event()
    client, _ = make_client(
        f"127.0.0.1:{port}", heartbeat_interval_seconds=30.0, stop=component_stopping
    )
    assert client.call_timeout == 5.0
    try:
        client.start()
        assert held.called.wait(HELD_SECONDS)
        component_stopping.set()  # what SIGTERM does; nobody calls client.stop() yet
        wait_for(
            lambda: not client.running,
            PROMPT_SECONDS,
            "the client thread to end on the component's stop",
            interval=0.01,
        )
        assert client.stats.registration_failures_total == 0  # a cancel is no failure
        assert not client.registered
    finally:
        held.release.set()
        client.stop()
        server.stop(0)


def test_registration_carries_identity_endpoint_inputs_and_token(servicers: Any) -> None:
    control, _, endpoint = servicers
    client, _ = make_client(endpoint, token="s3cret")
    client.start()
    try:
        assert client.wait_registered(20)
        info = control.registrations[0]
        assert (info.service_id, info.component_id) == ("proc-1", "proc")
        assert info.service_type == cp.SERVICE_TYPE_PROCESSOR
        assert info.max_inflight == 50
        assert info.metadata["endpoint"] == "127.0.0.1:7777"
        assert info.metadata["inputs"] == "src,other"
        assert control.metadata[0]["authorization"] == "Bearer s3cret"
    finally:
        client.stop()


def test_heartbeats_carry_measured_metrics(servicers: Any) -> None:
    control, _, endpoint = servicers
    client, flow = make_client(endpoint)
    flow.acquire(20)
    client.start()
    try:
        wait_for(lambda: len(control.heartbeats) >= 2)
        metrics = dict(control.heartbeats[-1].metrics)
        assert metrics["inflight"] == 20
        assert metrics["max_inflight"] == 50
        assert metrics["load"] == pytest.approx(0.4)
        assert {"throughput", "latency_seconds"} <= set(metrics)
        assert control.heartbeats[-1].timestamp.seconds > 0
        flow.release(20)
        wait_for(lambda: dict(control.heartbeats[-1].metrics)["inflight"] == 0)
        assert dict(control.heartbeats[-1].metrics)["throughput"] > 0
    finally:
        client.stop()


def test_not_found_heartbeat_registers_again(servicers: Any) -> None:
    control, _, endpoint = servicers
    client, _ = make_client(endpoint)
    client.start()
    try:
        assert client.wait_registered(20)
        wait_for(lambda: len(control.heartbeats) >= 1)
        control.forget_next = 1
        wait_for(lambda: len(control.registrations) >= 2)
        wait_for(lambda: client.stats.reregistrations_total == 1)
        assert client.stats.heartbeat_failures_total >= 1
    finally:
        client.stop()


def test_metrics_provider_that_raises_still_heartbeats(
    servicers: Any, caplog: pytest.LogCaptureFixture
) -> None:
    control, _, endpoint = servicers
    calls = {"n": 0}

    def provider() -> dict[str, float]:
        calls["n"] += 1
        if calls["n"] % 2:
            raise RuntimeError("sensor broke")
        return {"ledgers": 7.0, "bad": float("nan"), "worse": float("inf")}

    client, _ = make_client(endpoint, metrics_provider=provider)
    with caplog.at_level(logging.WARNING, logger="flowctl.client"):
        client.start()
        try:
            wait_for(lambda: len(control.heartbeats) >= 4)
        finally:
            client.stop()
    assert client.stats.metrics_errors_total >= 2
    assert all("load" in hb.metrics for hb in control.heartbeats)
    with_extra = [hb for hb in control.heartbeats if "ledgers" in hb.metrics]
    assert with_extra
    assert all("bad" not in hb.metrics and "worse" not in hb.metrics for hb in with_extra)
    assert "sensor broke" in caplog.text


def test_directives_throttle_and_policy_applies_live(servicers: Any) -> None:
    _, flow_servicer, endpoint = servicers
    policies: list[Policy] = []
    client, flow = make_client(endpoint, on_policy=policies.append)
    client.start()
    try:
        assert client.wait_registered(20)
        wait_for(lambda: flow.controller_connected)
        sent = Policy(
            flow_control=FlowControlSettings(
                activate_at=0.9, deactivate_at=0.3, throttle_rate=0.25
            ),
            pool=PoolSettings(min_connections=1, max_connections=3),
            heartbeat_interval_seconds=0.3,
        )
        policy = policy_to_proto(sent, revision=4)
        flow_servicer.push(
            fc.Directive(
                service_id="proc-1", throttle_rate=0.4, backpressure_active=True, policy=policy
            )
        )
        wait_for(lambda: flow.throttle_rate == 0.4)
        assert flow.backpressure_active
        assert flow.thresholds.activate_at == 0.9
        assert flow.thresholds.throttle_rate == 0.25
        assert client.heartbeat_interval == 0.3
        assert policies == [sent]
        flow_servicer.push(fc.Directive(service_id="proc-1", throttle_rate=1.0, policy=policy))
        wait_for(lambda: flow.throttle_rate == 1.0)
        assert policies == [sent]  # same revision: not applied again
    finally:
        client.stop()


def test_unreachable_controller_means_local_flow_control(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(0.0)
    client, flow = make_client(f"127.0.0.1:{free_port()}", clock=clock)
    with caplog.at_level(logging.WARNING, logger="flowctl.client"):
        client.start()
        try:
            wait_for(lambda: client.stats.registration_failures_total >= 3)
            # Failures within the first registration window: retried, no alarm yet.
            assert client.starting
            assert "unreachable" not in caplog.text
            clock.now = client.startup_window_seconds
            assert not client.starting
            wait_for(lambda: "running on local flow control" in caplog.text)
            failures = client.stats.registration_failures_total
            wait_for(lambda: client.stats.registration_failures_total >= failures + 3)
        finally:
            client.stop()
    assert not client.registered
    assert not flow.controller_connected
    assert caplog.text.count("unreachable") == 1  # said once per loss, not per attempt
    flow.acquire(45)
    assert flow.throttle_rate == 0.5  # local hysteresis took over
