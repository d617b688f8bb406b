"""Log files the disk refuses: the output goes on, what a file could not take is counted.

A full disk under the state directory (or one remounted read-only) raised out of the
runner's log writes: each chunk of a component's output was lost from the console too,
with a traceback on the runner's stderr per chunk; a line of the runner's own raised into
whatever supervision step wrote it; and a detached runner, whose stderr is on that same
disk, said nothing anywhere. Now a log write never raises. The console still gets every
line, the bytes each file could not take are counted (`flowrun_log_unwritten_bytes_total`),
the first refusal and the first write after it are each said once among the runner's
lines, and `flowrun status` names every log file refused now, for a detached runner too.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

_FIXES = {
    errno.ENOSPC: "free space on it",
    errno.EDQUOT: "free space within the disk quota",
    errno.EROFS: "remount it read-write",
}


@dataclass(frozen=True)
class RefusedLog:
    """A log file the disk refuses now."""

    path: str
    error: str
    """Why, as the system says it (`No space left on device`)."""
    since: float
    """Epoch seconds of the first refused write."""
    unwritten_bytes: int
    """Bytes it could not take since then."""

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "error": self.error,
            "since": self.since,
            "unwritten_bytes": self.unwritten_bytes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RefusedLog:
        return cls(
            str(data["path"]),
            str(data["error"]),
            float(data["since"]),
            int(data["unwritten_bytes"]),
        )


class LogWrites:
    """Appends to the runner's log files for them, and keeps what the disk refused.

    Written to from the event loop (component output) and from any thread (the runner's
    lines, which library logging sends from gRPC's threads), read by status and scrapes:
    so everything it keeps is behind one lock. `announce` is called outside the lock, once
    when a file is first refused and once when it takes output again."""

    def __init__(
        self, root: Path | None = None, announce: Callable[[str], None] | None = None
    ) -> None:
        """`root`: the state directory, which the files are named relative to in the totals
        (`runner.log`, `logs/NAME.log`: a component named `runner` has its own)."""
        self._root = root
        self._announce = announce or (lambda text: None)
        self._lock = threading.Lock()
        self._refused: dict[str, RefusedLog] = {}
        self._unwritten_totals: dict[str, int] = {}

    def append(self, path: Path, handle: BinaryIO, data: bytes) -> int:
        """Write all of `data` to `handle` (the file at `path`); the bytes written, which are
        fewer when the disk refuses the rest."""
        view = memoryview(data)
        try:
            while view:
                written = handle.write(view)
                if not written:  # never for a file on disk; this loop must not spin on it
                    raise OSError(errno.EIO, "the file took no bytes")
                view = view[written:]
        except OSError as error:  # a closed file's ValueError is a bug, not the disk
            self._refuse(path, len(view), error)
            return len(data) - len(view)
        if self._refused:  # the common case costs one read of a dict's size
            self._taken_again(path)
        return len(data)

    def refused_now(self) -> tuple[RefusedLog, ...]:
        with self._lock:
            return tuple(self._refused.values())

    def unwritten_totals(self) -> dict[str, int]:
        """Bytes never written, by file (relative to `root`), over the runner's life: they
        only ever grow."""
        with self._lock:
            return dict(self._unwritten_totals)

    def _refuse(self, path: Path, size: int, error: OSError) -> None:
        key = str(path)
        with self._lock:
            known = self._refused.get(key)
            reason = error.strerror or str(error)
            self._refused[key] = (
                RefusedLog(key, reason, time.time(), size)
                if known is None
                else replace(known, unwritten_bytes=known.unwritten_bytes + size)
            )
            name = os.path.relpath(path, self._root) if self._root else str(path)
            self._unwritten_totals[name] = self._unwritten_totals.get(name, 0) + size
        if known is None:
            fix = _FIXES.get(error.errno or 0, "see to the disk")
            self._announce(
                f"cannot write {path}: {reason}; its output is counted and not kept there "
                f"until the disk takes it again ({fix}, or set FLOWRUN_STATE_DIR to a folder "
                "on another disk for the next start)"
            )

    def _taken_again(self, path: Path) -> None:
        with self._lock:
            gone = self._refused.pop(str(path), None)
        if gone is not None:
            self._announce(
                f"writing {path} again: {gone.unwritten_bytes} bytes of output are missing "
                f"from it, refused for {time.time() - gone.since:.0f}s ({gone.error})"
            )
