"""Data-plane conventions shared by the three Stellar components.

Every Flight message of a Stellar stream carries, as its `app_metadata`, the span of
ledgers it covers (`LedgerSpan`, JSON): the first and last ledger, all of them complete,
and when the source produced the oldest of them. A span is sent even when the batch is
empty (ledgers without any event), so a downstream always knows the exact last ledger it
has seen, and its checkpoint is exact.

`Chunk` is how a component's `stream()` yields a batch with its span: the (batch,
metadata) tuple `pyarrow.flight.GeneratorStream` sends as data + app_metadata, with a
`num_rows` so the SDK's serving loop counts and paces it like a plain batch.

A peer that sends no metadata (a foreign Flight server) still works: the span is then
read from the data (`sequence` or `ledger_sequence`), which is exact except that
trailing ledgers without rows are only known once a later batch arrives.

The span's JSON also holds the `position` of flowctl.positions: the last ledger, as a
string. So any SDK component reads a Stellar stream like any other (it resumes with
`StreamTicket(after="1234")`, which the Stellar components serve from ledger 1235:
`first_ledger_of`), while the Stellar components read spans (`LEDGER_SPANS`, the codec
their `flowctl.resumable.ResumableInput` uses) and resume at the ledger after a span.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from flowctl.errors import TicketError
from flowctl.positions import position_metadata
from flowctl.tickets import StreamTicket

LEDGER_COLUMNS = ("sequence", "ledger_sequence")


@dataclass(frozen=True)
class LedgerSpan:
    first_ledger: int
    last_ledger: int
    generated_at: float = 0.0  # unix seconds; 0: unknown

    def encode(self) -> bytes:
        return position_metadata(
            str(self.last_ledger),
            first_ledger=self.first_ledger,
            last_ledger=self.last_ledger,
            generated_at=self.generated_at,
        )

    @classmethod
    def decode(cls, metadata: Any) -> LedgerSpan | None:
        """The span in a message's app_metadata; None when there is none or it is foreign."""
        if metadata is None:
            return None
        raw = metadata.to_pybytes() if isinstance(metadata, pa.Buffer) else bytes(metadata)
        try:
            value = json.loads(raw)
            return cls(
                int(value["first_ledger"]),
                int(value["last_ledger"]),
                float(value.get("generated_at", 0.0)),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def merged(self, later: LedgerSpan) -> LedgerSpan:
        """This span followed by the next one: generated_at of the older ledger."""
        return LedgerSpan(self.first_ledger, later.last_ledger, self.generated_at)


def span_of(batch: pa.RecordBatch) -> LedgerSpan | None:
    """The span a batch without metadata covers, read from its ledger column."""
    for name in LEDGER_COLUMNS:
        if name in batch.schema.names and batch.num_rows:
            bounds = pc.min_max(batch.column(name))
            return LedgerSpan(int(bounds["min"].as_py()), int(bounds["max"].as_py()), time.time())
    return None


class Chunk(tuple[Any, bytes]):
    """A record batch and its LedgerSpan, as a component's stream() yields them."""

    __slots__ = ()

    def __new__(cls, batch: pa.RecordBatch, span: LedgerSpan) -> Chunk:
        return super().__new__(cls, (batch, span.encode()))

    @property
    def batch(self) -> pa.RecordBatch:
        return self[0]

    @property
    def num_rows(self) -> int:
        return int(self[0].num_rows)

    @property
    def span(self) -> LedgerSpan:
        span = LedgerSpan.decode(self[1])
        assert span is not None
        return span


class LedgerSpanCodec:
    """The position of a Stellar batch for `flowctl.resumable`: its LedgerSpan."""

    unit = "ledger"

    def position_of(
        self, batch: pa.RecordBatch, app_metadata: pa.Buffer | None
    ) -> LedgerSpan | None:
        return LedgerSpan.decode(app_metadata) or span_of(batch)

    def ticket_after(self, ticket: StreamTicket, position: LedgerSpan) -> StreamTicket:
        return StreamTicket(ticket.stream, position.last_ledger + 1)

    def is_new(self, position: LedgerSpan, ticket: StreamTicket) -> bool:
        return position.last_ledger >= first_ledger_of(ticket)

    def describe(self, ticket: StreamTicket) -> str:
        return f"ledger {first_ledger_of(ticket)}"


LEDGER_SPANS = LedgerSpanCodec()


def first_ledger_of(ticket: StreamTicket) -> int:
    """The first ledger a ticket asks for: the one after its `after` position, if any."""
    if ticket.after is None:
        return ticket.start
    try:
        return int(ticket.after) + 1
    except ValueError:
        raise TicketError(
            f"ticket after {ticket.after!r} is not a position of a Stellar stream (a ledger)"
        ) from None
