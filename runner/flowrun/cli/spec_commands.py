"""`flowrun validate`, `render` and `schema`: the spec commands, which run nothing.

The spec modules (pydantic) are imported inside the commands so that every other command,
and `flowrun --help`, start without paying for them.
"""

from __future__ import annotations

import codecs
import os
import sys
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
    from flowrun.spec.loader import PROFILE_VARIABLE, written_profiles

    environ = dict(os.environ)
    if not all_profiles:
        _validate_one(spec, profile, environ, warn=True)
        return
    # The spec alone first, whatever FLOWRUN_PROFILE says, then each profile it writes,
    # each checked even when the spec alone is not valid: every problem at once.
    environ.pop(PROFILE_VARIABLE, None)
    issues: list[SpecIssue] = []
    for name in [None, *written_profiles(spec)]:
        try:
            _validate_one(spec, name, environ, warn=name is None)
        except SpecError as error:
            issues += error.issues
    if issues:
        raise SpecError(list(dict.fromkeys(issues)))


def _validate_one(spec: str, profile: str | None, environ: dict[str, str], *, warn: bool) -> None:
    from flowrun.spec.loader import load_spec

    loaded = load_spec(spec, profile, environ)
    if warn:  # a program may exist only where the pipeline runs
        for warning in loaded.warnings:
            click.echo(f"warning: {warning} (`up` refuses to start without it)", err=True)
    click.echo(_summary(spec, loaded))


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

    # An output that cannot hold every character (a Latin-1 locale) gets YAML escapes:
    # the same spec read back, where a character written as `\uXXXX` text would not be.
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    unicode = codecs.lookup(encoding).name == "utf-8"
    rendered = render_yaml(load_spec(spec, profile), show_secrets=show_secrets, unicode=unicode)
    click.echo(rendered, nl=False)


@click.command()
def schema() -> None:
    """Print the JSON Schema of a spec (schemas/pipeline.schema.json is this output)."""
    from flowrun.spec.schema import schema_json

    click.echo(schema_json(), nl=False)


COMMANDS: list[click.Command] = [validate, render, schema]
