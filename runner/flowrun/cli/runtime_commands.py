"""`up`, `down`, `status`, `health`, `logs`: running a pipeline and operating it.

All of them find the runner through the spec's state directory; `up` runs it (here, or
detached with -d), the others talk to its admin endpoint or read its log files.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from flowrun.errors import NotRunningError, RunnerError

SPEC_ARGUMENT = click.argument(
    "spec", default="pipeline.yaml", type=click.Path(dir_okay=False, path_type=Path), metavar="SPEC"
)
DOWN_TIMEOUT_SECONDS = 900.0  # stop_grace after stop_grace down a long chain
PROBE_TIMEOUT_SECONDS = 5.0
EXIT_WAIT_SECONDS = 15.0


def _state_of(spec: Path) -> Any:
    from flowrun.daemon.state_dir import StateDir

    return StateDir.for_spec(spec)


def _fetch(spec: Path, path: str) -> Any:
    from flowrun.daemon import admin

    info = _state_of(spec).live_info(spec)
    return admin.call(info, "GET", path, timeout_seconds=PROBE_TIMEOUT_SECONDS)


def json_text(data: Any) -> str:
    """JSON as `--json` prints it."""
    return json.dumps(data, indent=2)


@click.command("up")
@SPEC_ARGUMENT
@click.option("--profile", "-p", default=None, help="Profile to apply (default: $FLOWRUN_PROFILE).")
@click.option("--detach", "-d", is_flag=True, help="Run in the background and return once started.")
@click.option(
    "--no-watch",
    is_flag=True,
    help="Do not reload on edits of the spec (only SIGHUP and `flowrun reload`).",
)
def up(spec: Path, profile: str | None, detach: bool, no_watch: bool) -> None:
    """Start the pipeline: controller, then every component, upstream first."""
    from flowrun.daemon.launch import WATCH_VARIABLE
    from flowrun.spec.loader import load_spec

    if no_watch:
        os.environ[WATCH_VARIABLE] = "0"  # read by the runner, also after a detaching fork

    loaded = load_spec(spec, profile)
    state = _state_of(loaded.path)
    if not detach:
        from flowrun.daemon.launch import run_runner

        run_runner(loaded, state, foreground=True)
        return
    from flowrun.daemon.detach import start_detached
    from flowrun.daemon.status_table import render_table
    from flowrun.supervision.states import ComponentState

    try:
        status = start_detached(loaded, state, lambda line: click.echo(line, err=True))
    except KeyboardInterrupt:
        click.echo(
            f"stopped waiting; the pipeline goes on starting in the background "
            f"(`flowrun status {spec}`, `flowrun down {spec}`)",
            err=True,
        )
        sys.exit(130)
    click.echo(render_table(status))
    failing = [c.name for c in status.components if c.state is not ComponentState.RUNNING]
    if failing:
        click.echo(
            f"\nnot running: {', '.join(failing)}; the runner keeps going "
            f"(see `flowrun logs {spec} NAME`, stop it with `flowrun down {spec}`)",
            err=True,
        )
        sys.exit(1)


@click.command("down")
@SPEC_ARGUMENT
def down(spec: Path) -> None:
    """Stop the pipeline, downstream first; no process is left behind."""
    from flowrun.daemon import admin
    from flowrun.daemon.detach import wait_until_gone
    from flowrun.daemon.status_types import StopReport

    try:
        info = _state_of(spec).live_info(spec)
    except NotRunningError as e:
        click.echo(f"nothing to stop: {e}", err=True)
        return
    admin.call(info, "GET", "/status", timeout_seconds=PROBE_TIMEOUT_SECONDS)  # answers at all?
    report = admin.call(info, "POST", "/down", timeout_seconds=DOWN_TIMEOUT_SECONDS)
    if not wait_until_gone(info.pid, EXIT_WAIT_SECONDS):
        raise RunnerError(
            f"the runner (pid {info.pid}) stopped its components but has not exited yet"
        )
    click.echo(StopReport.from_json(report).summary())


@click.command("status")
@SPEC_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="Print the status object as JSON.")
def status(spec: Path, as_json: bool) -> None:
    """State, pid, uptime, restarts, load and throttle of every component."""
    from flowrun.daemon.status_table import render_table
    from flowrun.daemon.status_types import PipelineStatus

    pipeline_status = PipelineStatus.from_json(_fetch(spec, "/status"))
    click.echo(json_text(pipeline_status.to_json()) if as_json else render_table(pipeline_status))


@click.command("health")
@SPEC_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def health(spec: Path, as_json: bool) -> None:
    """Health report; exit 0 healthy, 1 degraded, 2 unhealthy (or not running)."""
    from flowrun.daemon.health import HealthReport, render_health

    try:
        report = HealthReport.from_json(_fetch(spec, "/health"))
    except NotRunningError as e:
        report = HealthReport.not_running(str(spec), str(e))
    click.echo(json_text(report.to_json()) if as_json else render_health(report))
    # sys.exit, not ctx.exit: cli.main runs click with standalone_mode=False, which turns
    # ctx.exit(n) into a return value nobody reads.
    sys.exit(report.exit_code)


@click.command("logs")
@SPEC_ARGUMENT
@click.argument("component", required=False)
@click.option(
    "--follow", "-f", is_flag=True, help="Keep printing new lines while the pipeline runs."
)
@click.option(
    "--tail", "-n", "tail", type=click.IntRange(min=0), default=None, help="Only the last N lines."
)
def logs(spec: Path, component: str | None, follow: bool, tail: int | None) -> None:
    """Component logs (all components, prefixed, when none is named)."""
    from flowrun.daemon.logread import follow as follow_files
    from flowrun.daemon.logread import log_files, tail_lines
    from flowrun.supervision.output import Console, colour_wanted

    state = _state_of(spec)
    files = log_files(state.logs_dir)
    if component is not None:
        if component not in files:
            known = ", ".join(files) or "none yet"
            raise RunnerError(
                f"no log for component '{component}' in {state.logs_dir} (logs: {known})"
            )
        files = {component: files[component]}
    if not files:
        raise RunnerError(f"no logs yet in {state.logs_dir}: has `flowrun up {spec}` run?")
    prefixed = len(files) > 1
    console = (
        Console(
            sys.stdout,
            colour=colour_wanted(sys.stdout),
            names=list(files),
            lossless=True,
            runner_lines=False,
        )
        if prefixed
        else None
    )

    def emit(name: str, line: str) -> None:
        if console is not None:
            console.lines(name, line)
        else:
            click.echo(line)

    try:
        for name, path in files.items():
            for line in tail_lines(path, tail):
                emit(name, line)
        if follow:
            for name, line in follow_files(files, keep_going=state.is_locked):
                emit(name, line)
    except KeyboardInterrupt:
        pass
    finally:
        if console is not None:
            console.close()


COMMANDS: list[click.Command] = [up, down, status, health, logs]
