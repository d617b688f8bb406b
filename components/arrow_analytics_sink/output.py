"""Reading a sink's committed output back (for checks, tests and notebooks)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
from stellar_common.event_schema import TTP_EVENT_SCHEMA

from arrow_analytics_sink.writer import JSONL, PARQUET

EVENT_ORDER = [
    ("ledger_sequence", "ascending"),
    ("transaction_index", "ascending"),
    ("operation_index", "ascending"),
]


def read_parquet_events(output_dir: Path) -> pa.Table:
    """Every event of the Parquet output, in ledger/transaction/operation order."""
    root = output_dir / PARQUET
    if not root.is_dir():
        return TTP_EVENT_SCHEMA.empty_table()
    dataset = ds.dataset(root, format="parquet", partitioning="hive")
    table = dataset.to_table(columns=TTP_EVENT_SCHEMA.names)
    return table.sort_by(EVENT_ORDER).cast(TTP_EVENT_SCHEMA).combine_chunks()


def read_jsonl_events(output_dir: Path) -> list[dict[str, object]]:
    """Every event of the JSON Lines output, in file order."""
    rows: list[dict[str, object]] = []
    for path in sorted((output_dir / JSONL).rglob("*.jsonl")):
        with open(path, encoding="utf-8") as handle:
            rows.extend(json.loads(line) for line in handle)
    return rows
