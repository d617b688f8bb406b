"""Heartbeats absorbed per second with both control-plane APIs mixed: run with

    .venv/bin/pytest -m bench -p no:randomly tests/bench/bench_controller_v1.py -s

1,000 services, half registered through the legacy `flowctl.ControlPlane` (double metrics,
the obsrvr client's names) and half through `flowctl.v1.ControlPlaneService` (string
metrics, as flowctl-sdk formats them), heartbeating over real gRPC from several channels
against `flowrun controller` in its own process (the approach and the controller fixture of
bench_controller.py).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import grpc
import psutil
import pytest
from bench_controller import CHANNELS, CONCURRENCY, WAIT, controller_process, loop
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl.v1 import common_pb2 as v1c
from flowctl.v1 import control_plane_pb2 as v1
from flowctl.v1 import control_plane_pb2_grpc as v1_grpc

__all__ = ["controller_process", "loop"]  # the fixtures, shared

SERVICES = 1_000
HEARTBEATS_PER_ROUND = 5_000


class MixedClients:
    def __init__(self, address: str) -> None:
        self.channels = [grpc.aio.insecure_channel(address) for _ in range(CHANNELS)]
        self.legacy = [cp_grpc.ControlPlaneStub(channel) for channel in self.channels]
        self.v1 = [v1_grpc.ControlPlaneServiceStub(channel) for channel in self.channels]

    async def register(self) -> list[tuple[str, bool]]:
        """(service id, through v1) for every service."""
        services: list[tuple[str, bool]] = []
        for index in range(SERVICES):
            if index % 2:
                component = v1c.ComponentInfo(id=f"v1-{index}", type=v1c.COMPONENT_TYPE_PROCESSOR)
                await self.v1[0].RegisterComponent(v1.RegisterRequest(component=component))
                services.append((f"v1-{index}", True))
            else:
                info = cp.ServiceInfo(service_type=2, max_inflight=1000)
                ack = await self.legacy[0].Register(info, timeout=WAIT)
                services.append((ack.service_id, False))
        return services

    def calls(self, services: list[tuple[str, bool]]) -> list[tuple[Any, Any]]:
        calls: list[tuple[Any, Any]] = []
        for index in range(HEARTBEATS_PER_ROUND):
            service_id, through_v1 = services[index % SERVICES]
            channel = index % CHANNELS
            if through_v1:
                metrics = {"processed_count": str(index), "uptime_seconds": "1.2345e-05"}
                request: Any = v1.HeartbeatRequest(service_id=service_id, metrics=metrics)
                calls.append((self.v1[channel].Heartbeat, request))
            else:
                inflight = float(index % 900)
                request = cp.ServiceHeartbeat(
                    service_id=service_id,
                    metrics={
                        "current_inflight": inflight,
                        "inflight_utilization": inflight / 1000,
                        "events_per_second": 1200.0,
                    },
                )
                calls.append((self.legacy[channel].Heartbeat, request))
        return calls

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


async def _open(address: str) -> MixedClients:
    return MixedClients(address)


@pytest.fixture(scope="module")
def mixed(
    loop: asyncio.AbstractEventLoop, controller_process: tuple[str, psutil.Process]
) -> Iterator[tuple[MixedClients, list[tuple[str, bool]]]]:
    address, _ = controller_process
    opened = loop.run_until_complete(_open(address))
    services = loop.run_until_complete(opened.register())
    yield opened, services
    loop.run_until_complete(opened.close())


def test_heartbeats_absorbed_with_both_apis_mixed(
    benchmark: Any,
    loop: asyncio.AbstractEventLoop,
    mixed: tuple[MixedClients, list[tuple[str, bool]]],
    controller_process: tuple[str, psutil.Process],
) -> None:
    opened, services = mixed
    _, server = controller_process
    calls = opened.calls(services)
    cpu_before = sum(server.cpu_times()[:2])
    absorbed: list[int] = []

    def one_round() -> None:
        absorbed.append(loop.run_until_complete(opened.spread(calls)))

    benchmark.pedantic(one_round, rounds=5, iterations=1, warmup_rounds=1)
    cpu_per_heartbeat = (sum(server.cpu_times()[:2]) - cpu_before) / sum(absorbed)
    assert all(count == HEARTBEATS_PER_ROUND for count in absorbed)
    per_second = round(HEARTBEATS_PER_ROUND / benchmark.stats.stats.median)
    print(f"\nheartbeats absorbed per second, legacy and flowctl.v1 mixed: {per_second}")
    benchmark.extra_info.update(
        heartbeats_per_round=HEARTBEATS_PER_ROUND,
        heartbeats_per_second_median=per_second,
        controller_cpu_us_per_heartbeat=round(cpu_per_heartbeat * 1e6, 1),
        cpu_count=os.cpu_count(),
    )
