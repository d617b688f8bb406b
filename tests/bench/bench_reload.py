"""Hot-reload benchmarks on the Stellar pipeline (real SDK components), run with

    .venv/bin/pytest -m bench -p no:randomly tests/bench/bench_reload.py -s

- threshold edits: from the moment the spec is saved (temp file + rename, as editors do) to
  the new thresholds in force in every component, each asked over Flight (`get_status`);
  50 edits, the pipeline running throughout (nothing restarts);
- component edits: from the save of a processor `env` edit to the processor running again
  (a new pid, registered with the controller: the runner's own `running`), 10 edits.

Milliseconds in `extra_info`: threshold_p50_ms, threshold_p95_ms, threshold_max_ms,
component_restart_p50_ms, component_restart_p95_ms, component_restart_max_ms (and the raw
samples as *_samples_ms). pytest-benchmark's own stats time the same rounds.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import pyarrow.flight as flight
from fixtures.reload_harness import STELLAR, all_running, edited, stellar_spec
from fixtures.runner_harness import Pipeline
from flowrun.daemon import admin
from flowrun.daemon.state_dir import StateDir
from polling import wait_for

THRESHOLD_EDITS = 50
COMPONENT_EDITS = 10
POLL_SECONDS = 0.002
TIMEOUT_SECONDS = 60.0
PROCESSOR = STELLAR[1]


def _save(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.swp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _summary(prefix: str, seconds: list[float]) -> dict[str, Any]:
    millis = [round(s * 1000, 2) for s in seconds]
    return {
        f"{prefix}_p50_ms": statistics.median(millis),
        f"{prefix}_p95_ms": _percentile(millis, 0.95),
        f"{prefix}_max_ms": max(millis),
        f"{prefix}_samples_ms": millis,
    }


def _running(tmp_path: Path, pipelines: list[Pipeline]) -> Pipeline:
    spec = stellar_spec(
        tmp_path, ledgers_per_second=20, heartbeat_interval="1s", heartbeat_ttl="5s"
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0
    all_running(pipeline, set(STELLAR))
    return pipeline


def test_threshold_edit_to_every_component(
    benchmark: Any, tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = _running(tmp_path, pipelines)
    endpoints = [c["endpoint"] for c in pipeline.status()["components"]]
    clients = [flight.FlightClient(f"grpc://{endpoint}") for endpoint in endpoints]
    latencies: list[float] = []
    edits = iter(range(THRESHOLD_EDITS))

    def activate_at_everywhere() -> set[float]:
        found = set()
        for client in clients:
            (result,) = client.do_action(flight.Action("get_status", b""))
            found.add(json.loads(result.body.to_pybytes())["thresholds"]["activate_at"])
        return found

    def one_edit() -> None:
        value = 0.85 if next(edits) % 2 == 0 else 0.9
        text = edited(pipeline.spec, lambda body: body.update(flow_control={"activate_at": value}))
        written = time.monotonic()
        _save(pipeline.spec, text)
        wait_for(
            lambda: activate_at_everywhere() == {value},
            TIMEOUT_SECONDS,
            f"activate_at {value} everywhere",
            POLL_SECONDS,
        )
        latencies.append(time.monotonic() - written)

    try:
        benchmark.pedantic(one_edit, rounds=THRESHOLD_EDITS, iterations=1)
    finally:
        for client in clients:
            client.close()
    assert pipeline.status()["reload"]["generation"] == THRESHOLD_EDITS
    benchmark.extra_info.update(_summary("threshold", latencies))
    print(f"\nthreshold edits: {_summary('threshold', latencies)}")


def test_component_edit_to_running_again(
    benchmark: Any, tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = _running(tmp_path, pipelines)
    info = StateDir.for_spec(pipeline.spec).live_info(pipeline.spec)
    latencies: list[float] = []
    edits = iter(range(COMPONENT_EDITS))

    def processor() -> dict[str, Any]:
        status = admin.call(info, "GET", "/status")
        return dict(next(c for c in status["components"] if c["name"] == PROCESSOR))

    def one_edit() -> None:
        before = processor()["pid"]
        marker = str(next(edits))
        text = edited(
            pipeline.spec, lambda body: body["components"][PROCESSOR].update(env={"EDIT": marker})
        )
        written = time.monotonic()
        _save(pipeline.spec, text)
        wait_for(
            lambda: (p := processor())["state"] == "running" and p["pid"] not in (None, before),
            TIMEOUT_SECONDS,
            "the processor running again",
            POLL_SECONDS,
        )
        latencies.append(time.monotonic() - written)

    benchmark.pedantic(one_edit, rounds=COMPONENT_EDITS, iterations=1)
    benchmark.extra_info.update(_summary("component_restart", latencies))
    print(f"\ncomponent edits: {_summary('component_restart', latencies)}")
