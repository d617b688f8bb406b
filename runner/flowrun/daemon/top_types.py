"""What `flowrun top` shows, as typed values: the answer of the admin route `GET /top`.

The runner builds a `TopView` (`flowrun.daemon.top_view`), the admin endpoint sends its
`to_json()`, and the CLI reads it back with `from_json()`. The keys are documented in
docs/operations.md ("The live view as JSON"): other tools read them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowrun.daemon.status_types import ControllerStatus, FlowControlStatus


@dataclass(frozen=True)
class ComponentTop:
    """One component's row: its process, its flow and what it costs."""

    name: str
    type: str
    state: str
    pid: int | None
    uptime_seconds: float | None
    restarts: int
    inputs: tuple[str, ...]
    in_per_second: float | None
    """Rows per second it completed of what it read (None for a source, or before two
    samples of its counter)."""
    out_per_second: float | None
    """Rows per second it produced: a source's rows served, else what its consumers take."""
    load: float | None
    throttle_rate: float | None
    backpressure: bool | None
    """Its own report (flowctl_backpressure_active); None when it serves no metrics."""
    lag: float | None
    lag_unit: str | None
    memory_bytes: int | None
    cpu_percent: float | None
    health: str | None
    note: str
    """Why it waits or ended, or what it says is wrong (empty when all is well)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "state": self.state,
            "pid": self.pid,
            "uptime_seconds": self.uptime_seconds,
            "restarts": self.restarts,
            "inputs": list(self.inputs),
            "in_per_second": self.in_per_second,
            "out_per_second": self.out_per_second,
            "load": self.load,
            "throttle_rate": self.throttle_rate,
            "backpressure": self.backpressure,
            "lag": self.lag,
            "lag_unit": self.lag_unit,
            "memory_bytes": self.memory_bytes,
            "cpu_percent": self.cpu_percent,
            "health": self.health,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ComponentTop:
        return cls(
            name=str(data["name"]),
            type=str(data.get("type", "")),
            state=str(data.get("state", "")),
            pid=data.get("pid"),
            uptime_seconds=data.get("uptime_seconds"),
            restarts=int(data.get("restarts", 0)),
            inputs=tuple(data.get("inputs") or ()),
            in_per_second=data.get("in_per_second"),
            out_per_second=data.get("out_per_second"),
            load=data.get("load"),
            throttle_rate=data.get("throttle_rate"),
            backpressure=data.get("backpressure"),
            lag=data.get("lag"),
            lag_unit=data.get("lag_unit"),
            memory_bytes=data.get("memory_bytes"),
            cpu_percent=data.get("cpu_percent"),
            health=data.get("health"),
            note=str(data.get("note") or ""),
        )


@dataclass(frozen=True)
class TopView:
    """The pipeline at `sampled_at` (epoch seconds), components in graph order."""

    pipeline: str
    profile: str | None
    revision: str
    phase: str
    runner_pid: int
    runner_uptime_seconds: float
    controller: ControllerStatus
    registered: int
    """Components registered with the controller by the process that runs now."""
    flow_control: FlowControlStatus
    sampled_at: float
    components: tuple[ComponentTop, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "profile": self.profile,
            "revision": self.revision,
            "phase": self.phase,
            "runner_pid": self.runner_pid,
            "runner_uptime_seconds": self.runner_uptime_seconds,
            "controller": self.controller.to_json(),
            "registered": self.registered,
            "flow_control": self.flow_control.to_json(),
            "sampled_at": self.sampled_at,
            "components": [component.to_json() for component in self.components],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TopView:
        return cls(
            pipeline=str(data["pipeline"]),
            profile=data.get("profile"),
            revision=str(data["revision"]),
            phase=str(data["phase"]),
            runner_pid=int(data["runner_pid"]),
            runner_uptime_seconds=float(data.get("runner_uptime_seconds", 0.0)),
            controller=ControllerStatus.from_json(data["controller"]),
            registered=int(data.get("registered", 0)),
            flow_control=FlowControlStatus.from_json(data["flow_control"]),
            sampled_at=float(data["sampled_at"]),
            components=tuple(ComponentTop.from_json(c) for c in data["components"]),
        )
