"""Pipeline metrics math."""

from __future__ import annotations

import pytest
from flowctl import control_plane_pb2 as cp
from flowctl.contract import FlowControlSettings
from flowrun.controller.backpressure import BackpressureDecision
from flowrun.controller.pipeline_metrics import pipeline_metrics, summarize
from flowrun.controller.registry import Registration, ServiceRecord
from flowrun.controller.sanitize import clean_metrics


def record(name: str, *, load: float, throughput: float, latency: float) -> ServiceRecord:
    registration = Registration.from_proto(
        cp.ServiceInfo(service_id=name, service_type=cp.SERVICE_TYPE_PROCESSOR, max_inflight=10)
    )
    result = ServiceRecord(registration, registered_at=1.0, seen_at=1.0)
    metrics = {"load": load, "throughput": throughput, "latency_seconds": latency}
    result.absorb(clean_metrics(metrics), 1_700_000_000.25, 2.0)
    return result


def test_totals_cover_healthy_services_only() -> None:
    samples = [
        (record("a", load=0.2, throughput=100.0, latency=0.010), True),
        (record("b", load=0.6, throughput=50.0, latency=0.030), True),
        (record("c", load=0.99, throughput=1e6, latency=9.0), False),
    ]
    totals = summarize(samples)
    assert totals.total_services == 3 and totals.healthy_services == 2
    assert totals.total_throughput == 150.0
    assert totals.max_load == 0.6 and totals.mean_load == pytest.approx(0.4)
    assert totals.max_latency_seconds == 0.030
    assert totals.mean_latency_seconds == pytest.approx(0.020)


def test_empty_pipeline_has_zero_totals() -> None:
    totals = summarize([])
    assert totals.total_services == 0 and totals.mean_load == 0.0


def test_pipeline_metrics_message_carries_per_service_state() -> None:
    decision = BackpressureDecision(FlowControlSettings())
    samples = [(record("a", load=0.9, throughput=1.0, latency=0.1), True)]
    decision.place("a", "a", ())
    decision.observe("a", 0.9)
    message = pipeline_metrics(samples, decision, revision=7)
    assert message.policy_revision == 7 and message.backpressure_active
    (service,) = message.services
    assert service.overloaded and service.load == 0.9 and service.throttle_rate == 1.0
    assert service.last_heartbeat.seconds == 1_700_000_000
    assert service.last_heartbeat.nanos == 250_000_000
