"""The CLI's commands, one module per concern; each module exports COMMANDS."""

from __future__ import annotations

import click

from flowrun.commands import (
    controller_command,
    reload_commands,
    runtime_commands,
    spec_commands,
)

COMMANDS: list[click.Command] = [
    *spec_commands.COMMANDS,
    *controller_command.COMMANDS,
    *runtime_commands.COMMANDS,
    *reload_commands.COMMANDS,
]
