"""The real flowctl clients, played as the reference describes them, against the real
controller over gRPC on loopback (insecure dial, no token, their ids, types, event types,
metadata and metric strings).

Intervals: the clients heartbeat every 10 s. The controller runs on a fake clock that the
test moves by 10 s between heartbeats (so "healthy between heartbeats" is checked at 9.99 s
of 10 without waiting); gRPC, the janitor and the directive streams are real and real-time.
The time from a load crossing activate_at to the directive on the upstream's stream is
measured on the real clock and printed (`-s` shows it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
from fixtures.manual_clock import ManualClock
from fixtures.supervision_fakes import component, pipeline_body
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl import flow_control_pb2 as fc
from flowctl import flow_control_pb2_grpc as fc_grpc
from flowctl.contract import FlowControlSettings, Policy
from flowctl.v1 import common_pb2 as v1c
from flowctl.v1 import control_plane_pb2 as v1
from flowctl.v1 import control_plane_pb2_grpc as v1_grpc
from flowrun.controller.server import Controller
from flowrun.spec.readiness import ReadyCheck, ReadyKind
from flowrun.supervision.controlplane import EmbeddedControlPlane
from flowrun.supervision.readiness import heartbeat_lost
from google.protobuf.empty_pb2 import Empty
from prometheus_client import CollectorRegistry

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]
WAIT = 10.0
CLIENT_INTERVAL = 10.0
POLICY = Policy(
    FlowControlSettings(activate_at=0.8, deactivate_at=0.6, throttle_rate=0.5),
    heartbeat_interval_seconds=1.0,
    heartbeat_ttl_seconds=5.0,
)
UPSTREAM_ENDPOINT = "127.0.0.1:8815"
LEDGER_V1 = "stellar.ledger.v1"
BATCH_V1 = "stellar.ledger.batch.v1"


@dataclass
class Rig:
    controller: Controller
    clock: ManualClock
    channel: grpc.aio.Channel
    metrics: CollectorRegistry

    @property
    def legacy(self) -> cp_grpc.ControlPlaneStub:
        return cp_grpc.ControlPlaneStub(self.channel)

    @property
    def v1(self) -> v1_grpc.ControlPlaneServiceStub:
        return v1_grpc.ControlPlaneServiceStub(self.channel)

    def healthy(self, service_id: str) -> bool:
        return next(v for v in self.controller.services() if v.service_id == service_id).healthy

    def throttle(self, service_id: str) -> float:
        return next(
            v for v in self.controller.services() if v.service_id == service_id
        ).throttle_rate


@pytest.fixture
async def rig(metrics: CollectorRegistry) -> AsyncIterator[Rig]:
    clock = ManualClock(time.time())
    controller = Controller(POLICY, registry=metrics, wall_clock=clock, monotonic=clock)
    address = await controller.start()
    try:
        async with grpc.aio.insecure_channel(address) as channel:  # the clients dial insecure
            yield Rig(controller, clock, channel, metrics)
    finally:
        await controller.stop(grace=0)


async def flowrun_upstream(rig: Rig) -> grpc.aio.UnaryStreamCall[fc.DirectiveRequest, fc.Directive]:
    """A flowrun SDK source the client reads from, and its WatchDirectives stream."""
    await rig.legacy.Register(
        cp.ServiceInfo(
            service_id="ledger-source-1", component_id="ledger-source", service_type=1,
            output_event_types=[LEDGER_V1, "stellar_ledger_service.StellarLedger"],
            metadata={"endpoint": UPSTREAM_ENDPOINT},
        ),
        timeout=WAIT,
    )  # fmt: skip
    stream = fc_grpc.FlowControlStub(rig.channel).WatchDirectives(
        fc.DirectiveRequest(service_id="ledger-source-1")
    )
    first = await stream.read()
    assert isinstance(first, fc.Directive) and first.throttle_rate == 1.0
    return stream


async def seconds_to_directive(
    stream: grpc.aio.UnaryStreamCall[fc.DirectiveRequest, fc.Directive], crossing: object
) -> float:
    """Send the heartbeat that crosses activate_at; real seconds until the upstream is told."""
    started = time.perf_counter()
    await crossing  # type: ignore[misc]
    while True:
        directive = await stream.read()
        assert isinstance(directive, fc.Directive)
        if directive.backpressure_active:
            return time.perf_counter() - started


def obsrvr_info() -> cp.ServiceInfo:
    """The legacy obsrvr ttp-arrow-processor, as its internal/flowctl registers."""
    return cp.ServiceInfo(
        service_id="",
        service_type=cp.SERVICE_TYPE_PROCESSOR,
        input_event_types=["stellar_ledger_service.StellarLedger"],
        output_event_types=["ttp_event_service.TTPEvent"],
        health_endpoint="http://localhost:8088/health",
        max_inflight=1000,
        metadata={"endpoints": "localhost:8816", "source_endpoint": "localhost:8815"},
    )


def obsrvr_metrics(inflight: float) -> dict[str, float]:
    return {
        "current_inflight": inflight,
        "inflight_utilization": inflight / 1000,
        "events_per_second": 1200.0,
        "processing_latency_ms": 35.0,
        "bytes_written": 2_500_000_000_123.0,  # past 1e12
    }


async def test_legacy_obsrvr_client(rig: Rig) -> None:
    stream = await flowrun_upstream(rig)
    ack = await rig.legacy.Register(obsrvr_info(), timeout=WAIT)
    service_id = ack.service_id
    assert service_id and ack.connection_info["control_plane_endpoint"] == rig.controller.address
    assert list(ack.topic_names) == ["ttp_event_service.TTPEvent.v1"]
    view = next(v for v in rig.controller.services() if v.service_id == service_id)
    assert view.endpoint == "localhost:8816" and view.last_heartbeat == rig.clock.now

    for _ in range(5):  # first heartbeat 10 s after Register, then every 10 s
        rig.clock.now += CLIENT_INTERVAL - 0.01
        assert rig.healthy(service_id), "flagged between two heartbeats"
        rig.clock.now += 0.01
        await rig.legacy.Heartbeat(
            cp.ServiceHeartbeat(service_id=service_id, metrics=obsrvr_metrics(500)), timeout=WAIT
        )
    # It asks for its status with the ServiceInfo it registered (service id empty).
    status = await rig.legacy.GetServiceStatus(obsrvr_info(), timeout=WAIT)
    assert status.service_id == service_id and status.is_healthy
    assert status.metrics["bytes_written"] == 2_500_000_000_123.0
    assert status.metrics["load"] == pytest.approx(0.5)
    seen = await rig.v1.GetComponentStatus(v1.ComponentStatusRequest(service_id=service_id))
    assert seen.status == v1c.HEALTH_STATUS_HEALTHY
    assert seen.metrics["bytes_written"] == "2500000000123"

    crossing = rig.legacy.Heartbeat(
        cp.ServiceHeartbeat(service_id=service_id, metrics=obsrvr_metrics(900)), timeout=WAIT
    )
    took = await seconds_to_directive(stream, crossing)
    print(f"\nlegacy obsrvr: 900/1000 in flight -> upstream throttled in {took * 1000:.2f} ms")
    assert rig.throttle("ledger-source-1") == 0.5
    view = next(v for v in rig.controller.services() if v.service_id == service_id)
    assert view.load == pytest.approx(0.9) and view.inflight == 900 and view.throughput == 1200
    assert view.latency_seconds == pytest.approx(0.035) and view.overloaded
    labels = {"service_id": service_id, "service_type": "processor"}
    assert rig.metrics.get_sample_value("flowctl_service_load_ratio", labels) == 0.9

    # After NOT_FOUND it only logs: nothing else is expected of it.
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await rig.legacy.Heartbeat(cp.ServiceHeartbeat(service_id="gone"), timeout=WAIT)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    stream.cancel()


async def test_legacy_load_values_all_unusable_keep_the_last_load_and_say_so_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """The legacy wire carries doubles, so a broken client's load is NaN, infinite or
    negative. Its last good load stands (0 would lift backpressure on a broken client's
    word), and the operator is told once per registration, not every 10 s."""
    ack = await rig.legacy.Register(obsrvr_info(), timeout=WAIT)
    service_id = ack.service_id

    async def beat(**metrics: float) -> float:
        heartbeat = cp.ServiceHeartbeat(service_id=service_id, metrics=metrics)
        await rig.legacy.Heartbeat(heartbeat, timeout=WAIT)
        return next(v.load for v in rig.controller.services() if v.service_id == service_id)

    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]

    caplog.set_level(logging.WARNING, logger="flowrun.controller")
    assert await beat(**obsrvr_metrics(500)) == pytest.approx(0.5)
    assert await beat(events_per_second=1200.0) == pytest.approx(0.5)  # no load sent: no fault
    assert warnings() == []
    nan = float("nan")
    assert await beat(current_inflight=nan, inflight_utilization=nan) == pytest.approx(0.5)
    assert warnings() == [
        f"service {service_id} sent no usable load (current_inflight=nan,"
        " inflight_utilization=nan: each must be a finite number >= 0); keeping its last load 0.5"
        " until it does (said once per registration)"
    ]
    assert await beat(current_inflight=-1.0, inflight_utilization=float("inf")) == pytest.approx(
        0.5
    )
    assert len(warnings()) == 1
    assert await beat(**obsrvr_metrics(900)) == pytest.approx(0.9)  # a good value counts again

    # Registered again (a restarted client): told again.
    await rig.legacy.Register(
        cp.ServiceInfo(service_id=service_id, max_inflight=1000), timeout=WAIT
    )
    await beat(inflight_utilization=-0.5)
    assert len(warnings()) == 2 and "inflight_utilization=-0.5" in warnings()[1]


def sdk_processor_info() -> v1c.ComponentInfo:
    """flowctl-sdk v0.1.3's processor, COMPONENT_ID=stellar-ledger-processor, PORT=:50051."""
    return v1c.ComponentInfo(
        id="stellar-ledger-processor",
        name="stellar-ledger-processor",
        type=v1c.COMPONENT_TYPE_PROCESSOR,
        input_event_types=[LEDGER_V1],
        output_event_types=[BATCH_V1],
        endpoint=":50051",
        metadata={
            "processor_id": "stellar-ledger-processor",
            "processor_name": "Stellar Ledger Processor",
            "processor_version": "0.1.3",
            "processor_description": "batches ledgers",
            "endpoint": ":50051",
        },
    )


def sdk_metrics(processed: int, uptime: str) -> dict[str, str]:
    """Go %v strings, as flowctl-sdk formats them."""
    return {
        "processed_count": str(processed),
        "error_count": "0",
        "success_count": str(processed),
        "processing_latency": "1.5ms",
        "last_update_time": str(int(time.time())),
        "uptime_seconds": uptime,
    }


async def test_flowctl_sdk_v013_processor(rig: Rig) -> None:
    stream = await flowrun_upstream(rig)
    answer = await rig.v1.RegisterComponent(
        v1.RegisterRequest(component=sdk_processor_info()), timeout=WAIT
    )
    service_id = answer.service_id
    assert service_id == "stellar-ledger-processor"
    assert answer.connection_info["control_plane_endpoint"] == rig.controller.address

    for beat in range(5):
        rig.clock.now += CLIENT_INTERVAL - 0.01
        assert rig.healthy(service_id), "flagged between two heartbeats"
        rig.clock.now += 0.01
        await rig.v1.Heartbeat(
            v1.HeartbeatRequest(
                service_id=service_id,
                status=v1c.HEALTH_STATUS_UNKNOWN,  # what v0.1.3 always sends
                metrics=sdk_metrics(100 * beat, "1.2345e-05" if beat == 0 else f"{10 * beat}"),
            ),
            timeout=WAIT,
        )
    status = await rig.v1.GetComponentStatus(v1.ComponentStatusRequest(service_id=service_id))
    assert status.status == v1c.HEALTH_STATUS_HEALTHY
    assert status.metrics["processing_latency"] == "1.5ms" and status.metrics["error_count"] == "0"
    legacy = await rig.legacy.ListServices(Empty(), timeout=WAIT)
    assert service_id in {s.service_id for s in legacy.services}
    view = next(v for v in rig.controller.services() if v.service_id == service_id)
    assert view.endpoint == ":50051" and view.healthy and view.heartbeats == 5

    # v0.1.3 reports no load, so nothing it sends can pass activate_at: the upstream it reads
    # (linked by event type) stays at full speed.
    assert rig.throttle("ledger-source-1") == 1.0
    # The same API carries a load when a client sends one (as a %v string):
    crossing = rig.v1.Heartbeat(
        v1.HeartbeatRequest(service_id=service_id, metrics={"inflight_utilization": "0.9"}),
        timeout=WAIT,
    )
    took = await seconds_to_directive(stream, crossing)
    print(f"\nflowctl.v1 processor: load 0.9 -> upstream throttled in {took * 1000:.2f} ms")
    assert rig.throttle("ledger-source-1") == 0.5
    stream.cancel()


async def test_v1_metrics_read_back_as_the_latest_heartbeat_sent_them(rig: Rig) -> None:
    """A `%v` rate is "NaN" before the first item, then a number: the stale "NaN" hid every
    later number; counters past 2^53 came back rounded (wire audit)."""
    answer = await rig.v1.RegisterComponent(
        v1.RegisterRequest(component=sdk_processor_info()), timeout=WAIT
    )
    service_id = answer.service_id

    async def beat(metrics: dict[str, str], status: int = 0) -> v1.ComponentStatusResponse:
        """One heartbeat (status 0: UNKNOWN, as v0.1.3 sends), then the status read back."""
        request = v1.HeartbeatRequest(service_id=service_id, metrics=metrics)
        request.status = status  # type: ignore[assignment]
        await rig.v1.Heartbeat(request, timeout=WAIT)
        query = v1.ComponentStatusRequest(service_id=service_id)
        return await rig.v1.GetComponentStatus(query, timeout=WAIT)

    first = await beat({"rate": "NaN", "bytes": "18446744073709551615", "big": "9007199254740993"})
    assert (first.metrics["rate"], first.metrics["bytes"], first.metrics["big"]) == (
        "NaN", "18446744073709551615", "9007199254740993",
    )  # fmt: skip
    later = await beat({"rate": "12.5", "bytes": "42", "ratio": "1.50"})
    assert (later.metrics["rate"], later.metrics["bytes"], later.metrics["ratio"]) == (
        "12.5", "42", "1.50",
    )  # fmt: skip
    assert (await beat({"rate": "+Inf"})).metrics["rate"] == "+Inf"

    # A huge map: a key flow control needs still counts past the first entries examined.
    huge = {f"custom_{index:04d}": str(index) for index in range(1000)}
    await beat({**huge, "inflight_utilization": "0.5"})
    assert next(v.load for v in rig.controller.services() if v.service_id == service_id) == 0.5

    assert (await beat({}, v1c.HEALTH_STATUS_DEGRADED)).status == v1c.HEALTH_STATUS_DEGRADED
    # A status this controller does not know keeps the last one.
    assert (await beat({}, 42)).status == v1c.HEALTH_STATUS_DEGRADED


async def test_flowctl_sdk_v013_consumer_that_never_heartbeats() -> None:
    """Under the runner: registered, never heartbeats, never reported dead."""
    body = pipeline_body({"ledger-sink": component("sink")}, endpoint="127.0.0.1:0")
    control = EmbeddedControlPlane(body, CollectorRegistry())
    await control.start()
    started_at = time.time()
    try:
        assert control.endpoint is not None
        async with grpc.aio.insecure_channel(control.endpoint) as channel:
            plane = v1_grpc.ControlPlaneServiceStub(channel)
            sink = v1c.ComponentInfo(
                id="ledger-sink", type=v1c.COMPONENT_TYPE_CONSUMER,
                input_event_types=[BATCH_V1], metadata={"health_port": "8089"},
            )  # fmt: skip
            await plane.RegisterComponent(
                v1.RegisterRequest(component=sink, component_id="ledger-sink"), timeout=WAIT
            )  # it ignores the answer, and never heartbeats
            legacy = await cp_grpc.ControlPlaneStub(channel).GetServiceStatus(
                cp.ServiceInfo(service_id="ledger-sink"), timeout=WAIT
            )
            assert legacy.service_type == cp.SERVICE_TYPE_SINK
        snapshot = control.service("ledger-sink")
        assert snapshot is not None and snapshot.seen_since(started_at - 1)
        assert snapshot.healthy and not snapshot.heartbeated
        an_hour_later = time.time() + 3600
        lost = heartbeat_lost(
            "ledger-sink", control, 5.0, started_at - 1, now_epoch=an_hour_later,
            check=ReadyCheck(ReadyKind.REGISTERED),
        )  # fmt: skip
        assert lost is None
    finally:
        await control.stop()
