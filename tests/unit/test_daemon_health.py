"""`flowrun health` verdicts from a status: each component state, an external controller
that does not answer, a reload that failed, backpressure as a note; and the report's JSON."""

from __future__ import annotations

import dataclasses

import pytest
from fixtures.status_samples import component, pipeline_of
from flowrun.cli.inspect_commands import EXIT_HEALTH_ERROR
from flowrun.daemon.health import (
    EXIT_ERROR,
    HealthReport,
    HealthVerdict,
    health_report,
    render_health,
)
from flowrun.daemon.status_table import render_table
from flowrun.daemon.status_types import ControllerStatus, FlowControlStatus
from flowrun.reload.history import ReloadHistory
from flowrun.spec.model import ControllerMode
from flowrun.supervision.states import ComponentState


def test_every_component_running_and_healthy_is_healthy() -> None:
    report = health_report(pipeline_of(component("src"), component("sink")))
    assert report.verdict is HealthVerdict.HEALTHY and report.exit_code == 0
    assert report.reasons == () and report.notes == ()


@pytest.mark.parametrize(
    ("changes", "verdict", "reason"),
    [
        (
            {"state": ComponentState.FAILED, "last_error": "exited with code 3\n  log tail"},
            HealthVerdict.UNHEALTHY,
            "sink failed: exited with code 3\n  log tail",
        ),
        ({"state": ComponentState.FAILED}, HealthVerdict.UNHEALTHY, "sink failed: gave up"),
        (
            {"state": ComponentState.STARTING, "waiting_for": "inputs: src"},
            HealthVerdict.DEGRADED,
            "sink is starting (inputs: src)",
        ),
        ({"state": ComponentState.STARTING}, HealthVerdict.DEGRADED, "sink is starting"),
        (
            {"state": ComponentState.BACKOFF, "waiting_for": "restart in 2.0s"},
            HealthVerdict.DEGRADED,
            "sink is backoff (restart in 2.0s)",
        ),
        (
            {"state": ComponentState.STOPPED, "last_error": "exited with code 0\nmore"},
            HealthVerdict.DEGRADED,
            "sink is stopped (exited with code 0)",
        ),
        ({"state": ComponentState.STOPPED}, HealthVerdict.DEGRADED, "sink is stopped"),
        (
            {"state": ComponentState.STOPPED, "exit_code": 0},
            HealthVerdict.DEGRADED,
            "sink is stopped (exited with code 0, which restart.policy does not restart)",
        ),
        (
            {"healthy": False},
            HealthVerdict.DEGRADED,
            "sink runs but is not healthy (no recent heartbeat)",
        ),
        (
            {"health": "degraded", "health_reasons": ("input src: delivered nothing for 12s",)},
            HealthVerdict.DEGRADED,
            "sink reports itself degraded: input src: delivered nothing for 12s",
        ),
        (
            {"health": "unhealthy", "health_reasons": ("a: x", "b: y")},
            HealthVerdict.DEGRADED,
            "sink reports itself unhealthy: a: x; b: y",
        ),
    ],
)
def test_each_component_state_has_its_verdict_and_reason(
    changes: dict[str, object], verdict: HealthVerdict, reason: str
) -> None:
    report = health_report(pipeline_of(component("src"), component("sink", **changes)))
    assert report.verdict is verdict
    assert report.reasons == (reason,)
    assert report.exit_code == {HealthVerdict.DEGRADED: 1, HealthVerdict.UNHEALTHY: 2}[verdict]


def test_unhealthy_reasons_come_before_degraded_ones() -> None:
    status = pipeline_of(
        component("src", state=ComponentState.BACKOFF),
        component("sink", state=ComponentState.FAILED, last_error="boom"),
    )
    report = health_report(status)
    assert report.verdict is HealthVerdict.UNHEALTHY
    assert report.reasons == ("sink failed: boom", "src is backoff")


def test_an_external_controller_that_does_not_answer_degrades() -> None:
    external = ControllerStatus(ControllerMode.EXTERNAL, "10.0.0.9:8080", reachable=False)
    report = health_report(pipeline_of(component("src"), controller=external))
    assert report.verdict is HealthVerdict.DEGRADED
    assert report.reasons == ("the external controller at 10.0.0.9:8080 does not answer",)
    # An embedded or disabled controller has nothing to reach.
    disabled = ControllerStatus(ControllerMode.DISABLED, None, reachable=False)
    assert health_report(pipeline_of(component("src"), controller=disabled)).reasons == ()


def test_a_failed_last_reload_degrades_with_its_first_line() -> None:
    history = ReloadHistory(generation=2, last_error="p.yaml:3:5: spec.x: bad\np.yaml:4:1: more")
    report = health_report(pipeline_of(component("src"), reload=history))
    assert report.verdict is HealthVerdict.DEGRADED
    assert report.reasons == ("the last reload failed: p.yaml:3:5: spec.x: bad",)


def test_a_rollback_quoting_a_log_is_summed_up_by_the_log_s_last_line() -> None:
    """The first line of such a reason only announces the lines after it."""
    rolled_back = (
        "rolled back: src exited with code 1 before it was ready; last lines of its log:\n"
        "    connecting\n    boom: no such table"
    )
    history = ReloadHistory(generation=2, last_error=rolled_back)
    report = health_report(pipeline_of(component("src"), reload=history))
    assert report.reasons == (
        "the last reload failed: rolled back: src exited with code 1 before it was ready "
        "(its log ends: boom: no such table)",
    )
    assert "(its log ends: boom: no such table)" in render_table(
        pipeline_of(component("src"), reload=history)
    )


def test_backpressure_is_a_note_not_a_reason() -> None:
    flow = FlowControlStatus(0.8, 0.6, 0.5, backpressure_active=True)
    report = health_report(pipeline_of(component("src"), flow_control=flow))
    assert report.verdict is HealthVerdict.HEALTHY
    assert report.notes == ("backpressure is active",)


def test_report_json_text_and_not_running() -> None:
    status = pipeline_of(component("src", state=ComponentState.FAILED, last_error="boom"))
    report = dataclasses.replace(health_report(status), notes=("backpressure is active",))
    data = report.to_json()
    assert data == {
        "pipeline": "demo",
        "status": "unhealthy",
        "reasons": ["src failed: boom"],
        "notes": ["backpressure is active"],
        "exit_code": 2,
    }
    assert list(data) == ["pipeline", "status", "reasons", "notes", "exit_code"]
    assert HealthReport.from_json(data) == report
    assert render_health(report).splitlines() == [
        "demo: unhealthy",
        "  - src failed: boom",
        "  note: backpressure is active",
    ]
    gone = HealthReport.not_running("p.yaml", "no runner")
    assert gone.to_json() == {
        "pipeline": "p.yaml",
        "status": "stopped",
        "reasons": ["not running: no runner"],
        "notes": [],
        "exit_code": 3,
    }


def test_a_component_that_answers_healthy_or_not_at_all_is_not_a_reason() -> None:
    for health in ("healthy", None):
        status = pipeline_of(component("src", health=health, health_reasons=()))
        assert health_report(status).verdict is HealthVerdict.HEALTHY


def test_every_verdict_and_the_error_have_distinct_exit_codes() -> None:
    codes = [verdict.exit_code for verdict in HealthVerdict]
    assert codes == [0, 1, 2, 3]
    assert EXIT_ERROR == 4 == EXIT_HEALTH_ERROR


def test_a_failed_component_shows_the_end_of_its_log_line_by_line() -> None:
    error = "exited with code 3; last lines of its log:\n    Traceback\n    ValueError: x"
    status = pipeline_of(component("src", state=ComponentState.FAILED, last_error=error))
    assert render_health(health_report(status)).splitlines() == [
        "demo: unhealthy",
        "  - src failed: exited with code 3; last lines of its log:",
        "      Traceback",
        "      ValueError: x",
    ]
