"""flowctl.v1.ControlPlaneService over real gRPC on loopback, beside the legacy service:
one port, one registry, every RPC, token and TLS alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from certificates import self_signed
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl import flow_control_pb2 as fc
from flowctl import flow_control_pb2_grpc as fc_grpc
from flowctl.contract import Policy
from flowctl.v1 import common_pb2 as v1c
from flowctl.v1 import control_plane_pb2 as v1
from flowctl.v1 import control_plane_pb2_grpc as v1_grpc
from flowrun.controller.server import Controller
from google.protobuf.empty_pb2 import Empty
from prometheus_client import CollectorRegistry

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]
WAIT = 10.0
TOKEN = "v1-token"


@pytest.fixture
async def controller(metrics: CollectorRegistry) -> AsyncIterator[Controller]:
    server = Controller(Policy(), registry=metrics)
    await server.start()
    yield server
    await server.stop(grace=0)


def info(
    id_: str, type_: int, inputs: list[str], outputs: list[str], **meta: str
) -> v1c.ComponentInfo:
    return v1c.ComponentInfo(
        id=id_, name=id_, version="1.0.0", type=type_,  # type: ignore[arg-type]
        input_event_types=inputs, output_event_types=outputs, endpoint=":50051", metadata=meta,
    )  # fmt: skip


async def test_every_rpc_and_both_apis_see_one_registry(
    controller: Controller,
    plane_v1: v1_grpc.ControlPlaneServiceStub,
    plane: cp_grpc.ControlPlaneStub,
    channel: grpc.aio.Channel,
    metrics: CollectorRegistry,
) -> None:
    answer = await plane_v1.RegisterComponent(
        v1.RegisterRequest(component=info("proc", 2, ["a.v1"], ["b.v1"], team="x")), timeout=WAIT
    )
    assert answer.service_id == "proc" and answer.assigned_topics == ["b.v1.v1"]
    assert answer.connection_info["control_plane_endpoint"] == controller.address
    await plane_v1.RegisterComponent(
        v1.RegisterRequest(component=info("sink", 3, ["b.v1"], []), component_id="sink-1"),
        timeout=WAIT,
    )
    legacy = await plane.Register(
        cp.ServiceInfo(service_type=1, output_event_types=["a.v1"], metadata={"team": "x"}),
        timeout=WAIT,
    )
    assert legacy.connection_info["control_plane_endpoint"] == controller.address

    # The legacy API sees the v1 services, and v1 the legacy one.
    listed = await plane.ListServices(Empty(), timeout=WAIT)
    assert {s.service_id for s in listed.services} == {"proc", "sink-1", legacy.service_id}
    status = await plane.GetServiceStatus(cp.ServiceInfo(service_id="sink-1"), timeout=WAIT)
    assert status.is_healthy and status.service_type == cp.SERVICE_TYPE_SINK
    seen = await plane_v1.GetComponentStatus(
        v1.ComponentStatusRequest(service_id=legacy.service_id), timeout=WAIT
    )
    assert seen.status == v1c.HEALTH_STATUS_HEALTHY and seen.component.type == 1
    assert seen.last_heartbeat.seconds > 0 and seen.registered_at.seconds > 0

    # Heartbeat: UNKNOWN keeps HEALTHY, string metrics parsed and merged.
    await plane_v1.Heartbeat(
        v1.HeartbeatRequest(service_id="proc", metrics={"uptime_seconds": "1.2345e-05", "n": "7"}),
        timeout=WAIT,
    )
    await plane_v1.Heartbeat(
        v1.HeartbeatRequest(service_id="proc", metrics={"mode": "batch"}), timeout=WAIT
    )
    proc = await plane_v1.GetComponentStatus(v1.ComponentStatusRequest(service_id="proc"))
    assert proc.status == v1c.HEALTH_STATUS_HEALTHY
    assert proc.metrics["uptime_seconds"] == "1.2345e-05" and proc.metrics["n"] == "7"
    assert proc.metrics["mode"] == "batch"
    legacy_view = await plane.GetServiceStatus(cp.ServiceInfo(service_id="proc"), timeout=WAIT)
    assert legacy_view.metrics["n"] == 7.0

    # A reported status other than UNKNOWN is kept; ListComponents hides it unless asked.
    await plane_v1.Heartbeat(
        v1.HeartbeatRequest(service_id="sink-1", status=v1c.HEALTH_STATUS_DEGRADED), timeout=WAIT
    )
    shown = await plane_v1.ListComponents(v1.ListComponentsRequest(), timeout=WAIT)
    assert {c.component.id for c in shown.components} == {"proc", legacy.service_id}
    every = await plane_v1.ListComponents(
        v1.ListComponentsRequest(include_unhealthy=True), timeout=WAIT
    )
    assert len(every.components) == 3
    sinks = await plane_v1.ListComponents(
        v1.ListComponentsRequest(type_filter=3, include_unhealthy=True), timeout=WAIT
    )
    assert [c.component.id for c in sinks.components] == ["sink-1"]
    # The runner reads it too (embedded: the views; external: the pipeline metrics); the
    # legacy API has no status to report.
    reported = {v.service_id: v.reported_status for v in controller.services()}
    assert reported == {"proc": None, "sink-1": "DEGRADED", legacy.service_id: None}
    pipeline = await fc_grpc.FlowControlStub(channel).GetPipelineMetrics(Empty(), timeout=WAIT)
    assert {m.service_id: m.reported_status for m in pipeline.services} == {
        "proc": "", "sink-1": "DEGRADED", legacy.service_id: "",
    }  # fmt: skip

    # Discovery: by type, by event types (input or output), by metadata (all of them).
    async def discover(**fields: object) -> set[str]:
        found = await plane_v1.DiscoverComponents(v1.DiscoveryRequest(**fields), timeout=WAIT)  # type: ignore[arg-type]
        return {c.id for c in found.components}

    assert await discover(type=3) == {"sink-1"}
    assert await discover(event_types=["b.v1"]) == {"proc", "sink-1"}
    assert await discover(event_types=["a.v1", "nothing"]) == {"proc", legacy.service_id}
    assert await discover(metadata_filters={"team": "x"}) == {"proc", legacy.service_id}
    assert await discover(type=2, metadata_filters={"team": "x"}) == {"proc"}
    # flowrun's own discovery sees them too.
    flow = fc_grpc.FlowControlStub(channel)
    flowrun_found = await flow.Discover(fc.DiscoverRequest(service_type=3), timeout=WAIT)
    assert [e.service_id for e in flowrun_found.endpoints] == ["sink-1"]
    assert {v.service_id for v in controller.services()} == {"proc", "sink-1", legacy.service_id}
    assert (
        metrics.get_sample_value(
            "flowctl_service_load_ratio", {"service_id": "proc", "service_type": "processor"}
        )
        == 0.0
    )

    # Re-registering the same id replaces; Unregister forgets; unknown ids are NOT_FOUND.
    await plane_v1.RegisterComponent(
        v1.RegisterRequest(component=info("proc", 2, ["a.v1"], ["b.v1"])), timeout=WAIT
    )
    assert len(controller.services()) == 3
    await plane_v1.UnregisterComponent(v1.UnregisterRequest(service_id="proc"), timeout=WAIT)
    assert "proc" not in {v.service_id for v in controller.services()}
    for call in (
        plane_v1.Heartbeat(v1.HeartbeatRequest(service_id="proc"), timeout=WAIT),
        plane_v1.GetComponentStatus(v1.ComponentStatusRequest(service_id="proc"), timeout=WAIT),
        plane_v1.UnregisterComponent(v1.UnregisterRequest(service_id="proc"), timeout=WAIT),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
        assert "'proc'" in (error.value.details() or "")


async def test_an_id_past_1024_characters_is_refused_not_cut(
    controller: Controller, plane_v1: v1_grpc.ControlPlaneServiceStub
) -> None:
    """The service id is the id the client asked for, and a flowctl-sdk sink heartbeats
    under it whatever the answer says: cut to 1024 characters it was silently another id,
    and every heartbeat of the client NOT_FOUND."""
    longest, too_long = "c" * 1024, "c" * 1025
    sink = v1.RegisterRequest(component_id=too_long, component=info(too_long, 3, ["b.v1"], []))
    processor = v1.RegisterRequest(component=info(too_long, 2, ["a.v1"], ["b.v1"]))
    for request, field in ((sink, "component_id"), (processor, "component.id")):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await plane_v1.RegisterComponent(request, timeout=WAIT)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error.value.details() == (
            f"{field} is 1025 characters long, past the limit of 1024: register with a shorter id"
        )
    assert controller.services() == []

    answer = await plane_v1.RegisterComponent(
        v1.RegisterRequest(component_id=longest, component=info(longest, 3, ["b.v1"], [])),
        timeout=WAIT,
    )
    assert answer.service_id == longest
    await plane_v1.Heartbeat(v1.HeartbeatRequest(service_id=longest), timeout=WAIT)
    assert [v.service_id for v in controller.services()] == [longest]


@pytest.mark.parametrize("tls", [False, True], ids=["token", "token+tls"])
async def test_token_and_tls_guard_v1_as_they_guard_the_legacy_api(
    tmp_path: Path, tls: bool
) -> None:
    cert, key = self_signed(tmp_path) if tls else (None, None)
    server = Controller(
        Policy(), token=TOKEN, registry=CollectorRegistry(),
        tls_cert=str(cert) if cert else None, tls_key=str(key) if key else None,
    )  # fmt: skip
    address = await server.start()
    try:
        if cert is not None:
            credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
            opened = grpc.aio.secure_channel(address, credentials)
        else:
            opened = grpc.aio.insecure_channel(address)
        async with opened as channel:
            stub = v1_grpc.ControlPlaneServiceStub(channel)
            request = v1.RegisterRequest(component_id="c")
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await stub.RegisterComponent(request, timeout=WAIT)
            assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
            bearer = (("authorization", f"Bearer {TOKEN}"),)
            answer = await stub.RegisterComponent(request, metadata=bearer, timeout=WAIT)
            assert answer.service_id == "c"
    finally:
        await server.stop(grace=0)
