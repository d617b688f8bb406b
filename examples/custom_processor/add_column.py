"""A custom processor on the flowctl SDK: pulls record batches from its one input and
adds a column `<source>_x<factor>` (config: `source_column`, `factor`).

Run under flowrun (see README.md), or by hand: `python examples/custom_processor/add_column.py`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as flight
from flowctl import Check, Component, ComponentSettings, StreamTicket, run_component
from flowctl.options import number, text
from prometheus_client import Counter


class AddColumn(Component):
    def __init__(self, settings: ComponentSettings | None = None) -> None:
        super().__init__(settings)
        # Read here, so that a bad value is a one-line error and exit 2 at start.
        self.source_column = text(self.config, "source_column", "value")
        self.factor = number(self.config, "factor", 2)
        self.new_column = f"{self.source_column}_x{self.factor:g}"
        self.rows_out = Counter(
            "add_column_rows", "Rows given the new column", registry=self.monitor.registry
        )
        self._schema: pa.Schema | None = None

    def schema(self) -> pa.Schema:
        if self._schema is None:  # the input's schema plus ours, asked once
            upstream = self.input_endpoint(next(iter(self.settings.inputs)))
            with self.pools.get(upstream).connection(timeout=10) as client:
                base = client.get_schema(flight.FlightDescriptor.for_path("default")).schema
            self._schema = base.append(pa.field(self.new_column, pa.float64()))
        return self._schema

    def stream(self, ticket: StreamTicket) -> Iterator[pa.RecordBatch]:
        # The reader's ticket, whole: `after` is the position it resumes from.
        for batch in self.read_input(start=ticket.start, after=ticket.after, stream=ticket.stream):
            scaled = pc.multiply(batch.column(self.source_column).cast(pa.float64()), self.factor)
            self.rows_out.inc(batch.num_rows)
            yield batch.append_column(self.new_column, scaled)

    def metrics(self) -> Mapping[str, float]:
        return {"factor": self.factor}

    def health_checks(self) -> list[Check]:
        if self.factor == 0:
            return [Check("factor", "degraded", "factor 0 zeroes every row: set config.factor")]
        return []


if __name__ == "__main__":
    raise SystemExit(run_component(AddColumn))
