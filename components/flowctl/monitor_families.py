"""The metric families the SDK collector yields at each scrape, grouped by source."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from flowctl.client import ClientStats
from flowctl.flow_control import FlowSnapshot
from flowctl.pool import PoolStats

SERVICE = ["service_id", "service_type"]


def flow_families(
    labels: tuple[str, str], flow: FlowSnapshot, inbound_streams: int, pools: Sequence[PoolStats]
) -> Iterator[Metric]:
    values = list(labels)
    throughput = CounterMetricFamily(
        "flowctl_pipeline_throughput", "Items this component completed", labels=SERVICE
    )
    throughput.add_metric(values, float(flow.completed_total))
    yield throughput
    yield _gauge(
        "flowctl_pipeline_throughput_rate",
        "Items per second over the last window",
        values,
        flow.throughput,
    )
    yield _gauge(
        "flowctl_pipeline_latency_mean_seconds",
        "Mean latency over the last window",
        values,
        flow.latency_seconds,
    )
    yield _gauge("flowctl_service_load_ratio", "inflight / max_inflight", values, flow.load)
    yield _gauge("flowctl_inflight", "Items in flight now", values, float(flow.inflight))
    yield _gauge("flowctl_max_inflight", "The in-flight limit", values, float(flow.max_inflight))
    yield _gauge(
        "flowctl_backpressure_active",
        "1 while backpressure applies to this component",
        values,
        float(flow.backpressure_active),
    )
    yield _gauge(
        "flowctl_throttle_rate",
        "The rate this component runs at (1 = full speed)",
        values,
        flow.throttle_rate,
    )
    yield _gauge(
        "flowctl_controller_connected",
        "1 while the controller answers",
        values,
        float(flow.controller_connected),
    )
    yield _gauge(
        "flowctl_local_flow_control",
        "1 while running on local flow control (no controller)",
        values,
        float(not flow.controller_connected),
    )
    connections = GaugeMetricFamily(
        "flowctl_service_connections", "Open data-plane connections", labels=["direction"]
    )
    connections.add_metric(["inbound"], float(inbound_streams))
    connections.add_metric(["outbound"], float(sum(p.in_use for p in pools)))
    yield connections


def pool_families(pools: Sequence[PoolStats]) -> Iterator[Metric]:
    endpoint = ["endpoint"]
    healthy = GaugeMetricFamily(
        "flowctl_pool_healthy_connections", "Healthy pooled connections", labels=endpoint
    )
    total = GaugeMetricFamily(
        "flowctl_pool_total_connections", "Pooled connections", labels=endpoint
    )
    in_use = GaugeMetricFamily(
        "flowctl_pool_in_use_connections", "Pooled connections lent out", labels=endpoint
    )
    acquired = CounterMetricFamily("flowctl_pool_acquisitions", "Connections lent", labels=endpoint)
    failures = CounterMetricFamily(
        "flowctl_pool_connect_failures", "Failed connection attempts", labels=endpoint
    )
    checks = CounterMetricFamily("flowctl_pool_health_checks", "Health probes run", labels=endpoint)
    for stats in pools:
        key = [stats.endpoint]
        healthy.add_metric(key, float(stats.healthy))
        total.add_metric(key, float(stats.total))
        in_use.add_metric(key, float(stats.in_use))
        acquired.add_metric(key, float(stats.acquired_total))
        failures.add_metric(key, float(stats.failures_total))
        checks.add_metric(key, float(stats.health_checks_total))
    yield from (healthy, total, in_use, acquired, failures, checks)


def client_families(stats: ClientStats | None, pools: Sequence[PoolStats]) -> Iterator[Metric]:
    client = stats or ClientStats()
    reconnections = CounterMetricFamily(
        "flowctl_reconnection_events", "Reconnections after a loss", labels=["target"]
    )
    reconnections.add_metric(["controller"], float(client.reregistrations_total))
    reconnections.add_metric(["pool"], float(sum(p.reconnections_total for p in pools)))
    yield reconnections
    yield _results(
        "flowctl_heartbeats",
        "Heartbeats sent",
        client.heartbeats_total,
        client.heartbeat_failures_total,
    )
    yield _results(
        "flowctl_registrations",
        "Registration attempts",
        client.registrations_total,
        client.registration_failures_total,
    )
    yield _counter(
        "flowctl_directives", "Directives received from the controller", client.directives_total
    )
    yield _counter(
        "flowctl_controller_disconnections",
        "Times the controller became unreachable",
        client.disconnections_total,
    )
    yield _counter(
        "flowctl_metrics_provider_errors",
        "Heartbeats whose metrics provider raised",
        client.metrics_errors_total,
    )


def _gauge(name: str, documentation: str, labels: list[str], value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=SERVICE)
    family.add_metric(labels, value)
    return family


def _counter(name: str, documentation: str, value: int) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=float(value))


def _results(name: str, documentation: str, ok: int, failed: int) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=["result"])
    family.add_metric(["ok"], float(ok))
    family.add_metric(["error"], float(failed))
    return family
