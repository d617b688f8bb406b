"""Wire compatibility of flowctl.ControlPlane with the public flowctl project.

The client here knows nothing of our generated stubs: its messages come from a
FileDescriptorProto written below from the field numbers of DESIGN.md section 5, in a
private descriptor pool, and its calls name the methods by path. If anyone renumbers or
retypes a field in proto/flowctl/control_plane.proto, a Go component built from the
public proto would break, and so does this test.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from flowctl.contract import Policy
from flowrun.controller.server import Controller
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor_pb2 import FieldDescriptorProto as F
from prometheus_client import CollectorRegistry

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]
WAIT = 10.0
OPTIONAL, REPEATED = F.LABEL_OPTIONAL, F.LABEL_REPEATED


def field(name: str, number: int, kind: int, label: int = OPTIONAL, type_name: str = "") -> F:
    described = F(name=name, number=number, type=kind, label=label)  # type: ignore[arg-type]
    if type_name:
        described.type_name = type_name
    return described


def map_entry(name: str, value_kind: int) -> descriptor_pb2.DescriptorProto:
    entry = descriptor_pb2.DescriptorProto(
        name=name,
        field=[field("key", 1, F.TYPE_STRING), field("value", 2, value_kind)],
    )
    entry.options.map_entry = True
    return entry


def message(
    name: str, fields: list[F], nested: list[descriptor_pb2.DescriptorProto] | None = None
) -> descriptor_pb2.DescriptorProto:
    return descriptor_pb2.DescriptorProto(name=name, field=fields, nested_type=nested or [])


def public_control_plane() -> dict[str, Any]:
    """The public flowctl messages, from DESIGN.md section 5 and nothing else."""
    wire = descriptor_pb2.FileDescriptorProto(
        name="compat/public_flowctl.proto", package="flowctl", syntax="proto3"
    )
    wire.enum_type.add(name="ServiceType").value.extend(
        descriptor_pb2.EnumValueDescriptorProto(name=f"SERVICE_TYPE_{name}", number=number)
        for number, name in enumerate(["UNSPECIFIED", "SOURCE", "PROCESSOR", "SINK", "PIPELINE"])
    )
    enum, string, entry = F.TYPE_ENUM, F.TYPE_STRING, F.TYPE_MESSAGE
    wire.message_type.extend(
        [
            message("Empty", []),
            message(
                "Timestamp", [field("seconds", 1, F.TYPE_INT64), field("nanos", 2, F.TYPE_INT32)]
            ),
            message(
                "ServiceInfo",
                [
                    field("service_id", 1, string),
                    field("service_type", 2, enum, type_name=".flowctl.ServiceType"),
                    field("input_event_types", 3, string, REPEATED),
                    field("output_event_types", 4, string, REPEATED),
                    field("health_endpoint", 5, string),
                    field("max_inflight", 6, F.TYPE_INT32),
                    field("metadata", 7, entry, REPEATED, ".flowctl.ServiceInfo.MetadataEntry"),
                    field("component_id", 8, string),
                ],
                [map_entry("MetadataEntry", string)],
            ),
            message(
                "RegistrationAck",
                [
                    field("service_id", 1, string),
                    field("topic_names", 2, string, REPEATED),
                    field(
                        "connection_info", 3, entry, REPEATED,
                        ".flowctl.RegistrationAck.ConnectionInfoEntry",
                    ),
                ],
                [map_entry("ConnectionInfoEntry", string)],
            ),
            message(
                "ServiceHeartbeat",
                [
                    field("service_id", 1, string),
                    field("timestamp", 2, entry, type_name=".flowctl.Timestamp"),
                    field("metrics", 3, entry, REPEATED, ".flowctl.ServiceHeartbeat.MetricsEntry"),
                ],
                [map_entry("MetricsEntry", F.TYPE_DOUBLE)],
            ),
            message(
                "ServiceStatus",
                [
                    field("service_id", 1, string),
                    field("service_type", 2, enum, type_name=".flowctl.ServiceType"),
                    field("is_healthy", 3, F.TYPE_BOOL),
                    field("last_heartbeat", 4, entry, type_name=".flowctl.Timestamp"),
                    field("metrics", 5, entry, REPEATED, ".flowctl.ServiceStatus.MetricsEntry"),
                    field("component_id", 6, string),
                ],
                [map_entry("MetricsEntry", F.TYPE_DOUBLE)],
            ),
            message(
                "ServiceList",
                [field("services", 1, entry, REPEATED, ".flowctl.ServiceStatus")],
            ),
        ]
    )  # fmt: skip
    pool = descriptor_pool.DescriptorPool()
    pool.Add(wire)
    names = ["Empty", "Timestamp", "ServiceInfo", "RegistrationAck", "ServiceHeartbeat"]
    names += ["ServiceStatus", "ServiceList"]
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"flowctl.{name}"))
        for name in names
    }


class PublicClient:
    """Calls flowctl.ControlPlane by method path with the public messages."""

    def __init__(self, channel: grpc.aio.Channel, types: dict[str, Any]) -> None:
        self.types = types

        def method(name: str, request: str, response: str) -> Any:
            return channel.unary_unary(
                f"/flowctl.ControlPlane/{name}",
                request_serializer=types[request].SerializeToString,
                response_deserializer=types[response].FromString,
            )

        self.register = method("Register", "ServiceInfo", "RegistrationAck")
        self.heartbeat = method("Heartbeat", "ServiceHeartbeat", "Empty")
        self.get_service_status = method("GetServiceStatus", "ServiceInfo", "ServiceStatus")
        self.list_services = method("ListServices", "Empty", "ServiceList")


@pytest.fixture
async def client() -> AsyncIterator[tuple[PublicClient, Controller]]:
    server = Controller(Policy(), registry=CollectorRegistry())
    address = await server.start()
    async with grpc.aio.insecure_channel(address) as channel:
        yield PublicClient(channel, public_control_plane()), server
    await server.stop(grace=0)


async def test_public_client_registers_heartbeats_and_reads_status(
    client: tuple[PublicClient, Controller],
) -> None:
    public, controller = client
    t = public.types
    info = t["ServiceInfo"](
        service_id="stellar-arrow-source-1",
        service_type=1,
        output_event_types=["stellar.ledger"],
        health_endpoint="http://127.0.0.1:8088/health",
        max_inflight=500,
        metadata={"endpoint": "127.0.0.1:8815", "network": "testnet"},
        component_id="stellar-arrow-source",
    )
    ack = await public.register(info, timeout=WAIT)
    assert ack.service_id == "stellar-arrow-source-1"

    now = time.time()
    await public.heartbeat(
        t["ServiceHeartbeat"](
            service_id=ack.service_id,
            timestamp=t["Timestamp"](seconds=int(now)),
            metrics={"inflight": 250.0, "throughput": 42.0, "ledgers_processed": 7.0},
        ),
        timeout=WAIT,
    )

    status = await public.get_service_status(t["ServiceInfo"](service_id=ack.service_id))
    assert status.service_id == ack.service_id and status.service_type == 1
    assert status.is_healthy and status.component_id == "stellar-arrow-source"
    assert abs(status.last_heartbeat.seconds - now) < 60
    assert dict(status.metrics) == {
        "inflight": 250.0,
        "throughput": 42.0,
        "ledgers_processed": 7.0,
        "load": 0.5,
    }

    listed = await public.list_services(t["Empty"](), timeout=WAIT)
    assert [s.service_id for s in listed.services] == [ack.service_id]

    (view,) = controller.services()
    assert (view.service_type, view.endpoint, view.load) == ("source", "127.0.0.1:8815", 0.5)


async def test_public_client_heartbeat_for_unknown_service_is_not_found(
    client: tuple[PublicClient, Controller],
) -> None:
    public, _ = client
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await public.heartbeat(public.types["ServiceHeartbeat"](service_id="nobody"), timeout=WAIT)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_our_stubs_encode_exactly_like_the_public_messages() -> None:
    from flowctl import control_plane_pb2 as cp

    t = public_control_plane()
    values = {
        "service_id": "s",
        "service_type": 3,
        "input_event_types": ["a"],
        "output_event_types": ["b"],
        "health_endpoint": "h",
        "max_inflight": 9,
        "metadata": {"inputs": "x,y"},
        "component_id": "c",
    }
    ours = cp.ServiceInfo(**values).SerializeToString(deterministic=True)  # type: ignore[arg-type]
    theirs = t["ServiceInfo"](**values).SerializeToString(deterministic=True)
    assert ours == theirs
    status = {"service_id": "s", "service_type": 2, "is_healthy": True, "component_id": "c"}
    assert (
        cp.ServiceStatus(**status, metrics={"load": 0.5}).SerializeToString(deterministic=True)  # type: ignore[arg-type]
        == t["ServiceStatus"](**status, metrics={"load": 0.5}).SerializeToString(deterministic=True)
    )
