"""A reload's outcome: its text for each way a reload ends, its JSON (read back by the
CLI), and what it leaves in the reload history that `status` shows."""

from __future__ import annotations

import dataclasses
import json

import pytest
from flowrun.reload.history import ReloadHistory
from flowrun.reload.outcome import ReloadOutcome, ReloadStatus
from flowrun.reload.plan_report import (
    ChangeReport,
    LiveChangeReport,
    PlanAnswer,
    PlanReport,
    RestartReport,
)
from flowrun.reload.render import render_outcome

APPLIED = ReloadOutcome(
    trigger="SIGHUP",
    status=ReloadStatus.APPLIED,
    previous_revision="aaaa",
    revision="bbbb",
    generation=3,
    applied_live=("spec.flow_control.activate_at",),
    restarted=("sink",),
    stopped=("old",),
    seconds=0.5,
)


def _as(status: ReloadStatus, **changes: object) -> ReloadOutcome:
    return dataclasses.replace(APPLIED, status=status, **changes)


def test_an_applied_reload_says_what_it_did() -> None:
    assert render_outcome(APPLIED).splitlines() == [
        "reload applied (SIGHUP): revision aaaa -> bbbb (generation 3) in 0.50s",
        "  applied live: spec.flow_control.activate_at",
        "  restarted: sink",
        "  stopped: old",
    ]
    assert APPLIED.ok


@pytest.mark.parametrize(
    ("outcome", "head"),
    [
        (
            _as(ReloadStatus.UNCHANGED, revision="aaaa", applied_live=(), restarted=(), stopped=()),
            "nothing to reload (SIGHUP): revision aaaa is what runs",
        ),
        (
            _as(ReloadStatus.ROLLED_BACK, revision="aaaa"),
            "reload rolled back (SIGHUP): revision aaaa keeps running",
        ),
        (
            _as(ReloadStatus.ROLLED_BACK),
            "reload rolled back in part (SIGHUP): revision bbbb runs (generation 3)",
        ),
        (
            _as(ReloadStatus.FAILED, trigger=""),
            "reload failed: revision bbbb runs (generation 3)",
        ),
    ],
)
def test_each_ending_has_its_head_line(outcome: ReloadOutcome, head: str) -> None:
    assert render_outcome(outcome).splitlines()[0] == head
    assert outcome.ok is (outcome.status is ReloadStatus.UNCHANGED)


def test_a_rejection_lists_spec_issues_unindented_for_editors() -> None:
    rejected = _as(
        ReloadStatus.REJECTED,
        revision="aaaa",
        applied_live=(),
        restarted=(),
        stopped=(),
        errors=("p.yaml:3:5: spec.x: bad", "p.yaml:4:1: spec.y: worse"),
    )
    assert render_outcome(rejected).splitlines() == [
        "reload rejected (SIGHUP): the pipeline keeps running revision aaaa",
        "p.yaml:3:5: spec.x: bad",
        "p.yaml:4:1: spec.y: worse",
    ]


def test_a_full_restart_and_its_roll_back_are_shown_indented() -> None:
    outcome = _as(
        ReloadStatus.ROLLED_BACK,
        revision="aaaa",
        applied_live=(),
        restarted=(),
        stopped=(),
        rolled_back=("src", "sink"),
        full_restart="spec.controller.endpoint changed",
        errors=("the new pipeline cannot start: port taken\n  by pid 7",),
    )
    assert render_outcome(outcome).splitlines()[1:] == [
        "  full restart: spec.controller.endpoint changed",
        "  rolled back to their previous definition: src, sink",
        "  the new pipeline cannot start: port taken",
        "    by pid 7",
    ]


def test_the_outcome_json_keeps_its_keys_and_reads_back() -> None:
    plan = PlanReport(
        "aaaa",
        "bbbb",
        live=(LiveChangeReport(ChangeReport("spec.flow_control.activate_at", 0.8, 0.7), "runner"),),
        restart=(RestartReport("sink", environment=("FLOWRUN_INPUTS",)),),
        stop=("old",),
    )
    outcome = dataclasses.replace(APPLIED, plan=plan)
    data = json.loads(json.dumps(outcome.to_json()))
    assert list(data) == [
        "trigger",
        "status",
        "ok",
        "previous_revision",
        "revision",
        "generation",
        "applied_live",
        "restarted",
        "started",
        "stopped",
        "rolled_back",
        "full_restart",
        "errors",
        "seconds",
        "plan",
    ]
    assert data["status"] == "applied" and data["ok"] is True and data["started"] == []
    assert data["plan"]["live"][0] == {
        "path": "spec.flow_control.activate_at",
        "old": 0.8,
        "new": 0.7,
        "kind": "changed",
        "applies": "runner",
    }
    assert ReloadOutcome.from_json(data) == outcome


def test_a_plan_answer_is_the_plan_or_the_issues() -> None:
    valid = PlanAnswer("/p.yaml", "fast", None, "aaaa", PlanReport("aaaa", "aaaa"))
    data = valid.to_json()
    assert list(data) == ["spec", "profile", "profile_in_force", "revision", "valid", "plan"]
    assert data["plan"]["empty"] is True and PlanAnswer.from_json(data) == valid
    invalid = PlanAnswer("/p.yaml", None, None, "aaaa", errors=("p.yaml:1:1: bad",))
    assert invalid.to_json() == {
        "spec": "/p.yaml",
        "profile": None,
        "profile_in_force": None,
        "revision": "aaaa",
        "valid": False,
        "errors": ["p.yaml:1:1: bad"],
    }
    assert not invalid.valid and PlanAnswer.from_json(invalid.to_json()) == invalid


def test_the_history_counts_changes_and_keeps_the_last_error_until_cleared() -> None:
    start = ReloadHistory()
    assert start.to_json() == {
        "generation": 0,
        "last_error": None,
        "last_attempt_at": None,
        "last_outcome": {},
    }
    rejected = _as(ReloadStatus.REJECTED, generation=0, errors=("p.yaml:1:1: bad",))
    after_rejection = start.after(rejected, changed=False, now=10.0)
    assert after_rejection.generation == 0 and after_rejection.last_error == "p.yaml:1:1: bad"
    assert after_rejection.last_outcome == rejected and after_rejection.last_attempt_at == 10.0

    assert after_rejection.next_generation(changed=True) == 1
    applied = _as(ReloadStatus.APPLIED, generation=1)
    after_apply = after_rejection.after(applied, changed=True, now=20.0)
    assert (after_apply.generation, after_apply.last_error) == (1, None)
    assert after_apply.last_outcome == applied

    # Back to what runs: an old rejection is moot, and nothing else is recorded.
    unchanged = _as(ReloadStatus.UNCHANGED, generation=0)
    cleared = after_rejection.after(unchanged, changed=False, now=30.0)
    assert cleared.last_error is None and cleared.last_attempt_at == 10.0

    # Rolled back in part: what runs changed (a generation) and the error shows.
    partial = _as(ReloadStatus.ROLLED_BACK, generation=1, errors=("sink: rolled back",))
    mixed = start.after(partial, changed=True, now=40.0)
    assert (mixed.generation, mixed.last_error) == (1, "sink: rolled back")
    assert ReloadHistory.from_json(json.loads(json.dumps(mixed.to_json()))) == mixed
