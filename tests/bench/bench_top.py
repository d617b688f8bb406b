"""The cost of `flowrun top` on the runner: its CPU per frame with 50 components.

    .venv/bin/pytest -m bench -p no:randomly tests/bench/bench_top.py -s

50 SDK components (tests/fixtures/runner_sdk_health.py: each serves /metrics and /health
on a port the runner picks, and heartbeats to the embedded controller every second).
The runner's CPU time (psutil: user + system, every thread) is read over FRAMES frames
of `GET /top` at the live view's default pace (one a second), and over the same time with
nobody watching; the difference divided by FRAMES is what a frame costs the runner (the
status, 50 scrapes of /metrics on worker threads, psutil for 50 processes, the JSON).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import psutil
from fixtures.runner_harness import PORT_0, Pipeline, component, write_spec
from flowrun.daemon import admin
from flowrun.daemon.state_dir import RunnerInfo
from flowrun.daemon.top_types import TopView
from polling import wait_for
from process_cpu import cpu_seconds

SDK_COMPONENT = Path(__file__).resolve().parent.parent / "fixtures" / "runner_sdk_health.py"
COUNT = 50
FRAMES = 20
FRAME_INTERVAL_SECONDS = 1.0


def _pipeline(folder: Path, pipelines: list[Pipeline]) -> Pipeline:
    components = {
        f"c{index:02d}": {
            **component(
                "source",
                command=["python", str(SDK_COMPONENT)],
                endpoint=False,
                health_port=0,
                start_timeout="300s",
            ),
            "endpoint": PORT_0,  # not picked now: see runner_harness.component
        }
        for index in range(COUNT)
    }
    spec = write_spec(folder, components, heartbeat_interval="1s", heartbeat_ttl="10s")
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)  # taken down after the benchmark, even when it fails
    started = pipeline.up(timeout=600)
    assert started.returncode == 0, started.stdout + started.stderr
    return pipeline


def _paced(seconds: float, step: Any = None) -> int:
    """Run `step` (or nothing) once per FRAME_INTERVAL_SECONDS for `seconds`; how many ran."""
    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        if step is not None:
            step()
            done += 1
        time.sleep(min(FRAME_INTERVAL_SECONDS, max(0.0, deadline - time.monotonic())))
    return done


def test_top_refresh_cost_on_the_runner_with_50_components(
    benchmark: Any, tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = _pipeline(tmp_path, pipelines)
    info = RunnerInfo.from_json((pipeline.state_dir / "runner.json").read_text())
    runner = psutil.Process(info.pid)

    def frame() -> TopView:
        return TopView.from_json(admin.call(info, "GET", "/top", timeout_seconds=30.0))

    # Every component counted by the view with its process measured: the scrapes answer.
    wait_for(lambda: all(c.memory_bytes for c in frame().components), 120, "every process measured")

    def measure() -> dict[str, float]:
        window = FRAMES * FRAME_INTERVAL_SECONDS
        before = cpu_seconds(runner)
        _paced(window)
        idle = cpu_seconds(runner) - before
        before = cpu_seconds(runner)
        frames = _paced(window, frame)
        watched = cpu_seconds(runner) - before
        return {
            "frames": float(frames),
            "runner_cpu_seconds_idle": idle,
            "runner_cpu_seconds_watched": watched,
            "cpu_ms_per_frame": 1000.0 * (watched - idle) / frames,
            "cpu_ms_per_frame_gross": 1000.0 * watched / frames,
        }

    figures = benchmark.pedantic(measure, rounds=1)
    benchmark.extra_info.update(figures)
    last = frame()
    assert len(last.components) == COUNT
    print(f"\nflowrun top, {COUNT} components: {figures}", file=sys.stderr)
