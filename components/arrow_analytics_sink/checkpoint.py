"""The sink's checkpoint: the last ledger whose events are all in the output.

It is the only commit point. The data files of a batch are written under hidden temp
names first; the checkpoint that counts the batch names them (`pending`); only then are
they renamed into view. A reader therefore never sees an event the checkpoint does not
count: after a crash before the checkpoint, the temp files are removed and the ledgers
read again; after it, recovery (or the next commit) finishes the renames.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from flowctl.durable import write_atomically

CHECKPOINT_NAME = "_checkpoint.json"


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
            return Checkpoint(
                last_ledger=int(values["last_ledger"]),
                events_written=int(values["events_written"]),
                files_written=int(values["files_written"]),
                updated_at=float(values.get("updated_at", 0.0)),
                pending=tuple(str(name) for name in values.get("pending", ())),
            )
        except (ValueError, KeyError, TypeError) as e:
            raise CheckpointError(
                f"{self.path}: not a sink checkpoint ({e}); move it away to start over"
            ) from e

    def save(self, checkpoint: Checkpoint) -> None:
        data = json.dumps(asdict(checkpoint), sort_keys=True).encode()
        write_atomically(self.path, data, durable=self.durable)
