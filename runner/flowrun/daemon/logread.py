"""Reading component logs back for `flowrun logs`: the last lines, and following growth.

Following survives rotation: when `name.log` is replaced (a new inode) or shrinks, it is
read again from its start.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

FOLLOW_POLL_SECONDS = 0.2
TAIL_BLOCK_BYTES = 65536


def tail_lines(path: Path, count: int | None) -> list[str]:
    """The last `count` lines of a file (all of them for None), read from the end."""
    try:
        with open(path, "rb") as handle:
            if count is None:
                return handle.read().decode(errors="replace").splitlines()
            handle.seek(0, os.SEEK_END)
            position = handle.tell()
            data = b""
            while position > 0 and data.count(b"\n") <= count:
                step = min(TAIL_BLOCK_BYTES, position)
                position -= step
                handle.seek(position)
                data = handle.read(step) + data
    except FileNotFoundError:
        return []
    lines = data.decode(errors="replace").splitlines()
    return lines[-count:] if count else []


@dataclass
class _Followed:
    name: str
    path: Path
    offset: int = 0
    inode: int | None = None
    pending: bytes = b""


def _read_new(followed: _Followed) -> list[str]:
    try:
        stat = followed.path.stat()
    except FileNotFoundError:
        return []
    if followed.inode is not None and (
        stat.st_ino != followed.inode or stat.st_size < followed.offset
    ):
        followed.offset, followed.pending = 0, b""  # rotated: the new file starts from zero
    followed.inode = stat.st_ino
    if stat.st_size <= followed.offset:
        return []
    with open(followed.path, "rb") as handle:
        handle.seek(followed.offset)
        data = handle.read()
    followed.offset += len(data)
    complete, _, followed.pending = (followed.pending + data).rpartition(b"\n")
    return complete.decode(errors="replace").split("\n") if complete else []


def follow(
    files: dict[str, Path],
    keep_going: Callable[[], bool],
    poll_seconds: float = FOLLOW_POLL_SECONDS,
) -> Iterator[tuple[str, str]]:
    """(name, line) for every line appended to the files from now on, while keep_going()."""
    followed = []
    for name, path in files.items():
        entry = _Followed(name, path)
        try:
            stat = path.stat()
            entry.offset, entry.inode = stat.st_size, stat.st_ino
        except FileNotFoundError:
            pass
        followed.append(entry)
    while True:
        going = keep_going()
        for entry in followed:
            for line in _read_new(entry):
                yield entry.name, line
        if not going:
            return
        time.sleep(poll_seconds)


def log_files(logs_dir: Path) -> dict[str, Path]:
    """{component name: its current log file}."""
    if not logs_dir.is_dir():
        return {}
    return {path.stem: path for path in sorted(logs_dir.glob("*.log"))}
