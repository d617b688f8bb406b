"""`status`, `health` and `ps`: what runs, and how well.

Exit codes are part of the interface, for scripts and probes:
`status` 0 a runner answered, 1 the runner does not answer (or another error), 3 no
runner serves the spec;
`health` 0 healthy, 1 degraded, 2 unhealthy, 3 stopped, 4 its own error (usage, a spec
file that cannot be read), so that no error is ever read as a verdict.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from flowrun.cli.cluster_options import cluster_status, driver_options, kubernetes_driver
from flowrun.cli.params import SPEC_ARGUMENT
from flowrun.cli.runtime_commands import PROBE_TIMEOUT_SECONDS, json_text, state_of
from flowrun.errors import FlowrunError, NotRunningError

EXIT_NOT_RUNNING = 3
EXIT_HEALTH_ERROR = 4  # flowrun.daemon.health.EXIT_ERROR, kept here for a light import
PS_PROBE_TIMEOUT_SECONDS = 2.0  # ps asks every runner in turn: briefly


def _runner_of(spec: Path) -> Any:
    """The RunnerInfo of the runner serving `spec`; NotRunningError when there is none
    (a runner that does not answer is not "not running": its error comes from the call)."""
    return state_of(spec).live_info(spec)


def _ask(info: Any, path: str) -> Any:
    from flowrun.daemon import admin

    return admin.call(info, "GET", path, timeout_seconds=PROBE_TIMEOUT_SECONDS)


def _require_spec_file(spec: Path) -> None:
    """No runner and no file: the path is wrong, say so as validate would."""
    if not spec.exists():
        from flowrun.spec.files import read_text

        read_text(spec, str(spec))


def _stopped(spec: Path, reason: str) -> dict[str, Any]:
    """The JSON of a pipeline no runner serves, with what the spec file says of it."""
    import yaml

    from flowrun.daemon.status_types import StoppedPipeline
    from flowrun.spec.model import ComponentType

    name, components = spec.stem, []
    try:
        data = yaml.safe_load(spec.read_text(encoding="utf-8"))
        name = str(data["metadata"]["name"])
        for component, entry in data["spec"]["components"].items():
            components.append((str(component), ComponentType(entry["type"])))
    except (OSError, ValueError, yaml.YAMLError, TypeError, KeyError, AttributeError):
        pass  # a spec too broken to read still has a stopped pipeline: show what is known
    return StoppedPipeline(name, str(spec), reason, tuple(components)).to_json()


@click.command("status")
@SPEC_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="Print the status object as JSON.")
@driver_options
def status(
    spec: Path,
    as_json: bool,
    driver: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    """State, pid, uptime, restarts, load, throttle and health of every component.

    Exit 0 when a runner answered, 1 when it does not answer, 3 when none serves SPEC
    (with --json: an object whose state is "stopped", on stdout). With --driver
    kubernetes: the pipeline's Deployments (ready replicas, conditions, restarts of their
    pods)."""
    cluster = kubernetes_driver(driver, kubeconfig, context, namespace)
    if cluster is not None:
        cluster_status(cluster, spec, as_json)
        return
    from flowrun.daemon.status_table import render_table
    from flowrun.daemon.status_types import PipelineStatus

    try:
        info = _runner_of(spec)
    except NotRunningError as e:
        _require_spec_file(spec)
        if as_json:
            click.echo(json_text(_stopped(spec, str(e))))
        else:
            click.echo(f"stopped: {e}", err=True)
        sys.exit(EXIT_NOT_RUNNING)
    pipeline_status = PipelineStatus.from_json(_ask(info, "/status"))
    click.echo(json_text(pipeline_status.to_json()) if as_json else render_table(pipeline_status))


class _HealthError(FlowrunError):
    exit_code = EXIT_HEALTH_ERROR


class _HealthUsageError(click.UsageError):
    exit_code = EXIT_HEALTH_ERROR


class _HealthCommand(click.Command):
    """Its errors (usage, an unreadable spec, a runner that fails) exit with 4, apart
    from the codes of the verdicts."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as e:
            raise _HealthUsageError(e.format_message(), e.ctx) from e
        except FlowrunError as e:
            raise _HealthError(str(e)) from e

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FlowrunError as e:
            raise _HealthError(str(e)) from e


@click.command("health", cls=_HealthCommand)
@SPEC_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def health(spec: Path, as_json: bool) -> None:
    """Health report of the pipeline, each reason on a line.

    \b
    Exit codes:
      0  healthy
      1  degraded: it runs below par (a component starting, restarting, without
         heartbeats, or reporting itself degraded or unhealthy...)
      2  unhealthy: a component failed for good, or the runner does not answer
      3  stopped: no runner serves SPEC
      4  error: bad usage, a SPEC that is missing or not a file, a runner that fails
    """
    from flowrun.daemon.health import HealthReport, render_health

    try:
        info = _runner_of(spec)
    except NotRunningError as e:
        _require_spec_file(spec)
        report = HealthReport.not_running(str(spec), str(e))
    else:
        try:
            report = HealthReport.from_json(_ask(info, "/health"))
        except NotRunningError as e:  # it runs, but does not answer: stuck
            report = HealthReport.unanswered(str(spec), str(e))
    click.echo(json_text(report.to_json()) if as_json else render_health(report))
    # sys.exit, not ctx.exit: cli.main runs click with standalone_mode=False, which turns
    # ctx.exit(n) into a return value nobody reads.
    sys.exit(report.exit_code)


@click.command("ps")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def ps(as_json: bool) -> None:
    """Every pipeline running on this machine for this user (any spec, any folder).

    Runners record themselves under $FLOWRUN_HOME (default $XDG_RUNTIME_DIR/flowrun, else
    ~/.local/state/flowrun); records of runners that died are dropped."""
    from flowrun.daemon.registry import RunnerRegistry
    from flowrun.daemon.status_table import format_duration

    rows: list[dict[str, Any]] = []
    for entry in RunnerRegistry.from_environ().live():
        rows.append(
            {
                "pipeline": entry.pipeline,
                "pid": entry.pid,
                "profile": entry.profile,
                "spec": entry.spec_path,
                "state_dir": entry.state_dir,
                "started_at": entry.started_at,
                "uptime_seconds": round(max(0.0, time.time() - entry.started_at), 3),
                "components": _component_counts(Path(entry.state_dir)),
            }
        )
    if as_json:
        click.echo(json_text(rows))
        return
    if not rows:
        click.echo("no pipeline is running", err=True)
        return
    table = [("PIPELINE", "PID", "UPTIME", "RUNNING", "PROFILE", "SPEC")]
    for row in rows:
        counts = row["components"]
        running = f"{counts['running']}/{counts['total']}" if counts else "?"
        table.append(
            (
                str(row["pipeline"]),
                str(row["pid"]),
                format_duration(float(row["uptime_seconds"])),
                running,
                str(row["profile"] or "-"),
                str(row["spec"]),
            )
        )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def _component_counts(state_dir: Path) -> dict[str, int] | None:
    """{running, total} components, asked of the runner; None if it does not answer."""
    from flowrun.daemon import admin
    from flowrun.daemon.state_dir import StateDir

    info = StateDir(state_dir).read_info()
    if info is None:
        return None
    try:
        answer = admin.call(info, "GET", "/status", timeout_seconds=PS_PROBE_TIMEOUT_SECONDS)
    except FlowrunError:
        return None
    components = answer.get("components") or []
    running = sum(1 for c in components if c.get("state") == "running")
    return {"running": running, "total": len(components)}


COMMANDS: list[click.Command] = [status, health, ps]
