"""Components in another language under `flowrun up`, as first-class citizens: each
reads only its own generation's variables, registers through its own API, and the runner
makes it ready when it registers, keeps it alive between (or without) heartbeats, and
shows it in status (tests/fixtures/foreign_component.py plays them)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fixtures.runner_harness import Pipeline, write_spec

pytestmark = pytest.mark.timeout(120)
FOREIGN = str(Path(__file__).resolve().parents[1] / "fixtures" / "foreign_component.py")


def test_a_v1_consumer_and_an_older_obsrvr_component_run_as_first_class_citizens(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    spec = write_spec(
        tmp_path,
        {
            "sink": {
                "type": "sink",
                "command": [sys.executable, FOREIGN, "v1-consumer"],
                "protocol": "flowctl-v1",
                "health_port": 0,
                "inputs": ["ttp-arrow-processor"],
            },
            "ttp-arrow-processor": {
                "type": "source",  # (it registers as a processor: the runner does not mind)
                "command": [sys.executable, FOREIGN, "legacy", "ttp-arrow-processor"],
                "protocol": "flowctl-legacy",
                "endpoint": "127.0.0.1:0",
            },
        },
        heartbeat_interval="500ms",
        heartbeat_ttl="2s",
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)

    started = pipeline.up()

    assert started.returncode == 0, started.stdout + started.stderr
    first = {c["name"]: c for c in pipeline.status()["components"]}
    assert {name: c["registered"] for name, c in first.items()} == {
        "sink": True,
        "ttp-arrow-processor": True,
    }
    # Three heartbeat_ttl's: neither heartbeats at the runner's pace (one never does).
    pipeline.wait_component(
        "sink", lambda c: (c["uptime_seconds"] or 0) >= 6, 30, "six seconds of uptime"
    )
    now = {c["name"]: c for c in pipeline.status()["components"]}
    for name, component in now.items():
        assert component["state"] == "running", component
        assert component["pid"] == first[name]["pid"], f"{name} was restarted"
        assert component["restarts"] == 0
        assert component["healthy"], component
    health = pipeline.flowrun("health", str(spec))
    assert health.returncode == 0, health.stdout
