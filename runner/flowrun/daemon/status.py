"""`flowrun status` and `flowrun health`: the JSON of DESIGN.md section 4, a health verdict,
and a table people can read at a glance."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from flowrun.reload.history import ReloadState
from flowrun.spec.model import ControllerMode, PipelineBody
from flowrun.supervision.controlplane import ControlPlane
from flowrun.supervision.states import ComponentState
from flowrun.supervision.supervised import SupervisedComponent

if TYPE_CHECKING:
    from flowrun.spec.loader import LoadedSpec
    from flowrun.supervision.supervisor import Supervisor

HEALTHY, DEGRADED, UNHEALTHY = "healthy", "degraded", "unhealthy"
HEALTH_EXIT_CODES = {HEALTHY: 0, DEGRADED: 1, UNHEALTHY: 2}


def component_status(component: SupervisedComponent, control: ControlPlane) -> dict[str, Any]:
    snapshot = control.service(component.name)
    child = component.child
    current = snapshot is not None and child is not None and snapshot.seen_since(child.started_at)
    running = component.state is ComponentState.RUNNING
    uses_controller = control.mode is not ControllerMode.DISABLED
    uptime = component.uptime_seconds()
    return {
        "name": component.name,
        "type": component.spec.type.value,
        "state": component.state.value,
        "pid": component.pid,
        "restarts": component.restarts,
        "registered": bool(current),
        "healthy": (bool(current and snapshot and snapshot.healthy) if uses_controller else running)
        and running,
        "load": snapshot.load if current and snapshot else None,
        "throttle_rate": snapshot.throttle_rate if current and snapshot else None,
        "uptime_seconds": round(uptime, 3) if uptime is not None else None,
        "waiting_for": component.waiting_for or None,
        "exit_code": component.exit_code,
        "last_error": component.last_error,
        "endpoint": component.spec.endpoint,
        "inputs": list(component.spec.inputs),
    }


def component_statuses(
    supervisor: Supervisor | None, body: PipelineBody, control: ControlPlane
) -> list[dict[str, Any]]:
    """Every component, in the order of the spec."""
    if supervisor is None:
        return []
    order = [name for name in body.components if name in supervisor.components]
    return [component_status(supervisor.components[name], control) for name in order]


def pipeline_status(
    loaded: LoadedSpec,
    runner: dict[str, Any],
    control: ControlPlane,
    components: list[dict[str, Any]],
    reload: ReloadState,
) -> dict[str, Any]:
    body = loaded.body
    return {
        "pipeline": loaded.name,
        "profile": loaded.profile,
        "revision": loaded.revision,
        "spec": str(loaded.path),
        "runner": {**runner, "uptime_seconds": round(uptime_since(runner["started_at"]), 3)},
        "controller": {
            "mode": control.mode.value,
            "endpoint": control.endpoint,
            "reachable": control.reachable,
        },
        "flow_control": flow_control_status(body, control),
        "components": components,
        "reload": reload.as_dict(),
    }


def flow_control_status(body: PipelineBody, control: ControlPlane) -> dict[str, Any]:
    flow = body.flow_control
    return {
        "activate_at": flow.activate_at,
        "deactivate_at": flow.deactivate_at,
        "throttle_rate": flow.throttle_rate,
        "backpressure_active": control.backpressure_active,
    }


def health_report(status: dict[str, Any]) -> dict[str, Any]:
    """healthy / degraded / unhealthy, with every reason, from a status object."""
    unhealthy: list[str] = []
    degraded: list[str] = []
    for component in status.get("components", []):
        name, state = component["name"], component["state"]
        error = (component.get("last_error") or "").splitlines()[0:1]
        if state == ComponentState.FAILED:
            unhealthy.append(f"{name} failed: {error[0] if error else 'gave up'}")
        elif state in (ComponentState.STARTING, ComponentState.BACKOFF):
            degraded.append(
                f"{name} is {state}"
                + (f" ({component['waiting_for']})" if component.get("waiting_for") else "")
            )
        elif state == ComponentState.STOPPED:
            degraded.append(f"{name} is stopped" + (f" ({error[0]})" if error else ""))
        elif not component.get("healthy"):
            degraded.append(f"{name} runs but is not healthy (no recent heartbeat)")
    controller = status.get("controller", {})
    if controller.get("mode") == ControllerMode.EXTERNAL and not controller.get("reachable", True):
        degraded.append(f"the external controller at {controller.get('endpoint')} does not answer")
    if status.get("reload", {}).get("last_error"):
        degraded.append(
            "the last reload failed: " + str(status["reload"]["last_error"]).splitlines()[0]
        )
    verdict = UNHEALTHY if unhealthy else DEGRADED if degraded else HEALTHY
    notes = (
        ["backpressure is active"]
        if status.get("flow_control", {}).get("backpressure_active")
        else []
    )
    return {
        "pipeline": status.get("pipeline"),
        "status": verdict,
        "reasons": unhealthy + degraded,
        "notes": notes,
        "exit_code": HEALTH_EXIT_CODES[verdict],
    }


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = int(seconds)
    for unit, size, sub_unit, sub_size in (
        ("d", 86400, "h", 3600),
        ("h", 3600, "m", 60),
        ("m", 60, "s", 1),
    ):
        if whole >= size:
            return f"{whole // size}{unit}{(whole % size) // sub_size:02d}{sub_unit}"
    return f"{seconds:.1f}s" if seconds < 10 else f"{whole}s"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _note(component: dict[str, Any]) -> str:
    if component["state"] in (
        ComponentState.FAILED,
        ComponentState.BACKOFF,
        ComponentState.STOPPED,
    ) and component.get("last_error"):
        return str(component["last_error"]).splitlines()[0]
    return str(component.get("waiting_for") or "")


def render_table(status: dict[str, Any]) -> str:
    controller = status["controller"]
    flow = status["flow_control"]
    runner = status.get("runner", {})
    runner_uptime = format_duration(runner.get("uptime_seconds"))
    backpressure = "ACTIVE" if flow["backpressure_active"] else "off"
    header = (
        f"pipeline {status['pipeline']}  profile {status.get('profile') or '-'}  "
        f"revision {status['revision']}  "
        f"runner pid {runner.get('pid')} ({runner.get('phase')}, up {runner_uptime})\n"
        f"controller {controller['mode']} {controller.get('endpoint') or ''}  "
        f"backpressure {backpressure} (on at {flow['activate_at']:g}, "
        f"off below {flow['deactivate_at']:g}, throttle {flow['throttle_rate']:g})"
    )
    columns = ("NAME", "TYPE", "STATE", "PID", "UPTIME", "RESTARTS", "LOAD", "THROTTLE", "NOTE")
    rows = [
        (
            c["name"],
            c["type"],
            c["state"],
            str(c["pid"] or "-"),
            format_duration(c.get("uptime_seconds")),
            str(c["restarts"]),
            _number(c.get("load")),
            _number(c.get("throttle_rate")),
            _note(c)[:80],
        )
        for c in status["components"]
    ]
    widths = [max(len(str(row[i])) for row in [columns, *rows]) for i in range(len(columns))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [columns, *rows]
    ]
    reload = status.get("reload") or {}
    footer = f"reload generation {reload.get('generation', 0)}"
    if reload.get("last_error"):
        footer += f"; last reload failed: {str(reload['last_error']).splitlines()[0]}"
    return "\n".join([header, "", *lines, "", footer])


def render_health(report: dict[str, Any]) -> str:
    lines = [f"{report['pipeline']}: {report['status']}"]
    lines.extend(f"  - {reason}" for reason in report["reasons"])
    lines.extend(f"  note: {note}" for note in report["notes"])
    return "\n".join(lines)


def uptime_since(epoch: float) -> float:
    return max(0.0, time.time() - epoch)
