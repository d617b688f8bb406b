"""Where a command's program is found (flowrun.spec.commands.find_program)."""

from __future__ import annotations

import os
import platform
import re
import shutil
from pathlib import Path

import pytest
from fixtures.filesystems import remount, tmpfs
from flowrun.spec.commands import ProgramNotFound, find_program
from flowrun.spec.executables import ELF_MACHINES, this_machine


def test_a_link_to_a_program_is_run_as_the_link(tmp_path: Path) -> None:
    """A virtualenv's bin/python is a link: run through its target, it would lose the
    virtualenv's packages."""
    target = tmp_path / "real" / "python3.11"
    target.parent.mkdir()
    target.write_text("#!/bin/sh\n")
    target.chmod(0o755)
    link = tmp_path / "venv" / "bin" / "python"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)

    assert find_program("./venv/bin/python", tmp_path, None) == str(link)
    assert find_program(str(link), tmp_path / "venv", None) == str(link)


def test_a_path_that_is_missing_or_not_executable_says_which(tmp_path: Path) -> None:
    with pytest.raises(ProgramNotFound, match="does not exist"):
        find_program("./nope", tmp_path, None)
    script = tmp_path / "script"
    script.write_text("echo\n")
    os.chmod(script, 0o644)
    with pytest.raises(ProgramNotFound, match="chmod \\+x"):
        find_program("./script", tmp_path, None)


def _script(folder: Path, first_line: bytes, name: str = "run.sh") -> Path:
    script = folder / name
    script.write_bytes(first_line + b"echo hello\n")
    script.chmod(0o755)
    return script


def test_a_script_with_windows_line_endings_says_so_and_how_to_convert_it(
    tmp_path: Path,
) -> None:
    """exec fails with "No such file or directory" about the script, which exists: the
    system looks for `/bin/sh\\r`."""
    script = _script(tmp_path, b"#!/bin/sh\r\n")
    with pytest.raises(ProgramNotFound) as refused:
        find_program("./run.sh", tmp_path, None)
    assert str(refused.value) == (
        "cannot run: its first line, `#!/bin/sh`, ends with a carriage return (the file has "
        "Windows line endings), so the system looks for `/bin/sh\\r`; convert the file: "
        f"sed -i 's/\\r$//' {script}"
    )


def test_a_script_whose_interpreter_is_missing_names_it(tmp_path: Path) -> None:
    _script(tmp_path, b"#!/opt/nowhere/bin/python -u\n")
    with pytest.raises(ProgramNotFound, match="names /opt/nowhere/bin/python, which does not"):
        find_program("./run.sh", tmp_path, None)


def test_env_in_the_first_line_looks_on_the_path_the_component_gets(tmp_path: Path) -> None:
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    _script(bin_folder, b"#!/bin/sh\n", name="mytool")
    _script(tmp_path, b"#!/usr/bin/env mytool\n")
    assert find_program("./run.sh", tmp_path, str(bin_folder)) == str(tmp_path / "run.sh")
    with pytest.raises(ProgramNotFound, match="runs mytool, which is not on the PATH it gets"):
        find_program("./run.sh", tmp_path, "/nonexistent")
    # A script found on the PATH is looked into the same way.
    _script(bin_folder, b"#!/usr/bin/env mytool-missing\n", name="wrapper")
    with pytest.raises(ProgramNotFound, match="runs mytool-missing"):
        find_program("wrapper", tmp_path, str(bin_folder))


def test_first_lines_that_cannot_be_judged_here_are_left_to_exec(tmp_path: Path) -> None:
    for first_line in (b"#!/usr/bin/env -S sh -e\n", b"#!sh\n", b"#!\n", b"\x7fELF\x02\x01\n", b""):
        _script(tmp_path, first_line)
        assert find_program("./run.sh", tmp_path, None) == str(tmp_path / "run.sh")


def test_a_script_on_a_noexec_file_system_says_so_not_chmod(tmp_path: Path) -> None:
    """Hardened hosts mount /tmp or home folders noexec: the execute bit is there, and
    `chmod +x` would change nothing."""
    with tmpfs(tmp_path / "disk", "1m") as disk:
        remount(disk, "noexec")
        _script(disk, b"#!/bin/sh\n")
        with pytest.raises(ProgramNotFound) as refused:
            find_program("./run.sh", disk, None)
    assert str(refused.value) == (
        "is on a file system mounted noexec, where nothing is run; move it elsewhere, or run "
        f"it through its interpreter (`command: [sh, {disk / 'run.sh'}]`)"
    )


def _program(folder: Path, content: bytes, name: str = "comp") -> None:
    program = folder / name
    program.write_bytes(content)
    program.chmod(0o755)


def _elf(machine: int) -> bytes:
    """The first bytes of a 64-bit little-endian ELF executable for `machine` (e_machine)."""
    return (
        b"\x7fELF\x02\x01\x01"
        + bytes(9)
        + (2).to_bytes(2, "little")
        + machine.to_bytes(2, "little")
        + bytes(44)
    )


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"\xcf\xfa\xed\xfe" + bytes(60), "is a macOS program (Mach-O), which Linux cannot run"),
        (b"MZ\x90\x00" + bytes(60), "is a Windows program, which Linux cannot run"),
    ],
)
def test_a_file_the_system_cannot_run_says_what_it_is(
    tmp_path: Path, content: bytes, said: str
) -> None:
    """exec refuses each (Exec format error), which the component's log said in setpriv's
    words, exit 127, restart after restart."""
    _program(tmp_path, content)
    with pytest.raises(ProgramNotFound, match=re.escape(said)):
        find_program("./comp", tmp_path, None)


def test_a_program_built_for_another_machine_names_both(tmp_path: Path) -> None:
    ours = this_machine()
    if ours is None:
        pytest.skip(f"{platform.machine()} is not among the machines told apart")
    other = 183 if ours != 183 else 62
    _program(tmp_path, _elf(other))
    with pytest.raises(ProgramNotFound) as refused:
        find_program("./comp", tmp_path, None)
    assert str(refused.value) == (
        f"is a program for {ELF_MACHINES[other]}, and this machine is {ELF_MACHINES[ours]}: "
        f"build it for {ELF_MACHINES[ours]}"
    )
    _program(tmp_path, _elf(ours))
    assert find_program("./comp", tmp_path, None) == str(tmp_path / "comp")


def test_programs_of_this_machine_are_found(tmp_path: Path) -> None:
    for program in ("sleep", "sh", "env"):
        assert find_program(program, tmp_path, os.environ.get("PATH")) == shutil.which(program)


def test_a_program_whose_loader_this_system_lacks_names_it(tmp_path: Path) -> None:
    """A build against musl (Alpine) on a glibc system: exec said "No such file or
    directory" about the program, which exists. Played with this system's own `sleep`, its
    loader renamed to musl's."""
    sleep = Path(shutil.which("sleep") or "/bin/sleep").read_bytes()
    loader = re.search(rb"/lib[\w/.-]*/ld-[\w.-]+\.so[.\d]*\0", sleep)
    if loader is None:
        pytest.skip("this system's sleep names no loader (statically linked)")
    musl = b"/lib/ld-musl-x86_64.so.1\0".ljust(len(loader.group()), b"\0")
    if len(musl) > len(loader.group()) or Path("/lib/ld-musl-x86_64.so.1").exists():
        pytest.skip("musl's loader is here, or its name does not fit")
    _program(tmp_path, sleep.replace(loader.group(), musl, 1))
    with pytest.raises(ProgramNotFound) as refused:
        find_program("./comp", tmp_path, None)
    assert str(refused.value) == (
        "needs the loader /lib/ld-musl-x86_64.so.1, which this system does not have: it was "
        "built for another C library or system (musl, as on Alpine, or glibc); build it "
        "here, or statically"
    )


def test_a_damaged_program_header_is_left_to_exec(tmp_path: Path) -> None:
    """Offsets past any file, a table of 65,535 entries: read no further than a real one."""
    header = bytearray(_elf(this_machine() or 62))
    header[32:40] = (2**64 - 1).to_bytes(8, "little")  # e_phoff
    header[54:58] = (56).to_bytes(2, "little") + (65535).to_bytes(2, "little")
    _program(tmp_path, bytes(header))
    assert find_program("./comp", tmp_path, None) == str(tmp_path / "comp")
    header[32:40] = (64).to_bytes(8, "little")
    _program(tmp_path, bytes(header))
    assert find_program("./comp", tmp_path, None) == str(tmp_path / "comp")
