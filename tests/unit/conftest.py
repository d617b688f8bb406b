"""Fixtures of the unit tier: fakes at the process, gRPC and Flight boundary; no subprocess,
no pipeline. Helpers of the supervision fakes live in tests/fixtures/supervision_fakes.py."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """`pytest.mark.anyio` tests run on asyncio, the loop the runner uses."""
    return "asyncio"
