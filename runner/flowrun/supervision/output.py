"""Where component output goes: a rotated file per component, and the shared console.

The console is written by one thread behind a bounded queue: a slow terminal (or a pipe
nobody reads) drops console lines, counted and said, and never blocks the event loop.
It prints `name | line` (coloured on a terminal), or one JSON object per line for log
collectors (`flowrun up --log-format json`).
The files get every byte, as the component wrote them; beside each, `name.log.idx` notes
at which offset each second's output starts, for `flowrun logs --since`.
A component writing faster than `RATE_BYTES_PER_SECOND` has its pipe paused for a moment,
so a flood costs the flooder time, not the runner or the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO, TextIO

from flowrun.files import is_file_at
from flowrun.secrets import Redactor
from flowrun.supervision.log_writes import LogWrites

MAX_LOG_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 3
RATE_BYTES_PER_SECOND = 4 * 1024 * 1024
RATE_BURST_BYTES = 1024 * 1024
MAX_PENDING_LINE = 8192
RECENT_BYTES = 4096
CONSOLE_QUEUE_ITEMS = 2000
RUNNER_NAME = "flowrun"
INDEX_SUFFIX = ".idx"
LOG_FORMATS = ("text", "json")
_COLOURS = ("36", "33", "32", "35", "34", "1;36", "1;33", "1;32", "1;35", "1;34")


class RotatingLogFile:
    """Appends bytes; past max_bytes, `name.log` becomes `name.log.1` (and so on)."""

    def __init__(
        self,
        path: Path,
        max_bytes: int = MAX_LOG_BYTES,
        backups: int = LOG_BACKUPS,
        *,
        writes: LogWrites | None = None,
    ) -> None:
        self.path = path
        self._max_bytes = max_bytes
        self._backups = backups
        self._writes = writes or LogWrites()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(path, "ab", buffering=0)  # noqa: SIM115 - lives as long as the component
        self._size = self._handle.tell()
        # Unbuffered bytes, as the log: a buffer the disk refused would be written later,
        # out of place, or again.
        self._index = open(index_path(path), "ab", buffering=0)  # noqa: SIM115 - same life
        self._indexed_second: int | None = None
        self._refused = False
        """The disk refused (the end of) the last write."""
        self._mid_line = False
        """The file ends inside a line."""

    def write(self, data: bytes) -> None:
        """Append `data`. Never raises: what the disk refuses is counted by `writes`."""
        if self._size + len(data) > self._max_bytes and self._size > 0:
            self._rotate()
        if int(time.time()) != self._indexed_second:  # once a second, for a stat or two
            self._follow_path()
        self._note_time()
        if self._refused and self._mid_line:  # resume on a line of its own, not the cut one
            data = b"\n" + data
        written = self._writes.append(self.path, self._handle, data)
        self._size += written
        self._refused = written < len(data)
        if written:
            self._mid_line = data[written - 1 : written] != b"\n"

    def close(self) -> None:
        self._handle.close()  # unbuffered: nothing is left to write that a disk could refuse
        self._index.close()

    def reopen(self) -> None:
        """Open the file and its index again at `path`: after the folder was removed or
        replaced (the runner's state directory was), the open ones are files nobody reads.
        Never creates a folder: one that is missing may be a deploy's, half swapped."""
        if self._handle.closed:
            return  # closed for good: its component is gone
        handle = open(self.path, "ab", buffering=0)  # noqa: SIM115 - replaces self._handle
        try:
            index = open(index_path(self.path), "ab", buffering=0)  # noqa: SIM115 - same
        except OSError:
            handle.close()
            raise
        self.close()
        self._handle, self._index = handle, index
        self._size = handle.tell()
        self._indexed_second = None  # the new index starts with the next write

    def _follow_path(self) -> None:
        """Reopen at `path` when the file there is no longer this one (removed, or its folder
        replaced), as logging's WatchedFileHandler does; while its folder is missing, go on
        in the old file until the runner has made the folder again."""
        if not is_file_at(self._handle.fileno(), self.path):
            with contextlib.suppress(OSError):
                self.reopen()

    def _note_time(self) -> None:
        """One `epoch offset` line per second that has output: where that second starts."""
        now = time.time()
        if int(now) != self._indexed_second:
            self._indexed_second = int(now)
            with contextlib.suppress(OSError):  # a second without its line: --since reads on
                self._index.write(f"{now:.3f} {self._size}\n".encode())

    def _rotate(self) -> None:
        """Shift the backups and start a new file. If that fails (the state directory is
        gone for a moment, the disk refuses) the output goes on in the open file, a little
        past max_bytes, and the next write tries again. (It closed the file first and
        raised: every later line of the component was lost, from its log and the console.)"""
        try:
            if not is_file_at(self._handle.fileno(), self.path):  # moved away: start anew
                self.reopen()
                return
            shift_backups(self.path, self._backups)
            with contextlib.suppress(FileNotFoundError):  # it described the file just moved
                os.unlink(index_path(self.path))
            self.reopen()
        except OSError:
            return


def shift_backups(path: Path, backups: int) -> None:
    """`name.log` becomes `name.log.1`, `.1` becomes `.2` and so on; the one past `backups`
    is overwritten."""
    for index in range(backups - 1, 0, -1):
        older = path.with_name(f"{path.name}.{index}")
        if older.exists():
            os.replace(older, path.with_name(f"{path.name}.{index + 1}"))
    os.replace(path, path.with_name(f"{path.name}.1"))


def index_path(log_path: Path) -> Path:
    """The time index beside a log file: `name.log.idx`."""
    return log_path.with_name(log_path.name + INDEX_SUFFIX)


def colour_wanted(
    stream: TextIO, environ: Mapping[str, str] | None = None, *, refused: bool = False
) -> bool:
    """Colour on a terminal; never with `--no-color` (`refused`) or a non-empty NO_COLOR
    (no-color.org); always with FORCE_COLOR set to anything but "" or "0"."""
    env = os.environ if environ is None else environ
    if refused or env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    return stream.isatty()


def json_line(name: str, stream: str, message: str, epoch: float | None = None) -> str:
    """One line of `--log-format json`: time (UTC, ISO 8601), component, stream, message."""
    now = time.time() if epoch is None else epoch
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    record = {"time": stamp, "component": name, "stream": stream, "message": message}
    return json.dumps(record, ensure_ascii=False)


class Console:
    """One output stream shared by every component: `name | line`, aligned and coloured,
    or with `log_format="json"` one JSON object per line: the component's output has
    stream "output" (its stdout and stderr, merged), the runner's own lines "event"."""

    def __init__(
        self,
        stream: TextIO,
        *,
        colour: bool,
        names: list[str],
        lossless: bool = False,
        runner_lines: bool = True,
        log_format: str = "text",
    ) -> None:
        self._json = log_format == "json"
        self._stream = stream
        self._lossless = lossless
        self._runner_lines = runner_lines
        self._colour = colour
        self._prefixes: dict[str, str] = {}
        self._width = 0
        self._queue: queue.Queue[str | None] = queue.Queue(CONSOLE_QUEUE_ITEMS)
        self._dropped: dict[str, int] = {}
        self.reader_gone = False
        """Set once a write found the pipe's reader gone (`flowrun logs -f | head`)."""
        self._thread = threading.Thread(target=self._write_forever, name="console", daemon=True)
        self.set_names(names)
        self._thread.start()

    def set_names(self, names: list[str]) -> None:
        known = [RUNNER_NAME, *names] if self._runner_lines else list(names)
        self._width = max(len(name) for name in known)
        colours = {name: _COLOURS[index % len(_COLOURS)] for index, name in enumerate(names)}
        self._prefixes = {name: self._paint(name, colours.get(name, "1")) for name in known}
        self._prefixes.setdefault(RUNNER_NAME, self._paint(RUNNER_NAME, "1"))

    def lines(self, name: str, text: str, *, stream: str = "output") -> None:
        """Print complete lines (text without its final newline) under the name's prefix."""
        if self._json:
            block = "".join(json_line(name, stream, line) + "\n" for line in text.split("\n"))
        else:
            prefix = self._prefixes.get(name) or self._paint(name, "1")
            block = prefix + ("\n" + prefix).join(text.split("\n")) + "\n"
        self._put(name, block, text.count("\n") + 1)

    def event(self, text: str) -> None:
        self.lines(RUNNER_NAME, text, stream="event")

    def close(self, timeout_seconds: float = 2.0) -> None:
        try:
            self._queue.put(None, timeout=timeout_seconds)
        except queue.Full:
            return
        self._thread.join(timeout_seconds)

    def _paint(self, name: str, colour: str) -> str:
        label = f"{name.ljust(self._width)} | "
        return f"\x1b[{colour}m{label}\x1b[0m" if self._colour else label

    def _put(self, name: str, block: str, count: int) -> None:
        dropped = self._dropped.pop(name, 0)
        if dropped:
            notice = (
                f"{dropped} lines of {name} dropped: the console is too slow "
                "(all are in its log file)"
            )
            if self._json:
                block = json_line(RUNNER_NAME, "event", notice) + "\n" + block
            else:
                block = self._prefixes[RUNNER_NAME] + notice + "\n" + block
        try:
            self._queue.put(block, block=self._lossless)
        except queue.Full:
            self._dropped[name] = dropped + count

    def _write_forever(self) -> None:
        fd = _file_descriptor(self._stream)
        while (block := self._queue.get()) is not None:
            try:
                if fd is None:
                    self._stream.write(block)
                    self._stream.flush()
                else:
                    _write_all(fd, block.encode(errors="replace"))
            except BrokenPipeError:
                self.reader_gone = True  # the runner goes on; `flowrun logs` stops
            except (OSError, ValueError):
                continue  # a closed terminal must not kill the runner


def _file_descriptor(stream: TextIO) -> int | None:
    """Straight to the descriptor when there is one: a terminal nobody reads then blocks this
    thread alone, never a lock the interpreter needs to flush and exit."""
    try:
        stream.flush()
        return stream.fileno()
    except (OSError, ValueError, AttributeError):
        return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class OutputStream:
    """The output of one component: to its file, to the console, at a bounded rate."""

    def __init__(
        self,
        name: str,
        logfile: RotatingLogFile,
        console: Console | None,
        *,
        rate: float = RATE_BYTES_PER_SECOND,
    ) -> None:
        self.name = name
        self._file = logfile
        self._console = console
        self._pending = b""
        self._rate = rate
        self._tokens = float(RATE_BURST_BYTES)
        self._refilled = time.monotonic()
        self._transport: asyncio.ReadTransport | None = None
        self._recent = bytearray()
        self.throttled_times = 0
        self.redact = Redactor()  # given the secrets of each process at its launch

    def attach(self, transport: asyncio.ReadTransport | None) -> None:
        """The pipe of a new process: what it prints is the tail that explains its end, not
        the lines of the run before (a crash at start would be quoted twice)."""
        self._transport = transport
        self._recent.clear()

    def feed(self, data: bytes) -> None:
        size = len(data)
        self._write(self.redact(data))
        self._limit(size)

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._recent += data[-RECENT_BYTES:]
        del self._recent[:-RECENT_BYTES]
        if self._console is not None:
            self._echo(data)

    def tail_text(self, lines: int = 10) -> str:
        """The last lines this component printed, to explain why it failed."""
        text = self._recent.decode(errors="replace").rstrip("\n")
        return "\n".join(text.splitlines()[-lines:]) if text else ""

    def flush(self) -> None:
        self._write(self.redact.flush())
        if self._pending and self._console is not None:
            self._console.lines(self.name, self._pending.decode(errors="replace"))
        self._pending = b""

    def close(self) -> None:
        self.flush()
        self._file.close()

    def _echo(self, data: bytes) -> None:
        text = self._pending + data
        complete, _, rest = text.rpartition(b"\n")
        if len(rest) > MAX_PENDING_LINE:
            complete, rest = text, b""
        self._pending = rest
        if complete and self._console is not None:
            self._console.lines(self.name, complete.decode(errors="replace"))

    def _limit(self, size: int) -> None:
        now = time.monotonic()
        self._tokens = min(RATE_BURST_BYTES, self._tokens + (now - self._refilled) * self._rate)
        self._refilled = now
        self._tokens -= size
        transport = self._transport
        if self._tokens >= 0 or transport is None or transport.is_closing():
            return
        transport.pause_reading()
        self.throttled_times += 1
        asyncio.get_running_loop().call_later(-self._tokens / self._rate, self._resume, transport)

    def _resume(self, transport: asyncio.ReadTransport) -> None:
        if not transport.is_closing():
            transport.resume_reading()


class EventLog:
    """The runner's own lines: timestamped in `runner.log`, prefixed on the console.

    Rotated as a component's log is: a runner that lives for months, restarting a component
    that crashes now and then (each restart quotes the end of its log), grew it without
    bound."""

    def __init__(
        self,
        path: Path,
        console: Console | None,
        *,
        writes: LogWrites | None = None,
        max_bytes: int = MAX_LOG_BYTES,
        backups: int = LOG_BACKUPS,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle = _open_event_log(path)
        self._size = self._handle.tell()
        self._max_bytes = max_bytes
        self._backups = backups
        self._console = console
        self._writes = writes or LogWrites()
        # Lines come from gRPC's threads too (library logging), and a rotation or a reopen
        # swaps the file under them. Re-entered when a line the disk refused is said.
        self._lock = threading.RLock()

    def __call__(self, text: str) -> None:
        """Never raises (the supervision step that says something goes on): what the disk
        refuses is counted by `writes`, and the console gets the line all the same."""
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        data = _event_log_bytes(f"{stamp}.{int(now % 1 * 1000):03d} {text}\n")
        with self._lock:
            if self._size + len(data) > self._max_bytes and self._size > 0:
                self._rotate()
            self._size += self._writes.append(self.path, self._handle, data)
        if self._console is not None:
            self._console.event(text)

    def close(self) -> None:
        with self._lock:
            self._handle.close()

    def reopen(self) -> None:
        """Open `path` again, after its folder was removed or replaced, or the file rotated.
        A detached runner's stdout and stderr are the old file too (detach.py): they follow,
        so a traceback lands where `flowrun logs` reads; a terminal's are left alone."""
        with self._lock:
            old = os.fstat(self._handle.fileno())
            handle = _open_event_log(self.path)
            for fd in (1, 2):
                with contextlib.suppress(OSError):  # closed: nothing to follow
                    if os.path.samestat(os.fstat(fd), old):
                        os.dup2(handle.fileno(), fd)
            self._handle.close()
            self._handle = handle
            self._size = handle.tell()

    def _rotate(self) -> None:
        """As RotatingLogFile's: on failure the lines go on in the open file, tried again
        at the next line."""
        with contextlib.suppress(OSError):
            shift_backups(self.path, self._backups)
            self.reopen()


def _open_event_log(path: Path) -> BinaryIO:
    """The runner's log for appending lines, unbuffered: a line the disk refused is not
    kept in a buffer to be written later, out of place."""
    return open(path, "ab", buffering=0)


def _event_log_bytes(line: str) -> bytes:
    """A path or a variable whose bytes are not UTF-8 is held by Python with a surrogate
    for each such byte; `surrogateescape` writes that byte back, where the default strict
    UTF-8 raised on the runner's very first line (its spec's path) and the runner died
    before it started anything."""
    return line.encode("utf-8", errors="surrogateescape")


class _ForwardToEvents(logging.Handler):
    def __init__(self, events: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self._events = events

    def emit(self, record: logging.LogRecord) -> None:
        self._events(f"{record.name.rsplit('.', 1)[-1]}: {record.getMessage()}")


def forward_library_logs(events: Callable[[str], None]) -> logging.Handler:
    """Send flowrun's library log records (the embedded controller's) to the runner's log;
    the caller removes the handler from the `flowrun` logger when done."""
    handler = _ForwardToEvents(events)
    root = logging.getLogger("flowrun")
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    return handler
