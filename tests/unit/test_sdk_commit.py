"""flowctl.commit: a sink's files and position are committed together, whatever step a
crash cuts. Each crash is played by a write or a rename that fails at that step."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flowctl import exclusive
from flowctl.commit import JOURNAL, CommitError, CommittedFiles
from flowctl.exclusive import OutputInUseError


def _text(content: str) -> Callable[[Path], object]:
    return lambda path: path.write_text(content)


def _committed(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(directory.glob("part-*"))}


def test_each_commit_is_a_numbered_file_and_the_position_survives_a_restart(
    tmp_path: Path,
) -> None:
    output = CommittedFiles(tmp_path / "out", durable=True)
    assert (output.position, output.sequence) == (None, 0)
    output.commit("9", _text("rows 0-9"), suffix=".txt")
    output.commit("19", _text("rows 10-19"), suffix=".txt")
    output.close()  # as the end of its process does

    again = CommittedFiles(tmp_path / "out")
    assert (again.position, again.sequence) == ("19", 2)
    assert _committed(tmp_path / "out") == {
        "part-00000001.txt": "rows 0-9",
        "part-00000002.txt": "rows 10-19",
    }


def test_a_crash_while_writing_leaves_nothing_and_the_old_position(tmp_path: Path) -> None:
    output = CommittedFiles(tmp_path, durable=False)
    output.commit("9", _text("rows 0-9"))

    def half_written(path: Path) -> None:
        path.write_text("rows 10-")
        raise OSError("disk full")

    with pytest.raises(OSError):
        output.commit("19", half_written)
    output.close()
    again = CommittedFiles(tmp_path, durable=False)
    assert again.position == "9"
    assert _committed(tmp_path) == {"part-00000001": "rows 0-9"}
    assert not list(tmp_path.glob("*.staged"))


def test_a_crash_after_the_journal_is_completed_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = CommittedFiles(tmp_path, durable=False)
    real_replace = os.replace

    def crash_before_the_final_name(source: str | Path, target: str | Path) -> None:
        if str(source).endswith(".staged"):
            raise KeyboardInterrupt("killed between the journal and the rename")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", crash_before_the_final_name)
    with pytest.raises(KeyboardInterrupt):
        output.commit("9", _text("rows 0-9"))
    monkeypatch.setattr(os, "replace", real_replace)
    output.close()

    again = CommittedFiles(tmp_path, durable=False)
    assert (again.position, again.sequence) == ("9", 1)
    assert _committed(tmp_path) == {"part-00000001": "rows 0-9"}


def test_a_journal_that_is_not_one_is_refused_with_the_path_and_the_way_out(
    tmp_path: Path,
) -> None:
    (tmp_path / JOURNAL).write_text("{not json")
    with pytest.raises(CommitError, match=f"{JOURNAL}: not a commit journal.*move the directory"):
        CommittedFiles(tmp_path)


HOLDER = """
import sys
from pathlib import Path
from flowctl.commit import CommittedFiles
output = CommittedFiles(Path(sys.argv[1]), durable=False)
print("holding", flush=True)
sys.stdin.read()  # until the test closes our stdin
"""


def test_a_second_writer_of_the_directory_is_refused_naming_the_process_that_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exclusive, "WAIT_SECONDS", 0.2)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"holding\n"
        with pytest.raises(OutputInUseError) as refused:
            CommittedFiles(tmp_path, durable=False)
        message = str(refused.value)
        assert f"another process (pid {holder.pid}) writes this output directory" in message
        assert "Give each pipeline its own output_dir, or stop the other one first" in message
    finally:
        holder.communicate(timeout=30)  # its end releases the lock
    assert CommittedFiles(tmp_path, durable=False).position is None
