"""One writer per output directory: a lock that the kernel releases when its process ends.

Two sinks committing into one directory (two pipelines given the same `output_dir`, or one
pipeline started twice under two state directories) would each resume after its own
checkpoint and write the same events twice. A sink takes this lock before it reads its
checkpoint and holds it while it runs; a second one is refused with the holder's pid.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from flowctl.errors import FlowctlError

LOCK_FILE = "_flowctl.lock"  # a leading underscore: Arrow, Spark and Hive readers skip it
# A restarted sink may start while the process it replaces is still exiting.
WAIT_SECONDS = 3.0


class OutputInUseError(FlowctlError):
    """Another process writes the output directory."""


class DirectoryLock:
    """Held until `release()` or the end of the process."""

    def __init__(self, descriptor: int) -> None:
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing the descriptor releases the flock
            self._descriptor = None


def lock_directory(directory: Path) -> DirectoryLock:
    """Take `directory`'s writer lock (creating the directory), waiting up to WAIT_SECONDS
    for a holder to go; OutputInUseError, naming it, if it does not."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_FILE
    # Held read-only: a file open for writing would keep the disk from being remounted
    # read-only (and flock needs no write access).
    descriptor = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise OutputInUseError(
                f"{directory}: another process (pid {holder}) writes this output directory; "
                "two sinks committing into one directory would write the same events twice. "
                "Give each pipeline its own output_dir, or stop the other one first"
            ) from None
    try:
        path.write_text(f"{os.getpid()}\n")  # who holds it, for a second writer's message
    except OSError:
        os.close(descriptor)  # a read-only disk: the caller retries, or says so
        raise
    return DirectoryLock(descriptor)
