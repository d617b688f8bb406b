"""JSON Lines rendering of the sink, checked line by line against json.loads on tables big
enough to take every path: repeating and mostly distinct columns, nulls, escapes, zones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from arrow_analytics_sink.jsonl import jsonl_bytes
from stellar_arrow_source.generator import GeneratorConfig, SyntheticLedgers
from ttp_arrow_processor.extract import extract_events

ROWS = 5000


TIMESPEC = {"s": "seconds", "ms": "milliseconds", "us": "microseconds"}


def expected_rows(table: pa.Table) -> list[dict[str, Any]]:
    """The rows as Python values, a time as its UTC ISO 8601 text at the column's unit."""
    units = {f.name: f.type.unit for f in table.schema if pa.types.is_timestamp(f.type)}
    rows: list[dict[str, Any]] = table.to_pylist()
    for row in rows:
        for key, unit in units.items():
            value = row[key]
            if isinstance(value, datetime):
                utc = value.astimezone(UTC) if value.tzinfo else value
                text = utc.replace(tzinfo=None).isoformat(timespec=TIMESPEC[unit])
                row[key] = text + "Z"
    return rows


def rendered_rows(table: pa.Table) -> list[dict[str, Any]]:
    text = bytes(jsonl_bytes(table)).decode("utf-8")
    assert text.endswith("\n") and text.count("\n") == table.num_rows
    rows = [json.loads(line) for line in text.splitlines()]
    assert all(list(row) == table.schema.names for row in rows), "keys in schema order"
    return rows


def test_token_transfer_events_render_every_value() -> None:
    ledgers = SyntheticLedgers(GeneratorConfig(seed=5)).ledger_batch(1, 400)
    events = pa.Table.from_batches([extract_events(ledgers)[0]])
    assert events.num_rows > 2048
    assert rendered_rows(events) == expected_rows(events)


@pytest.mark.parametrize("escaped_row", [None, 0, ROWS - 1])
def test_distinct_and_repeating_columns_with_nulls_and_escapes(escaped_row: int | None) -> None:
    distinct = [f"value-{i}-é" for i in range(ROWS)]
    if escaped_row is not None:
        distinct[escaped_row] = 'a "quoted"\\ value\twith\ncontrols\x01'
    nullable = [None if i % 3 == 0 else f"id-{i}" for i in range(ROWS)]
    table = pa.table(
        {
            "distinct": pa.array(distinct, pa.string()),
            "nullable_distinct": pa.array(nullable, pa.string()),
            "few": pa.array([["x", "y", None, "ünï"][i % 4] for i in range(ROWS)], pa.string()),
            "count": pa.array([i * 7919 if i % 5 else None for i in range(ROWS)], pa.int64()),
            "small": pa.array([i % 3 - 1 for i in range(ROWS)], pa.int8()),
            "flag": pa.array([[True, False, None][i % 3] for i in range(ROWS)], pa.bool_()),
            "at": pa.array(
                [i * 1_234_567 if i % 7 else None for i in range(ROWS)], pa.int64()
            ).cast(pa.timestamp("us", tz="America/New_York")),
            "seconds": pa.array([i * 86_399 for i in range(ROWS)], pa.int64()).cast(
                pa.timestamp("s")
            ),
        }
    )
    assert rendered_rows(table) == expected_rows(table)


def test_slices_render_like_their_part_of_the_whole() -> None:
    ledgers = SyntheticLedgers(GeneratorConfig(seed=6)).ledger_batch(1, 200)
    events = pa.Table.from_batches([extract_events(ledgers)[0]])
    whole = bytes(jsonl_bytes(events))
    parts = b"".join(
        bytes(jsonl_bytes(events.slice(start, 1000))) for start in range(0, events.num_rows, 1000)
    )
    assert parts == whole
