"""A heartbeat load generator for the controller benchmarks: several processes, many channels.

One Python process with grpc.aio spends ≈ 150-250 µs of CPU per unary call as a client,
about as much as the server it measures; a single client process would cap the rate, not
the controller. So `HeartbeatLoad` keeps `processes` worker processes (spawned once, each
with `channels` channels and `concurrency` callers in flight), hands each an equal share of
a round, starts them together and times the round from the first start to the last end.
Each round also reports the clients' own CPU time, so a run can show the clients had room.

APIs: "legacy" (`flowctl.ControlPlane.Heartbeat`, the obsrvr client's double metrics),
"v1" (`flowctl.v1.ControlPlaneService.Heartbeat`, flowctl-sdk's `%v` strings) and "mixed"
(alternating). The services must be registered already (see `register_services`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from typing import Any

import grpc
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl.v1 import common_pb2 as v1c
from flowctl.v1 import control_plane_pb2 as v1
from flowctl.v1 import control_plane_pb2_grpc as v1_grpc

WAIT = 60.0
APIS = ("legacy", "v1", "mixed")


@dataclass(frozen=True)
class Service:
    service_id: str
    through_v1: bool


@dataclass(frozen=True)
class Round:
    calls: int
    seconds: float
    client_cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds


async def register_services(address: str, count: int, api: str) -> list[Service]:
    """Register `count` services through `api` ("mixed": every other one through v1)."""
    services: list[Service] = []
    async with grpc.aio.insecure_channel(address) as channel:
        legacy = cp_grpc.ControlPlaneStub(channel)
        new = v1_grpc.ControlPlaneServiceStub(channel)
        for index in range(count):
            if api == "v1" or (api == "mixed" and index % 2):
                component = v1c.ComponentInfo(id=f"v1-{index}", type=v1c.COMPONENT_TYPE_PROCESSOR)
                await new.RegisterComponent(v1.RegisterRequest(component=component), timeout=WAIT)
                services.append(Service(f"v1-{index}", through_v1=True))
            else:
                info = cp.ServiceInfo(
                    service_id=f"svc{index}-1",
                    component_id=f"svc{index}",
                    service_type=cp.SERVICE_TYPE_PROCESSOR,
                    max_inflight=100,
                )
                ack = await legacy.Register(info, timeout=WAIT)
                services.append(Service(ack.service_id, through_v1=False))
    return services


def heartbeat_calls(
    channels: Sequence[grpc.aio.Channel], services: Sequence[Service], count: int, offset: int
) -> list[tuple[Any, Any]]:
    """`count` (method, request) pairs, the services in turn, spread over the channels."""
    legacy = [cp_grpc.ControlPlaneStub(channel) for channel in channels]
    new = [v1_grpc.ControlPlaneServiceStub(channel) for channel in channels]
    calls: list[tuple[Any, Any]] = []
    for index in range(offset, offset + count):
        service, channel = services[index % len(services)], index % len(channels)
        if service.through_v1:
            metrics = {"processed_count": str(index), "uptime_seconds": "1.2345e-05"}
            request: Any = v1.HeartbeatRequest(service_id=service.service_id, metrics=metrics)
            calls.append((new[channel].Heartbeat, request))
        else:
            inflight = float(index % 90)
            request = cp.ServiceHeartbeat(
                service_id=service.service_id,
                metrics={"inflight": inflight, "throughput": 100.0, "latency_seconds": 0.01},
            )
            calls.append((legacy[channel].Heartbeat, request))
    return calls


async def _spread(calls: list[tuple[Any, Any]], concurrency: int) -> None:
    async def caller(start: int) -> None:
        for index in range(start, len(calls), concurrency):
            method, request = calls[index]
            await method(request, timeout=WAIT)

    await asyncio.gather(*(caller(k) for k in range(concurrency)))


def _worker(commands: Queue[Any], results: Queue[Any], channels: int, concurrency: int) -> None:
    asyncio.run(_serve_commands(commands, results, channels, concurrency))


async def _serve_commands(
    commands: Queue[Any], results: Queue[Any], channel_count: int, concurrency: int
) -> None:
    opened: dict[str, list[grpc.aio.Channel]] = {}
    loop = asyncio.get_running_loop()
    try:
        while (command := await loop.run_in_executor(None, commands.get)) is not None:
            address, services, count, offset = command
            if address not in opened:
                opened[address] = [grpc.aio.insecure_channel(address) for _ in range(channel_count)]
            calls = heartbeat_calls(opened[address], services, count, offset)
            await _spread(calls[: channel_count * 4], concurrency)  # connect and warm up
            results.put("ready")
            await loop.run_in_executor(None, commands.get)  # go
            started, cpu = time.perf_counter(), time.process_time()
            await _spread(calls, concurrency)
            results.put((started, time.perf_counter(), time.process_time() - cpu))
    finally:
        for channels in opened.values():
            for channel in channels:
                await channel.close()


class HeartbeatLoad:
    """`processes` client processes, started by `start()` and ended by `close()`."""

    def __init__(self, processes: int = 2, channels: int = 4, concurrency: int = 64) -> None:
        self._context = multiprocessing.get_context("spawn")  # no fork of a gRPC process
        self._channels, self._concurrency = channels, concurrency
        self._workers: list[tuple[SpawnProcess, Queue[Any]]] = []
        self._results: Queue[Any] = self._context.Queue()
        self._processes = processes

    def start(self) -> HeartbeatLoad:
        for _ in range(self._processes):
            commands: Queue[Any] = self._context.Queue()
            process = self._context.Process(
                target=_worker,
                args=(commands, self._results, self._channels, self._concurrency),
                daemon=True,
            )
            process.start()
            self._workers.append((process, commands))
        return self

    def run(self, address: str, services: Sequence[Service], count: int) -> Round:
        """Send `count` heartbeats to `address`, shared by the processes; the round's figures."""
        share = count // len(self._workers)
        for index, (_, commands) in enumerate(self._workers):
            commands.put((address, list(services), share, index * share))
        for _ in self._workers:
            assert self._results.get(timeout=WAIT) == "ready"
        for _, commands in self._workers:
            commands.put("go")
        ends = [self._results.get(timeout=WAIT) for _ in self._workers]
        seconds = max(end for _, end, _ in ends) - min(start for start, _, _ in ends)
        return Round(share * len(self._workers), seconds, sum(cpu for _, _, cpu in ends))

    def close(self) -> None:
        for _, commands in self._workers:
            commands.put(None)
        for process, _ in self._workers:
            process.join(WAIT)
            if process.is_alive():
                process.kill()
                process.join(WAIT)
        self._workers.clear()
