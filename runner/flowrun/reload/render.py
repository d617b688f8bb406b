"""Plans and reload outcomes as people read them, from their JSON form.

The CLI gets both as JSON from the runner's admin endpoint, so this module reads JSON
only and imports nothing heavy (`flowrun plan` must start fast).
"""

from __future__ import annotations

import json
from typing import Any

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


def render_change(change: dict[str, Any]) -> str:
    kind = change.get("kind", "changed")
    old = _value(change.get("old"), kind != "added")
    new = _value(change.get("new"), kind != "removed")
    return f"{change['path']}: {old} -> {new}"


def _restart_reasons(item: dict[str, Any]) -> list[str]:
    reasons = [render_change(change) for change in item.get("changes", [])]
    own = {change["path"] for change in item.get("changes", [])}
    if item.get("environment") and not own:
        reasons.append("environment " + ", ".join(item["environment"]) + " (an input moved)")
    return reasons or ["its process changed"]


def render_plan(plan: dict[str, Any]) -> str:
    revision = plan["revision"]
    if plan["empty"]:
        return f"no change: revision {revision['from']} is what runs"
    lines = [f"revision {revision['from']} -> {revision['to']}"]
    full = plan["full_restart"]
    if full["needed"]:
        lines.append(f"full restart, in order ({FULL_RESTART_HOW}), because:")
        lines.extend(f"  {render_change(change)}" for change in full["changes"])
    if plan["live"]:
        lines.append("applied live, no process restarts:")
        lines.extend(
            f"  {render_change(change)}  [{_APPLIES.get(change['applies'], change['applies'])}]"
            for change in plan["live"]
        )
    if plan["restart"] and not full["needed"]:
        lines.append("restarted alone (dependents reconnect and resume):")
        for item in plan["restart"]:
            reasons = _restart_reasons(item)
            lines.append(f"  {item['name']}: {reasons[0]}")
            lines.extend(f"  {' ' * len(item['name'])}  {reason}" for reason in reasons[1:])
    if plan["start"]:
        lines.append("started (after their inputs): " + ", ".join(plan["start"]))
    if plan["stop"]:
        lines.append("stopped: " + ", ".join(plan["stop"]))
    if plan["reconfigure"]:
        lines.append("taken without a restart (the process does not change):")
        lines.extend(f"  {render_change(change)}" for change in plan["reconfigure"])
    return "\n".join(lines)


def render_outcome(outcome: dict[str, Any]) -> str:
    """`flowrun reload`'s report: what was applied live, restarted, started, stopped."""
    status = outcome["status"]
    seconds = outcome.get("seconds", 0.0)
    head = {
        "applied": f"reload applied: revision {outcome.get('previous_revision')} -> "
        f"{outcome.get('revision')} (generation {outcome.get('generation')}) in {seconds:.2f}s",
        "unchanged": f"nothing to reload: revision {outcome.get('revision')} is what runs",
        "rejected": f"reload rejected: the pipeline keeps running revision "
        f"{outcome.get('revision')}",
        "rolled_back": f"reload rolled back: revision {outcome.get('revision')} keeps running"
        if outcome.get("revision") == outcome.get("previous_revision")
        else f"reload rolled back in part: revision {outcome.get('revision')} runs "
        f"(generation {outcome.get('generation')})",
        "failed": f"reload failed: revision {outcome.get('revision')} runs "
        f"(generation {outcome.get('generation')})",
    }.get(status, f"reload {status}")
    trigger = outcome.get("trigger")
    lines = [head.replace(":", f" ({trigger}):", 1) if trigger else head]
    if outcome.get("full_restart"):
        lines.append(f"  full restart: {outcome['full_restart']}")
    for key, label in (
        ("applied_live", "applied live"),
        ("restarted", "restarted"),
        ("started", "started"),
        ("stopped", "stopped"),
        ("rolled_back", "rolled back to their previous definition"),
    ):
        if outcome.get(key):
            lines.append(f"  {label}: {', '.join(outcome[key])}")
    # Rejections are spec issues: left unindented, FILE:LINE:COL first, for editors to jump to.
    indent = "" if status == "rejected" else "  "
    lines.extend(
        f"{indent}{line}" for error in outcome.get("errors", []) for line in error.splitlines()
    )
    return "\n".join(lines)
