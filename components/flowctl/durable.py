"""Files that survive a power cut, not only a crash: fsync and atomic replacement.

Used by `flowctl.commit` (a sink's files and position) and by the Stellar sink's
checkpoint and data files.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush a closed file's data, or a folder's entries (a rename in it), to the disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_atomically(path: Path, data: bytes | memoryview, *, durable: bool) -> None:
    """Write to a hidden temp file beside `path`, then rename it over `path`: a reader sees
    the old content or the new, never part of it. `durable`: fsync the file and the rename."""
    temp = temp_path(path)
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_path(path.parent)


def temp_path(path: Path) -> Path:
    """Where write_atomically stages `path` (a recovery removes it when a crash left it)."""
    return path.with_name(f".{path.name}.tmp")
