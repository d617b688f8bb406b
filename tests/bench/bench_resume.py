"""How soon data flows again after an upstream restart, on examples/sdk (real processes),
run with

    .venv/bin/pytest -m bench -p no:randomly tests/bench/bench_resume.py -s

Ten rounds: the processor is killed with SIGKILL and started again at once (what the
runner does); measured from that start to the first new file the sink commits, and split
in two: until the new processor serves (its /health answers), and from then until the
sink, reconnecting with backoff, has committed a batch through it.

Milliseconds in `extra_info`: resume_p50_ms, resume_p95_ms, resume_max_ms (start to
data), serving_p50_ms (start to serving), reconnect_p50_ms (serving to data), and the
raw samples as *_samples_ms.
"""

from __future__ import annotations

import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fixtures.sdk_example import SdkExample
from polling import wait_for

RESTARTS = 10
pytestmark = pytest.mark.timeout(300)


def _serving(example: SdkExample, name: str) -> bool:
    url = f"http://127.0.0.1:{example.health_ports[name]}/health"
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # answering, even if not healthy yet
    except OSError:
        return False


def _milliseconds(prefix: str, seconds: list[float]) -> dict[str, Any]:
    ordered = sorted(seconds)
    return {
        f"{prefix}_p50_ms": round(statistics.median(ordered) * 1000, 1),
        f"{prefix}_p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000, 1),
        f"{prefix}_max_ms": round(ordered[-1] * 1000, 1),
        f"{prefix}_samples_ms": [round(s * 1000, 1) for s in seconds],
    }


def test_upstream_restart_to_data_at_the_consumer(benchmark: Any, tmp_path: Path) -> None:
    resume: list[float] = []
    serving: list[float] = []
    reconnect: list[float] = []
    with SdkExample(tmp_path, count=0, rate=1000) as example:
        wait_for(lambda: example.rows_written() > 0, 60, "the first rows committed")

        def one_restart() -> None:
            example.kill("squares")
            files_before = len(example.files())
            started = time.monotonic()
            example.start("squares")
            wait_for(lambda: _serving(example, "squares"), 60, "the processor serving", 0.005)
            up = time.monotonic()
            wait_for(lambda: len(example.files()) > files_before, 60, "a new file", 0.005)
            done = time.monotonic()
            resume.append(done - started)
            serving.append(up - started)
            reconnect.append(done - up)

        benchmark.pedantic(one_restart, rounds=RESTARTS, iterations=1)
        ids = example.ids()
    assert len(ids) == len(set(ids)), "an id was written twice"
    benchmark.extra_info.update(_milliseconds("resume", resume))
    benchmark.extra_info.update(_milliseconds("serving", serving))
    benchmark.extra_info.update(_milliseconds("reconnect", reconnect))
    print({k: v for k, v in benchmark.extra_info.items() if not k.endswith("samples_ms")})
