"""Controller benchmarks (pytest-benchmark): run with

    .venv/bin/pytest -m bench -p no:randomly tests/bench/bench_controller.py

- heartbeats absorbed per second from 1,000 registered services, over real gRPC, from
  several concurrent client channels, against `flowrun controller` in its own process
  (as components are), plus the controller's CPU time per heartbeat (psutil);
- pipeline metrics computation for 10, 100 and 1,000 services (handoff: 0.5/5/50 ms);
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
from flowrun.controller.server import Controller
from flowrun.controller.state import ControllerState
from prometheus_client import CollectorRegistry

SERVICES = 1_000
HEARTBEATS_PER_ROUND = 5_000
CHANNELS = 4
CONCURRENCY = 64
WAIT = 60.0
FLOWRUN = str(Path(sys.executable).parent / "flowrun")


# ---------------------------------------------------------------- heartbeats over gRPC


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    running = asyncio.new_event_loop()
    yield running
    running.close()


@pytest.fixture(scope="module")
def controller_process() -> Iterator[tuple[str, psutil.Process]]:
    process = subprocess.Popen(
        [FLOWRUN, "controller", "--listen", "127.0.0.1:0", "--heartbeat-ttl", "10m"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    try:
        match = re.search(r"listening on (\S+)", lines.get(timeout=WAIT))
        assert match, "flowrun controller did not print its address"
        yield match.group(1), psutil.Process(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(WAIT)


class Clients:
    """CHANNELS channels, CONCURRENCY callers sharing them round robin."""

    def __init__(self, address: str) -> None:
        self.channels = [grpc.aio.insecure_channel(address) for _ in range(CHANNELS)]
        self.planes = [cp_grpc.ControlPlaneStub(channel) for channel in self.channels]

    async def register(self, count: int) -> list[str]:
        names = [f"svc{i}-1" for i in range(count)]
        infos = [
            cp.ServiceInfo(
                service_id=name, component_id=name[:-2], service_type=2, max_inflight=100
            )
            for name in names
        ]
        await self.spread([(self.planes[0].Register, info) for info in infos])
        return names

    async def spread(self, calls: list[tuple[Any, Any]]) -> int:
        async def caller(start: int) -> int:
            done = 0
            for index in range(start, len(calls), CONCURRENCY):
                method, request = calls[index]
                await method(request, timeout=WAIT)
                done += 1
            return done

        return sum(await asyncio.gather(*(caller(k) for k in range(CONCURRENCY))))

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()


@pytest.fixture(scope="module")
def clients(
    loop: asyncio.AbstractEventLoop, controller_process: tuple[str, psutil.Process]
) -> Iterator[tuple[Clients, list[str]]]:
    address, _ = controller_process
    opened = loop.run_until_complete(_open(address))
    names = loop.run_until_complete(opened.register(SERVICES))
    yield opened, names
    loop.run_until_complete(opened.close())


async def _open(address: str) -> Clients:
    return Clients(address)


def test_heartbeats_absorbed_from_1000_services(
    benchmark: Any,
    loop: asyncio.AbstractEventLoop,
    clients: tuple[Clients, list[str]],
    controller_process: tuple[str, psutil.Process],
) -> None:
    opened, names = clients
    _, server = controller_process
    calls = [
        (
            opened.planes[index % CHANNELS].Heartbeat,
            cp.ServiceHeartbeat(
                service_id=names[index % SERVICES],
                metrics={
                    "inflight": float(index % 90),
                    "throughput": 100.0,
                    "latency_seconds": 0.01,
                },
            ),
        )
        for index in range(HEARTBEATS_PER_ROUND)
    ]
    cpu_before = sum(server.cpu_times()[:2])
    absorbed: list[int] = []

    def one_round() -> None:
        absorbed.append(loop.run_until_complete(opened.spread(calls)))

    benchmark.pedantic(one_round, rounds=5, iterations=1, warmup_rounds=1)
    cpu_per_heartbeat = (sum(server.cpu_times()[:2]) - cpu_before) / sum(absorbed)
    assert all(count == HEARTBEATS_PER_ROUND for count in absorbed)
    median = benchmark.stats.stats.median
    benchmark.extra_info.update(
        heartbeats_per_round=HEARTBEATS_PER_ROUND,
        heartbeats_per_second_median=round(HEARTBEATS_PER_ROUND / median),
        controller_cpu_us_per_heartbeat=round(cpu_per_heartbeat * 1e6, 1),
        controller_capacity_per_core=round(1 / cpu_per_heartbeat),
        cpu_count=os.cpu_count(),
    )


# ---------------------------------------------------------------- in-process computations


def populated_state(count: int) -> ControllerState:
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
        metrics = {"inflight": float(index % 95), "throughput": 10.0, "latency_seconds": 0.002}
        state.heartbeat(cp.ServiceHeartbeat(service_id=f"svc{index}-1", metrics=metrics))
    return state


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
