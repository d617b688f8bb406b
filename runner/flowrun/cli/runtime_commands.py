"""`up`, `down` and `restart`: running a pipeline and changing what runs.

All of them find the runner through the spec's state directory; `up` runs it (here, or
detached with -d), the others talk to its admin endpoint. `status`, `health` and `ps`
are in inspect_commands, `logs` in logs_command.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from flowrun.cli.cluster_options import cluster_down, cluster_up, driver_options, kubernetes_driver
from flowrun.cli.params import SPEC_ARGUMENT, complete_components
from flowrun.errors import NotRunningError, RunnerError

__all__ = ["COMMANDS", "PROBE_TIMEOUT_SECONDS", "SPEC_ARGUMENT", "json_text"]

DOWN_TIMEOUT_SECONDS = 900.0  # stop_grace after stop_grace down a long chain
RESTART_TIMEOUT_SECONDS = 1800.0  # a stop and a start of each component named
PROBE_TIMEOUT_SECONDS = 5.0
EXIT_WAIT_SECONDS = 15.0


def state_of(spec: Path) -> Any:
    from flowrun.daemon.state_dir import StateDir

    return StateDir.for_spec(spec)


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
@click.option(
    "--no-color",
    is_flag=True,
    help="No colour in the console (also: NO_COLOR=1; FORCE_COLOR=1 colours even a pipe).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Console lines as `name | line`, or one JSON object per line "
    "(time, component, stream: output|event, message).",
)
@driver_options
@click.option("--image", default=None, help="[kubernetes] container image of the pipeline's pods.")
def up(
    spec: Path,
    profile: str | None,
    detach: bool,
    no_watch: bool,
    no_color: bool,
    log_format: str,
    driver: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    image: str | None,
) -> None:
    """Start the pipeline: controller, then every component, upstream first.

    With --driver kubernetes: apply its objects to the cluster (server-side apply, field
    manager flowrun) and delete the pipeline's objects it no longer has."""
    from flowrun.daemon.launch import WATCH_VARIABLE

    cluster = kubernetes_driver(driver, kubeconfig, context, namespace, image=image)
    if cluster is not None:
        cluster_up(cluster, spec, profile)
        return
    from flowrun.spec.loader import load_spec

    if no_watch:
        os.environ[WATCH_VARIABLE] = "0"  # read by the runner, also after a detaching fork

    loaded = load_spec(spec, profile)
    loaded.require_commands()  # before anything starts: every missing program at once
    state = state_of(loaded.path)
    if not detach:
        from flowrun.daemon.launch import run_runner

        run_runner(loaded, state, foreground=True, no_color=no_color, log_format=log_format)
        return
    from flowrun.daemon.detach import start_detached
    from flowrun.daemon.state_dir import shell_path
    from flowrun.daemon.status_table import render_table
    from flowrun.supervision.states import ComponentState

    shown = shell_path(spec)
    try:
        status = start_detached(loaded, state, lambda line: click.echo(line, err=True))
    except KeyboardInterrupt:
        click.echo(
            f"stopped waiting; the pipeline goes on starting in the background "
            f"(`flowrun status {shown}`, `flowrun down {shown}`)",
            err=True,
        )
        sys.exit(130)
    click.echo(render_table(status))
    failing = [c.name for c in status.components if c.state is not ComponentState.RUNNING]
    if failing:
        click.echo(
            f"\nnot running: {', '.join(failing)}; the runner keeps going "
            f"(see `flowrun logs {shown} NAME`, stop it with `flowrun down {shown}`)",
            err=True,
        )
        sys.exit(1)


@click.command("down")
@SPEC_ARGUMENT
@driver_options
def down(
    spec: Path, driver: str, kubeconfig: str | None, context: str | None, namespace: str | None
) -> None:
    """Stop the pipeline, downstream first; no process is left behind.

    With --driver kubernetes: delete the pipeline's objects from the cluster (its
    PersistentVolumeClaims are kept: they hold the sinks' output)."""
    cluster = kubernetes_driver(driver, kubeconfig, context, namespace)
    if cluster is not None:
        cluster_down(cluster, spec)
        return
    from flowrun.daemon import admin
    from flowrun.daemon.detach import wait_until_gone
    from flowrun.daemon.status_types import StopReport

    try:
        info = state_of(spec).live_info(spec)
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


@click.command("restart")
@SPEC_ARGUMENT
@click.argument(
    "components", nargs=-1, metavar="[COMPONENT]...", shell_complete=complete_components
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def restart(spec: Path, components: tuple[str, ...], as_json: bool) -> None:
    """Restart the named components of the running pipeline (all when none is named).

    Each restarts alone, upstream first, as a reload that changed it would: its
    dependents reconnect. Exit 1 when one did not get ready again."""
    from flowrun.daemon import admin
    from flowrun.daemon.status_types import RestartReport

    info = state_of(spec).live_info(spec)
    admin.call(info, "GET", "/status", timeout_seconds=PROBE_TIMEOUT_SECONDS)  # answers at all?
    answer = admin.call(
        info,
        "POST",
        "/restart",
        {"components": list(dict.fromkeys(components))},
        timeout_seconds=RESTART_TIMEOUT_SECONDS,
    )
    report = RestartReport.from_json(answer)
    click.echo(json_text(report.to_json()) if as_json else "\n".join(report.lines()))
    if not report.ok:
        sys.exit(1)


COMMANDS: list[click.Command] = [up, down, restart]
