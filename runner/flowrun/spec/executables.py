"""Can the system run this file? What exec would refuse, found before a component starts.

exec(2) of a file it cannot run fails with an error about the file, not the cause: a script
saved with Windows line endings asks for `/bin/sh\\r`, and the error is "No such file or
directory" about the script, which exists. Under the runner such a component died in its
first instant (exit 127, in the words of `setpriv`) and was restarted again and again.
Judged from the file's first bytes: a `#!` line naming a program that cannot be found, or
a program built for another machine or system (which exec refuses, and which execvp then
hands to /bin/sh, to fail on its bytes).
"""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path
from typing import BinaryIO

HEADER_BYTES = 256  # Linux reads at most this much of a `#!` line (BINPRM_BUF_SIZE)
PT_INTERP = 3  # the ELF program header naming the loader (the dynamic linker) exec starts
PROGRAM_HEADERS_BYTES = 64 * 1024  # a real table is a few dozen entries of 56 bytes

# ELF e_machine values, and which one this machine runs.
ELF_MACHINES = {
    3: "x86 (i386)",
    21: "POWER (ppc64)",
    22: "IBM Z (s390x)",
    40: "ARM (32-bit)",
    62: "x86_64",
    183: "ARM64 (aarch64)",
    243: "RISC-V",
}
_MACHINE_OF = {"x86_64": 62, "amd64": 62, "aarch64": 183, "arm64": 183, "ppc64le": 21}
_MACHINE_OF |= {"s390x": 22, "riscv64": 243}
# 32-bit programs a 64-bit machine may run (given their libraries): not judged here.
_ALSO_RUNS = {62: {3}, 183: {40}}
_MACH_O = {
    b"\xfe\xed\xfa\xce",
    b"\xce\xfa\xed\xfe",
    b"\xfe\xed\xfa\xcf",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
}


def why_not_executable(program: Path) -> str:
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


def why_not_runnable(program: Path, path_env: str | None) -> str | None:
    """Why exec cannot run `program` (completing "command X ..."), or None when it can as
    far as its first bytes say. `path_env`: the PATH the component gets (`#!/usr/bin/env
    NAME` looks NAME up there)."""
    try:
        with program.open("rb") as handle:
            header = handle.read(HEADER_BYTES)
            if header.startswith(b"\x7fELF"):
                return _built_for_another_machine(header) or _loader_missing(handle, header)
    except OSError:
        return None  # exec will say why it cannot read it
    if header.startswith(b"#!"):
        return _interpreter_missing(program, header, path_env)
    if header[:4] in _MACH_O:
        return "is a macOS program (Mach-O), which Linux cannot run: build it for Linux"
    if header.startswith(b"MZ"):
        return "is a Windows program, which Linux cannot run: build it for Linux"
    # Anything else is left to exec: text with no `#!` line runs, as execvp(3) (setpriv's)
    # hands what exec refuses to /bin/sh.
    return None


def _interpreter_missing(script: Path, header: bytes, path_env: str | None) -> str | None:
    line = header[2:].split(b"\n", 1)[0]
    shown = line.decode(errors="replace").strip()
    if line.endswith(b"\r"):
        return (
            f"cannot run: its first line, `#!{shown}`, ends with a carriage return (the file "
            f"has Windows line endings), so the system looks for `{shown}\\r`; convert the "
            f"file: sed -i 's/\\r$//' {script}"
        )
    words = line.split()
    if not words or not words[0].startswith(b"/"):
        return None
    interpreter = words[0].decode(errors="replace")
    if not os.access(interpreter, os.X_OK):
        return (
            f"cannot run: its first line, `#!{shown}`, names {interpreter}, which does not "
            "exist here; install it, or correct that line"
        )
    if Path(interpreter).name == "env" and len(words) > 1 and not words[1].startswith(b"-"):
        name = words[1].decode(errors="replace")
        if shutil.which(name, path=path_env) is None:
            return (
                f"cannot run: its first line, `#!{shown}`, runs {name}, which is not on the "
                "PATH it gets; install it, or give its path in that line or in `command`"
            )
    return None


def this_machine() -> int | None:
    """The ELF e_machine of the programs this machine runs; None for one not told apart."""
    return _MACHINE_OF.get(platform.machine())


def _built_for_another_machine(header: bytes) -> str | None:
    ours = this_machine()
    if ours is None or len(header) < 20:
        return None
    e_machine = header[18:20]  # in the byte order EI_DATA (byte 5) says: 1 little, 2 big
    theirs = int.from_bytes(e_machine, "little" if header[5] == 1 else "big")
    if theirs == ours or theirs not in ELF_MACHINES or theirs in _ALSO_RUNS.get(ours, ()):
        return None
    return (
        f"is a program for {ELF_MACHINES[theirs]}, and this machine is {ELF_MACHINES[ours]}: "
        f"build it for {ELF_MACHINES[ours]}"
    )


def _loader_missing(handle: BinaryIO, header: bytes) -> str | None:
    """A dynamically linked program (open as `handle`) whose loader this system lacks: exec
    fails with "No such file or directory" about the program, which exists (a build against
    musl, as on Alpine, run on a glibc system, or the reverse). 64-bit little-endian ELF
    only: the machines told apart here."""
    if len(header) < 64 or header[4] != 2 or header[5] != 1:
        return None
    offset = int.from_bytes(header[32:40], "little")  # e_phoff
    entry_size = int.from_bytes(header[54:56], "little")  # e_phentsize
    entries = int.from_bytes(header[56:58], "little")  # e_phnum
    if entry_size < 40:  # not a program header table that can be read
        return None
    try:
        handle.seek(offset)
        table = handle.read(min(entry_size * entries, PROGRAM_HEADERS_BYTES))
        for start in range(0, len(table) - entry_size + 1, entry_size):
            entry = table[start : start + entry_size]
            if int.from_bytes(entry[0:4], "little") == PT_INTERP:
                handle.seek(int.from_bytes(entry[8:16], "little"))  # p_offset
                size = int.from_bytes(entry[32:40], "little")  # p_filesz
                loader = handle.read(min(size, 4096)).split(b"\0", 1)[0].decode()
                break
        else:
            return None  # statically linked
    except (OSError, OverflowError, ValueError):  # UnicodeDecodeError is a ValueError
        return None
    if not loader or os.path.exists(loader):
        return None
    return (
        f"needs the loader {loader}, which this system does not have: it was built for "
        "another C library or system (musl, as on Alpine, or glibc); build it here, or "
        "statically"
    )
