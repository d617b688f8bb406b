"""`flowrun status` as a table people read at a glance (and `up -d` prints once started).

Pure text from a `PipelineStatus`: the CLI renders what the runner's admin endpoint sent.
"""

from __future__ import annotations

import textwrap
import time

from flowrun.daemon.status_types import ComponentStatus, ControllerStatus, PipelineStatus
from flowrun.supervision.states import ComponentState, one_line

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
    """Why it ended or waits: its last error once it ended, else what it waits for, else
    what the component itself reports when it is not healthy."""
    if component.state in _ENDED and component.last_error:
        first = component.last_error.splitlines()[0]
        # The lines this announces follow the table (see _error_details).
        return first.removesuffix(":") + " (below)" if _log_lines(component) else first
    if component.waiting_for:
        return component.waiting_for
    if component.clean_exit:
        return component.clean_exit
    if component.state is ComponentState.RUNNING and component.reports_trouble:
        return component.trouble_line
    return ""


def _log_lines(component: ComponentStatus) -> list[str]:
    """The lines after the first of its last error (the end of its log), if it ended."""
    if component.state not in _ENDED or not component.last_error:
        return []
    return component.last_error.splitlines()[1:]


def _error_details(status: PipelineStatus) -> list[str]:
    """The whole last error of each ended component whose error quotes its log."""
    lines: list[str] = []
    for component in status.components:
        if _log_lines(component):
            lines += ["", f"{component.name}: {component.last_error}"]
    return lines


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
        _note(component),
    )


def _header(status: PipelineStatus) -> str:
    controller, flow, runner = status.controller, status.flow_control, status.runner
    return (
        f"pipeline {status.pipeline}  profile {status.profile or '-'}  "
        f"revision {status.revision}  runner pid {runner.pid} "
        f"({runner.phase.value}, up {format_duration(runner.uptime_seconds)})\n"
        f"controller {controller.mode_and_endpoint}{_unanswered(controller)}  "
        f"backpressure {flow.backpressure_word} (on at {flow.activate_at:g}, "
        f"off below {flow.deactivate_at:g}, throttle {flow.throttle_rate:g})"
    )


def _unanswered(controller: ControllerStatus) -> str:
    if controller.answers:
        return ""
    return f" (does not answer: {controller.error})" if controller.error else " (does not answer)"


def _wrapped(row: tuple[str, ...], widths: list[int]) -> list[str]:
    """One row; a long note continues on lines of its own under the NOTE column, broken
    between words (a word longer than the column is broken, never dropped)."""
    cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
    head = "  ".join(cells)
    note = textwrap.wrap(row[-1], NOTE_WIDTH, break_on_hyphens=False) or [""]
    indent = " " * (len(head) + 2)
    return [f"{head}  {note[0]}".rstrip(), *(indent + more for more in note[1:])]


def render_table(status: PipelineStatus) -> str:
    rows = [COLUMNS, *(_row(component) for component in status.components)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    lines = [line for row in rows for line in _wrapped(row, widths)]
    reload = status.reload
    footer = f"reload generation {reload.generation}"
    if reload.last_error:
        footer += f"; last reload failed: {one_line(reload.last_error)}"
    return "\n".join(
        [_header(status), "", *lines, "", footer, *_refused_logs(status), *_error_details(status)]
    )


def _refused_logs(status: PipelineStatus) -> list[str]:
    """Log files the disk refuses now: a detached runner has no console to say it on."""
    return [
        f"not written since {time.strftime('%H:%M:%S', time.localtime(log.since))}: "
        f"{log.path} ({log.error}; {log.unwritten_bytes} bytes missing); writing resumes "
        "by itself once the disk takes it"
        for log in status.runner.refused_logs
    ]
