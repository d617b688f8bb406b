"""The status of a running pipeline as typed values: what `flowrun status --json` prints.

The runner builds a `PipelineStatus` (`flowrun.daemon.status`), the admin endpoint sends
its `to_json()`, and the CLI reads it back with `from_json()`; everything in between
(health verdicts, the table, `up -d`'s progress lines) works on these values. The JSON
keys and their order are the contract of DESIGN.md section 4: tests and users read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flowrun.reload.history import ReloadHistory
from flowrun.spec.model import ComponentType, ControllerMode
from flowrun.supervision.log_writes import RefusedLog
from flowrun.supervision.states import ComponentState, StartResult


def counted(count: int, noun: str) -> str:
    """`1 component`, `2 components`: the count with its noun in the right number."""
    return f"{count} {noun if count == 1 else noun + 's'}"


class RunnerPhase(StrEnum):
    STARTING = "starting"  # until every component's first start settled
    RUNNING = "running"
    STOPPING = "stopping"


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    type: ComponentType
    state: ComponentState
    pid: int | None
    restarts: int
    registered: bool
    """Registered with the controller by the process that runs now."""
    healthy: bool
    load: float | None
    throttle_rate: float | None
    uptime_seconds: float | None
    waiting_for: str | None
    exit_code: int | None
    last_error: str | None
    endpoint: str | None
    inputs: tuple[str, ...]
    health: str | None = None
    """The component's own verdict (healthy, degraded or unhealthy): from its health
    endpoint, and from the status its flowctl.v1 heartbeats report when not HEALTHY
    (the worse of the two); None when it says neither."""
    health_reasons: tuple[str, ...] = ()
    """The reasons of that verdict, as the component gave them."""
    health_port: int | None = None
    """The port it was given for /health and /metrics (the spec's, or the one the runner
    picked for `auto`): where Prometheus scrapes an SDK component. None when none."""

    @property
    def reports_trouble(self) -> bool:
        """The component itself says it is degraded or unhealthy."""
        return self.health in ("degraded", "unhealthy")

    @property
    def clean_exit(self) -> str | None:
        """How a component stopped without an error ended: an exit restart.policy does not
        restart (code 0 under `on-failure` or `never`). None for any other state."""
        if self.state is not ComponentState.STOPPED or self.last_error or self.exit_code is None:
            return None
        return f"exited with code {self.exit_code}, which restart.policy does not restart"

    @property
    def trouble_line(self) -> str:
        """What it says of itself in one line: `degraded: reason; reason`."""
        return f"{self.health}: {'; '.join(self.health_reasons)}".rstrip(": ")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.value,
            "state": self.state.value,
            "pid": self.pid,
            "restarts": self.restarts,
            "registered": self.registered,
            "healthy": self.healthy,
            "load": self.load,
            "throttle_rate": self.throttle_rate,
            "uptime_seconds": self.uptime_seconds,
            "waiting_for": self.waiting_for,
            "exit_code": self.exit_code,
            "last_error": self.last_error,
            "endpoint": self.endpoint,
            "inputs": list(self.inputs),
            "health": self.health,
            "health_reasons": list(self.health_reasons),
            "health_port": self.health_port,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ComponentStatus:
        return cls(
            name=str(data["name"]),
            type=ComponentType(data["type"]),
            state=ComponentState(data["state"]),
            pid=data.get("pid"),
            restarts=int(data.get("restarts", 0)),
            registered=bool(data.get("registered", False)),
            healthy=bool(data.get("healthy", False)),
            load=data.get("load"),
            throttle_rate=data.get("throttle_rate"),
            uptime_seconds=data.get("uptime_seconds"),
            waiting_for=data.get("waiting_for"),
            exit_code=data.get("exit_code"),
            last_error=data.get("last_error"),
            endpoint=data.get("endpoint"),
            inputs=tuple(data.get("inputs", [])),
            health=data.get("health"),
            health_reasons=tuple(data.get("health_reasons") or ()),
            health_port=data.get("health_port"),
        )


@dataclass(frozen=True)
class RunnerStatus:
    """The runner process itself."""

    pid: int
    phase: RunnerPhase
    started_at: float
    """Epoch seconds."""
    admin: str
    metrics_port: int | None
    state_dir: str
    uptime_seconds: float
    refused_logs: tuple[RefusedLog, ...] = ()
    """Log files of the state directory the disk refuses now (full, read-only)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "phase": self.phase.value,
            "started_at": self.started_at,
            "admin": self.admin,
            "metrics_port": self.metrics_port,
            "state_dir": self.state_dir,
            "uptime_seconds": self.uptime_seconds,
            "refused_logs": [log.to_json() for log in self.refused_logs],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunnerStatus:
        return cls(
            pid=int(data["pid"]),
            phase=RunnerPhase(data["phase"]),
            started_at=float(data["started_at"]),
            admin=str(data.get("admin", "")),
            metrics_port=data.get("metrics_port"),
            state_dir=str(data.get("state_dir", "")),
            uptime_seconds=float(data.get("uptime_seconds", 0.0)),
            refused_logs=tuple(RefusedLog.from_json(log) for log in data.get("refused_logs", ())),
        )


@dataclass(frozen=True)
class ControllerStatus:
    mode: ControllerMode
    endpoint: str | None
    reachable: bool
    error: str | None = None
    """Why an external controller does not answer (`UNAUTHENTICATED: invalid controller
    token`), when it does not."""

    @property
    def mode_and_endpoint(self) -> str:
        return f"{self.mode.value} {self.endpoint}" if self.endpoint else self.mode.value

    @property
    def answers(self) -> bool:
        """False for an external controller that does not answer (an embedded one always
        does; a disabled one is not asked)."""
        return self.mode is not ControllerMode.EXTERNAL or self.reachable

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "endpoint": self.endpoint,
            "reachable": self.reachable,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ControllerStatus:
        return cls(
            ControllerMode(data["mode"]),
            data.get("endpoint"),
            bool(data.get("reachable", True)),
            data.get("error"),
        )


@dataclass(frozen=True)
class FlowControlStatus:
    """The thresholds in force, and whether backpressure is on now."""

    activate_at: float
    deactivate_at: float
    throttle_rate: float
    backpressure_active: bool | None
    """None with the controller disabled: each component throttles itself at its own load,
    and no one decides for the pipeline."""

    @property
    def backpressure_word(self) -> str:
        if self.backpressure_active is None:
            return "per component"
        return "ACTIVE" if self.backpressure_active else "off"

    def to_json(self) -> dict[str, Any]:
        return {
            "activate_at": self.activate_at,
            "deactivate_at": self.deactivate_at,
            "throttle_rate": self.throttle_rate,
            "backpressure_active": self.backpressure_active,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlowControlStatus:
        return cls(
            float(data["activate_at"]),
            float(data["deactivate_at"]),
            float(data["throttle_rate"]),
            None if data["backpressure_active"] is None else bool(data["backpressure_active"]),
        )


@dataclass(frozen=True)
class PipelineStatus:
    """The status object of `flowrun status --json` (DESIGN.md section 4)."""

    pipeline: str
    profile: str | None
    revision: str
    spec: str
    runner: RunnerStatus
    controller: ControllerStatus
    flow_control: FlowControlStatus
    components: tuple[ComponentStatus, ...]
    """In the order of the spec."""
    reload: ReloadHistory

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "profile": self.profile,
            "revision": self.revision,
            "spec": self.spec,
            "state": self.runner.phase.value,
            "runner": self.runner.to_json(),
            "controller": self.controller.to_json(),
            "flow_control": self.flow_control.to_json(),
            "components": [component.to_json() for component in self.components],
            "reload": self.reload.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PipelineStatus:
        return cls(
            pipeline=str(data["pipeline"]),
            profile=data.get("profile"),
            revision=str(data["revision"]),
            spec=str(data.get("spec", "")),
            runner=RunnerStatus.from_json(data["runner"]),
            controller=ControllerStatus.from_json(data["controller"]),
            flow_control=FlowControlStatus.from_json(data["flow_control"]),
            components=tuple(ComponentStatus.from_json(c) for c in data["components"]),
            reload=ReloadHistory.from_json(data.get("reload") or {}),
        )


@dataclass(frozen=True)
class StopReport:
    """What `flowrun down` reports: which components stopped, which had to be killed after
    their stop_grace, and how long the whole stop took."""

    stopped: tuple[str, ...] = ()
    killed: tuple[str, ...] = ()
    seconds: float = 0.0

    def summary(self) -> str:
        detail = f"; killed after stop_grace: {', '.join(self.killed)}" if self.killed else ""
        return f"stopped {counted(len(self.stopped), 'component')} in {self.seconds:.2f}s{detail}"

    def to_json(self) -> dict[str, Any]:
        return {"stopped": list(self.stopped), "killed": list(self.killed), "seconds": self.seconds}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StopReport:
        return cls(
            stopped=tuple(data.get("stopped") or ()),
            killed=tuple(data.get("killed") or ()),
            seconds=float(data.get("seconds") or 0.0),
        )


@dataclass(frozen=True)
class StoppedPipeline:
    """What `flowrun status --json` prints when no runner serves the spec: the same top
    keys a running pipeline has where they mean something, `state` "stopped", and why."""

    pipeline: str
    spec: str
    reason: str
    components: tuple[tuple[str, ComponentType], ...] = ()
    """(name, type) of each component of the spec, when the spec could be read."""

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "spec": self.spec,
            "state": "stopped",
            "reason": self.reason,
            "runner": None,
            "components": [
                {"name": name, "type": type_.value, "state": "stopped", "pid": None}
                for name, type_ in self.components
            ],
        }


@dataclass(frozen=True)
class RestartReport:
    """What `flowrun restart` reports: each restarted component, ready or why not."""

    outcomes: tuple[StartResult, ...] = ()

    @classmethod
    def of(cls, outcomes: list[StartResult]) -> RestartReport:
        return cls(tuple(outcomes))

    @property
    def ok(self) -> bool:
        return all(outcome.ready for outcome in self.outcomes)

    def lines(self) -> list[str]:
        return [
            f"{o.name}: restarted, ready in {o.seconds:.2f}s"
            if o.ready
            else f"{o.name}: restarted, not ready: {o.message}"
            for o in self.outcomes
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "components": [
                {"name": o.name, "ready": o.ready, "message": o.message, "seconds": o.seconds}
                for o in self.outcomes
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RestartReport:
        return cls(
            tuple(
                StartResult(
                    str(c["name"]),
                    bool(c["ready"]),
                    str(c.get("message") or ""),
                    float(c.get("seconds") or 0.0),
                )
                for c in data.get("components") or ()
            )
        )
