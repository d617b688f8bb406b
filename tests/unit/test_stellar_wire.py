"""Small pieces of the Stellar components: spans, chunks, pace, config, JSONL, progress."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from arrow_analytics_sink.checkpoint import Checkpoint
from arrow_analytics_sink.jsonl import jsonl_bytes
from arrow_analytics_sink.progress import ProgressMeter
from flowctl import options
from flowctl.errors import TicketError
from flowctl.positions import read_marks
from flowctl.tickets import StreamTicket
from stellar_arrow_source.pacing import LedgerPace
from stellar_arrow_source.server import SourceConfig
from stellar_common.spans import LEDGER_SPANS, Chunk, LedgerSpan, first_ledger_of, span_of


class FakeTime(threading.Event):
    """A clock that only moves when someone waits on it."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    def wait(self, timeout: float | None = None) -> bool:
        self.now += timeout or 0.0
        return False


def test_spans_travel_as_json_metadata() -> None:
    span = LedgerSpan(5, 9, 123.5)
    assert LedgerSpan.decode(pa.py_buffer(span.encode())) == span
    assert LedgerSpan.decode(None) is None
    assert LedgerSpan.decode(b"not json") is None
    assert LedgerSpan.decode(b'{"first": 1}') is None
    assert span.merged(LedgerSpan(10, 12, 999.0)) == LedgerSpan(5, 12, 123.5)


def test_a_chunk_is_a_batch_with_its_span() -> None:
    batch = pa.record_batch({"ledger_sequence": pa.array([3, 4], pa.uint32())})
    chunk = Chunk(batch, LedgerSpan(3, 6))
    assert chunk.num_rows == 2 and chunk.batch is batch and chunk.span == LedgerSpan(3, 6)
    assert chunk[1] == LedgerSpan(3, 6).encode()  # what GeneratorStream sends as app_metadata


def test_a_span_is_read_from_the_data_when_there_is_no_metadata() -> None:
    span = span_of(pa.record_batch({"sequence": pa.array([7, 8, 9], pa.uint32())}))
    assert span is not None and (span.first_ledger, span.last_ledger) == (7, 9)
    assert span_of(pa.record_batch({"other": pa.array([1])})) is None


def test_a_resumable_input_resumes_at_the_ledger_after_a_span() -> None:
    batch = pa.record_batch({"sequence": pa.array([7, 8], pa.uint32())})
    sent = LedgerSpan(5, 9, 1.0)
    assert LEDGER_SPANS.position_of(batch, pa.py_buffer(sent.encode())) == sent
    from_data = LEDGER_SPANS.position_of(batch, None)  # a peer that sends no metadata
    assert from_data is not None and (from_data.first_ledger, from_data.last_ledger) == (7, 8)
    resumed = LEDGER_SPANS.ticket_after(StreamTicket("ledgers", 1), sent)
    assert resumed == StreamTicket("ledgers", 10)
    assert not LEDGER_SPANS.is_new(LedgerSpan(3, 9), resumed)  # delivered before a reconnect
    assert LEDGER_SPANS.is_new(LedgerSpan(10, 12), resumed)


def test_any_sdk_reader_resumes_a_stellar_stream_by_its_position() -> None:
    """The span carries flowctl's opaque position (the last ledger): a generic reader's
    `after` ticket asks a Stellar component for the ledger after it."""
    marks = read_marks(LedgerSpan(5, 9).encode())
    assert marks.known and marks.position == "9" and not marks.end
    assert first_ledger_of(StreamTicket("ledgers", 0, after=marks.position)) == 10
    assert first_ledger_of(StreamTicket("ledgers", 4)) == 4
    with pytest.raises(TicketError, match="not a position of a Stellar stream"):
        first_ledger_of(StreamTicket("ledgers", 0, after="not-a-ledger"))


def test_the_pace_spreads_ledgers_over_time() -> None:
    fake = FakeTime()
    pace = LedgerPace(10.0, clock=fake.clock)
    taken = [pace.take(5, fake) for _ in range(6)]
    assert taken == [1, 1, 1, 1, 1, 1]
    assert fake.now == pytest.approx(100.5)  # 6 ledgers at 10/s: the 6th is due at +0.5s


def test_a_stalled_consumer_gets_one_batch_not_the_backlog() -> None:
    fake = FakeTime()
    pace = LedgerPace(10.0, clock=fake.clock)
    pace.take(5, fake)
    fake.now += 60  # 600 ledgers are overdue
    assert pace.take(5, fake) == 5
    assert pace.take(5, fake) == 1


def test_a_throttle_slows_the_pace_itself() -> None:
    fake = FakeTime()
    rate = [1.0]
    pace = LedgerPace(10.0, factor=lambda: rate[0], clock=fake.clock)
    pace.take(5, fake)
    rate[0] = 0.25  # told to run at a quarter of full speed: 2.5 ledgers/s
    for _ in range(5):
        assert pace.take(5, fake) == 1
    assert fake.now == pytest.approx(100.1 + 4 * 0.4)


def test_no_pace_means_full_batches() -> None:
    assert LedgerPace(0).take(100, threading.Event()) == 100


def test_source_config_is_checked_with_the_key_in_the_message() -> None:
    assert SourceConfig.parse({}).batch_size == 500
    parsed = SourceConfig.parse({"genesis_time": "2025-02-03T04:05:06Z", "end_ledger": "9"})
    assert parsed.genesis_time == datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert parsed.end_ledger == 9
    bad = [
        ({"backend": "kafka"}, "config.backend='kafka': expected one of synthetic, parquet"),
        ({"start_ledger": 0}, "config.start_ledger=0"),
        ({"start_ledger": 10, "end_ledger": 5}, "config.end_ledger=5 is before"),
        ({"backend": "parquet"}, "config.parquet_path is required"),
        ({"ledgers_per_second": "fast"}, "config.ledgers_per_second='fast'"),
        ({"genesis_time": "yesterday"}, "config.genesis_time='yesterday'"),
    ]
    for config, message in bad:
        with pytest.raises(options.ConfigError) as raised:
            SourceConfig.parse(config)
        assert message in str(raised.value)


def test_config_lists_and_booleans() -> None:
    assert options.string_list({"f": "jsonl, parquet"}, "f", ["parquet"], ["parquet", "jsonl"]) == (
        "jsonl",
        "parquet",
    )
    assert options.boolean({"d": "no"}, "d", True) is False
    with pytest.raises(options.ConfigError, match=r"config\.f="):
        options.string_list({"f": []}, "f", ["parquet"], ["parquet"])


def test_jsonl_lines_are_valid_json_with_escapes_and_nulls() -> None:
    table = pa.table(
        {
            "s": pa.array(['say "hi"\n', None, "back\\slash", "plain"]),
            "n": pa.array([1, None, -3, 4], pa.int64()),
            "b": pa.array([True, False, None, True]),
            "t": pa.array([0, 5_000_000, None, 0], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        }
    )
    lines = bytes(jsonl_bytes(table)).decode().splitlines()
    rows = [json.loads(line) for line in lines]
    assert rows[0] == {"s": 'say "hi"\n', "n": 1, "b": True, "t": "1970-01-01T00:00:00.000000Z"}
    assert rows[1] == {"s": None, "n": None, "b": False, "t": "1970-01-01T00:00:05.000000Z"}
    assert rows[2]["s"] == "back\\slash" and rows[2]["b"] is None and rows[2]["t"] is None
    assert bytes(jsonl_bytes(table.slice(3))) == b'{"s":"plain","n":4,"b":true,' + (
        b'"t":"1970-01-01T00:00:00.000000Z"}\n'
    )
    assert bytes(jsonl_bytes(table.slice(0, 0))) == b""


def test_the_progress_line_reports_rates_lag_and_backpressure() -> None:
    fake = FakeTime()
    checkpoints = iter([Checkpoint(100, 1000, 2), Checkpoint(150, 2500, 4)])
    answers = iter(
        [
            {"current_ledger": 110},
            {"current_ledger": 160, "backpressure_active": True, "throttle_rate": 0.5},
        ]
    )
    meter = ProgressMeter(
        lambda: next(checkpoints), lambda: next(answers), lambda: 0.25, clock=fake.clock
    )
    meter.measure()
    fake.now += 5
    line = meter.measure().line()
    assert line == (
        "progress: ledger 150 (10.0 ledgers/s), 300 events/s, lag 10 ledgers (source at 160), "
        "backpressure ON (source throttled to 50%), load 0.25"
    )


def test_the_first_commit_of_a_range_far_from_ledger_1_is_not_a_rate() -> None:
    fake = FakeTime()
    checkpoints = iter([Checkpoint(0, 0, 0), Checkpoint(53312000, 296, 2)])
    meter = ProgressMeter(
        lambda: next(checkpoints), lambda: {"current_ledger": 53312000}, lambda: 0.0,
        clock=fake.clock,
    )  # fmt: skip
    meter.measure()
    fake.now += 5
    progress = meter.measure()
    assert progress.ledgers_per_second is None
    assert progress.line().startswith("progress: ledger 53312000 (first commit), 59 events/s,")


def test_an_unreachable_source_makes_the_lag_unknown() -> None:
    def unreachable() -> dict[str, object]:
        raise ConnectionError("down")

    progress = ProgressMeter(lambda: Checkpoint(5, 1, 1), unreachable, lambda: 0.0).measure()
    assert progress.lag is None
    assert "lag unknown" in progress.line() and "backpressure unknown" in progress.line()
