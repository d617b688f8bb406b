"""`flowrun validate`, `render` and `schema`: the spec commands, which run nothing.

The spec modules (pydantic) are imported inside the commands so that every other command,
and `flowrun --help`, start without paying for them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from flowrun.spec.loader import LoadedSpec

spec_argument = click.argument("spec", default="pipeline.yaml", metavar="SPEC")
profile_option = click.option(
    "--profile",
    "-p",
    metavar="NAME",
    default=None,
    help="Profile to merge over the spec (default: $FLOWRUN_PROFILE).",
)


def _check_file(spec: str) -> None:
    """Refuse an unreadable file (missing, binary, huge) before the pydantic imports."""
    from flowrun.spec.files import read_text

    read_text(Path(spec), spec)


def _summary(shown: str, loaded: LoadedSpec) -> str:
    spec = loaded.spec
    count = len(spec.spec.components)
    noun = "component" if count == 1 else "components"
    return (
        f"OK {shown}: pipeline {spec.metadata.name}, {count} {noun}, "
        f"profile {loaded.profile or '(none)'}, revision {loaded.revision}"
    )


@click.command()
@spec_argument
@profile_option
@click.option(
    "--all-profiles",
    is_flag=True,
    help="Validate the spec alone and with each of its profiles (for CI).",
)
def validate(spec: str, profile: str | None, all_profiles: bool) -> None:
    """Check SPEC (default ./pipeline.yaml): exit 0 if valid, 1 with every problem if not.

    Problems are printed one per line as FILE:LINE:COL: key.path: message.
    """
    _check_file(spec)
    from flowrun.errors import SpecError, SpecIssue
    from flowrun.spec.loader import PROFILE_VARIABLE, load_spec

    environ = dict(os.environ)
    if all_profiles:  # the spec alone first, whatever FLOWRUN_PROFILE says, then each profile
        environ.pop(PROFILE_VARIABLE, None)
        profile = None
    loaded = load_spec(spec, profile, environ)
    for warning in loaded.warnings:  # a program may exist only where the pipeline runs
        click.echo(f"warning: {warning} (`up` refuses to start without it)", err=True)
    click.echo(_summary(spec, loaded))
    if not all_profiles:
        return
    issues: list[SpecIssue] = []
    for name in loaded.body.profiles:
        try:
            click.echo(_summary(spec, load_spec(spec, name, environ)))
        except SpecError as error:
            issues += error.issues
    if issues:
        raise SpecError(list(dict.fromkeys(issues)))


@click.command()
@spec_argument
@profile_option
@click.option("--show-secrets", is_flag=True, help="Print TOKEN/SECRET/PASSWORD/KEY values.")
def render(spec: str, profile: str | None, show_secrets: bool) -> None:
    """Print the effective SPEC: profile merged, ${VAR} replaced, defaults filled in.

    Values of env and config entries whose names contain TOKEN, SECRET, PASSWORD or KEY,
    and the controller token, are printed as *** unless --show-secrets is given.
    """
    _check_file(spec)
    from flowrun.spec.loader import load_spec, render_yaml

    click.echo(render_yaml(load_spec(spec, profile), show_secrets=show_secrets), nl=False)


@click.command()
def schema() -> None:
    """Print the JSON Schema of a spec (schemas/pipeline.schema.json is this output)."""
    from flowrun.spec.schema import schema_json

    click.echo(schema_json(), nl=False)


COMMANDS: list[click.Command] = [validate, render, schema]
