"""A reload plan as it is shown: typed values with secrets already masked, and their JSON.

`flowrun.reload.plan` builds a `Plan` from two specs (pydantic models, diffs); what leaves
the runner is this report of it (`plan_report`), and the answer to `flowrun plan`
(`PlanAnswer`). The CLI reads both back from the admin endpoint's JSON, so this module
imports nothing heavy: `flowrun plan` must start fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChangeReport:
    """One changed field: `old`/`new` are JSON values (None where `kind` says absent)."""

    path: str
    old: Any
    new: Any
    kind: str = "changed"  # changed | added | removed

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "old": self.old, "new": self.new, "kind": self.kind}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChangeReport:
        return cls(str(data["path"]), data.get("old"), data.get("new"), data.get("kind", "changed"))


@dataclass(frozen=True)
class LiveChangeReport:
    """A change applied without a restart, and where it takes effect."""

    change: ChangeReport
    applies: str

    def to_json(self) -> dict[str, Any]:
        return {**self.change.to_json(), "applies": self.applies}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LiveChangeReport:
        return cls(ChangeReport.from_json(data), str(data["applies"]))


@dataclass(frozen=True)
class RestartReport:
    """A component restarted alone: its own changes and the variables that differ."""

    name: str
    changes: tuple[ChangeReport, ...] = ()
    environment: tuple[str, ...] = ()
    command: bool = False
    working_dir: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "changes": [change.to_json() for change in self.changes],
            "environment": list(self.environment),
            "command": self.command,
            "working_dir": self.working_dir,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RestartReport:
        return cls(
            name=str(data["name"]),
            changes=tuple(ChangeReport.from_json(c) for c in data.get("changes", [])),
            environment=tuple(data.get("environment", [])),
            command=bool(data.get("command", False)),
            working_dir=bool(data.get("working_dir", False)),
        )


@dataclass(frozen=True)
class PlanReport:
    """What a reload from `old_revision` to `new_revision` does, as shown to people."""

    old_revision: str
    new_revision: str
    live: tuple[LiveChangeReport, ...] = ()
    restart: tuple[RestartReport, ...] = ()
    start: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    reconfigure: tuple[ChangeReport, ...] = ()
    full_restart: tuple[ChangeReport, ...] = ()
    full_restart_reason: str = ""

    @property
    def needs_full_restart(self) -> bool:
        return bool(self.full_restart)

    @property
    def empty(self) -> bool:
        parts = (self.live, self.restart, self.start, self.stop, self.reconfigure)
        return not (any(parts) or self.full_restart)

    def to_json(self) -> dict[str, Any]:
        """What `flowrun plan --json` prints (its `plan`), and reload outcomes carry."""
        return {
            "revision": {"from": self.old_revision, "to": self.new_revision},
            "empty": self.empty,
            "full_restart": {
                "needed": self.needs_full_restart,
                "reason": self.full_restart_reason,
                "changes": [change.to_json() for change in self.full_restart],
            },
            "live": [item.to_json() for item in self.live],
            "restart": [item.to_json() for item in self.restart],
            "start": list(self.start),
            "stop": list(self.stop),
            "reconfigure": [change.to_json() for change in self.reconfigure],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanReport:
        full = data.get("full_restart", {})
        return cls(
            old_revision=str(data["revision"]["from"]),
            new_revision=str(data["revision"]["to"]),
            live=tuple(LiveChangeReport.from_json(c) for c in data.get("live", [])),
            restart=tuple(RestartReport.from_json(r) for r in data.get("restart", [])),
            start=tuple(data.get("start", [])),
            stop=tuple(data.get("stop", [])),
            reconfigure=tuple(ChangeReport.from_json(c) for c in data.get("reconfigure", [])),
            full_restart=tuple(ChangeReport.from_json(c) for c in full.get("changes", [])),
            full_restart_reason=str(full.get("reason", "")),
        )


@dataclass(frozen=True)
class PlanAnswer:
    """The runner's answer to `flowrun plan`: the plan, or why the spec would be rejected."""

    spec: str
    profile: str | None
    profile_in_force: str | None
    revision: str
    """The revision that runs now."""
    plan: PlanReport | None = None
    errors: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return self.plan is not None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "spec": self.spec,
            "profile": self.profile,
            "profile_in_force": self.profile_in_force,
            "revision": self.revision,
            "valid": self.valid,
        }
        if self.plan is None:
            data["errors"] = list(self.errors)
        else:
            data["plan"] = self.plan.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanAnswer:
        plan = data.get("plan")
        return cls(
            spec=str(data["spec"]),
            profile=data.get("profile"),
            profile_in_force=data.get("profile_in_force"),
            revision=str(data["revision"]),
            plan=PlanReport.from_json(plan) if data.get("valid") and plan is not None else None,
            errors=tuple(data.get("errors", [])),
        )
