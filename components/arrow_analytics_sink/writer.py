"""Commit event batches to Parquet (and JSON Lines, if asked), exactly once across crashes.

Layout under the output directory:

    parquet/date=YYYY-MM-DD/part-FIRST-LAST.parquet   (zstd)
    jsonl/date=YYYY-MM-DD/part-FIRST-LAST.jsonl
    _checkpoint.json
    _flowctl.lock        held by the sink writing here (flowctl.exclusive): a second is refused

FIRST-LAST is the ledger range of the committed batch (zero-padded), the date comes from
each event's timestamp (a batch spanning midnight writes one file per date). Every file
of a batch is first written completely to a hidden temp file (`.part-....tmp`, ignored by
Arrow, Spark and Hive readers); then the checkpoint that counts the batch is replaced,
naming those files (the commit point); then they are renamed into place. A reader of the
directory never sees an event the checkpoint does not count, even while a crashed sink
is down: nothing partial, nothing that will be written again. On start, `recover`
finishes the renames of the committed batch and deletes the other temp files, and the one
batch an older sink (which renamed before its checkpoint) may have left in view past it;
files of more batches past the checkpoint are refused, never deleted.

The directory is the sink's while it runs (`flowctl.exclusive`); removed or replaced
under it, it is not written again (OutputLostError), since its checkpoint went with it.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from flowctl.durable import fsync_path, temp_path
from flowctl.exclusive import DirectoryLock, lock_directory

from arrow_analytics_sink.checkpoint import (
    Checkpoint,
    CheckpointError,
    CheckpointStore,
    start_anew_advice,
)
from arrow_analytics_sink.render import (
    DEFAULT_FORMATS,
    FORMATS,
    JSONL,
    PARQUET,
    Renderer,
    Rendering,
)

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "JSONL",
    "PARQUET",
    "EventWriter",
    "OutputLostError",
    "Recovery",
    "SinkWriteError",
]

_DATA_FILE = re.compile(r"^part-(\d+)-(\d+)\.(parquet|jsonl)$")
log = logging.getLogger(__name__)


_REFUSAL_FIXES = {
    errno.ENOSPC: "free space on that disk",
    errno.EDQUOT: "free space within the disk quota",
    errno.EROFS: "remount that disk read-write",
}


def disk_refusal(error: OSError) -> str:
    """Why the disk refused, said once and with its fix: pyarrow's words for a full disk were
    `[Errno 28] Error writing bytes to file. Detail: [errno 28] No space left on device`."""
    fix = _REFUSAL_FIXES.get(error.errno or 0)
    if fix is None:
        return str(error)
    return f"{os.strerror(error.errno or 0)}; {fix}: the sink retries by itself, losing nothing"


class SinkWriteError(RuntimeError):
    """A batch could not be committed, or a committed one not yet renamed into view;
    nothing uncommitted is visible. Retry it later."""


class OutputLostError(RuntimeError):
    """The output directory was removed or replaced while the sink wrote it."""


@dataclass(frozen=True)
class Recovery:
    checkpoint: Checkpoint
    temp_files_removed: int
    uncommitted_files_removed: int
    committed_files_renamed: int


def data_file_name(first_ledger: int, last_ledger: int, fmt: str) -> str:
    return f"part-{first_ledger:010d}-{last_ledger:010d}.{fmt}"


class EventWriter:
    def __init__(
        self, output_dir: Path, *, formats: Iterable[str] = DEFAULT_FORMATS, durable: bool = True
    ) -> None:
        self.output_dir = output_dir
        self.formats = tuple(formats)
        unknown = set(self.formats) - set(FORMATS)
        if unknown or not self.formats:
            raise ValueError(f"formats must be a non-empty subset of {FORMATS}, got {self.formats}")
        self.durable = durable
        self.store = CheckpointStore(output_dir, durable=durable)
        self.checkpoint = Checkpoint()
        self._renderer = Renderer()
        self._lock: DirectoryLock | None = None
        self._held: tuple[int, int] | None = None  # the locked directory's (device, inode)
        # Folders holding renames not yet flushed: the next commit point flushes them, as
        # until then the checkpoint still names those files (a power cut: recover redoes).
        self._renamed_in: set[Path] = set()

    def close(self) -> None:
        self._renderer.close()
        if self._lock is not None:
            self._lock.release()

    def recover(self) -> Recovery:
        """Take the output directory (OutputInUseError while another process writes it),
        load the checkpoint, finish its batch's renames and remove whatever a crash left
        past it. CheckpointError, removing nothing, when more than that is past it."""
        if self._lock is None:
            self._lock = lock_directory(self.output_dir)
            self._held = _identity(self.output_dir)
        loaded = self.store.load()
        renamed = self._publish(loaded.pending)  # a crash cut the last commit short
        self.checkpoint = dataclasses.replace(loaded, pending=())
        temps: list[Path] = []
        past: dict[tuple[int, int], list[Path]] = {}  # data files past the checkpoint, by range
        for directory, _, names in os.walk(self.output_dir):
            for name in names:
                path = Path(directory) / name
                match = _DATA_FILE.match(name)
                if name.startswith(".") and name.endswith(".tmp"):
                    temps.append(path)
                elif match and int(match.group(1)) > self.checkpoint.last_ledger:
                    past.setdefault((int(match.group(1)), int(match.group(2))), []).append(path)
        if len(past) > 1:
            raise self._checkpoint_behind(past)
        for path in [*temps, *(path for paths in past.values() for path in paths)]:
            path.unlink()
        uncommitted = sum(len(paths) for paths in past.values())
        return Recovery(self.checkpoint, len(temps), uncommitted, renamed)

    def _checkpoint_behind(self, past: dict[tuple[int, int], list[Path]]) -> CheckpointError:
        """Several batches past the checkpoint: no crash leaves that (an older sink left
        one in view, this one none), so the checkpoint is not this folder's: deleted (as an
        older message advised) or restored from an older copy. Recovery deleted the files
        as leftovers, silently; the input may no longer serve them (RPC keeps a week)."""
        files = sorted(path for paths in past.values() for path in paths)
        first = min(first for first, _ in past)
        last = max(last for _, last in past)
        checkpoint = (
            f"the checkpoint at ledger {self.checkpoint.last_ledger}"
            if self.store.path.exists()
            else f"no checkpoint ({self.store.path.name} is missing)"
        )
        return CheckpointError(
            f"{self.output_dir}: {len(files)} data files hold ledgers {first}-{last} (e.g. "
            f"{files[0].relative_to(self.output_dir)}), but {checkpoint} counts none of "
            "them: it does not describe this folder. Nothing was removed. Restore the "
            f"checkpoint that counts them, or {start_anew_advice(self.output_dir)}; to "
            "write those ledgers again on purpose, delete their files first"
        )

    def commit(self, events: pa.Table, first_ledger: int, last_ledger: int) -> Checkpoint:
        """Write the events of ledgers first..last (whole ledgers) and advance the checkpoint.

        Ledgers at or before the checkpoint are dropped (a resumed stream may repeat
        them). On an OSError before the commit point the files of this batch are removed
        and SinkWriteError raised: the checkpoint and the visible output are as before the
        call. One after it (renaming into view) raises SinkWriteError too; the batch is
        committed, and the next call finishes its renames before anything else.
        """
        self._check_held()
        self._publish_committed()
        if last_ledger <= self.checkpoint.last_ledger:
            return self.checkpoint
        if first_ledger <= self.checkpoint.last_ledger:
            floor = pa.scalar(self.checkpoint.last_ledger, pa.uint32())
            events = events.filter(pc.greater(events.column("ledger_sequence"), floor))
            first_ledger = self.checkpoint.last_ledger + 1
        staged: list[Path] = []
        files = [
            (date, fmt, self._renderer.render(part, fmt))
            for date, part in _by_date(events)
            for fmt in self.formats
        ]
        try:
            for date, fmt, rendering in files:
                staged.append(self._stage(rendering, date, fmt, first_ledger, last_ledger))
            if self.durable:  # the temp files' names survive a power cut, as the data does
                for directory in {path.parent for path in staged} | self._renamed_in:
                    fsync_path(directory)
                self._renamed_in.clear()
            names = tuple(str(path.relative_to(self.output_dir)) for path in staged)
            advanced = self.checkpoint.advanced(last_ledger, events.num_rows, names)
            self._check_held()  # removed while this batch was written: not into another
            self.store.save(advanced)  # the commit point
        except OSError as e:
            for _, _, rendering in files:
                rendering.cancel()
            self._discard([temp_path(path) for path in staged])
            raise SinkWriteError(
                f"cannot commit ledgers {first_ledger}-{last_ledger} to {self.output_dir}: "
                f"{disk_refusal(e)}"
            ) from e
        self.checkpoint = advanced
        self._publish_committed()
        return advanced

    def _publish_committed(self) -> None:
        """Rename the committed batch's files into view (SinkWriteError if that fails)."""
        if not self.checkpoint.pending:
            return
        try:
            self._publish(self.checkpoint.pending)
        except OSError as e:
            raise SinkWriteError(
                f"cannot show the committed ledgers up to {self.checkpoint.last_ledger} in "
                f"{self.output_dir}: {disk_refusal(e)}"
            ) from e
        self.checkpoint = dataclasses.replace(self.checkpoint, pending=())

    def _publish(self, names: Iterable[str]) -> int:
        """Rename the temp files of these committed files into place; how many it renamed
        (none for one already in place)."""
        renamed = 0
        for name in names:
            final = self.output_dir / name
            try:
                os.replace(temp_path(final), final)
            except FileNotFoundError:
                continue  # renamed before
            renamed += 1
            self._renamed_in.add(final.parent)
        return renamed

    def _check_held(self) -> None:
        if self._held is not None and _identity(self.output_dir) != self._held:
            raise OutputLostError(
                f"{self.output_dir} was removed or replaced while this sink wrote it, with "
                "the checkpoint that said what it holds: stopping. Started again, the sink "
                "writes the directory anew from the start of its input"
            )

    def _stage(
        self, rendering: Rendering, date: str, fmt: str, first_ledger: int, last_ledger: int
    ) -> Path:
        """Write one data file under its hidden temp name; return its final path."""
        directory = self.output_dir / fmt / f"date={date}"
        if not directory.is_dir():
            directory.mkdir(parents=True, exist_ok=True)
            if self.durable:
                fsync_path(directory.parent)
        path = directory / data_file_name(first_ledger, last_ledger, fmt)
        temp = temp_path(path)
        try:
            with pa.OSFile(str(temp), "wb") as handle:
                for chunk in rendering:
                    handle.write(chunk)
            if self.durable:
                fsync_path(temp)
        except BaseException:
            self._discard([temp])
            raise
        return path

    def _discard(self, paths: list[Path]) -> None:
        for path in paths:
            try:
                path.unlink(missing_ok=True)
            except OSError as e:  # removed again by recover() at the next start
                log.warning("could not remove uncommitted %s: %s", path, e)


def _identity(directory: Path) -> tuple[int, int] | None:
    try:
        stat = directory.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _by_date(events: pa.Table) -> list[tuple[str, pa.Table]]:
    """The events split by UTC date of their timestamp, in date order."""
    if events.num_rows == 0:
        return []
    # The UTC instant as a zone-less timestamp, then its day: casts, no zone lookups.
    micros = events.column("timestamp").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
    days = micros.cast(pa.timestamp("us")).cast(pa.date32()).combine_chunks()
    dates = pc.unique(days).sort()
    if len(dates) == 1:
        return [(str(dates[0]), events)]
    changes = pc.indices_nonzero(pc.not_equal(days[1:], days[:-1])).to_pylist()
    bounds = [0, *(change + 1 for change in changes), events.num_rows]
    if days.take(bounds[:-1]).equals(dates):
        # Events in ledger order: each date is one run of rows, a zero-copy slice.
        return [
            (str(date), events.slice(start, end - start))
            for date, start, end in zip(dates, bounds, bounds[1:], strict=False)
        ]
    return [(str(date), events.filter(pc.equal(days, date))) for date in dates]
