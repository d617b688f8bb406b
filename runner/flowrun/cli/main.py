"""The `flowrun` command line: the only place errors become messages and exit codes."""

from __future__ import annotations

import sys

import click

from flowrun.cli import (
    controller_command,
    export_command,
    graph_command,
    inspect_commands,
    logs_command,
    reload_commands,
    runtime_commands,
    spec_commands,
    top_command,
)
from flowrun.errors import FlowrunError, SpecError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flowrun")
def cli() -> None:
    """Run declarative pipelines of supervised components wired to a flowctl controller."""


for command in [
    *spec_commands.COMMANDS,
    *controller_command.COMMANDS,
    *export_command.COMMANDS,
    *runtime_commands.COMMANDS,
    *inspect_commands.COMMANDS,
    *logs_command.COMMANDS,
    *reload_commands.COMMANDS,
    *top_command.COMMANDS,
    *graph_command.COMMANDS,
]:
    cli.add_command(command)


def main() -> None:
    try:
        # Without standalone mode click returns a command's ctx.exit(code) instead of raising.
        code = cli.main(standalone_mode=False)
    except FlowrunError as error:
        # Spec issues already read FILE:LINE:COL: ..., the form editors jump to.
        click.echo(str(error) if isinstance(error, SpecError) else f"error: {error}", err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Exit as exit_:
        sys.exit(exit_.exit_code)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("aborted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
