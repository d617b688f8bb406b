"""Protobuf messages built from the controller's state (the servicers' vocabulary)."""

from __future__ import annotations

from flowctl import control_plane_pb2 as cp
from flowctl import flow_control_pb2 as fc
from google.protobuf.timestamp_pb2 import Timestamp

from flowrun.controller.backpressure import BackpressureDecision
from flowrun.controller.registry import ServiceRecord
from flowrun.controller.sanitize import LOAD


def timestamp(epoch_seconds: float) -> Timestamp:
    whole = int(epoch_seconds)
    return Timestamp(seconds=whole, nanos=int((epoch_seconds - whole) * 1e9))


def service_status(record: ServiceRecord, healthy: bool) -> cp.ServiceStatus:
    registration = record.registration
    status = cp.ServiceStatus(
        service_id=registration.service_id,
        service_type=registration.service_type,  # type: ignore[arg-type, unused-ignore]
        is_healthy=healthy,
        metrics=record.metrics,
        component_id=registration.component_id,
    )
    # The load the decision uses, even when the client sent only inflight/max_inflight.
    status.metrics[LOAD] = record.load
    if record.last_heartbeat is not None:
        status.last_heartbeat.CopyFrom(timestamp(record.last_heartbeat))
    return status


def service_endpoint(record: ServiceRecord, healthy: bool) -> fc.ServiceEndpoint:
    registration = record.registration
    return fc.ServiceEndpoint(
        service_id=registration.service_id,
        component_id=registration.component_id,
        service_type=registration.service_type,  # type: ignore[arg-type, unused-ignore]
        endpoint=registration.endpoint,
        is_healthy=healthy,
        metadata=registration.metadata,
    )


def directive(
    service_id: str, decision: BackpressureDecision, policy: fc.Policy, now: float
) -> fc.Directive:
    """What one service must do now, with a reason a human can read in its log."""
    cause = decision.cause(service_id)
    return fc.Directive(
        service_id=service_id,
        throttle_rate=decision.throttle_rate(service_id),
        backpressure_active=cause is not None,
        reason=_reason(cause, decision),
        policy=policy,
        issued_at=timestamp(now),
    )


def _reason(cause: str | None, decision: BackpressureDecision) -> str:
    if cause is None:
        return "no service downstream is overloaded"
    thresholds = decision.thresholds
    return (
        f"downstream service {cause!r} is overloaded (load {decision.load(cause):.2f}; "
        f"on at {thresholds.activate_at:g}, off below {thresholds.deactivate_at:g})"
    )
