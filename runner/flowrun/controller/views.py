"""What the runner reads about a service: plain immutable values, no protobuf."""

from __future__ import annotations

from dataclasses import dataclass

from flowctl import control_plane_pb2 as cp
from flowctl.v1 import common_pb2 as v1_common

from flowrun.controller.backpressure import BackpressureDecision
from flowrun.controller.registry import ServiceRecord

SERVICE_TYPE_NAMES: dict[int, str] = {
    cp.SERVICE_TYPE_UNSPECIFIED: "unspecified",
    cp.SERVICE_TYPE_SOURCE: "source",
    cp.SERVICE_TYPE_PROCESSOR: "processor",
    cp.SERVICE_TYPE_SINK: "sink",
    cp.SERVICE_TYPE_PIPELINE: "pipeline",
}


def service_type_name(service_type: int) -> str:
    return SERVICE_TYPE_NAMES.get(service_type, "unspecified")


@dataclass(frozen=True)
class ServiceView:
    """One registered service as the controller sees it now (times are epoch seconds)."""

    service_id: str
    component_id: str
    service_type: str
    endpoint: str
    registered_at: float
    last_heartbeat: float | None
    healthy: bool
    load: float
    throughput: float
    latency_seconds: float
    inflight: float
    throttle_rate: float
    overloaded: bool
    health_endpoint: str = ""
    """The URL of the service's own health report, as it registered it ("" for none)."""
    heartbeats: int = 0
    """Heartbeats since it registered: 0 for one that registered and never heartbeated."""
    id_assigned: bool = False
    """It registered without an id (the older obsrvr client), which heartbeats every 10 s
    whatever the policy says."""
    reported_status: str | None = None
    """What a flowctl.v1 client last said of itself in its heartbeats, when not HEALTHY
    (`UNHEALTHY`, `DEGRADED`, `STARTING`, `STOPPING`); None otherwise and for the legacy
    API, which has no status."""


def reported_status_name(status: int) -> str | None:
    """`UNHEALTHY` for HEALTH_STATUS_UNHEALTHY; None for HEALTHY (what a registration sets
    and what a client says when all is well)."""
    if status == v1_common.HEALTH_STATUS_HEALTHY:
        return None
    return v1_common.HealthStatus.Name(status).removeprefix("HEALTH_STATUS_")  # type: ignore[arg-type, unused-ignore]


def view_of(record: ServiceRecord, decision: BackpressureDecision, healthy: bool) -> ServiceView:
    registration = record.registration
    return ServiceView(
        service_id=registration.service_id,
        component_id=registration.component_id,
        service_type=service_type_name(registration.service_type),
        endpoint=registration.endpoint,
        registered_at=record.registered_at,
        last_heartbeat=record.last_heartbeat,
        healthy=healthy,
        load=record.load,
        throughput=record.throughput,
        latency_seconds=record.latency_seconds,
        inflight=record.inflight,
        throttle_rate=decision.throttle_rate(registration.service_id),
        overloaded=decision.is_overloaded(registration.service_id),
        health_endpoint=registration.health_endpoint,
        heartbeats=record.heartbeats,
        id_assigned=registration.id_assigned,
        reported_status=reported_status_name(record.status),
    )
