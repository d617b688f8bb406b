"""Plans and reload outcomes as people read them.

The CLI reads both back from the runner's admin endpoint into their typed values
(`PlanReport`, `ReloadOutcome`), so this module imports nothing heavy: `flowrun plan`
must start fast.
"""

from __future__ import annotations

import json
from typing import Any

from flowrun.reload.outcome import ReloadOutcome, ReloadStatus
from flowrun.reload.plan_report import ChangeReport, PlanReport, RestartReport

_APPLIES = {
    "controller": "controller policy, pushed to every component",
    "runner": "runner",
    "next start": "environment only: each component takes it when it next starts",
}
FULL_RESTART_HOW = (
    "every component stops (downstream first), the controller is replaced, "
    "then every component starts (upstream first)"
)


def _value(value: Any, present: bool) -> str:
    return json.dumps(value, ensure_ascii=False) if present else "(unset)"


def render_change(change: ChangeReport) -> str:
    old = _value(change.old, change.kind != "added")
    new = _value(change.new, change.kind != "removed")
    return f"{change.path}: {old} -> {new}"


def _restart_reasons(item: RestartReport) -> list[str]:
    reasons = [render_change(change) for change in item.changes]
    if item.environment and not item.changes:
        reasons.append("environment " + ", ".join(item.environment) + " (an input moved)")
    return reasons or ["its process changed"]


def render_plan(plan: PlanReport) -> str:
    if plan.empty:
        return f"no change: revision {plan.old_revision} is what runs"
    lines = [f"revision {plan.old_revision} -> {plan.new_revision}"]
    if plan.needs_full_restart:
        lines.append(f"full restart, in order ({FULL_RESTART_HOW}), because:")
        lines.extend(f"  {render_change(change)}" for change in plan.full_restart)
    if plan.live:
        lines.append("applied live, no process restarts:")
        lines.extend(
            f"  {render_change(item.change)}  [{_APPLIES.get(item.applies, item.applies)}]"
            for item in plan.live
        )
    if plan.restart and not plan.needs_full_restart:
        lines.append("restarted alone (dependents reconnect and resume):")
        for item in plan.restart:
            reasons = _restart_reasons(item)
            lines.append(f"  {item.name}: {reasons[0]}")
            lines.extend(f"  {' ' * len(item.name)}  {reason}" for reason in reasons[1:])
    if plan.start:
        lines.append("started (after their inputs): " + ", ".join(plan.start))
    if plan.stop:
        lines.append("stopped: " + ", ".join(plan.stop))
    if plan.reconfigure:
        lines.append("taken without a restart (the process does not change):")
        lines.extend(f"  {render_change(change)}" for change in plan.reconfigure)
    return "\n".join(lines)


def _outcome_head(outcome: ReloadOutcome) -> str:
    revision, generation = outcome.revision, outcome.generation
    match outcome.status:
        case ReloadStatus.APPLIED:
            return (
                f"reload applied: revision {outcome.previous_revision} -> {revision} "
                f"(generation {generation}) in {outcome.seconds:.2f}s"
            )
        case ReloadStatus.UNCHANGED:
            return f"nothing to reload: revision {revision} is what runs"
        case ReloadStatus.REJECTED:
            return f"reload rejected: the pipeline keeps running revision {revision}"
        case ReloadStatus.ROLLED_BACK if revision == outcome.previous_revision:
            return f"reload rolled back: revision {revision} keeps running"
        case ReloadStatus.ROLLED_BACK:
            return f"reload rolled back in part: revision {revision} runs (generation {generation})"
        case ReloadStatus.FAILED:
            return f"reload failed: revision {revision} runs (generation {generation})"


def render_outcome(outcome: ReloadOutcome) -> str:
    """`flowrun reload`'s report: what was applied live, restarted, started, stopped."""
    head = _outcome_head(outcome)
    trigger = outcome.trigger
    lines = [head.replace(":", f" ({trigger}):", 1) if trigger else head]
    if outcome.full_restart:
        lines.append(f"  full restart: {outcome.full_restart}")
    for names, label in (
        (outcome.applied_live, "applied live"),
        (outcome.restarted, "restarted"),
        (outcome.started, "started"),
        (outcome.stopped, "stopped"),
        (outcome.rolled_back, "rolled back to their previous definition"),
    ):
        if names:
            lines.append(f"  {label}: {', '.join(names)}")
    # Rejections are spec issues: left unindented, FILE:LINE:COL first, for editors to jump to.
    indent = "" if outcome.status is ReloadStatus.REJECTED else "  "
    lines.extend(f"{indent}{line}" for error in outcome.errors for line in error.splitlines())
    return "\n".join(lines)
