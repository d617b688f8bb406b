"""A sink's output and its input position, committed together: exactly once across crashes.

    output = CommittedFiles(self.output_dir)          # finishes or undoes a cut commit
    for batch in self.read_input(after=output.position):
        output.commit(self.input_position, lambda path: write(batch, path), suffix=".parquet")

`commit` writes the file under a staged name, then records the position and the file in
the journal (`_flowctl_commit.json`, replaced atomically: the commit point), then gives
the file its final name. A crash before the journal is replaced leaves a staged file that
the next start deletes (the rows are read again after the old position); a crash after
it leaves a journal that the next start completes. Either way the output holds each
batch once, and `position` is what to resume after.

Files are named `part-00000001.<suffix>`, numbered in commit order. A `None` position (an
input that gives none) is committed too; such an input is read again from its start.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from flowctl.durable import fsync_path, temp_path, write_atomically
from flowctl.errors import FlowctlError
from flowctl.exclusive import lock_directory

JOURNAL = "_flowctl_commit.json"
STAGED_SUFFIX = ".staged"


class CommitError(FlowctlError):
    """The output directory holds a journal this code cannot read: a person must look."""


class CommittedFiles:
    def __init__(self, directory: Path, *, durable: bool = True) -> None:
        """`durable`: fsync each file and the journal (a committed batch survives a power
        cut, not only a crash); off for tests and throwaway output."""
        self.directory = directory
        self.durable = durable
        self.position: str | None = None
        """The position committed last: read the input after it."""
        self.sequence = 0
        """How many files were committed into this directory."""
        self._lock = lock_directory(directory)  # OutputInUseError: another sink writes it
        try:
            self._recover()
        except BaseException:
            self._lock.release()
            raise

    def commit(
        self, position: str | None, write: Callable[[Path], object], *, suffix: str = ""
    ) -> Path:
        """Write one file with `write(path)` and commit it with `position`; its final path."""
        sequence = self.sequence + 1
        final = self.directory / f"part-{sequence:08d}{suffix}"
        staged = final.with_name(final.name + STAGED_SUFFIX)
        write(staged)
        self._sync(staged)
        journal = {"position": position, "sequence": sequence, "file": final.name}
        self._replace_journal(journal)  # the commit point
        os.replace(staged, final)
        self._sync(self.directory)
        self.position, self.sequence = position, sequence
        return final

    def close(self) -> None:
        """Let another process write the directory (the end of this process does too)."""
        self._lock.release()

    def _replace_journal(self, journal: Mapping[str, object]) -> None:
        write_atomically(
            self.directory / JOURNAL, json.dumps(journal).encode(), durable=self.durable
        )

    def _recover(self) -> None:
        path = self.directory / JOURNAL
        if path.exists():
            try:
                journal = json.loads(path.read_text())
                position, sequence, name = journal["position"], journal["sequence"], journal["file"]
            except (ValueError, KeyError, TypeError) as e:
                raise CommitError(
                    f"{path}: not a commit journal ({e}); move the directory aside to start over"
                ) from e
            self.position, self.sequence = position, int(sequence)
            staged = self.directory / (name + STAGED_SUFFIX)
            if staged.exists():  # committed, but cut before its final name
                os.replace(staged, self.directory / name)
        for leftover in self.directory.glob(f"*{STAGED_SUFFIX}"):
            leftover.unlink()  # written but never committed: its rows will be read again
        temp_path(self.directory / JOURNAL).unlink(missing_ok=True)

    def _sync(self, path: Path) -> None:
        if self.durable:
            fsync_path(path)
