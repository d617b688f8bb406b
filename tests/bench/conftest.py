"""Fixtures of the benchmarks (`make bench`, never part of `make test`).

`pipelines` takes down every pipeline a benchmark started (fixtures/runner_harness.py).
"""

from __future__ import annotations

import pytest
from fixtures.runner_harness import track_pipelines

pipelines = pytest.fixture(track_pipelines, name="pipelines")
