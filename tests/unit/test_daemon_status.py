"""The status object of `flowrun status --json` (its keys are a contract), its round trip
through JSON, the table people read, and the progress lines of a start."""

from __future__ import annotations

import dataclasses
import json

import pytest
from fixtures.status_samples import component, pipeline_of
from flowrun.daemon.progress import change_lines, waits
from flowrun.daemon.status_table import NOTE_WIDTH, format_duration, render_table
from flowrun.daemon.status_types import (
    ControllerStatus,
    FlowControlStatus,
    PipelineStatus,
    RunnerPhase,
    StoppedPipeline,
    StopReport,
    counted,
)
from flowrun.daemon.top_view import note_of
from flowrun.reload.history import ReloadHistory
from flowrun.reload.outcome import ReloadOutcome, ReloadStatus
from flowrun.spec.model import ComponentType, ControllerMode
from flowrun.supervision.states import ComponentState

COMPONENT_KEYS = [
    "name",
    "type",
    "state",
    "pid",
    "restarts",
    "registered",
    "healthy",
    "load",
    "throttle_rate",
    "uptime_seconds",
    "waiting_for",
    "exit_code",
    "last_error",
    "endpoint",
    "inputs",
    "health",
    "health_reasons",
    "health_port",
]


def _sample() -> PipelineStatus:
    outcome = ReloadOutcome(
        trigger="SIGHUP",
        status=ReloadStatus.REJECTED,
        previous_revision="0123456789ab",
        revision="0123456789ab",
        generation=1,
        errors=("p.yaml:3:5: spec.x: bad",),
        seconds=0.012,
    )
    history = ReloadHistory(1, "p.yaml:3:5: spec.x: bad", 1_700_000_100.25, outcome)
    return pipeline_of(
        component("src"),
        component(
            "sink",
            type=ComponentType.SINK,
            state=ComponentState.BACKOFF,
            pid=None,
            restarts=2,
            registered=False,
            healthy=False,
            load=None,
            throttle_rate=None,
            uptime_seconds=None,
            waiting_for="restart in 1.5s",
            exit_code=3,
            last_error="exited with code 3; last lines of its log:\n    Traceback",
            endpoint=None,
            inputs=("src",),
        ),
        reload=history,
    )


def test_the_status_json_has_the_keys_of_the_contract_in_order() -> None:
    data = _sample().to_json()
    assert list(data) == [
        "pipeline",
        "profile",
        "revision",
        "spec",
        "state",
        "runner",
        "controller",
        "flow_control",
        "components",
        "reload",
    ]
    assert list(data["runner"]) == [
        "pid",
        "phase",
        "started_at",
        "admin",
        "metrics_port",
        "state_dir",
        "uptime_seconds",
        "refused_logs",
    ]
    assert data["controller"] == {
        "mode": "embedded",
        "endpoint": "127.0.0.1:8080",
        "reachable": True,
        "error": None,
    }
    assert data["flow_control"] == {
        "activate_at": 0.8,
        "deactivate_at": 0.6,
        "throttle_rate": 0.5,
        "backpressure_active": False,
    }
    assert [list(c) for c in data["components"]] == [COMPONENT_KEYS, COMPONENT_KEYS]
    assert data["components"][1]["state"] == "backoff" and data["components"][1]["inputs"] == [
        "src"
    ]
    assert list(data["reload"]) == ["generation", "last_error", "last_attempt_at", "last_outcome"]
    assert data["reload"]["last_outcome"]["status"] == "rejected"
    assert data["runner"]["phase"] == "running"


def test_the_status_survives_a_round_trip_through_json_text() -> None:
    status = _sample()
    text = json.dumps(status.to_json(), indent=2)
    back = PipelineStatus.from_json(json.loads(text))
    assert back == status
    assert json.dumps(back.to_json(), indent=2) == text
    empty = pipeline_of()
    assert empty.to_json()["reload"]["last_outcome"] == {}
    assert PipelineStatus.from_json(empty.to_json()) == empty


def test_the_table() -> None:
    assert render_table(_sample()).splitlines() == [
        "pipeline demo  profile -  revision 0123456789ab  runner pid 100 (running, up 1h02m)",
        "controller embedded 127.0.0.1:8080  backpressure off (on at 0.8, off below 0.6, "
        "throttle 0.5)",
        "",
        "NAME  TYPE    STATE    PID   UPTIME  RESTARTS  LOAD  THROTTLE  NOTE",
        "src   source  running  4242  1m15s   0         0.25  1.00",
        "sink  sink    backoff  -     -       2         -     -         "
        "exited with code 3; last lines of its log (below)",
        "",
        "reload generation 1; last reload failed: p.yaml:3:5: spec.x: bad",
        "",
        "sink: exited with code 3; last lines of its log:",
        "    Traceback",
    ]


def test_without_a_controller_the_table_says_backpressure_is_each_components_own() -> None:
    disabled = pipeline_of(
        controller=ControllerStatus(ControllerMode.DISABLED, None, False),
        flow_control=FlowControlStatus(0.8, 0.6, 0.5, backpressure_active=None),
    )
    assert render_table(disabled).splitlines()[1] == (
        "controller disabled  backpressure per component (on at 0.8, off below 0.6, throttle 0.5)"
    )
    assert PipelineStatus.from_json(json.loads(json.dumps(disabled.to_json()))) == disabled


def test_a_long_note_wraps_between_words_under_its_column() -> None:
    words = " ".join(f"word{index:02d}" for index in range(30))  # 209 characters
    failed = component("src", state=ComponentState.FAILED, pid=None, last_error=words)
    lines = render_table(pipeline_of(failed)).splitlines()
    rows = lines[lines.index(next(line for line in lines if line.startswith("NAME"))) + 1 :]
    note_at = lines[3].index("NOTE")
    shown = []
    for index, row in enumerate(rows[: rows.index("")]):
        assert len(row) - note_at <= NOTE_WIDTH
        assert row.startswith("src") if index == 0 else not row[:note_at].strip()
        shown.append(row[note_at:])
    assert len(shown) == 3 and " ".join(shown) == words  # every word, none cut


def test_a_running_component_that_reports_itself_degraded_says_why() -> None:
    degraded = component(
        "sink", health="degraded", health_reasons=("input src: delivered nothing for 12s",)
    )
    row = render_table(pipeline_of(degraded)).splitlines()[4]
    assert row.endswith("degraded: input src: delivered nothing for 12s")
    data = pipeline_of(degraded).to_json()["components"][0]
    assert data["health"] == "degraded"
    assert data["health_reasons"] == ["input src: delivered nothing for 12s"]


def test_a_stopped_pipeline_has_the_shape_of_a_running_one_where_it_can() -> None:
    stopped = StoppedPipeline("demo", "p.yaml", "no runner", (("src", ComponentType.SOURCE),))
    assert stopped.to_json() == {
        "pipeline": "demo",
        "spec": "p.yaml",
        "state": "stopped",
        "reason": "no runner",
        "runner": None,
        "components": [{"name": "src", "type": "source", "state": "stopped", "pid": None}],
    }


def test_counts_have_their_noun_in_the_right_number() -> None:
    assert [counted(n, "component") for n in (0, 1, 2)] == [
        "0 components",
        "1 component",
        "2 components",
    ]
    assert StopReport(stopped=("src",), seconds=0.5).summary() == "stopped 1 component in 0.50s"


def test_the_table_notes_what_a_starting_component_waits_for() -> None:
    starting = component("sink", state=ComponentState.STARTING, waiting_for="inputs: src")
    runner = dataclasses.replace(
        pipeline_of().runner, phase=RunnerPhase.STARTING, uptime_seconds=4.25
    )
    status = pipeline_of(starting, runner=runner)
    lines = render_table(status).splitlines()
    assert "(starting, up 4.2s)" in lines[0]
    assert lines[4].endswith("inputs: src") and lines[-1] == "reload generation 0"


def test_the_table_says_how_a_component_stopped_without_an_error_ended() -> None:
    """A clean exit under on-failure left the NOTE empty: the reason was only in runner.log."""
    stopped = component("sink", state=ComponentState.STOPPED, exit_code=0)
    line = render_table(pipeline_of(stopped)).splitlines()[4]
    assert line.endswith("exited with code 0, which restart.policy does not restart")
    assert note_of(stopped) == "exited with code 0, which restart.policy does not restart"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "-"),
        (4.26, "4.3s"),
        (42.9, "42s"),
        (187.0, "3m07s"),
        (7500.0, "2h05m"),
        (97200.0, "1d03h"),
    ],
)
def test_durations(seconds: float | None, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_start_progress_lines_say_only_what_changed() -> None:
    seen: dict[str, tuple[ComponentState, str]] = {}
    waiting = component("sink", state=ComponentState.STARTING, waiting_for="inputs: src")
    first = (component("src", state=ComponentState.STARTING, waiting_for="launch"), waiting)
    assert change_lines(seen, first) == ["src: starting: launch", "sink: starting: inputs: src"]
    assert change_lines(seen, first) == []
    failed = component("src", state=ComponentState.FAILED, last_error="exited 1\n  tail")
    assert change_lines(seen, (failed, waiting)) == ["src: failed: exited 1"]
    assert waits((failed, waiting)) == ["sink (inputs: src)"]
    assert waits((component("src", state=ComponentState.BACKOFF),)) == ["src (backoff)"]


def test_a_stop_report_survives_json_and_names_what_was_killed() -> None:
    report = StopReport(stopped=("sink", "source"), killed=("sink",), seconds=1.234)
    assert StopReport.from_json(report.to_json()) == report
    assert report.summary() == "stopped 2 components in 1.23s; killed after stop_grace: sink"
    assert StopReport().summary() == "stopped 0 components in 0.00s"
