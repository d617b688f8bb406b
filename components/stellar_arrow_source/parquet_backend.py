"""Replay ledgers from Parquet files of the StellarLedger schema.

`parquet_path` is one file or a directory of them (searched recursively); any file
layout works, since ledgers are selected by their `sequence` column with predicate
push-down. `write_ledgers` captures batches (from the generator or a live source) into
such a directory, one file per batch, so a range can be replayed later.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from flowctl.options import ConfigError
from stellar_common.ledger_schema import (
    LEDGER_CLOSE_META,
    STELLAR_LEDGER_SCHEMA,
    empty_batch,
    ledger_range,
)

log = logging.getLogger("stellar.parquet")


class ParquetLedgers:
    """Random access by sequence to the ledgers stored under `path`."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise ConfigError(f"config.parquet_path={str(path)!r}: no such file or directory")
        self.path = path
        try:
            self.dataset = ds.dataset(path, format="parquet")
        except (pa.ArrowInvalid, OSError) as e:
            raise ConfigError(f"config.parquet_path={str(path)!r}: not Parquet ({e})") from e
        self._stored_columns = [
            name for name in STELLAR_LEDGER_SCHEMA.names if name in self.dataset.schema.names
        ]
        # Captures made before the raw-XDR column existed stay readable (the column is null).
        missing = set(STELLAR_LEDGER_SCHEMA.names) - set(self.dataset.schema.names)
        missing.discard(LEDGER_CLOSE_META)
        if missing:
            raise ConfigError(
                f"config.parquet_path={str(path)!r}: not StellarLedger data, "
                f"missing columns {sorted(missing)}"
            )
        sequences = self.dataset.to_table(columns=["sequence"]).column("sequence")
        if len(sequences) == 0:
            raise ConfigError(f"config.parquet_path={str(path)!r}: holds no ledger")
        bounds = pc.min_max(sequences)
        self.first_ledger = int(bounds["min"].as_py())
        self.last_ledger = int(bounds["max"].as_py())
        distinct = len(pc.unique(sequences))
        if distinct != len(sequences):
            raise ConfigError(
                f"config.parquet_path={str(path)!r}: {len(sequences) - distinct} ledgers "
                "are stored twice; keep one copy of each"
            )
        expected = self.last_ledger - self.first_ledger + 1
        if distinct != expected:
            log.warning(
                "%s: %d ledgers missing between %d and %d; they are skipped",
                path,
                expected - distinct,
                self.first_ledger,
                self.last_ledger,
            )

    def bounds(self) -> tuple[int, int | None]:
        return self.first_ledger, self.last_ledger

    def ledger_batch(self, first: int, last: int) -> pa.RecordBatch:
        """The stored ledgers of first..last, in order (fewer rows where ledgers are missing)."""
        sequence = ds.field("sequence")
        table = self.dataset.to_table(
            columns=self._stored_columns,
            filter=(sequence >= first) & (sequence <= last),
        )
        if LEDGER_CLOSE_META not in table.column_names:
            meta_type = STELLAR_LEDGER_SCHEMA.field(LEDGER_CLOSE_META).type
            table = table.append_column(LEDGER_CLOSE_META, pa.nulls(table.num_rows, meta_type))
        table = table.sort_by("sequence").cast(STELLAR_LEDGER_SCHEMA).combine_chunks()
        batches = table.to_batches()
        return batches[0] if batches else empty_batch(STELLAR_LEDGER_SCHEMA)


def write_ledgers(directory: Path, batches: Iterable[pa.RecordBatch]) -> list[Path]:
    """Store each non-empty batch as `ledgers-FIRST-LAST.parquet` (snappy) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for batch in batches:
        if batch.num_rows == 0:
            continue
        first, last = ledger_range(batch)
        path = directory / f"ledgers-{first:010d}-{last:010d}.parquet"
        temp = path.with_name(f".{path.name}.tmp")
        pq.write_table(pa.Table.from_batches([batch]), temp, compression="snappy")
        temp.replace(path)
        written.append(path)
    return written
