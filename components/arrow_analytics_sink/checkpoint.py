"""The sink's checkpoint: the last ledger whose events are all in the output.

It is the only commit point. Data files of a batch are renamed into place first, the
checkpoint is replaced after them; a file whose first ledger is past the checkpoint is
therefore uncommitted (a crash happened between the two) and recovery removes it.
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

    def advanced(self, last_ledger: int, events: int, files: int) -> Checkpoint:
        return Checkpoint(
            last_ledger=last_ledger,
            events_written=self.events_written + events,
            files_written=self.files_written + files,
            updated_at=time.time(),
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
            )
        except (ValueError, KeyError, TypeError) as e:
            raise CheckpointError(
                f"{self.path}: not a sink checkpoint ({e}); move it away to start over"
            ) from e

    def save(self, checkpoint: Checkpoint) -> None:
        data = json.dumps(asdict(checkpoint), sort_keys=True).encode()
        write_atomically(self.path, data, durable=self.durable)
