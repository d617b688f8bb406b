"""Port 0: the runner picks free ports, tells components and consumers, and shows them.

The shipped Stellar spec writes every port as 0, so two copies of it (in two folders) run
side by side and both make progress; a component restarted by the runner keeps its port.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from fixtures.runner_harness import PORT_0, Pipeline, component, write_spec
from polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "specs" / "stellar-ttp.yaml"
LAST_LEDGER = 150


def shipped_copy(folder: Path) -> Path:
    """The shipped spec in a folder of its own, over a short range of ledgers."""
    folder.mkdir()
    text = SHIPPED.read_text()
    short = text.replace("end_ledger: 0 ", f"end_ledger: {LAST_LEDGER} ").replace(
        "ledgers_per_second: 10", "ledgers_per_second: 50"
    )
    assert short != text, "the shipped spec's end_ledger or pace moved: update this test"
    path = folder / SHIPPED.name
    path.write_text(short)
    return path


def last_ledger(spec: Path) -> int:
    checkpoint = spec.parent / "data" / "ttp_events" / "_checkpoint.json"
    try:
        return int(json.loads(checkpoint.read_text())["last_ledger"])
    except (OSError, ValueError, KeyError):
        return 0


def ports_of(status: dict[str, Any]) -> list[int]:
    endpoints = [status["controller"]["endpoint"], *(c["endpoint"] for c in status["components"])]
    ports = [int(endpoint.rpartition(":")[2]) for endpoint in endpoints]
    return [*ports, int(status["runner"]["metrics_port"])]


def test_two_copies_of_the_shipped_spec_run_side_by_side(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    first = Pipeline(shipped_copy(tmp_path / "one"))
    second = Pipeline(shipped_copy(tmp_path / "two"))
    pipelines += [first, second]

    for pipeline in (first, second):
        result = pipeline.up()
        assert result.returncode == 0, result.stdout + result.stderr
    statuses = [first.status(), second.status()]

    for status in statuses:
        assert {c["state"] for c in status["components"]} == {"running"}
        assert 0 not in ports_of(status)
    assert not set(ports_of(statuses[0])) & set(ports_of(statuses[1]))
    wait_for(
        lambda: last_ledger(first.spec) >= LAST_LEDGER and last_ledger(second.spec) >= LAST_LEDGER,
        120,
        f"both copies write events up to ledger {LAST_LEDGER}",
    )
    assert [c["restarts"] for s in (first.status(), second.status()) for c in s["components"]] == [
        0
    ] * 6


def test_a_port_0_endpoint_is_given_to_consumers_and_kept_across_a_restart(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    seen_by_sink = tmp_path / "sink-env.json"
    spec = write_spec(
        tmp_path,
        {
            "src": {**component(endpoint=False), "endpoint": PORT_0},
            "sink": component(
                "sink", inputs=["src"], endpoint=False, config={"dump_env": str(seen_by_sink)}
            ),
        },
        mode="disabled",  # readiness by TCP: the probe must go to the picked port
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)

    assert pipeline.up().returncode == 0
    src = pipeline.component("src")
    endpoint = src["endpoint"]
    assert endpoint.startswith("127.0.0.1:") and not endpoint.endswith(":0")
    sink_env = wait_for(
        lambda: json.loads(seen_by_sink.read_text()),
        10,
        "the sink's environment",
        ignoring=(OSError, ValueError),
    )
    assert json.loads(sink_env["FLOWRUN_INPUTS"]) == {"src": endpoint}

    os.kill(int(src["pid"]), signal.SIGKILL)
    again = pipeline.wait_component(
        "src", lambda c: c["state"] == "running" and c["pid"] != src["pid"], what="src again"
    )
    assert again["endpoint"] == endpoint and again["restarts"] == 1
