"""Hot reload of the Stellar pipeline (real components on the flowctl SDK) through file
edits: new thresholds reach the controller and every component (each one asked over
Flight) within one heartbeat interval without a restart; a processor edit restarts the
processor alone, and the sink resumes through its pool where its output was committed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fixtures.reload_harness import (
    STELLAR,
    all_running,
    component_status,
    controller_policy,
    edit,
    sink_checkpoint,
    stellar_spec,
    wait_generation,
)
from fixtures.runner_harness import Pipeline, wait_for

# Long on purpose: the new thresholds must arrive by push, well before the next heartbeat.
HEARTBEAT_SECONDS = 10.0
SOURCE, PROCESSOR, SINK = STELLAR


def _thresholds(endpoints: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: component_status(endpoint)["thresholds"] for name, endpoint in endpoints.items()}


def test_thresholds_live_and_a_processor_restart(tmp_path: Path, pipelines: list[Pipeline]) -> None:
    spec = stellar_spec(
        tmp_path, ledgers_per_second=20, heartbeat_interval="10s", heartbeat_ttl="30s"
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    result = pipeline.up()
    assert result.returncode == 0, result.stdout + result.stderr
    before = all_running(pipeline, set(STELLAR))
    endpoints = {c["name"]: c["endpoint"] for c in pipeline.status()["components"]}
    wanted = {"activate_at": 0.9, "deactivate_at": 0.7, "throttle_rate": 0.25}
    assert all(t["activate_at"] == 0.8 for t in _thresholds(endpoints).values())

    written = time.monotonic()
    edit(spec, lambda body: body.update(flow_control=wanted))
    wait_for(
        lambda: all(t == wanted for t in _thresholds(endpoints).values()),
        HEARTBEAT_SECONDS,
        "every component to use the new thresholds within one heartbeat interval",
        interval=0.02,
    )
    took = time.monotonic() - written
    status = pipeline.status()
    assert {k: status["flow_control"][k] for k in wanted} == wanted
    policy = controller_policy(status["controller"]["endpoint"])
    assert (policy.activate_at, policy.deactivate_at, policy.throttle_rate) == pytest.approx(
        (0.9, 0.7, 0.25)
    )
    assert {name: component_status(e)["pid"] for name, e in endpoints.items()} == before
    print(f"\nthresholds in force in every component {took * 1000:.0f} ms after the write")

    committed = wait_for(lambda: sink_checkpoint(spec), 120, "the sink's first commit")
    edit(spec, lambda body: body["components"][PROCESSOR].update(env={"TRACE": "1"}))
    wait_generation(pipeline, 2, "the processor edit applied")
    after = all_running(pipeline, set(STELLAR))
    assert after[PROCESSOR] != before[PROCESSOR]
    assert (after[SOURCE], after[SINK]) == (before[SOURCE], before[SINK])
    assert pipeline.status()["reload"]["last_outcome"]["restarted"] == [PROCESSOR]
    resumed_at = sink_checkpoint(spec)
    assert resumed_at >= committed
    wait_for(
        lambda: sink_checkpoint(spec) > resumed_at + 20,
        120,
        "the sink to commit ledgers again through the restarted processor",
    )
    assert component_status(endpoints[SINK])["pid"] == before[SINK]
