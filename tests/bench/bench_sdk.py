"""SDK benchmarks (pytest-benchmark): run `pytest -m bench tests/bench/bench_sdk.py`.

Medians are the figures to report; the handoff's Go claims are in each docstring.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator

import pyarrow.flight as flight
import pytest
from flowctl import ConnectionPool, FlowController, Monitor, PoolManager
from flowctl.client import ClientStats
from flowctl.contract import FlowControlSettings, PoolSettings
from flowctl.health import assess
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


def test_flow_acquire_release_threads(benchmark: BenchmarkFixture) -> None:
    """acquire + release from two threads at once (handoff: 35M ops/s on 8 cores in Go)."""
    flow = FlowController(1000)
    threads, per_thread = 2, 20_000

    def work() -> None:
        acquire, release = flow.acquire, flow.release
        for _ in range(per_thread):
            acquire()
            release()

    def run() -> None:
        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    benchmark.pedantic(run, rounds=5, iterations=1)
    benchmark.extra_info["ops_per_second"] = threads * per_thread / benchmark.stats.stats.median
    assert flow.inflight_count == 0


def test_pool_connect(benchmark: BenchmarkFixture, server: Idle) -> None:
    """Open a new Flight connection into the pool (handoff: ~50 ms in Go)."""
    pool = ConnectionPool(f"127.0.0.1:{server.port}", PoolSettings(min_connections=0))

    def op() -> None:
        pool.release(pool.acquire(), broken=True)  # a broken one is closed: the next is new

    benchmark(op)
    assert pool.stats().created_total >= 2
    pool.close()


def test_pool_stats(benchmark: BenchmarkFixture, server: Idle) -> None:
    """pool.stats() (handoff: 10,000 collections/s in Go)."""
    pool = ConnectionPool(f"127.0.0.1:{server.port}", PoolSettings(min_connections=2))
    pool.release(pool.acquire())
    stats = benchmark(pool.stats)
    assert stats.total >= 1
    pool.close()


def test_pool_health_check(benchmark: BenchmarkFixture, server: Idle) -> None:
    """Probe one idle connection (handoff: 100 checks/s per endpoint in Go)."""
    pool = ConnectionPool(f"127.0.0.1:{server.port}", PoolSettings(min_connections=0))
    pool.release(pool.acquire())
    healthy = benchmark(pool.health_check)
    assert healthy == 1
    pool.close()


ENDPOINTS = 50
CONNECTIONS = 10
# A component holding pools to every endpoint, in a process of its own, so that its RSS is
# the pools' and the interpreter's alone: one connection to each endpoint, then ten.
POOL_HOLDER = """
import json, sys, time
import psutil, pyarrow.flight as flight
from flowctl import PoolManager
from flowctl.contract import PoolSettings

connections, endpoints = int(sys.argv[1]), sys.argv[2:]
def settings(count):
    return PoolSettings(min_connections=count, max_connections=count,
                        health_check_interval_seconds=300, idle_timeout_seconds=300)
def rss():
    return psutil.Process().memory_info().rss
def filled(pools, count):
    deadline = time.monotonic() + 60
    while any(pool.total < count for pool in pools.stats()):
        assert time.monotonic() < deadline, pools.stats()
        time.sleep(0.02)
warm = flight.FlightClient("grpc://" + endpoints[0])  # gRPC's own start is not the pools'
warm.wait_for_available()
warm.close()
base = rss()
pools = PoolManager(settings(1))
for endpoint in endpoints:
    pools.get(endpoint)
filled(pools, 1)
one_each = rss()
pools.resize(settings(connections))
filled(pools, connections)
print(json.dumps({"base": base, "one_each": one_each, "full": rss()}))
pools.close()
"""


def test_pool_memory_50_endpoints_10_connections(benchmark: BenchmarkFixture) -> None:
    """The handoff's pool memory (Go): 100 KB per endpoint, 100 KB per connection, ~50 MB for
    50 endpoints of 10 connections. RSS growth of a process holding those pools: timed, the
    whole run of that process (start, imports, 500 connections opened)."""
    servers = [Idle("grpc://127.0.0.1:0") for _ in range(ENDPOINTS)]
    measured: list[dict[str, int]] = []

    def hold_the_pools() -> None:
        endpoints = [f"127.0.0.1:{server.port}" for server in servers]
        run = subprocess.run(
            [sys.executable, "-c", POOL_HOLDER, str(CONNECTIONS), *endpoints],
            capture_output=True, text=True, timeout=300, check=True,
        )  # fmt: skip
        measured.append(json.loads(run.stdout))

    try:
        benchmark.pedantic(hold_the_pools, rounds=3, iterations=1)
    finally:
        for server in servers:
            server.shutdown()
    per_connection = statistics.median(
        (m["full"] - m["one_each"]) / (ENDPOINTS * (CONNECTIONS - 1)) for m in measured
    )
    per_endpoint = statistics.median((m["one_each"] - m["base"]) / ENDPOINTS for m in measured)
    full = statistics.median(m["full"] - m["base"] for m in measured)
    benchmark.extra_info.update(
        {
            "pool_rss_kib_per_connection": round(per_connection / 2**10, 1),
            # An endpoint's pool with its first connection, less what a connection costs.
            "pool_rss_kib_per_endpoint": round((per_endpoint - per_connection) / 2**10, 1),
            "pool_rss_mib_50_endpoints_10_connections": round(full / 2**20, 1),
        }
    )
