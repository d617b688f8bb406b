"""`flowrun status` as a table people read at a glance (and `up -d` prints once started).

Pure text from a `PipelineStatus`: the CLI renders what the runner's admin endpoint sent.
"""

from __future__ import annotations

from flowrun.daemon.status_types import ComponentStatus, PipelineStatus
from flowrun.supervision.states import ComponentState

COLUMNS = ("NAME", "TYPE", "STATE", "PID", "UPTIME", "RESTARTS", "LOAD", "THROTTLE", "NOTE")
NOTE_WIDTH = 80
_ENDED = (ComponentState.FAILED, ComponentState.BACKOFF, ComponentState.STOPPED)


def format_duration(seconds: float | None) -> str:
    """`4.2s`, `42s`, `3m07s`, `2h05m`, `1d03h`; `-` for none."""
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


def _note(component: ComponentStatus) -> str:
    """Why it ended or waits: its last error once it ended, else what it waits for."""
    if component.state in _ENDED and component.last_error:
        return component.last_error.splitlines()[0]
    return component.waiting_for or ""


def _row(component: ComponentStatus) -> tuple[str, ...]:
    return (
        component.name,
        component.type.value,
        component.state.value,
        str(component.pid or "-"),
        format_duration(component.uptime_seconds),
        str(component.restarts),
        _number(component.load),
        _number(component.throttle_rate),
        _note(component)[:NOTE_WIDTH],
    )


def _header(status: PipelineStatus) -> str:
    controller, flow, runner = status.controller, status.flow_control, status.runner
    backpressure = "ACTIVE" if flow.backpressure_active else "off"
    return (
        f"pipeline {status.pipeline}  profile {status.profile or '-'}  "
        f"revision {status.revision}  runner pid {runner.pid} "
        f"({runner.phase.value}, up {format_duration(runner.uptime_seconds)})\n"
        f"controller {controller.mode.value} {controller.endpoint or ''}  "
        f"backpressure {backpressure} (on at {flow.activate_at:g}, "
        f"off below {flow.deactivate_at:g}, throttle {flow.throttle_rate:g})"
    )


def render_table(status: PipelineStatus) -> str:
    rows = [COLUMNS, *(_row(component) for component in status.components)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    reload = status.reload
    footer = f"reload generation {reload.generation}"
    if reload.last_error:
        footer += f"; last reload failed: {reload.last_error.splitlines()[0]}"
    return "\n".join([_header(status), "", *lines, "", footer])
