"""Fixtures of the integration tier: real gRPC, Flight and subprocesses on loopback ports.

`pipelines` takes down every pipeline a test started (fixtures/runner_harness.py);
`metrics` is a Prometheus registry of the test's own, for a controller under test.
"""

from __future__ import annotations

import pytest
from fixtures.runner_harness import track_pipelines
from prometheus_client import CollectorRegistry

pipelines = pytest.fixture(track_pipelines, name="pipelines")


@pytest.fixture
def anyio_backend() -> str:
    """`pytest.mark.anyio` tests run on asyncio, the loop the runner uses."""
    return "asyncio"


@pytest.fixture
def metrics() -> CollectorRegistry:
    return CollectorRegistry()
