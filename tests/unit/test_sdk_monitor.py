"""Monitor: every flowctl metric family present, each one moving with what it measures."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from flowctl import FlowController, HealthReport, Monitor
from flowctl.client import ClientStats
from flowctl.health import Check
from flowctl.pool import PoolStats
from prometheus_client.parser import text_string_to_metric_families

REQUIRED = {
    "flowctl_pipeline_throughput",
    "flowctl_pipeline_latency_seconds",
    "flowctl_service_load_ratio",
    "flowctl_backpressure_active",
    "flowctl_throttle_rate",
    "flowctl_service_connections",
    "flowctl_service_discovery_duration_seconds",
    "flowctl_reconnection_events",
    "flowctl_pool_healthy_connections",
    "flowctl_pool_total_connections",
    "flowctl_heartbeats",
    "flowctl_registrations",
    "flowctl_controller_connected",
    "flowctl_inflight",
}


class FakePools:
    def __init__(self) -> None:
        self.items = [PoolStats(endpoint="127.0.0.1:1")]

    def stats(self) -> list[PoolStats]:
        return self.items


def samples(monitor: Monitor) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(monitor.exposition().decode()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(monitor: Monitor, name: str, **labels: str) -> float:
    found = [
        v for (n, ls), v in samples(monitor).items() if n == name and set(labels.items()) <= set(ls)
    ]
    assert len(found) == 1, (name, labels, found)
    return found[0]


@pytest.fixture
def parts() -> tuple[Monitor, FlowController, ClientStats, FakePools]:
    flow = FlowController(10)
    stats = ClientStats()
    pools = FakePools()
    report = {"r": HealthReport("healthy")}
    monitor = Monitor(
        "svc",
        "processor",
        flow,
        pools=pools,  # type: ignore[arg-type]
        client_stats=lambda: stats,
        health=lambda: report["r"],
        inbound_streams=lambda: 2,
    )
    return monitor, flow, stats, pools


def test_all_required_families_are_exported(
    parts: tuple[Monitor, FlowController, ClientStats, FakePools],
) -> None:
    monitor = parts[0]
    names = {
        family.name for family in text_string_to_metric_families(monitor.exposition().decode())
    }
    assert names >= REQUIRED
    assert len({n for n in names if n.startswith("flowctl_")}) >= 13


def test_each_metric_moves_with_what_it_measures(
    parts: tuple[Monitor, FlowController, ClientStats, FakePools],
) -> None:
    monitor, flow, stats, pools = parts
    svc = {"service_id": "svc", "service_type": "processor"}
    assert value(monitor, "flowctl_service_load_ratio", **svc) == 0.0
    flow.acquire(9)
    assert value(monitor, "flowctl_service_load_ratio", **svc) == 0.9
    assert value(monitor, "flowctl_inflight", **svc) == 9
    assert value(monitor, "flowctl_backpressure_active", **svc) == 1.0  # local hysteresis
    assert value(monitor, "flowctl_throttle_rate", **svc) == 0.5
    flow.release(9, latency_seconds=0.02)
    assert value(monitor, "flowctl_pipeline_throughput_total", **svc) == 9
    assert value(monitor, "flowctl_pipeline_latency_seconds_count") == 1
    assert value(monitor, "flowctl_pipeline_latency_seconds_sum") == pytest.approx(0.02)
    assert value(monitor, "flowctl_controller_connected", **svc) == 0
    flow.set_controller_connected(True)
    assert value(monitor, "flowctl_controller_connected", **svc) == 1
    assert value(monitor, "flowctl_local_flow_control", **svc) == 0
    stats.heartbeats_total, stats.heartbeat_failures_total = 5, 2
    stats.registrations_total, stats.reregistrations_total = 3, 2
    assert value(monitor, "flowctl_heartbeats_total", result="ok") == 5
    assert value(monitor, "flowctl_heartbeats_total", result="error") == 2
    assert value(monitor, "flowctl_registrations_total", result="ok") == 3
    assert value(monitor, "flowctl_reconnection_events_total", target="controller") == 2
    pools.items = [PoolStats(endpoint="e", total=3, healthy=2, in_use=1, reconnections_total=4)]
    assert value(monitor, "flowctl_pool_total_connections", endpoint="e") == 3
    assert value(monitor, "flowctl_pool_healthy_connections", endpoint="e") == 2
    assert value(monitor, "flowctl_reconnection_events_total", target="pool") == 4
    assert value(monitor, "flowctl_service_connections", direction="outbound") == 1
    assert value(monitor, "flowctl_service_connections", direction="inbound") == 2
    monitor.observe_discovery(0.003)
    assert value(monitor, "flowctl_service_discovery_duration_seconds_count") == 1


def test_http_serves_metrics_and_health(
    parts: tuple[Monitor, FlowController, ClientStats, FakePools],
) -> None:
    monitor = parts[0]
    reports = [HealthReport("unhealthy", (Check("component", "unhealthy", "disk full"),))]
    monitor._health = lambda: reports[0]
    port = monitor.serve(0)
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
        assert b"flowctl_service_load_ratio" in text
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10)
        assert caught.value.code == 503
        body = json.loads(caught.value.read())
        assert body["status"] == "unhealthy"
        assert body["reasons"] == ["component: disk full"]
    finally:
        monitor.stop()
