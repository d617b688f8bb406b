"""SDK benchmarks (pytest-benchmark): run `pytest -m bench tests/bench/bench_sdk.py`.

Medians are the figures to report; the handoff's Go claims are in each docstring.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow.flight as flight
import pytest
from flowctl import ConnectionPool, FlowController, Monitor, PoolManager
from flowctl.client import ClientStats
from flowctl.health import assess
from flowctl.settings import FlowControlSettings, PoolSettings
from pytest_benchmark.fixture import BenchmarkFixture


class Idle(flight.FlightServerBase):  # type: ignore[misc]
    pass


@pytest.fixture(scope="module")
def server() -> Iterator[Idle]:
    srv = Idle("grpc://127.0.0.1:0")
    yield srv
    srv.shutdown()


def test_flow_acquire_release(benchmark: BenchmarkFixture) -> None:
    """One acquire + one release (handoff: < 100 ns/op in Go)."""
    flow = FlowController(1000)
    acquire, release = flow.acquire, flow.release

    def op() -> None:
        acquire()
        release()

    benchmark(op)
    assert flow.inflight_count == 0


def test_flow_inflight_context(benchmark: BenchmarkFixture) -> None:
    """`with flow.inflight():` (acquire, latency measurement, release)."""
    flow = FlowController(1000)

    def op() -> None:
        with flow.inflight():
            pass

    benchmark(op)
    assert flow.snapshot().completed_total > 0


def test_pace_at_full_speed(benchmark: BenchmarkFixture) -> None:
    """The cost of pace() when no throttle applies (called once per batch)."""
    pacer = FlowController(1000).pacer()
    benchmark(pacer.pace)


def test_pool_lookup(benchmark: BenchmarkFixture, server: Idle) -> None:
    """Acquire + release of an existing connection (handoff: < 1 us in Go)."""
    pool = ConnectionPool(f"127.0.0.1:{server.port}", PoolSettings(min_connections=2))
    pool.release(pool.acquire())

    def op() -> None:
        pool.release(pool.acquire())

    benchmark(op)
    assert pool.stats().created_total == 1
    pool.close()


def _monitor(server: Idle) -> tuple[Monitor, FlowController, PoolManager]:
    flow = FlowController(1000)
    flow.acquire(300)
    pools = PoolManager(PoolSettings(min_connections=1))
    pool = pools.get(f"127.0.0.1:{server.port}")
    pool.release(pool.acquire())
    stats = ClientStats(heartbeats_total=10, registrations_total=1)
    monitor = Monitor("svc", "processor", flow, pools=pools, client_stats=lambda: stats)
    for n in range(100):
        flow.release(1, latency_seconds=n / 1000)
        flow.acquire(1)
    return monitor, flow, pools


def test_health_report(benchmark: BenchmarkFixture, server: Idle) -> None:
    """A full health report: snapshot, pools, thresholds (handoff: < 5 ms in Go)."""
    _, flow, pools = _monitor(server)
    thresholds = FlowControlSettings()

    def op() -> object:
        return assess(flow.snapshot(), thresholds, controller_enabled=True, pools=pools.stats())

    report = benchmark(op)
    assert report.status == "degraded"  # the controller is not connected
    pools.close()


def test_metrics_collection(benchmark: BenchmarkFixture, server: Idle) -> None:
    """One scrape's exposition text of every SDK metric (handoff: < 1 ms in Go)."""
    monitor, _, pools = _monitor(server)
    text = benchmark(monitor.exposition)
    assert b"flowctl_pool_total_connections" in text
    pools.close()
