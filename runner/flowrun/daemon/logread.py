"""Reading logs back for `flowrun logs`: the last lines, the lines since a moment, and
following growth.

Following survives rotation: when `name.log` is replaced (a new inode) or shrinks, it is
read again from its start. `--since` reads a component's log from the offset its time
index (`name.log.idx`, written by the runner) gives for that second, and the runner's own
log by the timestamp each of its lines starts with.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from flowrun.supervision.output import index_path

RUNNER_LOG_NAME = "flowrun"
"""The name `flowrun logs` gives the runner's own log: the prefix its lines have in `up`."""
_STAMP = "%Y-%m-%d %H:%M:%S"
_STAMP_LENGTH = len("2024-01-01 00:00:00.000")

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


def lines_since(path: Path, since_epoch: float, *, stamped: bool) -> list[str]:
    """The lines of a log written at or after `since_epoch`: to the second for a component
    log (by its index), to the millisecond for a `stamped` one (the runner's); none of a
    log last written before the moment (`--since 0s`: nothing already there)."""
    try:
        if path.stat().st_mtime < since_epoch:
            return []  # its index would give the whole second, written before the moment too
    except FileNotFoundError:
        return []
    if stamped:
        return _stamped_lines_since(path, since_epoch)
    offset = _offset_of_second(path, int(since_epoch))
    if offset is None:
        return []
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, offset - 1))
            data = handle.read()
    except FileNotFoundError:
        return []
    if offset > 0:
        # The byte before the offset: a newline means the offset starts a line; anything
        # else means a line begun earlier, which belongs to before the moment.
        head, data = data[:1], data[1:]
        if head != b"\n":
            data = data.partition(b"\n")[2]
    return data.decode(errors="replace").splitlines()


def _offset_of_second(path: Path, second: int) -> int | None:
    """Where the output of `second` or later starts; 0 without an index (all of it), None
    when the index says nothing was written since."""
    try:
        entries = index_path(path).read_text().split("\n")
    except FileNotFoundError:
        return 0
    for entry in entries:
        fields = entry.split()
        try:
            epoch, offset = float(fields[0]), int(fields[1])
        except (IndexError, ValueError):
            continue
        if int(epoch) >= second:
            return offset
    return None


def _stamped_lines_since(path: Path, since_epoch: float) -> list[str]:
    """Lines from the first whose stamp is at or after the moment; unstamped lines (a
    detached runner's own output) go with the stamped line before them."""
    lines = tail_lines(path, None)
    for index, line in enumerate(lines):
        stamp = line_time(line)
        if stamp is not None and stamp >= since_epoch:
            return lines[index:]
    return []


def line_time(line: str) -> float | None:
    """The epoch of a runner log line (`YYYY-MM-DD HH:MM:SS.mmm text`, local time)."""
    head = line[:_STAMP_LENGTH]
    try:
        whole = time.mktime(time.strptime(head[:19], _STAMP))
        return whole + int(head[20:23]) / 1000 if head[19] == "." else None
    except (ValueError, IndexError, OverflowError):
        return None
