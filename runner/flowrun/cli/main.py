"""The `flowrun` command line: the only place errors become messages and exit codes."""

from __future__ import annotations

import codecs
import io
import os
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


UNENCODABLE_ERRORS = "flowrun-unencodable"
"""How this process writes what its output's encoding cannot: see `_write_anything`."""


def _escape_unencodable(error: UnicodeError) -> tuple[str | bytes, int]:
    """A character the output cannot encode, written anyway, one at a time: a surrogate
    that stands for a byte of a path or variable that is not UTF-8 (Python's
    surrogateescape) is that byte again, as `ls` would print it; anything else is its
    `\\uXXXX` escape, visible and unambiguous."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    char = error.object[error.start]
    if 0xDC80 <= ord(char) <= 0xDCFF:
        return bytes([ord(char) - 0xDC00]), error.start + 1
    return char.encode("ascii", "backslashreplace").decode("ascii"), error.start + 1


def _write_anything() -> None:
    """No output of flowrun fails on a character. Under a locale that is not UTF-8
    (`LANG=de_DE.ISO-8859-1`), a pipeline named `日本語` or a spec folder with one in it
    made every command that printed it end in a UnicodeEncodeError traceback; so did a
    folder whose name is not UTF-8 on a strict UTF-8 output."""
    codecs.register_error(UNENCODABLE_ERRORS, _escape_unencodable)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors=UNENCODABLE_ERRORS)


def _standard_streams_open() -> None:
    """Descriptors 0, 1 and 2 open, on /dev/null where they were closed (`flowrun up >&-`,
    a service manager that closes them), and sys.stdin/stdout/stderr objects for them.
    Python gives None for a closed one: `up` died on `None.isatty()`, and `up -d` on
    `None.flush()` before it started anything; worse, the next file opened took the free
    number, so a detached runner closed its own log as it set up its output."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
    if sys.stdin is None:
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - the process's own
    if sys.stdout is None:
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - same
    if sys.stderr is None:
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - same


def main() -> None:
    _standard_streams_open()
    _write_anything()
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
