"""The sink's checkpoint: the last ledger whose events are all in the output.

It is the only commit point. The data files of a batch are written under hidden temp
names first; the checkpoint that counts the batch names them (`pending`); only then are
they renamed into view. A reader therefore never sees an event the checkpoint does not
count: after a crash before the checkpoint, the temp files are removed and the ledgers
read again; after it, recovery (or the next commit) finishes the renames.

The file carries its `format`. Every sink up to this one wrote format 1 (those before the
field wrote the same fields). A later format is refused with what to do rather than read
as format 1, whose fields it may keep with another meaning.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from flowctl.durable import write_atomically

CHECKPOINT_NAME = "_checkpoint.json"
CHECKPOINT_FORMAT = 1


class CheckpointError(RuntimeError):
    """The checkpoint file exists but cannot be understood."""


@dataclass(frozen=True)
class Checkpoint:
    last_ledger: int = 0
    events_written: int = 0
    files_written: int = 0
    updated_at: float = 0.0
    pending: tuple[str, ...] = ()
    """The last batch's files (relative to the output directory) that may still be under
    their temp names: committed, to be renamed into view."""

    def advanced(self, last_ledger: int, events: int, files: tuple[str, ...]) -> Checkpoint:
        return Checkpoint(
            last_ledger=last_ledger,
            events_written=self.events_written + events,
            files_written=self.files_written + len(files),
            updated_at=time.time(),
            pending=files,
        )


class CheckpointStore:
    def __init__(self, output_dir: Path, *, durable: bool = True) -> None:
        self.path = output_dir / CHECKPOINT_NAME
        self.durable = durable

    def load(self) -> Checkpoint:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Checkpoint()
        try:
            values = json.loads(text)
            if not isinstance(values, dict):
                raise TypeError("not a JSON object")
            written_format = values.get("format", 1)  # a sink before the field: format 1
            # bool is an int to Python: `"format": true` is no format of ours.
            if isinstance(written_format, bool) or not isinstance(written_format, int):
                raise TypeError(f"format {written_format!r} is not a number")
            if written_format < 1:
                raise ValueError(f"format {written_format} is none of ours")
            if written_format > CHECKPOINT_FORMAT:
                raise CheckpointError(
                    f"{self.path}: checkpoint format {written_format!r}, written by a newer "
                    f"arrow-analytics-sink; this one reads format {CHECKPOINT_FORMAT}. Run "
                    f"the flowrun that wrote it, or {start_anew_advice(self.path.parent)}"
                )
            return Checkpoint(
                last_ledger=_count(values, "last_ledger"),
                events_written=_count(values, "events_written"),
                files_written=_count(values, "files_written"),
                updated_at=float(values.get("updated_at", 0.0)),
                pending=_names(values.get("pending", [])),
            )
        except (ValueError, KeyError, TypeError) as e:
            # Not "move it away to start over": without it, the next start took every data
            # file of the folder for a crash's leftovers and deleted them.
            raise CheckpointError(
                f"{self.path}: not a sink checkpoint ({e}). It says which ledgers the data "
                f"files beside it hold: restore it, or {start_anew_advice(self.path.parent)}"
            ) from e

    def save(self, checkpoint: Checkpoint) -> None:
        values = {"format": CHECKPOINT_FORMAT, **asdict(checkpoint)}
        data = json.dumps(values, sort_keys=True).encode()
        write_atomically(self.path, data, durable=self.durable)


def _count(values: dict[str, object], key: str) -> int:
    """A whole number >= 0, as the sink writes it: `int()` also took `true`, `22.7` and
    `-5`, and the sink resumed from what they became."""
    value = values[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} is {value!r}, not a whole number >= 0")
    return value


def _names(value: object) -> tuple[str, ...]:
    """The pending file names: a list of strings (a string alone was read as one name
    per character, each renamed into view or not found)."""
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ValueError(f"pending is {value!r}, not a list of file names")
    return tuple(value)


def start_anew_advice(output_dir: Path) -> str:
    """What to do to start over without losing what is there: the folder kept aside."""
    kept = output_dir.with_name(output_dir.name + ".old")
    return (
        f"move the folder aside (mv {shlex.quote(str(output_dir))} "
        f"{shlex.quote(str(kept))}) to write a new one from the start of the input"
    )
