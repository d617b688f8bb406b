"""flowctl.v1 messages built from the controller's state, and v1 discovery's matching."""

from __future__ import annotations

from flowctl.v1 import common_pb2 as v1_common
from flowctl.v1 import control_plane_pb2 as v1

from flowrun.controller.messages import timestamp
from flowrun.controller.registration import Registration
from flowrun.controller.registry import ServiceRecord
from flowrun.controller.sanitize import LOAD
from flowrun.controller.text_metrics import format_number

_V1_TYPES = frozenset(v1_common.ComponentType.values())


def component_type(service_type: int) -> int:
    """Both APIs number source, processor and sink/consumer alike; the legacy PIPELINE type
    has no v1 counterpart."""
    return service_type if service_type in _V1_TYPES else v1_common.COMPONENT_TYPE_UNSPECIFIED


def component_info(registration: Registration) -> v1_common.ComponentInfo:
    return v1_common.ComponentInfo(
        id=registration.service_id,
        name=registration.name or registration.component_id,
        description=registration.description,
        version=registration.version,
        type=component_type(registration.service_type),  # type: ignore[arg-type, unused-ignore]
        input_event_types=registration.input_event_types,
        output_event_types=registration.output_event_types,
        endpoint=registration.endpoint,
        metadata=registration.metadata,
    )


def health_status(record: ServiceRecord, healthy: bool) -> int:
    """UNHEALTHY once silent past its allowance, else what it last reported (HEALTHY from
    its registration until it says otherwise)."""
    return record.status if healthy else v1_common.HEALTH_STATUS_UNHEALTHY


def component_status(record: ServiceRecord, healthy: bool) -> v1.ComponentStatusResponse:
    metrics = {key: format_number(value) for key, value in record.metrics.items()}
    metrics[LOAD] = format_number(record.load)  # what the decision uses, whatever was sent
    metrics.update(record.texts)
    status = v1.ComponentStatusResponse(
        component=component_info(record.registration),
        status=health_status(record, healthy),  # type: ignore[arg-type, unused-ignore]
        metrics=metrics,
        registered_at=timestamp(record.registered_at),
    )
    if record.last_heartbeat is not None:
        status.last_heartbeat.CopyFrom(timestamp(record.last_heartbeat))
    return status


def register_response(
    registration: Registration, connection_info: dict[str, str]
) -> v1.RegisterResponse:
    return v1.RegisterResponse(
        service_id=registration.service_id,
        assigned_topics=registration.topic_names(),
        connection_info=connection_info,
    )


def discovered(registration: Registration, request: v1.DiscoveryRequest) -> bool:
    """Type (when given), any of the event types as input or output (OR), and every
    metadata pair (AND)."""
    if request.type and component_type(registration.service_type) != request.type:
        return False
    if request.event_types:
        offered = {*registration.input_event_types, *registration.output_event_types}
        if offered.isdisjoint(request.event_types):
            return False
    metadata = registration.metadata
    return all(metadata.get(key) == value for key, value in request.metadata_filters.items())


def listed(record: ServiceRecord, healthy: bool, request: v1.ListComponentsRequest) -> bool:
    """Of the type asked (when given); HEALTHY only unless include_unhealthy, as flowctl's
    server does."""
    registration = record.registration
    if request.type_filter and component_type(registration.service_type) != request.type_filter:
        return False
    healthy_now = health_status(record, healthy) == v1_common.HEALTH_STATUS_HEALTHY
    return request.include_unhealthy or healthy_now
