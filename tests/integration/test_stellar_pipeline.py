"""source -> processor -> sink over real Flight on loopback, components in this process."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from arrow_analytics_sink.output import read_jsonl_events, read_parquet_events
from arrow_analytics_sink.server import ArrowAnalyticsSink
from flowctl.actions import call_action_at
from flowctl.component import Component
from flowctl.positions import read_marks
from flowctl.settings import ComponentSettings
from flowctl.tickets import StreamTicket
from polling import wait_for
from ports import free_port
from stellar_arrow_source.generator import GeneratorConfig, SyntheticLedgers
from stellar_arrow_source.parquet_backend import write_ledgers
from stellar_arrow_source.server import StellarArrowSource
from stellar_common.spans import LedgerSpan
from ttp_arrow_processor.extract import extract_events
from ttp_arrow_processor.server import TtpArrowProcessor

SEED = 7


def expected_events(first: int, last: int) -> pa.Table:
    ledgers = SyntheticLedgers(GeneratorConfig(seed=SEED)).ledger_batch(first, last)
    return pa.Table.from_batches([extract_events(ledgers)[0]])


def build(
    cls: type[Component],
    name: str,
    config: Mapping[str, Any],
    *,
    inputs: Mapping[str, str] | None = None,
    spec_dir: Path | None = None,
    port: int = 0,
) -> Component:
    kinds = {StellarArrowSource: "source", TtpArrowProcessor: "processor"}
    settings = ComponentSettings(
        component_id=name,
        service_id=name,
        component_type=kinds.get(cls, "sink"),
        endpoint=f"127.0.0.1:{port}",
        inputs=dict(inputs or {}),
        config=dict(config),
        max_inflight=1_000_000,
        spec_dir=str(spec_dir or "."),
    )
    return cls(settings).start()


@contextmanager
def running(*components: Component) -> Iterator[None]:
    try:
        yield
    finally:
        for component in reversed(components):
            component.stop()
            component.shutdown()


def read_stream(endpoint: str, start: int, stream: str) -> list[tuple[pa.RecordBatch, LedgerSpan]]:
    client = flight.FlightClient(f"grpc://{endpoint}")
    reader = client.do_get(StreamTicket(stream, start).to_flight())
    chunks = []
    ended = False
    while True:
        try:
            chunk = reader.read_chunk()
        except StopIteration:
            break
        if read_marks(chunk.app_metadata).end:
            assert chunk.data.num_rows == 0
            ended = True
            continue
        span = LedgerSpan.decode(chunk.app_metadata)
        assert span is not None
        chunks.append((chunk.data, span))
    client.close()
    assert ended, "a bounded stream ends with its end message"
    return chunks


def test_every_event_of_the_range_is_committed_once(tmp_path: Path) -> None:
    source = build(
        StellarArrowSource, "source", {"seed": SEED, "end_ledger": 600, "batch_size": 50}
    )
    processor = build(TtpArrowProcessor, "processor", {}, inputs={"source": source.endpoint})
    sink = build(
        ArrowAnalyticsSink,
        "sink",
        {"output_dir": "out", "durable": False, "formats": ["parquet", "jsonl"]},
        inputs={"processor": processor.endpoint},
        spec_dir=tmp_path,
    )
    with running(source, processor, sink):
        wait_for(lambda: call_action_at(sink.endpoint, "get_stats")["last_ledger"] == 600)
        stats = call_action_at(sink.endpoint, "get_stats")
        metrics = {
            c.settings.component_id: c.monitor.exposition().decode()
            for c in (source, processor, sink)
        }
    expected = expected_events(1, 600)
    output = read_parquet_events(tmp_path / "out")
    assert output.equals(expected)
    assert [row["event_id"] for row in read_jsonl_events(tmp_path / "out")] == (
        expected.column("event_id").to_pylist()
    )
    assert stats["events_written"] == expected.num_rows
    assert stats["latency_p50_seconds"] is not None
    assert metric(metrics["source"], "stellar_source_ledgers_processed_total") == 600
    assert metric(metrics["processor"], "ttp_processor_events_extracted_total") == (
        expected.num_rows
    )
    unknown = 'ttp_processor_unknown_operations_total{operation_type="manage_data"}'
    assert metric(metrics["processor"], unknown) > 0
    assert metric(metrics["sink"], "analytics_sink_events_written_total") == expected.num_rows
    assert metric(metrics["sink"], "analytics_sink_files_written_total") == stats["files_written"]
    assert metric(metrics["sink"], "analytics_sink_last_ledger") == 600


def test_the_end_of_a_bounded_stream_is_committed_without_waiting_for_more(
    tmp_path: Path,
) -> None:
    # Ten minutes to gather a batch: only the end of the input's stream can commit it
    # within the test's timeout.
    source = build(StellarArrowSource, "source", {"seed": SEED, "end_ledger": 300})
    processor = build(TtpArrowProcessor, "processor", {}, inputs={"source": source.endpoint})
    sink = build(
        ArrowAnalyticsSink,
        "sink",
        {"output_dir": "out", "durable": False, "flush_interval_seconds": 600},
        inputs={"processor": processor.endpoint},
        spec_dir=tmp_path,
    )
    with running(source, processor, sink):
        wait_for(lambda: call_action_at(sink.endpoint, "get_stats")["last_ledger"] == 300)
    assert read_parquet_events(tmp_path / "out").equals(expected_events(1, 300))


def metric(exposition: str, name: str) -> float:
    """The value of one sample in a Prometheus text exposition."""
    for line in exposition.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} in the exposition")


def test_the_processor_serves_from_the_ledger_asked(tmp_path: Path) -> None:
    source = build(
        StellarArrowSource, "source", {"seed": SEED, "end_ledger": 300, "batch_size": 20}
    )
    processor = build(TtpArrowProcessor, "processor", {}, inputs={"source": source.endpoint})
    with running(source, processor):
        chunks = read_stream(processor.endpoint, 250, "ttp_events")
        stats = call_action_at(processor.endpoint, "get_stats")
    spans = [span for _, span in chunks]
    assert spans[0].first_ledger == 250 and spans[-1].last_ledger == 300
    assert all(a.last_ledger + 1 == b.first_ledger for a, b in itertools.pairwise(spans))
    events = pa.Table.from_batches([batch for batch, _ in chunks])
    assert events.equals(expected_events(250, 300))
    assert stats["ledgers"] == 51 and stats["unknown_operations_total"] > 0


def test_the_source_streams_whole_ledgers_from_its_start(tmp_path: Path) -> None:
    source = build(
        StellarArrowSource,
        "source",
        {"seed": SEED, "start_ledger": 40, "end_ledger": 95, "batch_size": 25},
    )
    with running(source):
        chunks = read_stream(source.endpoint, 0, "ledgers")
        current = call_action_at(source.endpoint, "get_current_ledger")
        with pytest.raises(flight.FlightError, match="unknown stream"):
            read_stream(source.endpoint, 0, "trades")
    assert [(s.first_ledger, s.last_ledger) for _, s in chunks] == [(40, 64), (65, 89), (90, 95)]
    assert [b.num_rows for b, _ in chunks] == [25, 25, 6]
    assert current["current_ledger"] == 95 and current["finished"] is True


def test_the_pace_slows_the_source() -> None:
    source = build(
        StellarArrowSource, "source", {"seed": SEED, "ledgers_per_second": 20, "batch_size": 10}
    )
    with running(source):
        started = time.monotonic()
        client = flight.FlightClient(f"grpc://{source.endpoint}")
        reader = client.do_get(StreamTicket("ledgers", 1).to_flight())
        received = 0
        while received < 30:
            received += reader.read_chunk().data.num_rows
        elapsed = time.monotonic() - started
        client.close()
    # Ledger k of a stream is due (k - 1) / 20 s after the first, never earlier (after a
    # stall the ledgers due come in one batch, so more than 30 may have arrived).
    assert elapsed >= (received - 1) / 20 * 0.95


def test_a_throttle_directive_slows_the_source() -> None:
    source = build(
        StellarArrowSource, "source", {"seed": SEED, "ledgers_per_second": 100, "batch_size": 1}
    )
    with running(source):
        source.flow.set_controller_connected(True)
        source.flow.apply_directive(0.2, True)
        started = time.monotonic()
        client = flight.FlightClient(f"grpc://{source.endpoint}")
        reader = client.do_get(StreamTicket("ledgers", 1).to_flight())
        for _ in range(30):
            reader.read_chunk()
        elapsed = time.monotonic() - started
        current = call_action_at(source.endpoint, "get_current_ledger")
        client.close()
    # Unthrottled: 29/100 s. At rate 0.2 the pace is 20 ledgers/s.
    assert elapsed >= 29 / 20 * 0.95
    assert current["throttle_rate"] == 0.2 and current["backpressure_active"] is True


def test_the_parquet_backend_replays_a_capture(tmp_path: Path) -> None:
    generator = SyntheticLedgers(GeneratorConfig(seed=SEED))
    write_ledgers(tmp_path / "capture", generator.iter_batches(100, 399, 64))
    source = build(
        StellarArrowSource,
        "source",
        {"backend": "parquet", "parquet_path": "capture", "start_ledger": 150, "batch_size": 40},
        spec_dir=tmp_path,
    )
    processor = build(TtpArrowProcessor, "processor", {}, inputs={"source": source.endpoint})
    with running(source, processor):
        chunks = read_stream(processor.endpoint, 0, "ttp_events")
    assert chunks[0][1].first_ledger == 150 and chunks[-1][1].last_ledger == 399
    assert pa.Table.from_batches([b for b, _ in chunks]).equals(expected_events(150, 399))


def test_an_input_lost_mid_stream_is_resumed_from_the_right_ledger(tmp_path: Path) -> None:
    port = free_port()
    config = {"seed": SEED, "end_ledger": 800, "batch_size": 5, "ledgers_per_second": 400}
    source = build(StellarArrowSource, "source", config, port=port)
    processor = build(TtpArrowProcessor, "processor", {}, inputs={"source": source.endpoint})
    sink = build(
        ArrowAnalyticsSink,
        "sink",
        {"output_dir": "out", "durable": False, "formats": ["parquet", "jsonl"]},
        inputs={"processor": processor.endpoint},
        spec_dir=tmp_path,
    )
    with running(processor, sink):
        wait_for(lambda: call_action_at(sink.endpoint, "get_stats")["last_ledger"] >= 100)
        source.stop()
        source.shutdown()
        wait_for(
            lambda: call_action_at(processor.endpoint, "get_stats")["input_reconnections"] >= 1
        )
        source = build(StellarArrowSource, "source", config, port=port)
        with running(source):
            wait_for(lambda: call_action_at(sink.endpoint, "get_stats")["last_ledger"] == 800)
            via = call_action_at(processor.endpoint, "get_current_ledger")
    assert read_parquet_events(tmp_path / "out").equals(expected_events(1, 800))
    assert via["via"] == ["processor"] and via["current_ledger"] == 800
