"""Concurrency: hundreds of services heartbeating from several threads into one real
controller, and many threads reading real Flight streams through one connection pool
while it is health-checked and resized: nothing lost, nothing counted twice."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl import flow_control_pb2 as fc
from flowctl import flow_control_pb2_grpc as fc_grpc
from flowctl.contract import Policy, PoolSettings
from flowctl.pool import ConnectionPool
from flowctl.tickets import StreamTicket
from google.protobuf.empty_pb2 import Empty
from integration._sdk_harness import ControllerThread, CountingSource, component_settings
from prometheus_client import CollectorRegistry

pytestmark = pytest.mark.timeout(240)
PAIRS, THREADS, ROUNDS = 150, 6, 20


@pytest.fixture
def controller(registry: CollectorRegistry) -> Iterator[ControllerThread]:
    thread = ControllerThread(
        Policy(heartbeat_interval_seconds=1.0, heartbeat_ttl_seconds=60.0), registry=registry
    )
    thread.start()
    yield thread
    thread.close()


def _sink_load(pair: int, round_: int) -> float:
    """Every fifth sink ends overloaded; the others end light (all swing on the way)."""
    if round_ == ROUNDS - 1:
        return 0.9 if pair % 5 == 0 else 0.1
    return 0.95 if (pair + round_) % 3 == 0 else 0.2


def _worker(address: str, pairs: range) -> Callable[[], None]:
    def run() -> None:
        with grpc.insecure_channel(address) as channel:
            plane = cp_grpc.ControlPlaneStub(channel)  # type: ignore[no-untyped-call]
            for i in pairs:
                plane.Register(
                    cp.ServiceInfo(
                        service_id=f"src-{i}",
                        component_id=f"src-{i}",
                        service_type=cp.SERVICE_TYPE_SOURCE,
                    ),
                    timeout=30,
                )
                plane.Register(
                    cp.ServiceInfo(
                        service_id=f"snk-{i}",
                        component_id=f"snk-{i}",
                        service_type=cp.SERVICE_TYPE_SINK,
                        metadata={"inputs": f"src-{i}"},
                    ),
                    timeout=30,
                )
            for round_ in range(ROUNDS):
                for i in pairs:
                    for name, load in ((f"src-{i}", 0.3), (f"snk-{i}", _sink_load(i, round_))):
                        metrics = {"load": load, "throughput": float(i + round_)}
                        plane.Heartbeat(
                            cp.ServiceHeartbeat(service_id=name, metrics=metrics), timeout=30
                        )

    return run


def test_hundreds_of_services_heartbeating_from_threads_are_counted_exactly(
    controller: ControllerThread, registry: CollectorRegistry
) -> None:
    assert controller.controller is not None and controller.controller.address
    address = controller.controller.address
    per_thread = PAIRS // THREADS
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [
            pool.submit(_worker(address, range(t * per_thread, (t + 1) * per_thread)))
            for t in range(THREADS)
        ]
        for future in futures:
            future.result(timeout=180)

    services = 2 * PAIRS
    assert registry.get_sample_value("flowctl_controller_registrations_total") == services
    assert registry.get_sample_value("flowctl_controller_heartbeats_total") == services * ROUNDS
    assert registry.get_sample_value("flowctl_controller_unknown_heartbeats_total") == 0
    views = controller.services()
    assert len(views) == services
    last = ROUNDS - 1
    for i in range(PAIRS):
        sink, source = views[f"snk-{i}"], views[f"src-{i}"]
        assert sink.load == pytest.approx(_sink_load(i, last)), i
        assert sink.throughput == source.throughput == float(i + last)
        assert source.throttle_rate == (0.5 if i % 5 == 0 else 1.0), i
    with grpc.insecure_channel(address) as channel:
        listed = cp_grpc.ControlPlaneStub(channel).ListServices(Empty(), timeout=30)  # type: ignore[no-untyped-call]
        metrics = fc_grpc.FlowControlStub(channel).GetPipelineMetrics(Empty(), timeout=30)  # type: ignore[no-untyped-call]
    assert len(listed.services) == services
    assert metrics.total_services == metrics.healthy_services == services
    assert metrics.total_throughput == pytest.approx(2 * sum(i + last for i in range(PAIRS)))
    assert isinstance(metrics, fc.PipelineMetrics)


@pytest.fixture
def source() -> Iterator[CountingSource]:
    served = CountingSource(component_settings(None, component_id="counting"))
    served.start()
    yield served
    served.stop()
    served.shutdown()


def test_pool_users_on_many_threads_each_read_whole_streams(source: CountingSource) -> None:
    settings = PoolSettings(
        min_connections=1,
        max_connections=3,
        health_check_interval_seconds=300.0,
        connect_timeout_seconds=5.0,
    )
    pool = ConnectionPool(source.endpoint, settings).start()
    users, reads = 8, 15
    errors: list[str] = []
    done = threading.Event()

    def user(worker: int) -> None:
        for n in range(reads):
            start = worker * 1000 + n
            batches = list(pool.read_stream(StreamTicket("default", start), timeout=60))
            ledgers = [batch.column(0)[0].as_py() for batch in batches]
            if ledgers != list(range(start, start + CountingSource.count)):
                errors.append(f"worker {worker} read {ledgers[:3]}... for start {start}")

    def operator() -> None:
        """Checks and resizes the pool while the users read through it."""
        sizes = [(1, 2), (2, 4), (1, 3)]
        turn = 0
        while not done.is_set():
            pool.health_check()
            low, high = sizes[turn % len(sizes)]
            pool.resize(
                PoolSettings(
                    min_connections=low,
                    max_connections=high,
                    health_check_interval_seconds=300.0,
                    connect_timeout_seconds=5.0,
                )
            )
            turn += 1
            done.wait(0.05)

    checker = threading.Thread(target=operator, daemon=True)
    checker.start()
    try:
        with ThreadPoolExecutor(users) as executor:
            for future in [executor.submit(user, w) for w in range(users)]:
                future.result(timeout=180)
    finally:
        done.set()
        checker.join(30)
    stats = pool.stats()
    pool.close()
    assert errors == []
    assert stats.acquired_total == users * reads
    assert stats.in_use == 0
    assert stats.total <= 4
    assert stats.failures_total == 0
    served = source.flow.snapshot()
    assert served.completed_total == users * reads * CountingSource.count * CountingSource.rows
