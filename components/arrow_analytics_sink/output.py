"""Reading a sink's committed output back (for checks, tests and notebooks).

An output folder can hold files of several TTPEvent schema versions: a sink of an older
flowrun wrote version 1 (21 columns, up to commit 2a40670), a newer one resuming the same
folder adds version 2 files (contract_address, to_muxed_type, to_muxed_value). The
Parquet reader takes the columns by name, with nulls where an older file has none.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from stellar_common.event_schema import TTP_EVENT_SCHEMA

from arrow_analytics_sink.writer import JSONL, PARQUET

EVENT_ORDER = [
    ("ledger_sequence", "ascending"),
    ("transaction_index", "ascending"),
    ("operation_index", "ascending"),
]
SCHEMA_NAME = TTP_EVENT_SCHEMA.metadata[b"name"]
SCHEMA_VERSION = int(TTP_EVENT_SCHEMA.metadata[b"version"])


class OutputReadError(RuntimeError):
    """A data file of the output cannot be read as TTPEvent rows."""


def read_parquet_events(output_dir: Path) -> pa.Table:
    """Every event of the Parquet output, in ledger/transaction/operation order; columns an
    older file lacks are null. OutputReadError names a file that cannot be read."""
    root = output_dir / PARQUET
    if not root.is_dir():
        return TTP_EVENT_SCHEMA.empty_table()
    # The schema is given, not inferred: inferred from the first file, a folder an older
    # sink began refused the rest ("No match for FieldRef.Name(contract_address)").
    dataset = ds.dataset(root, schema=TTP_EVENT_SCHEMA, format="parquet", partitioning="hive")
    try:
        table = dataset.to_table()
    except (pa.ArrowException, OSError) as e:
        _raise_for_the_file(dataset, e)
        raise
    if _required_column_missing(table):
        _raise_for_the_file(dataset, None)
    return table.sort_by(EVENT_ORDER).cast(TTP_EVENT_SCHEMA).combine_chunks()


def read_jsonl_events(output_dir: Path) -> list[dict[str, object]]:
    """Every event of the JSON Lines output, in file order (a row of an older sink lacks
    the keys of columns added since)."""
    rows: list[dict[str, object]] = []
    for path in sorted((output_dir / JSONL).rglob("*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            rows.extend(json.loads(line) for line in handle)
    return rows


def older_schema_note(output_dir: Path) -> str | None:
    """What a sink about to add files to this output should tell its user when the newest
    Parquet file there is of an older TTPEvent version: readers that take the columns of
    one file (Spark without mergeSchema, a dataset inferred from its first file) then
    miss the new columns or refuse the folder. None when it is current, or there is none."""
    newest = _newest_parquet_file(output_dir / PARQUET)
    if newest is None:
        return None
    try:
        schema = pq.read_schema(newest)
    except (pa.ArrowException, OSError):
        return None  # not the sink's to judge: the reader names such a file
    metadata = schema.metadata or {}
    try:
        version = int(metadata.get(b"version", b""))
    except ValueError:
        return None
    if metadata.get(b"name") != SCHEMA_NAME or version >= SCHEMA_VERSION:
        return None
    added = ", ".join(name for name in TTP_EVENT_SCHEMA.names if name not in schema.names)
    return (
        f"{output_dir} holds Parquet files of TTPEvent version {version} (written by an "
        f"older flowrun, e.g. {newest.relative_to(output_dir)}); this sink adds version "
        f"{SCHEMA_VERSION} files, with the columns {added}. Read the folder with columns "
        "merged by name (arrow_analytics_sink.output.read_parquet_events, DuckDB "
        "union_by_name=true, Spark mergeSchema=true): the older files have nulls there"
    )


def _newest_parquet_file(root: Path) -> Path | None:
    """The data file of the last committed batch: the last name in the last date folder
    (names hold the zero-padded ledger range), without a walk of the whole output."""
    try:
        dates = sorted(path for path in root.iterdir() if path.name.startswith("date="))
    except OSError:
        return None
    for date in reversed(dates):
        try:
            files = sorted(date.glob("part-*.parquet"))
        except OSError:
            continue
        if files:
            return files[-1]
    return None


def _required_column_missing(table: pa.Table) -> list[str]:
    """The columns the schema says are never null that have nulls: a file lacks them (the
    dataset fills a missing column with nulls, whatever the schema says)."""
    return [
        field.name
        for field in TTP_EVENT_SCHEMA
        if not field.nullable and table.column(field.name).null_count
    ]


def _raise_for_the_file(dataset: ds.FileSystemDataset, error: BaseException | None) -> None:
    """OutputReadError naming the first file that cannot be read alone (Arrow's error for
    a whole dataset names no file, or not the one at fault); returns if none is found."""
    for fragment in dataset.get_fragments():
        try:
            part = fragment.to_table(schema=TTP_EVENT_SCHEMA)
        except (pa.ArrowException, OSError) as e:
            raise OutputReadError(_unreadable(fragment.path, str(e))) from e
        missing = _required_column_missing(part)
        if missing:
            reason = f"no values in {', '.join(missing)}, which every event has"
            raise OutputReadError(_unreadable(fragment.path, reason)) from error


def _unreadable(path: str, reason: str) -> str:
    return (
        f"{path}: cannot be read as TTPEvent rows ({reason}); it is not a file this sink "
        "writes, or one of a newer flowrun: move it out of the output folder, or read the "
        "folder with the flowrun that wrote it"
    )
