"""`flowrun health`: healthy, degraded or unhealthy, with every reason, from a status.

The verdict is an exit code too, so scripts and probes need no parsing: 0 healthy,
1 degraded, 2 unhealthy, 3 stopped (no runner serves the spec); `flowrun health` keeps 4
for its own errors (usage, a spec file that cannot be read).
Unhealthy means a component gave up (failed): nothing will fix it without a person.
Degraded means the pipeline runs below par but may recover by itself (a component
starting, in backoff, stopped, without recent heartbeats or unregistered when its protocol
registers, or saying itself on its health endpoint or in its flowctl.v1 heartbeats that it
is degraded or unhealthy; an external controller that does not answer; a reload that did
not apply; a log file of the state directory that its disk refuses). A `protocol: none`
component is judged by its process and its own health endpoint only (`daemon.status`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flowrun.daemon.status_types import ComponentStatus, PipelineStatus
from flowrun.supervision.states import ComponentState, one_line


class HealthVerdict(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    STOPPED = "stopped"

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES[self]


_EXIT_CODES = {
    HealthVerdict.HEALTHY: 0,
    HealthVerdict.DEGRADED: 1,
    HealthVerdict.UNHEALTHY: 2,
    HealthVerdict.STOPPED: 3,
}
EXIT_ERROR = 4
"""`flowrun health`'s exit code for its own errors, distinct from every verdict."""
NOT_REGISTERED_HINT = " (a program without the flowctl SDK never will: give it `protocol: none`)"


@dataclass(frozen=True)
class HealthReport:
    pipeline: str
    verdict: HealthVerdict
    reasons: tuple[str, ...] = ()
    """Why it is not healthy, the unhealthy reasons first."""
    notes: tuple[str, ...] = ()
    """Worth knowing, but not a reason (backpressure is flow control doing its job)."""

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "status": self.verdict.value,
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "exit_code": self.exit_code,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HealthReport:
        return cls(
            pipeline=str(data["pipeline"]),
            verdict=HealthVerdict(data["status"]),
            reasons=tuple(data.get("reasons", [])),
            notes=tuple(data.get("notes", [])),
        )

    @classmethod
    def unanswered(cls, pipeline: str, why: str) -> HealthReport:
        """A runner that holds its state but does not answer (stopped, stuck)."""
        return cls(pipeline, HealthVerdict.UNHEALTHY, (why,))

    @classmethod
    def not_running(cls, pipeline: str, why: str) -> HealthReport:
        return cls(pipeline, HealthVerdict.STOPPED, (f"not running: {why}",))


def health_report(status: PipelineStatus) -> HealthReport:
    unhealthy: list[str] = []
    degraded: list[str] = []
    for component in status.components:
        if component.state is ComponentState.FAILED:
            unhealthy.append(f"{component.name} failed: {component.last_error or 'gave up'}")
        elif (reason := _degraded_reason(component)) is not None:
            degraded.append(reason)
    controller = status.controller
    if not controller.answers:
        why = f" ({controller.error})" if controller.error else ""
        degraded.append(f"the external controller at {controller.endpoint} does not answer{why}")
    if status.reload.last_error:
        degraded.append("the last reload failed: " + one_line(status.reload.last_error))
    for log in status.runner.refused_logs:
        degraded.append(f"{log.path} is not written ({log.error}): its disk refuses it")
    verdict = (
        HealthVerdict.UNHEALTHY
        if unhealthy
        else HealthVerdict.DEGRADED
        if degraded
        else HealthVerdict.HEALTHY
    )
    notes = ("backpressure is active",) if status.flow_control.backpressure_active else ()
    return HealthReport(status.pipeline, verdict, tuple(unhealthy + degraded), notes)


def _degraded_reason(component: ComponentStatus) -> str | None:
    name, state = component.name, component.state
    if state in (ComponentState.STARTING, ComponentState.BACKOFF):
        waiting = f" ({component.waiting_for})" if component.waiting_for else ""
        return f"{name} is {state.value}{waiting}"
    if state is ComponentState.STOPPED:
        error = one_line(component.last_error) if component.last_error else component.clean_exit
        return f"{name} is stopped" + (f" ({error})" if error else "")
    if not component.healthy and not component.registered:
        # Only a component whose protocol registers gets here unregistered (status): say
        # how to declare a plain program rather than blame heartbeats it never sends.
        return f"{name} runs but has not registered with the controller{NOT_REGISTERED_HINT}"
    if not component.healthy:
        return f"{name} runs but is not healthy (no recent heartbeat)"
    if component.reports_trouble:
        reasons = "; ".join(component.health_reasons) or "no reason given"
        return f"{name} reports itself {component.health}: {reasons}"
    return None


def render_health(report: HealthReport) -> str:
    lines = [f"{report.pipeline}: {report.verdict.value}"]
    for reason in report.reasons:
        # A failed component's reason quotes the end of its log, one line each.
        first, *more = reason.splitlines() or [""]
        lines.append(f"  - {first}")
        lines.extend(f"  {line}" for line in more)
    lines.extend(f"  note: {note}" for note in report.notes)
    return "\n".join(lines)
