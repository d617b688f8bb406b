"""Where a command's program is found (flowrun.spec.commands.find_program)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flowrun.spec.commands import ProgramNotFound, find_program


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
