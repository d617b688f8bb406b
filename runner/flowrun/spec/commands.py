"""Does each component's program exist? The one place a `command`'s first word is found.

`python` (and `python3`, `python3.X`) is the runner's own interpreter, so a component
runs with the packages of the environment flowrun is installed in. A word with a `/` is a
path from the component's working directory; any other word is looked up on the PATH the
component gets (its own `env: {PATH: ...}` if it sets one).

A program is found only if the system can run it (flowrun.spec.executables): not a script
whose `#!` line names no program, nor one built for another machine or system.

`validate` only warns about a missing program (it may exist only where the pipeline is
deployed); `up` refuses to start anything while one is missing
(`LoadedSpec.require_commands`).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from flowrun.spec.executables import why_not_executable, why_not_runnable
from flowrun.spec.graph import COMPONENTS
from flowrun.spec.messages import Finding
from flowrun.spec.model import PipelineBody

PYTHON_ALIASES = frozenset(
    {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}
)


class ProgramNotFound(Exception):
    """Why a command's program cannot be run (the message completes 'command X ...')."""


def find_program(program: str, cwd: Path, path_env: str | None) -> str:
    """The absolute path to exec for `program`, or ProgramNotFound saying why not."""
    if program in PYTHON_ALIASES:
        return sys.executable
    if "/" in program:
        # Absolute, but links kept: a virtualenv's python is a link whose target would
        # run without the virtualenv's packages.
        candidate = Path(os.path.normpath(cwd / program))
        try:
            is_file = candidate.is_file()
        except OSError as e:  # a name too long, a loop of links: is_file raises those
            raise ProgramNotFound(f"cannot be found ({e.strerror or e})") from e
        if not is_file:
            raise ProgramNotFound(f"not found ({candidate} does not exist)")
        if not os.access(candidate, os.X_OK):
            raise ProgramNotFound(why_not_executable(candidate))
        _check_runnable(candidate, path_env)
        return str(candidate)
    found = shutil.which(program, path=path_env)
    if found is None:
        raise ProgramNotFound(
            "not found on PATH; install it, or give its path in the spec's `command`"
        )
    _check_runnable(Path(found), path_env)
    return found


def _check_runnable(program: Path, path_env: str | None) -> None:
    why_not = why_not_runnable(program, path_env)
    if why_not is not None:
        raise ProgramNotFound(why_not)


def missing_programs(
    body: PipelineBody, spec_dir: Path, environ: Mapping[str, str]
) -> list[Finding]:
    """A finding at `command` of every component whose program cannot be found."""
    findings = []
    for name, component in body.components.items():
        cwd = spec_dir / (component.working_dir or ".")
        path_env = component.env.get("PATH", environ.get("PATH", os.defpath))
        program = component.command[0]
        try:
            find_program(program, cwd, path_env)
        except ProgramNotFound as e:
            message = f"command {program!r} {e}"
            findings.append(Finding((*COMPONENTS, name, "command", 0), message))
    return findings
