"""Fixtures of the integration tier: real gRPC, Flight and subprocesses on loopback ports.

`pipelines` takes down every pipeline a test started (fixtures/runner_harness.py);
`running` kills every `flowrun controller` a test left running (fixtures/controller_process.py);
`metrics` is a Prometheus registry of the test's own, for a controller under test;
`channel` (and the stubs `plane`, `plane_v1`, `flow` on it) dials the `controller` fixture
of the test's module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from fixtures.controller_process import track_controllers
from fixtures.runner_harness import track_pipelines
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl import flow_control_pb2_grpc as fc_grpc
from flowctl.v1 import control_plane_pb2_grpc as v1_grpc
from flowrun.controller.server import Controller
from prometheus_client import CollectorRegistry

pipelines = pytest.fixture(track_pipelines, name="pipelines")
running = pytest.fixture(track_controllers, name="running")


@pytest.fixture
def metrics() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def channel(controller: Controller) -> AsyncIterator[grpc.aio.Channel]:
    assert controller.address is not None
    async with grpc.aio.insecure_channel(controller.address) as opened:
        yield opened


@pytest.fixture
def plane(channel: grpc.aio.Channel) -> cp_grpc.ControlPlaneStub:
    return cp_grpc.ControlPlaneStub(channel)


@pytest.fixture
def plane_v1(channel: grpc.aio.Channel) -> v1_grpc.ControlPlaneServiceStub:
    return v1_grpc.ControlPlaneServiceStub(channel)


@pytest.fixture
def flow(channel: grpc.aio.Channel) -> fc_grpc.FlowControlStub:
    return fc_grpc.FlowControlStub(channel)
