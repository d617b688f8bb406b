"""Pipeline metrics: per service and totals, in one pass over the registry (O(n)).

Totals cover healthy services only: a silent service's last throughput and load are
stale and would misstate what the pipeline is doing now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flowctl import flow_control_pb2 as fc

from flowrun.controller.backpressure import BackpressureDecision
from flowrun.controller.registry import ServiceRecord
from flowrun.controller.views import reported_status_name


@dataclass(frozen=True)
class Totals:
    total_services: int = 0
    healthy_services: int = 0
    total_throughput: float = 0.0
    max_load: float = 0.0
    mean_load: float = 0.0
    max_latency_seconds: float = 0.0
    mean_latency_seconds: float = 0.0


def summarize(samples: Iterable[tuple[ServiceRecord, bool]]) -> Totals:
    """Totals of (record, healthy) pairs."""
    total = healthy = 0
    throughput = load_sum = load_max = latency_sum = latency_max = 0.0
    for record, is_healthy in samples:
        total += 1
        if not is_healthy:
            continue
        healthy += 1
        throughput += record.throughput
        load_sum += record.load
        load_max = max(load_max, record.load)
        latency_sum += record.latency_seconds
        latency_max = max(latency_max, record.latency_seconds)
    return Totals(
        total_services=total,
        healthy_services=healthy,
        total_throughput=throughput,
        max_load=load_max,
        mean_load=load_sum / healthy if healthy else 0.0,
        max_latency_seconds=latency_max,
        mean_latency_seconds=latency_sum / healthy if healthy else 0.0,
    )


def pipeline_metrics(
    samples: list[tuple[ServiceRecord, bool]], decision: BackpressureDecision, revision: int
) -> fc.PipelineMetrics:
    totals = summarize(samples)
    message = fc.PipelineMetrics(
        total_services=totals.total_services,
        healthy_services=totals.healthy_services,
        total_throughput=totals.total_throughput,
        max_load=totals.max_load,
        mean_load=totals.mean_load,
        max_latency_seconds=totals.max_latency_seconds,
        mean_latency_seconds=totals.mean_latency_seconds,
        backpressure_active=decision.active,
        policy_revision=revision,
    )
    services = message.services
    for record, healthy in samples:
        registration = record.registration
        service_id = registration.service_id
        entry = services.add(
            service_id=service_id,
            component_id=registration.component_id,
            service_type=registration.service_type,  # type: ignore[arg-type, unused-ignore]
            is_healthy=healthy,
            load=record.load,
            inflight=record.inflight,
            throughput=record.throughput,
            latency_seconds=record.latency_seconds,
            overloaded=decision.is_overloaded(service_id),
            throttle_rate=decision.throttle_rate(service_id),
            heartbeats=record.heartbeats,
            endpoint=registration.endpoint,
            id_assigned=registration.id_assigned,
            reported_status=reported_status_name(record.status) or "",
        )
        if record.last_heartbeat is not None:
            seconds = int(record.last_heartbeat)
            entry.last_heartbeat.seconds = seconds
            entry.last_heartbeat.nanos = int((record.last_heartbeat - seconds) * 1e9)
    return message
