"""`plan` and `reload`: what an edit of the spec would do to the running pipeline, and doing it.

Both ask the runner serving the spec (through its admin endpoint, like `status`): it
loads the file with the profile and environment it runs with, and it alone knows what
runs. Output is text, or the runner's JSON with --json.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from flowrun.cli.runtime_commands import PROBE_TIMEOUT_SECONDS, SPEC_ARGUMENT, json_text

# A reload may stop (stop_grace) and start (start_timeout) a chain of components, twice
# when it rolls back; the runner bounds each step, this only bounds the wait for all.
RELOAD_TIMEOUT_SECONDS = 1800.0
PLAN_TIMEOUT_SECONDS = 60.0


def _ask(spec: Path, path: str, body: dict[str, Any], timeout_seconds: float) -> Any:
    from flowrun.daemon import admin
    from flowrun.daemon.state_dir import StateDir

    info = StateDir.for_spec(spec).live_info(spec)
    admin.call(info, "GET", "/status", timeout_seconds=PROBE_TIMEOUT_SECONDS)  # answers at all?
    return admin.call(info, "POST", path, body, timeout_seconds=timeout_seconds)


@click.command("plan")
@SPEC_ARGUMENT
@click.option(
    "--profile", "-p", default=None, help="Plan with this profile (default: the one in force)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(spec: Path, profile: str | None, as_json: bool) -> None:
    """What reloading SPEC as it is now would do to the running pipeline (nothing is applied)."""
    from flowrun.reload.plan_report import PlanAnswer
    from flowrun.reload.render import render_plan

    body = {"profile": profile} if profile else {}
    answer = PlanAnswer.from_json(_ask(spec, "/plan", body, PLAN_TIMEOUT_SECONDS))
    if as_json:
        click.echo(json_text(answer.to_json()))
    elif answer.plan is None:
        click.echo(
            f"the spec is invalid: a reload would be rejected and revision "
            f"{answer.revision} would keep running",
            err=True,
        )
        for issue in answer.errors:
            click.echo(issue, err=True)
    else:
        if answer.profile != answer.profile_in_force:
            click.echo(
                f"(planned with profile {answer.profile}; the runner reloads with "
                f"{answer.profile_in_force or 'no profile'})"
            )
        click.echo(render_plan(answer.plan))
    if not answer.valid:
        sys.exit(1)


@click.command("reload")
@SPEC_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def reload(spec: Path, as_json: bool) -> None:
    """Reload SPEC now and wait until done: what applied live, restarted, started, stopped.

    Exit 1 when the spec was rejected or a component had to be rolled back."""
    from flowrun.reload.outcome import ReloadOutcome
    from flowrun.reload.render import render_outcome

    outcome = ReloadOutcome.from_json(_ask(spec, "/reload", {}, RELOAD_TIMEOUT_SECONDS))
    click.echo(json_text(outcome.to_json()) if as_json else render_outcome(outcome))
    if not outcome.ok:
        sys.exit(1)


COMMANDS: list[click.Command] = [plan, reload]
