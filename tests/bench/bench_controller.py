"""Controller benchmarks (pytest-benchmark): run with

    .venv/bin/pytest -m bench -p no:randomly -s \
        tests/bench/bench_controller.py tests/bench/bench_controller_v1.py

- heartbeats absorbed per second from 1,000 registered services over real gRPC, through
  each API (legacy, flowctl.v1; mixed in bench_controller_v1.py), against `flowrun
  controller` in its own process (as components meet it), from several client processes
  (heartbeat_load.py). Every round is preceded by the same round against a do-nothing
  grpc.aio server of both APIs (echo_control_plane.py): the ceiling, in the same run. Also
  the controller's CPU time per heartbeat and the clients' (psutil, process_time), and its
  memory (RSS) idle and with the 1,000 services heartbeating: per service, and in all;
- pipeline metrics computation for 10, 100 and 1,000 services (handoff: 0.5/5/50 ms;
  issue 15: < 10 ms at 1,000); 1,000 services registered and heartbeating in process, and
  what the controller keeps per service (tracemalloc);
- the backpressure decision per heartbeat, steady and flipping, and the whole in-process
  heartbeat path (sanitise + record + decide);
- propagation: a sink's heartbeat crossing activate_at until its source's
  WatchDirectives stream receives the throttled directive (handoff: < 100 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import psutil
import pytest
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl import flow_control_pb2 as fc
from flowctl import flow_control_pb2_grpc as fc_grpc
from flowctl.contract import FlowControlSettings, Policy
from flowrun.controller.backpressure import BackpressureDecision
from flowrun.controller.registry import INTERVALS_KEPT
from flowrun.controller.server import Controller
from flowrun.controller.state import ControllerState
from heartbeat_load import HeartbeatLoad, Round, register_services
from process_cpu import cpu_seconds
from prometheus_client import CollectorRegistry

SERVICES = 1_000
HEARTBEATS_PER_ROUND = 8_000
ROUNDS = 6  # the first is a warm-up, left out of the medians
LOAD_PROCESSES = 2
CHANNELS = 4  # per client process
CONCURRENCY = 64  # calls in flight per client process
WAIT = 60.0
FLOWRUN = str(Path(sys.executable).parent / "flowrun")
CONTROLLER = [FLOWRUN, "controller", "--listen", "127.0.0.1:0", "--heartbeat-ttl", "10m"]
ECHO = Path(__file__).with_name("echo_control_plane.py")


# ---------------------------------------------------------------- heartbeats over gRPC


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    yield running
    running.close()


@contextlib.contextmanager
def serving(command: list[str]) -> Iterator[tuple[str, psutil.Process]]:
    """Run a server that prints "listening on HOST:PORT"; its address and process."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    try:
        match = re.search(r"listening on (\S+)", lines.get(timeout=WAIT))
        assert match, f"{command[0]} did not print its address"
        yield match.group(1), psutil.Process(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(WAIT)


@pytest.fixture
def controller_process() -> Iterator[tuple[str, psutil.Process]]:
    """`flowrun controller` in its own process, as components meet it; fresh per benchmark
    so each holds exactly its 1,000 services."""
    with serving(CONTROLLER) as served:
        yield served


@pytest.fixture(scope="module")
def echo_process() -> Iterator[tuple[str, psutil.Process]]:
    with serving([sys.executable, str(ECHO)]) as served:
        yield served


@pytest.fixture(scope="module")
def load() -> Iterator[HeartbeatLoad]:
    generator = HeartbeatLoad(LOAD_PROCESSES, CHANNELS, CONCURRENCY).start()
    yield generator
    generator.close()


def absorb_heartbeats(
    benchmark: Any,
    loop: asyncio.AbstractEventLoop,
    load: HeartbeatLoad,
    api: str,
    controller: tuple[str, psutil.Process],
    echo: tuple[str, psutil.Process],
) -> dict[str, Any]:
    """Rounds of HEARTBEATS_PER_ROUND heartbeats from SERVICES services through `api`, each
    controller round preceded by the same round against the echo server (the ceiling), so
    both see the same machine at nearly the same moment. Medians of the rounds."""
    (address, server), (echo_address, _) = controller, echo
    base_rss_bytes = server.memory_info().rss  # started, listening, no service yet
    services = loop.run_until_complete(register_services(address, SERVICES, api))
    echo_services = loop.run_until_complete(register_services(echo_address, SERVICES, api))
    rounds: list[Round] = []
    ceilings: list[Round] = []
    controller_cpu: list[float] = []

    def measure_the_ceiling() -> tuple[tuple[()], dict[str, Any]]:
        ceilings.append(load.run(echo_address, echo_services, HEARTBEATS_PER_ROUND))
        return (), {}

    def one_round() -> None:
        cpu_before = cpu_seconds(server)
        rounds.append(load.run(address, services, HEARTBEATS_PER_ROUND))
        controller_cpu.append((cpu_seconds(server) - cpu_before) / HEARTBEATS_PER_ROUND)

    benchmark.pedantic(
        one_round, setup=measure_the_ceiling, rounds=ROUNDS, iterations=1, warmup_rounds=1
    )
    rate = statistics.median(r.per_second for r in rounds[1:])  # the warm-up round is not one
    ceiling = statistics.median(r.per_second for r in ceilings[1:])
    cpu = statistics.median(controller_cpu[1:])
    client_cpu = statistics.median(r.client_cpu_seconds / r.calls for r in rounds[1:])
    # Memory with every service registered and heartbeating (the handoff's "per service
    # tracked" and "total for large deployment"), against the same process idle.
    rss_bytes = server.memory_info().rss
    figures = {
        "api": api,
        "services": SERVICES,
        "heartbeats_per_round": HEARTBEATS_PER_ROUND,
        "heartbeats_per_second_median": round(rate),
        "echo_calls_per_second_median": round(ceiling),
        "ratio_to_echo": round(rate / ceiling, 3),
        "controller_cpu_us_per_heartbeat": round(cpu * 1e6, 1),
        "controller_capacity_per_core": round(1 / cpu),
        "client_cpu_us_per_heartbeat": round(client_cpu * 1e6, 1),
        "controller_base_rss_mib": round(base_rss_bytes / 2**20, 1),
        "controller_rss_mib": round(rss_bytes / 2**20, 1),
        "controller_rss_kib_per_service": round((rss_bytes - base_rss_bytes) / 2**10 / SERVICES, 2),
        "client_processes": LOAD_PROCESSES,
        "cpu_count": os.cpu_count(),
    }
    benchmark.extra_info.update(figures)
    print(f"\nheartbeats through {api}: {figures}")
    return figures


def test_heartbeats_absorbed_from_1000_services(
    benchmark: Any,
    loop: asyncio.AbstractEventLoop,
    load: HeartbeatLoad,
    controller_process: tuple[str, psutil.Process],
    echo_process: tuple[str, psutil.Process],
) -> None:
    """flowctl.ControlPlane.Heartbeat, the legacy API."""
    absorb_heartbeats(benchmark, loop, load, "legacy", controller_process, echo_process)


def test_heartbeats_absorbed_through_v1(
    benchmark: Any,
    loop: asyncio.AbstractEventLoop,
    load: HeartbeatLoad,
    controller_process: tuple[str, psutil.Process],
    echo_process: tuple[str, psutil.Process],
) -> None:
    """flowctl.v1.ControlPlaneService.Heartbeat."""
    absorb_heartbeats(benchmark, loop, load, "v1", controller_process, echo_process)


# ---------------------------------------------------------------- in-process computations


def populated_state(count: int, heartbeats: int = 1) -> ControllerState:
    """`count` services in a chain, registered, each heartbeating `heartbeats` times."""
    state = ControllerState(Policy(heartbeat_ttl_seconds=600.0))
    for index in range(count):
        inputs = {"inputs": f"svc{index - 1}"} if index else {}
        state.register(
            cp.ServiceInfo(
                service_id=f"svc{index}-1",
                component_id=f"svc{index}",
                service_type=2,
                max_inflight=100,
                metadata=inputs,
            )
        )
    for _ in range(heartbeats):
        for index in range(count):
            metrics = {"inflight": float(index % 95), "throughput": 10.0, "latency_seconds": 0.002}
            state.heartbeat(cp.ServiceHeartbeat(service_id=f"svc{index}-1", metrics=metrics))
    return state


# What the controller keeps per service, traced in a process of its own, with no other
# thread: beside the native threads gRPC and Arrow leave in this one, tracemalloc crashed a
# benchmark run (a segfault in a gRPC thread as tracemalloc stopped; CPython 3.11 has races
# of tracemalloc.stop() with other threads' allocations, fixed in later versions).
TRACKED_PER_SERVICE = """
from bench_controller import INTERVALS_KEPT, SERVICES, populated_state
import tracemalloc
populated_state(SERVICES, INTERVALS_KEPT + 3)  # every lazy import done: none is per service
tracemalloc.start()
state = populated_state(SERVICES, INTERVALS_KEPT + 3)
print(tracemalloc.get_traced_memory()[0] / SERVICES)
"""


def test_services_registered_and_heartbeating_in_process(benchmark: Any) -> None:
    """1,000 services registered and heartbeating, in process; and what the controller keeps
    per service once each has heartbeated more often than it keeps intervals of (registry,
    liveness, backpressure place), traced by tracemalloc: the handoff's "per service
    tracked" without the process around it (the RSS growth is in the gRPC benchmarks)."""
    benchmark.pedantic(populated_state, args=(SERVICES, INTERVALS_KEPT + 3), rounds=3)
    traced = subprocess.run(
        [sys.executable, "-c", TRACKED_PER_SERVICE],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=True,
    )
    tracked_bytes_per_service = float(traced.stdout)
    benchmark.extra_info["tracked_kib_per_service"] = round(tracked_bytes_per_service / 2**10, 2)


@pytest.mark.parametrize("count", [10, 100, 1_000])
def test_pipeline_metrics_computation(benchmark: Any, count: int) -> None:
    state = populated_state(count)
    result = benchmark(state.pipeline_metrics)
    assert result.total_services == count
    benchmark.extra_info["handoff_claim_ms"] = {10: 0.5, 100: 5, 1_000: 50}[count]


def chain_decision(count: int) -> BackpressureDecision:
    decision = BackpressureDecision(FlowControlSettings())
    for index in range(count):
        decision.place(f"svc{index}-1", f"svc{index}", (f"svc{index - 1}",) if index else ())
    return decision


def test_backpressure_decision_per_heartbeat_steady(benchmark: Any) -> None:
    """The common case: a heartbeat that does not change any overloaded flag."""
    decision = chain_decision(SERVICES)
    service = f"svc{SERVICES - 1}-1"

    def decide() -> set[str]:
        return decision.observe(service, 0.5)

    assert benchmark(decide) == set()


def test_backpressure_decision_per_heartbeat_flipping(benchmark: Any) -> None:
    """Worst case: every heartbeat flips the sink of a 1,000-long chain on or off."""
    decision = chain_decision(SERVICES)
    sink = f"svc{SERVICES - 1}-1"
    loads = itertools.cycle([0.9, 0.1])

    def decide() -> int:
        return len(decision.observe(sink, next(loads)))

    assert benchmark(decide) == SERVICES - 1


def test_heartbeat_path_in_process(benchmark: Any) -> None:
    """Sanitise + record + decide for one heartbeat, without gRPC."""
    state = populated_state(SERVICES)
    message = cp.ServiceHeartbeat(
        service_id="svc500-1",
        metrics={"inflight": 40.0, "throughput": 12.0, "latency_seconds": 0.01},
    )
    assert benchmark(state.heartbeat, message) is not None


# ---------------------------------------------------------------- propagation over gRPC


@pytest.fixture
def embedded(loop: asyncio.AbstractEventLoop) -> Iterator[Controller]:
    controller = Controller(Policy(heartbeat_ttl_seconds=600.0), registry=CollectorRegistry())
    loop.run_until_complete(controller.start())
    yield controller
    loop.run_until_complete(controller.stop(grace=0))


async def _watching(address: str) -> AsyncIterator[Any]:
    """Yields (sink heartbeat stub, source directive stream) once both are set up."""
    async with (
        grpc.aio.insecure_channel(address) as sink_channel,
        grpc.aio.insecure_channel(address) as source_channel,
    ):
        sink = cp_grpc.ControlPlaneStub(sink_channel)
        await cp_grpc.ControlPlaneStub(source_channel).Register(
            cp.ServiceInfo(service_id="source-1", component_id="source", service_type=1)
        )
        await sink.Register(
            cp.ServiceInfo(
                service_id="sink-1",
                component_id="sink",
                service_type=3,
                metadata={"inputs": "source"},
            )
        )
        stream = fc_grpc.FlowControlStub(source_channel).WatchDirectives(
            fc.DirectiveRequest(service_id="source-1")
        )
        await stream.read()
        yield sink, stream
        stream.cancel()


def test_backpressure_propagation_sink_to_source(
    benchmark: Any, loop: asyncio.AbstractEventLoop, embedded: Controller
) -> None:
    assert embedded.address is not None
    watching = _watching(embedded.address)
    sink, stream = loop.run_until_complete(watching.__anext__())

    async def beat(load: float) -> fc.Directive:
        await sink.Heartbeat(cp.ServiceHeartbeat(service_id="sink-1", metrics={"load": load}))
        directive: fc.Directive = await asyncio.wait_for(stream.read(), WAIT)
        return directive

    def release() -> tuple[tuple[()], dict[str, Any]]:
        if embedded.backpressure_active:
            assert loop.run_until_complete(beat(0.1)).throttle_rate == 1.0
        return (), {}

    def overload() -> float:
        return float(loop.run_until_complete(beat(0.9)).throttle_rate)

    assert benchmark.pedantic(overload, setup=release, rounds=200, iterations=1) == 0.5
    assert embedded.backpressure_active
    benchmark.extra_info["handoff_claim_ms"] = 100
    loop.run_until_complete(_finish(watching))


async def _finish(generator: AsyncIterator[Any]) -> None:
    with contextlib.suppress(StopAsyncIteration):
        await generator.__anext__()


def test_controller_creation(benchmark: Any) -> None:
    """Controller(policy) construction, before start (handoff: ~1000 ns/op in Go)."""
    controller = benchmark(Controller, Policy())
    assert controller.address is None


def test_registration_round_trip(
    benchmark: Any, loop: asyncio.AbstractEventLoop, embedded: Controller
) -> None:
    """One Register call over real gRPC on loopback (handoff: < 1 s in Go)."""
    assert embedded.address is not None
    address = embedded.address

    async def open_channel() -> grpc.aio.Channel:
        return grpc.aio.insecure_channel(address)  # bound to the loop it is made on

    channel = loop.run_until_complete(open_channel())
    stub = cp_grpc.ControlPlaneStub(channel)
    ids = itertools.count()

    def register() -> cp.RegistrationAck:
        info = cp.ServiceInfo(service_id=f"svc-{next(ids)}", component_id="c", service_type=2)
        ack: cp.RegistrationAck = loop.run_until_complete(stub.Register(info, timeout=WAIT))
        return ack

    ack = benchmark(register)
    assert ack.service_id.startswith("svc-")
    loop.run_until_complete(channel.close())
