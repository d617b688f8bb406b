"""Fixtures of the e2e tier: whole pipelines through the flowrun CLI.

`pipelines` takes down every pipeline a test started (fixtures/runner_harness.py).
"""

from __future__ import annotations

import pytest
from fixtures.runner_harness import track_pipelines

pipelines = pytest.fixture(track_pipelines, name="pipelines")
