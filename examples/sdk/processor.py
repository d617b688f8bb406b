"""An SDK processor: adds `id_squared` to every row of its one input. Each batch it
yields carries the position of the input batch it came from, so whoever reads it
resumes through it to the source: the SDK does that, not this code."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
from flowctl import Component, StreamTicket, run_component

SCHEMA = pa.schema([("id", pa.int64()), ("id_squared", pa.int64())])


class Square(Component):
    def schema(self) -> pa.Schema:
        return SCHEMA

    def stream(self, ticket: StreamTicket) -> Iterator[pa.RecordBatch]:
        for batch in self.read_input(after=ticket.after):
            ids = batch.column("id")
            yield pa.record_batch([ids, pc.multiply(ids, ids)], schema=SCHEMA)


if __name__ == "__main__":
    raise SystemExit(run_component(Square))
