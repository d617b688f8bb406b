"""Does each component's program exist? The one place a `command`'s first word is found.

`python` (and `python3`, `python3.X`) is the runner's own interpreter, so a component
runs with the packages of the environment flowrun is installed in. A word with a `/` is a
path from the component's working directory; any other word is looked up on the PATH the
component gets (its own `env: {PATH: ...}` if it sets one).

A script is found only if the program its `#!` line names is too: else exec fails with
"No such file or directory" about the script itself, which exists (a script saved with
Windows line endings asks for `/bin/sh\r`).

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

from flowrun.spec.graph import COMPONENTS
from flowrun.spec.messages import Finding
from flowrun.spec.model import PipelineBody

PYTHON_ALIASES = frozenset(
    {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}
)


SHEBANG_BYTES = 256  # Linux reads at most this much of a `#!` line (BINPRM_BUF_SIZE)


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
            raise ProgramNotFound(_why_not_executable(candidate))
        _check_interpreter(candidate, path_env)
        return str(candidate)
    found = shutil.which(program, path=path_env)
    if found is None:
        raise ProgramNotFound(
            "not found on PATH; install it, or give its path in the spec's `command`"
        )
    _check_interpreter(Path(found), path_env)
    return found


def _why_not_executable(program: Path) -> str:
    """A file without execute permission, or one on a file system mounted noexec (where
    chmod +x changes nothing)."""
    try:
        noexec = bool(os.statvfs(program).f_flag & os.ST_NOEXEC)
    except OSError:
        noexec = False
    if noexec:
        return (
            f"is on a file system mounted noexec, where nothing is run; move it elsewhere, "
            f"or run it through its interpreter (`command: [sh, {program}]`)"
        )
    return f"is not executable (chmod +x {program})"


def _check_interpreter(script: Path, path_env: str | None) -> None:
    """ProgramNotFound when `script` starts with a `#!` line naming a program that cannot
    be found: an absolute path, or `/usr/bin/env NAME` with NAME looked up on the PATH."""
    try:
        with script.open("rb") as handle:
            first_line = handle.readline(SHEBANG_BYTES)
    except OSError:
        return  # exec will say why it cannot read it
    if not first_line.startswith(b"#!"):
        return
    line = first_line[2:].rstrip(b"\n")
    shown = line.decode(errors="replace").strip()
    if line.endswith(b"\r"):
        raise ProgramNotFound(
            f"cannot run: its first line, `#!{shown}`, ends with a carriage return (the file "
            f"has Windows line endings), so the system looks for `{shown}\\r`; convert the "
            f"file: sed -i 's/\\r$//' {script}"
        )
    words = line.split()
    if not words or not words[0].startswith(b"/"):
        return
    interpreter = words[0].decode(errors="replace")
    if not os.access(interpreter, os.X_OK):
        raise ProgramNotFound(
            f"cannot run: its first line, `#!{shown}`, names {interpreter}, which does not "
            "exist here; install it, or correct that line"
        )
    if Path(interpreter).name == "env" and len(words) > 1 and not words[1].startswith(b"-"):
        name = words[1].decode(errors="replace")
        if shutil.which(name, path=path_env) is None:
            raise ProgramNotFound(
                f"cannot run: its first line, `#!{shown}`, runs {name}, which is not on the "
                f"PATH it gets; install it, or give its path in that line or in `command`"
            )


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
