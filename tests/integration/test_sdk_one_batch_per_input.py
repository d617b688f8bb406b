"""A processor written on the SDK that yields two batches for one input batch, served over
real Flight: both carry their input's position (pyarrow resumes `stream()` under a new
Python thread state at each step, where a thread-local position was lost and the second
batch went out with none: a sink committing it resumed from the very start, writing
everything again), and then every stream is refused with the fix."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from _sdk_harness import component_settings
from flowctl import Component, StreamTicket

SCHEMA = pa.schema([("seq", pa.int64())])
ROWS_PER_BATCH = 4


class PositionedSource(Component):
    """Batch n holds rows n*4..n*4+3 and has the position str(n)."""

    def schema(self) -> pa.Schema:
        return SCHEMA

    def stream(self, ticket: StreamTicket) -> Iterator[tuple[pa.RecordBatch, str]]:
        first = int(ticket.after) + 1 if ticket.after else 0
        for n in range(first, first + 5):
            rows = range(n * ROWS_PER_BATCH, (n + 1) * ROWS_PER_BATCH)
            yield pa.record_batch([pa.array(rows, pa.int64())], schema=SCHEMA), str(n)


class Splitter(Component):
    """Breaks the SDK's rule: two halves for every input batch."""

    def schema(self) -> pa.Schema:
        return SCHEMA

    def stream(self, ticket: StreamTicket) -> Iterator[pa.RecordBatch]:
        for batch in self.read_input(after=ticket.after):
            yield batch.slice(0, ROWS_PER_BATCH // 2)
            yield batch.slice(ROWS_PER_BATCH // 2)


@pytest.fixture
def splitter() -> Iterator[Splitter]:
    source = PositionedSource(component_settings(None, component_id="numbers")).start()
    settings = component_settings(
        None,
        component_id="halves",
        component_type="processor",
        inputs={"numbers": source.endpoint},
    )
    processor = Splitter(settings).start()
    yield processor
    for component in (processor, source):
        component.stop()
        component.shutdown()


def messages(reader: flight.FlightStreamReader) -> Iterator[tuple[int, str | None]]:
    while True:
        try:
            chunk = reader.read_chunk()
        except StopIteration:
            return
        yield chunk.data.num_rows, json.loads(chunk.app_metadata.to_pybytes())["position"]


def test_both_halves_carry_the_position_then_every_stream_is_refused_with_the_fix(
    splitter: Splitter,
) -> None:
    client = flight.FlightClient(f"grpc://{splitter.endpoint}")
    served: list[tuple[int, str | None]] = []
    with pytest.raises(flight.FlightServerError) as refused:
        served.extend(messages(client.do_get(StreamTicket("default").to_flight())))
    # The second half is served with the first's position, so that a reader committing
    # both loses nothing; the next input batch is refused.
    assert served == [(2, "0"), (2, "0")]
    reason = str(refused.value)
    assert "Splitter.stream() yielded a second batch for one input batch (position '0')" in reason
    assert "pa.concat_batches" in reason
    # A reader resuming after the position gets the refusal at once, with no data.
    with pytest.raises(flight.FlightServerError, match="yielded a second batch"):
        list(messages(client.do_get(StreamTicket("default", after="0").to_flight())))
    client.close()
    # It serves nothing until restarted: unhealthy, saying why (its readers only retry).
    report = splitter.health()
    assert report.status == "unhealthy", report
    (check,) = [c for c in report.checks if c.name == "stream"]
    assert check.status == "unhealthy", check
    assert check.reason.startswith("every stream refused: Splitter.stream() yielded a second")
    assert "restart it" in check.reason, check
