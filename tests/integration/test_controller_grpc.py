"""The controller over real gRPC on loopback: registry, heartbeats, health, directives, policy."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator

import grpc
import pytest
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl import flow_control_pb2 as fc
from flowctl import flow_control_pb2_grpc as fc_grpc
from flowctl.contract import FlowControlSettings, Policy, PoolSettings
from flowctl.policy_codec import policy_from_proto, policy_to_proto
from flowrun.controller.server import Controller
from google.protobuf.empty_pb2 import Empty
from polling import wait_for_async
from prometheus_client import CollectorRegistry

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]
WAIT = 10.0


@pytest.fixture
async def controller(metrics: CollectorRegistry) -> AsyncIterator[Controller]:
    server = Controller(Policy(heartbeat_ttl_seconds=30.0), registry=metrics)
    await server.start()
    yield server
    await server.stop(grace=0)


async def register(
    plane: cp_grpc.ControlPlaneStub,
    service_id: str,
    service_type: int = cp.SERVICE_TYPE_PROCESSOR,
    *,
    inputs: str = "",
    endpoint: str = "",
    max_inflight: int = 100,
) -> cp.RegistrationAck:
    metadata = {"inputs": inputs, "endpoint": endpoint} if inputs or endpoint else {}
    info = cp.ServiceInfo(
        service_id=service_id,
        component_id=service_id.rsplit("-", 1)[0],
        service_type=service_type,  # type: ignore[arg-type]
        max_inflight=max_inflight,
        metadata=metadata,
    )
    ack: cp.RegistrationAck = await plane.Register(info, timeout=WAIT)
    return ack


async def heartbeat(plane: cp_grpc.ControlPlaneStub, service_id: str, **metrics: float) -> None:
    await plane.Heartbeat(cp.ServiceHeartbeat(service_id=service_id, metrics=metrics), timeout=WAIT)


async def pipeline(plane: cp_grpc.ControlPlaneStub) -> None:
    """source -> processor -> sink."""
    await register(plane, "source-1", cp.SERVICE_TYPE_SOURCE, endpoint="127.0.0.1:9001")
    await register(plane, "processor-1", inputs="source", endpoint="127.0.0.1:9002")
    await register(plane, "sink-1", cp.SERVICE_TYPE_SINK, inputs="processor")


async def next_directive(stream: grpc.aio.UnaryStreamCall) -> fc.Directive:
    directive = await asyncio.wait_for(stream.read(), WAIT)
    assert directive is not grpc.aio.EOF, "the directive stream ended"
    assert isinstance(directive, fc.Directive)
    return directive


def sample(metrics: CollectorRegistry, name: str, **labels: str) -> float | None:
    return metrics.get_sample_value(name, labels)


async def test_register_heartbeat_list_status_and_discover(
    controller: Controller, plane: cp_grpc.ControlPlaneStub, flow: fc_grpc.FlowControlStub
) -> None:
    ack = await register(plane, "source-1", cp.SERVICE_TYPE_SOURCE, endpoint="127.0.0.1:9001")
    assert ack.service_id == "source-1"
    await heartbeat(plane, "source-1", inflight=40, throughput=1200.0, latency_seconds=0.004)

    status = await plane.GetServiceStatus(cp.ServiceInfo(service_id="source-1"), timeout=WAIT)
    assert status.is_healthy and status.service_type == cp.SERVICE_TYPE_SOURCE
    assert status.metrics["load"] == pytest.approx(0.4)
    assert status.metrics["throughput"] == 1200.0
    assert abs(status.last_heartbeat.ToDatetime().timestamp() - time.time()) < 60

    listed = await plane.ListServices(Empty(), timeout=WAIT)
    assert [s.service_id for s in listed.services] == ["source-1"]

    found = await flow.Discover(fc.DiscoverRequest(service_type=cp.SERVICE_TYPE_SOURCE))
    assert [(e.service_id, e.endpoint) for e in found.endpoints] == [("source-1", "127.0.0.1:9001")]
    by_name = await flow.Discover(fc.DiscoverRequest(name="source"))
    assert len(by_name.endpoints) == 1
    assert not (
        await flow.Discover(fc.DiscoverRequest(service_type=cp.SERVICE_TYPE_SINK))
    ).endpoints

    (view,) = controller.services()
    assert (view.service_id, view.service_type, view.endpoint) == (
        "source-1",
        "source",
        "127.0.0.1:9001",
    )
    assert view.healthy and view.load == pytest.approx(0.4) and view.throughput == 1200.0
    assert view.last_heartbeat is not None and view.last_heartbeat >= view.registered_at


async def test_pipeline_metrics_over_grpc_and_embedded(
    controller: Controller, plane: cp_grpc.ControlPlaneStub, flow: fc_grpc.FlowControlStub
) -> None:
    await pipeline(plane)
    await heartbeat(plane, "source-1", load=0.2, throughput=100.0, latency_seconds=0.01)
    await heartbeat(plane, "processor-1", load=0.4, throughput=50.0, latency_seconds=0.03)
    remote = await flow.GetPipelineMetrics(Empty(), timeout=WAIT)
    local = controller.pipeline_metrics()
    for message in (remote, local):
        assert message.total_services == 3 and message.healthy_services == 3
        assert message.total_throughput == 150.0
        assert message.max_load == pytest.approx(0.4)
        assert message.mean_load == pytest.approx(0.2)
        assert message.max_latency_seconds == pytest.approx(0.03)
        assert message.policy_revision == 1


async def test_unknown_service_is_told_to_register_again(
    plane: cp_grpc.ControlPlaneStub, flow: fc_grpc.FlowControlStub, metrics: CollectorRegistry
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await heartbeat(plane, "ghost-1", load=0.5)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert "Register" in (error.value.details() or "")
    assert sample(metrics, "flowctl_controller_unknown_heartbeats_total") == 1.0

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await plane.GetServiceStatus(cp.ServiceInfo(service_id="ghost-1"), timeout=WAIT)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND

    stream = flow.WatchDirectives(fc.DirectiveRequest(service_id="ghost-1"), timeout=WAIT)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stream.read()
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_duplicate_registration_replaces(
    controller: Controller, plane: cp_grpc.ControlPlaneStub, metrics: CollectorRegistry
) -> None:
    for round_ in range(50):
        await register(plane, "sink-1", cp.SERVICE_TYPE_SINK, endpoint=f"127.0.0.1:{9000 + round_}")
    (view,) = controller.services()
    assert view.endpoint == "127.0.0.1:9049"
    assert sample(metrics, "flowctl_controller_reregistrations_total") == 49.0
    assert sample(metrics, "flowctl_controller_services", health="healthy") == 1.0


async def test_registration_without_service_id_gets_one(plane: cp_grpc.ControlPlaneStub) -> None:
    ack = await plane.Register(cp.ServiceInfo(component_id="lonely"), timeout=WAIT)
    assert ack.service_id.startswith("lonely-")
    await heartbeat(plane, ack.service_id, load=0.1)


async def test_a_service_id_past_1024_characters_is_refused_not_cut(
    controller: Controller, plane: cp_grpc.ControlPlaneStub
) -> None:
    """A client that heartbeats under the id it sent would find a cut id NOT_FOUND, and two
    long ids alike in their first 1024 characters would be one service: refused, as v1 is."""
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await register(plane, "s" * 1025)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.value.details() == (
        "service_id is 1025 characters long, past the limit of 1024: register with a shorter id"
    )
    assert controller.services() == []
    ack = await register(plane, "s" * 1024)
    assert ack.service_id == "s" * 1024
    await heartbeat(plane, ack.service_id, load=0.1)


async def test_garbage_metrics_never_poison_the_controller(
    controller: Controller, plane: cp_grpc.ControlPlaneStub, metrics: CollectorRegistry
) -> None:
    await register(plane, "sink-1", cp.SERVICE_TYPE_SINK)
    await register(plane, "source-1", cp.SERVICE_TYPE_SOURCE)
    await heartbeat(plane, "source-1", load=0.5, throughput=10.0)
    garbage: dict[str, float] = {f"junk_{i}": float(i) for i in range(20_000)}
    garbage.update(load=math.nan, throughput=math.inf, latency_seconds=-3.0, inflight=-1.0)
    await plane.Heartbeat(cp.ServiceHeartbeat(service_id="sink-1", metrics=garbage), timeout=WAIT)
    await heartbeat(plane, "sink-1", load=1e308)

    totals = controller.pipeline_metrics()
    assert all(
        math.isfinite(value)
        for value in (totals.total_throughput, totals.max_load, totals.mean_load)
    )
    assert totals.total_throughput == 10.0
    view = next(v for v in controller.services() if v.service_id == "sink-1")
    assert view.load == 10.0  # clamped, and it counts as overloaded
    assert view.overloaded
    status = await plane.GetServiceStatus(cp.ServiceInfo(service_id="sink-1"), timeout=WAIT)
    assert len(status.metrics) <= 65
    dropped = sample(metrics, "flowctl_controller_metrics_dropped_total")
    assert dropped is not None and dropped >= 20_000 - 64


async def test_janitor_marks_silent_services_unhealthy_and_keeps_last_heartbeat(
    metrics: CollectorRegistry,
) -> None:
    server = Controller(
        Policy(heartbeat_interval_seconds=0.1, heartbeat_ttl_seconds=0.3),
        registry=metrics,
        declared_components={"source", "processor", "sink"},  # judged by the policy
    )
    address = await server.start()
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            plane = cp_grpc.ControlPlaneStub(channel)
            await pipeline(plane)
            await heartbeat(plane, "sink-1", load=0.95)
            assert server.backpressure_active
            before = next(v for v in server.services() if v.service_id == "sink-1").last_heartbeat

            def sink_unhealthy() -> bool:
                return not next(v for v in server.services() if v.service_id == "sink-1").healthy

            await wait_for_async(sink_unhealthy, what="the silent sink to turn unhealthy")
            status = await plane.GetServiceStatus(cp.ServiceInfo(service_id="sink-1"))
            assert not status.is_healthy
            assert status.last_heartbeat.ToNanoseconds() == pytest.approx(before * 1e9, abs=1e3)
            # A silent sink must not keep its upstream throttled forever.
            await wait_for_async(
                lambda: not server.backpressure_active, what="backpressure release"
            )
            await wait_for_async(
                lambda: (
                    (sample(metrics, "flowctl_controller_unhealthy_transitions_total") or 0) >= 3
                ),
                what="the janitor to count three silent services",
            )

            await heartbeat(plane, "sink-1", load=0.95)
            assert next(v for v in server.services() if v.service_id == "sink-1").healthy
            assert server.backpressure_active
    finally:
        await server.stop(grace=0)


async def test_directive_stream_follows_a_heartbeat(
    plane: cp_grpc.ControlPlaneStub, flow: fc_grpc.FlowControlStub, metrics: CollectorRegistry
) -> None:
    await pipeline(plane)
    stream = flow.WatchDirectives(fc.DirectiveRequest(service_id="source-1"))
    first = await next_directive(stream)
    assert first.throttle_rate == 1.0 and not first.backpressure_active
    assert first.policy.activate_at == 0.8 and first.policy.revision == 1

    await heartbeat(plane, "sink-1", inflight=85)  # 85 / 100 >= activate_at
    throttled = await next_directive(stream)
    assert throttled.throttle_rate == 0.5 and throttled.backpressure_active
    assert "sink-1" in throttled.reason

    sent = sample(metrics, "flowctl_controller_directives_sent_total")
    await heartbeat(plane, "sink-1", inflight=70)  # inside the hysteresis band: nothing to say
    assert sample(metrics, "flowctl_controller_directives_sent_total") == sent
    await heartbeat(plane, "sink-1", inflight=59)
    released = await next_directive(stream)
    assert released.throttle_rate == 1.0 and not released.backpressure_active
    stream.cancel()


async def test_policy_update_reaches_every_subscriber_and_applies_at_once(
    controller: Controller, plane: cp_grpc.ControlPlaneStub, flow: fc_grpc.FlowControlStub
) -> None:
    await pipeline(plane)
    await heartbeat(plane, "sink-1", load=0.7)
    streams = {
        name: flow.WatchDirectives(fc.DirectiveRequest(service_id=name))
        for name in ("source-1", "processor-1", "sink-1")
    }
    for stream in streams.values():
        assert (await next_directive(stream)).throttle_rate == 1.0

    revision = await controller.update_policy(
        Policy(FlowControlSettings(0.7, 0.5, 0.25), heartbeat_ttl_seconds=30.0)
    )
    assert revision == 2 and controller.backpressure_active
    got = {name: await next_directive(stream) for name, stream in streams.items()}
    assert {name: d.policy.revision for name, d in got.items()} == dict.fromkeys(got, 2)
    assert got["source-1"].throttle_rate == 0.25 and got["processor-1"].throttle_rate == 0.25
    assert got["sink-1"].throttle_rate == 1.0
    assert got["sink-1"].policy.activate_at == 0.7
    for stream in streams.values():
        stream.cancel()


async def test_update_policy_rpc_and_get_policy(
    controller: Controller, flow: fc_grpc.FlowControlStub
) -> None:
    wanted = Policy(
        FlowControlSettings(activate_at=0.9, deactivate_at=0.3, throttle_rate=0.1),
        # zero retries is a setting, not "unset"
        PoolSettings(connect_timeout_seconds=2.5, max_retries=0),
        heartbeat_ttl_seconds=30.0,
    )
    ack = await flow.UpdatePolicy(policy_to_proto(wanted), timeout=WAIT)
    assert ack.revision == 2 and controller.policy == wanted
    current = await flow.GetPolicy(Empty(), timeout=WAIT)
    assert current.revision == 2 and policy_from_proto(current) == wanted

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await flow.UpdatePolicy(fc.Policy(activate_at=0.5, deactivate_at=0.9), timeout=WAIT)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert controller.revision == 2


async def test_subscriber_that_disappears_is_cleaned_up(
    controller: Controller, plane: cp_grpc.ControlPlaneStub, metrics: CollectorRegistry
) -> None:
    await pipeline(plane)
    assert controller.address is not None
    for _ in range(3):
        channel = grpc.aio.insecure_channel(controller.address)
        stream = fc_grpc.FlowControlStub(channel).WatchDirectives(
            fc.DirectiveRequest(service_id="source-1")
        )
        await next_directive(stream)
        assert sample(metrics, "flowctl_controller_directive_streams") == 1.0
        await channel.close(grace=None)  # the client vanishes mid-stream
        await wait_for_async(
            lambda: sample(metrics, "flowctl_controller_directive_streams") == 0.0,
            what="the dead stream's mailbox to be removed",
        )
    # Changes after the client left go nowhere and break nothing.
    await heartbeat(plane, "sink-1", load=0.99)
    assert controller.backpressure_active


async def test_stop_ends_directive_streams() -> None:
    server = Controller(Policy(), registry=CollectorRegistry())
    address = await server.start()
    async with grpc.aio.insecure_channel(address) as channel:
        await register(cp_grpc.ControlPlaneStub(channel), "source-1", cp.SERVICE_TYPE_SOURCE)
        stream = fc_grpc.FlowControlStub(channel).WatchDirectives(
            fc.DirectiveRequest(service_id="source-1")
        )
        await next_directive(stream)
        await server.stop(grace=1.0)
        assert await asyncio.wait_for(stream.read(), WAIT) is grpc.aio.EOF
    await server.stop()  # idempotent


async def test_restarted_controller_accepts_re_registration(metrics: CollectorRegistry) -> None:
    first = Controller(Policy(), registry=metrics)
    address = await first.start()
    channel = grpc.aio.insecure_channel(
        address,
        options=[
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 500),
        ],
    )
    plane = cp_grpc.ControlPlaneStub(channel)
    try:
        await register(plane, "sink-1", cp.SERVICE_TYPE_SINK)
        await heartbeat(plane, "sink-1", load=0.1)
        await first.stop(grace=0)

        second = Controller(Policy(), listen=address, registry=metrics)
        assert await second.start() == address
        try:
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await plane.Heartbeat(
                    cp.ServiceHeartbeat(service_id="sink-1"), timeout=WAIT, wait_for_ready=True
                )
            assert error.value.code() == grpc.StatusCode.NOT_FOUND
            await register(plane, "sink-1", cp.SERVICE_TYPE_SINK)
            await heartbeat(plane, "sink-1", load=0.2)
            assert [v.service_id for v in second.services()] == ["sink-1"]
        finally:
            await second.stop(grace=0)
    finally:
        await channel.close()


async def test_a_thousand_services(
    controller: Controller, plane: cp_grpc.ControlPlaneStub, flow: fc_grpc.FlowControlStub
) -> None:
    """500 sources each feeding its own sink; every tenth sink overloaded."""
    count = 500
    for start in range(0, count, 100):
        batch = range(start, start + 100)
        await asyncio.gather(*(register(plane, f"src{i}-1", cp.SERVICE_TYPE_SOURCE) for i in batch))
        await asyncio.gather(
            *(register(plane, f"snk{i}-1", cp.SERVICE_TYPE_SINK, inputs=f"src{i}") for i in batch)
        )
        await asyncio.gather(
            *(heartbeat(plane, f"snk{i}-1", load=0.9 if i % 10 == 0 else 0.1) for i in batch),
            *(heartbeat(plane, f"src{i}-1", load=0.3, throughput=2.0) for i in batch),
        )
    listed = await plane.ListServices(Empty(), timeout=WAIT)
    assert len(listed.services) == 2 * count
    metrics = await flow.GetPipelineMetrics(Empty(), timeout=WAIT)
    assert metrics.total_services == metrics.healthy_services == 2 * count
    assert metrics.total_throughput == pytest.approx(2.0 * count)
    views = {v.service_id: v for v in controller.services()}
    throttled = sorted(name for name, view in views.items() if view.throttle_rate < 1.0)
    assert throttled == sorted(f"src{i}-1" for i in range(0, count, 10))
    assert sum(view.overloaded for view in views.values()) == count // 10
    found = await flow.Discover(fc.DiscoverRequest(service_type=cp.SERVICE_TYPE_SINK))
    assert len(found.endpoints) == count


async def test_prometheus_metrics_are_measured(
    controller: Controller, plane: cp_grpc.ControlPlaneStub, metrics: CollectorRegistry
) -> None:
    await pipeline(plane)
    assert sample(metrics, "flowctl_backpressure_active") == 0.0
    await heartbeat(plane, "sink-1", load=0.9)
    assert (
        sample(metrics, "flowctl_service_load_ratio", service_id="sink-1", service_type="sink")
        == 0.9
    )
    assert (
        sample(metrics, "flowctl_throttle_rate", service_id="source-1", service_type="source")
        == 0.5
    )
    assert sample(metrics, "flowctl_backpressure_active") == 1.0
    assert sample(metrics, "flowctl_controller_registrations_total") == 3.0
    assert sample(metrics, "flowctl_controller_heartbeats_total") == 1.0
    await controller.update_policy(Policy(heartbeat_ttl_seconds=30.0))
    assert sample(metrics, "flowctl_controller_policy_revision") == 2.0
