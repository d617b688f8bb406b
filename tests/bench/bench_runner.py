"""Runner benchmarks (pytest-benchmark): run with

    .venv/bin/pytest -m bench -p no:randomly tests/bench/bench_runner.py

- `flowrun up -d` until every component is ready, for 3 and 50 components of three kinds:
  `sleep` (no controller, no endpoint: the runner's own cost), a stdlib Python component
  listening on its endpoint (no controller: ready = accepts TCP), and a Python component
  registering with the embedded controller over gRPC and heartbeating (ready = registered);
- `flowrun down` of the same pipelines (every process gone when it returns);
- the runner's own CPU and RSS while idle with 50 heartbeating components (psutil, 10 s).

Times are wall-clock from the user's point of view: they include starting the `flowrun`
CLI process itself. The runner's own figure (first launch to last ready) is kept in
`extra_info` as `runner_ready_seconds`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from fixtures.runner_harness import (
    FIXTURE,
    FLOWRUN,
    PORT_0,
    Pipeline,
    clean_environ,
    component,
    write_spec,
)
from process_cpu import cpu_seconds

TRIVIAL = Path(__file__).resolve().parent.parent / "fixtures" / "runner_trivial.py"
IDLE_SECONDS = 10.0
KINDS: dict[str, dict[str, Any]] = {
    "sleep": {"mode": "disabled", "command": ["sleep", "3600"], "endpoint": False},
    "python-tcp": {"mode": "disabled", "command": ["python", str(TRIVIAL)], "endpoint": True},
    "python-grpc": {"mode": "embedded", "command": ["python", str(FIXTURE)], "endpoint": True},
}
READY_LINE = re.compile(r"pipeline: (\d+)/(\d+) components ready in ([\d.]+)s")


def _spec(
    folder: Path, kind: str, count: int, pipelines: list[Pipeline], heartbeat_interval: str = "1s"
) -> Path:
    settings = KINDS[kind]
    components = {
        # Endpoints written port 0: ports picked when the spec is written sat free long
        # enough for one of 50 to be taken before its component bound it.
        f"c{index:02d}": {
            **component("source", command=settings["command"], endpoint=False),
            "start_timeout": "120s",
            **({"endpoint": PORT_0} if settings["endpoint"] else {}),
        }
        for index in range(count)
    }
    spec = write_spec(
        folder,
        components,
        mode=settings["mode"],
        heartbeat_interval=heartbeat_interval,
        heartbeat_ttl="10s",
    )
    pipelines.append(Pipeline(spec))  # taken down after the test, even when it fails
    return spec


def _flowrun(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*FLOWRUN, *args], capture_output=True, text=True, timeout=300, env=clean_environ()
    )
    assert result.returncode == 0, result.stderr
    return result


def _runner_ready_seconds(spec: Path) -> float:
    log = (spec.parent / ".flowrun" / spec.stem / "runner.log").read_text()
    ready, total, seconds = READY_LINE.findall(log)[-1]
    assert ready == total
    return float(seconds)


@pytest.mark.parametrize("count", [3, 50])
@pytest.mark.parametrize("kind", list(KINDS))
def test_up_until_every_component_is_ready(
    benchmark: Any, tmp_path: Path, pipelines: list[Pipeline], kind: str, count: int
) -> None:
    spec = _spec(tmp_path, kind, count, pipelines)
    inside: list[float] = []

    def teardown() -> None:
        inside.append(_runner_ready_seconds(spec))
        _flowrun("down", str(spec))

    benchmark.pedantic(
        lambda: _flowrun("up", "-d", str(spec)), teardown=teardown, rounds=3 if count < 50 else 2
    )
    benchmark.extra_info["runner_ready_seconds"] = inside


@pytest.mark.parametrize("count", [3, 50])
@pytest.mark.parametrize("kind", ["sleep", "python-grpc"])
def test_down(
    benchmark: Any, tmp_path: Path, pipelines: list[Pipeline], kind: str, count: int
) -> None:
    spec = _spec(tmp_path, kind, count, pipelines)
    benchmark.pedantic(
        lambda: _flowrun("down", str(spec)),
        setup=lambda: _flowrun("up", "-d", str(spec)) and None,
        rounds=3 if count < 50 else 2,
    )


def test_idle_runner_with_50_heartbeating_components(
    benchmark: Any, tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    spec = _spec(tmp_path, "python-grpc", 50, pipelines)
    _flowrun("up", "-d", str(spec))
    try:
        import json

        status = json.loads(_flowrun("status", "--json", str(spec)).stdout)
        runner = psutil.Process(status["runner"]["pid"])
        time.sleep(2.0)  # let the start settle

        def measure() -> dict[str, float]:
            before, started = cpu_seconds(runner), time.monotonic()
            time.sleep(IDLE_SECONDS)
            used, elapsed = cpu_seconds(runner) - before, time.monotonic() - started
            return {
                "cpu_percent": 100.0 * used / elapsed,
                "rss_mib": runner.memory_info().rss / 2**20,
                "threads": float(runner.num_threads()),
            }

        figures = benchmark.pedantic(measure, rounds=1)
        benchmark.extra_info.update(figures)
        guardian = [
            p for p in runner.children() if "flowrun.supervision.guardian" in " ".join(p.cmdline())
        ]
        if guardian:
            benchmark.extra_info["guardian_rss_mib"] = guardian[0].memory_info().rss / 2**20
        print(f"\nidle runner, 50 components: {figures} {benchmark.extra_info}", file=sys.stderr)
    finally:
        _flowrun("down", str(spec))
