"""How one reload ended, as a typed value: what the reloader returns, `flowrun reload`
prints, the runner's log says and `status` shows as the last outcome.

Light on purpose (the CLI reads it back from the admin endpoint's JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flowrun.reload.plan_report import PlanReport


class ReloadStatus(StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"  # the file is what runs
    REJECTED = "rejected"  # an invalid spec: the pipeline keeps running the old one
    ROLLED_BACK = "rolled_back"  # what did not come up runs its previous definition again
    FAILED = "failed"

    @property
    def ok(self) -> bool:
        return self in (ReloadStatus.APPLIED, ReloadStatus.UNCHANGED)


@dataclass(frozen=True)
class ReloadOutcome:
    """One reload: what asked for it, what it did, how long it took, and its plan."""

    trigger: str
    status: ReloadStatus
    previous_revision: str
    revision: str
    generation: int
    applied_live: tuple[str, ...] = ()
    restarted: tuple[str, ...] = ()
    started: tuple[str, ...] = ()
    stopped: tuple[str, ...] = ()
    rolled_back: tuple[str, ...] = ()
    full_restart: str = ""
    """Why the whole pipeline restarted ('' when it did not)."""
    errors: tuple[str, ...] = ()
    seconds: float = 0.0
    plan: PlanReport | None = None

    @property
    def ok(self) -> bool:
        return self.status.ok

    def to_json(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "status": self.status.value,
            "ok": self.ok,
            "previous_revision": self.previous_revision,
            "revision": self.revision,
            "generation": self.generation,
            "applied_live": list(self.applied_live),
            "restarted": list(self.restarted),
            "started": list(self.started),
            "stopped": list(self.stopped),
            "rolled_back": list(self.rolled_back),
            "full_restart": self.full_restart,
            "errors": list(self.errors),
            "seconds": self.seconds,
            "plan": self.plan.to_json() if self.plan is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReloadOutcome:
        plan = data.get("plan")
        return cls(
            trigger=str(data.get("trigger", "")),
            status=ReloadStatus(data["status"]),
            previous_revision=str(data["previous_revision"]),
            revision=str(data["revision"]),
            generation=int(data["generation"]),
            applied_live=tuple(data.get("applied_live", [])),
            restarted=tuple(data.get("restarted", [])),
            started=tuple(data.get("started", [])),
            stopped=tuple(data.get("stopped", [])),
            rolled_back=tuple(data.get("rolled_back", [])),
            full_restart=str(data.get("full_restart", "")),
            errors=tuple(data.get("errors", [])),
            seconds=float(data.get("seconds", 0.0)),
            plan=PlanReport.from_json(plan) if plan is not None else None,
        )
