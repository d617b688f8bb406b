"""Fixtures of the fault tier: faults injected into real pipelines and processes.

`pipelines` takes down every pipeline a test started (fixtures/runner_harness.py);
`registry` is a Prometheus registry of the test's own, for a controller under test.
"""

from __future__ import annotations

import pytest
from fixtures.runner_harness import track_pipelines
from prometheus_client import CollectorRegistry

pipelines = pytest.fixture(track_pipelines, name="pipelines")


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()
