"""The sink counts the events it holds until a commit against max_inflight, so a
max_inflight below one batch commits every input batch alone and reports overload
(backpressure on) at full speed: the sink says so at start, and no shipped spec does it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from arrow_analytics_sink.server import ArrowAnalyticsSink
from flowctl.settings import ComponentSettings
from flowrun.spec.loader import load_spec
from flowrun.spec.process import component_settings
from test_spec_shipped import shipped_specs

WARNING = "is below max_batch_events"
SINK_COMMAND = "arrow_analytics_sink"
SPECS_WITH_A_SINK = [path for path in shipped_specs() if SINK_COMMAND in path.read_text()]


def started_sink(settings: ComponentSettings) -> None:
    ArrowAnalyticsSink(settings).writer.close()


def sink_settings(output_dir: Path, *, max_inflight: int) -> ComponentSettings:
    """A sink named `files` committing at most 30,000 events at a time."""
    config = {"output_dir": str(output_dir), "max_batch_events": 30_000}
    return ComponentSettings(
        component_id="files",
        service_id="files",
        component_type="sink",
        max_inflight=max_inflight,
        config=config,
    )


def test_a_sink_that_cannot_hold_a_batch_names_the_key_and_the_value_to_set(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        started_sink(sink_settings(tmp_path, max_inflight=1000))

    assert WARNING in caplog.text
    assert "set spec.components.files.max_inflight to at least 60000" in caplog.text


def test_a_sink_that_holds_a_batch_says_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        started_sink(sink_settings(tmp_path, max_inflight=30_000))

    assert WARNING not in caplog.text


def test_the_stellar_spec_and_the_minimal_example_run_the_sink() -> None:
    assert {path.name for path in SPECS_WITH_A_SINK} >= {"stellar-ttp.yaml", "minimal.yaml"}


@pytest.mark.parametrize("path", SPECS_WITH_A_SINK, ids=lambda p: p.name)
def test_every_shipped_sink_holds_a_whole_batch(
    path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    body = load_spec(path, environ={"OUT": str(tmp_path)}).body
    sinks = [name for name, c in body.components.items() if SINK_COMMAND in c.command]
    assert sinks
    for name in sinks:
        settings = component_settings(
            name, body, controller_endpoint=None, spec_dir=tmp_path, runner_pid=0
        )
        with caplog.at_level(logging.WARNING):
            started_sink(settings)
    assert WARNING not in caplog.text
