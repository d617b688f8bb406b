"""An SDK source: rows with a unique integer `id`, `config.rate` rows/s, `config.count`
rows in all (0: forever). Each batch's position is its last id, so a reader that comes
back asks for what follows it: `StreamTicket.after`."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
from flowctl import Component, ComponentSettings, StreamTicket, run_component
from flowctl.options import integer, number

SCHEMA = pa.schema([("id", pa.int64())])
BATCHES_PER_SECOND = 10


class Counter(Component):
    def __init__(self, settings: ComponentSettings | None = None) -> None:
        super().__init__(settings)
        self.rate = number(self.config, "rate", 100, minimum=0.001)
        self.count = integer(self.config, "count", 0, minimum=0)

    def schema(self) -> pa.Schema:
        return SCHEMA

    def stream(self, ticket: StreamTicket) -> Iterator[tuple[pa.RecordBatch, str]]:
        rate, count = self.rate, self.count
        next_id = int(ticket.after) + 1 if ticket.after else 0
        rows_per_batch = max(1, round(rate / BATCHES_PER_SECOND))
        while count == 0 or next_id < count:
            rows = rows_per_batch if count == 0 else min(rows_per_batch, count - next_id)
            ids = pa.array(range(next_id, next_id + rows), pa.int64())
            next_id += rows
            yield pa.record_batch([ids], schema=SCHEMA), str(next_id - 1)
            if self.stopping.wait(rows / rate):
                return  # stopping: no end message, the reader resumes elsewhere


if __name__ == "__main__":
    raise SystemExit(run_component(Counter))
