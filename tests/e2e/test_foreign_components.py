"""Components in another language under `flowrun up`, as first-class citizens: each
reads only its own generation's variables, registers through its own API, and the runner
makes it ready when it registers, keeps it alive between (or without) heartbeats, and
shows it in status (tests/fixtures/foreign_component.py plays them)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pytest
from fixtures.external_controller import controller_elsewhere, external_pipeline
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


@pytest.mark.parametrize("mode", ["embedded", "external"])
def test_an_older_obsrvr_component_left_to_protocol_auto_keeps_its_own_pace(
    tmp_path: Path, pipelines: list[Pipeline], mode: str
) -> None:
    """The older obsrvr client heartbeats every 10 s whatever it is told. Left to the
    default `protocol: auto`, it was restarted after each first heartbeat (judged by the
    spec's heartbeat_ttl); under an external controller it was never matched to its spec
    name, never ready, and killed every start_timeout (wire audit)."""
    component = {
        "type": "source",  # (it registers as a processor: the runner does not mind)
        "command": [sys.executable, FOREIGN, "legacy", "ttp-arrow-processor"],
        "endpoint": "127.0.0.1:0",
        "start_timeout": "20s",
    }
    with contextlib.ExitStack() as stack:
        if mode == "embedded":
            spec = write_spec(
                tmp_path,
                {"ttp-arrow-processor": component},
                heartbeat_interval="500ms",
                heartbeat_ttl="2s",
            )
            pipeline = Pipeline(spec)
            pipelines.append(pipeline)
        else:
            endpoint = stack.enter_context(controller_elsewhere())
            pipeline = external_pipeline(
                tmp_path, pipelines, endpoint, {"ttp-arrow-processor": component}
            )
        started = pipeline.up()
        assert started.returncode == 0, started.stdout + started.stderr
        first = pipeline.status()["components"][0]
        assert first["registered"] and first["state"] == "running", first
        # Its first heartbeat comes 10 s after it registers; past it, 2 s (the ttl) more
        # without one restarted it.
        now = pipeline.wait_component(
            "ttp-arrow-processor",
            lambda c: (c["uptime_seconds"] or 0) >= 14 or c["pid"] != first["pid"],
            60,
            "fourteen seconds of uptime",
        )
        assert now["pid"] == first["pid"] and now["restarts"] == 0, now
        assert now["healthy"] and now["registered"], now
        health = pipeline.flowrun("health", str(pipeline.spec))
        assert health.returncode == 0, health.stdout


@pytest.mark.parametrize("mode", ["embedded", "external"])
def test_a_v1_processor_that_reports_itself_unhealthy_is_shown_so(
    tmp_path: Path, pipelines: list[Pipeline], mode: str
) -> None:
    """A flowctl.v1 client's heartbeat says how it is. Its UNHEALTHY was kept by the
    controller (GetComponentStatus answered it) but status and health showed the component
    healthy: they now show what it says of itself, while its heartbeats keep it alive (it is
    not restarted for it, as for a health endpoint's verdict)."""
    component = {
        "type": "source",  # (it registers as a processor: the runner does not mind)
        "command": [sys.executable, FOREIGN, "v1-processor", "UNHEALTHY"],
        "protocol": "flowctl-v1",
        "endpoint": "127.0.0.1:0",
    }
    with contextlib.ExitStack() as stack:
        if mode == "embedded":
            spec = write_spec(tmp_path, {"ledger-processor": component}, heartbeat_interval="500ms")
            pipeline = Pipeline(spec)
            pipelines.append(pipeline)
        else:
            endpoint = stack.enter_context(controller_elsewhere())
            pipeline = external_pipeline(
                tmp_path, pipelines, endpoint, {"ledger-processor": component}
            )
        started = pipeline.up()
        assert started.returncode == 0, started.stdout + started.stderr
        said = pipeline.wait_component(
            "ledger-processor", lambda c: c["health"] is not None, 30, "its first heartbeat"
        )
        assert said["health"] == "unhealthy", said
        assert said["health_reasons"] == ["reported UNHEALTHY by the component in its heartbeat"]
        assert said["state"] == "running" and said["healthy"] and said["restarts"] == 0, said
        table = pipeline.flowrun("status", str(pipeline.spec))
        assert "unhealthy: reported UNHEALTHY by the component" in table.stdout, table.stdout
        health = pipeline.flowrun("health", str(pipeline.spec))
        assert health.returncode == 1, health.stdout
        assert (
            "ledger-processor reports itself unhealthy: reported UNHEALTHY by the component"
            in health.stdout
        )
