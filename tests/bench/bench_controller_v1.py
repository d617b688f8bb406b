"""Heartbeats absorbed per second with both control-plane APIs mixed: run with

    .venv/bin/pytest -m bench -p no:randomly tests/bench/bench_controller_v1.py -s

1,000 services, half registered through the legacy `flowctl.ControlPlane` (double metrics)
and half through `flowctl.v1.ControlPlaneService` (string metrics, as flowctl-sdk formats
them), heartbeating in turn over real gRPC from several client processes against `flowrun
controller` in its own process, each round beside the same round against the echo server
(the method and fixtures of bench_controller.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import psutil
from bench_controller import absorb_heartbeats, controller_process, echo_process, load, loop
from heartbeat_load import HeartbeatLoad

__all__ = ["controller_process", "echo_process", "load", "loop"]  # the fixtures, shared


def test_heartbeats_absorbed_with_both_apis_mixed(
    benchmark: Any,
    loop: asyncio.AbstractEventLoop,
    load: HeartbeatLoad,
    controller_process: tuple[str, psutil.Process],
    echo_process: tuple[str, psutil.Process],
) -> None:
    absorb_heartbeats(benchmark, loop, load, "mixed", controller_process, echo_process)
