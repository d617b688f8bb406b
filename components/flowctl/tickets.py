"""The data-plane ticket: which stream a downstream wants, from which ledger on.

A ticket is JSON bytes in a Flight `Ticket`, so that any Flight client (Go, the
`pyarrow` CLI, a notebook) can write one by hand: `{"stream": "ledgers", "start": 42}`.
A restarted downstream resumes by asking from the ledger after its last checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow.flight as flight

from flowctl.errors import TicketError

DEFAULT_STREAM = "default"


@dataclass(frozen=True)
class StreamTicket:
    """Ask `stream` from ledger `start` (inclusive; 0: from the beginning)."""

    stream: str = DEFAULT_STREAM
    start: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.stream, str) or not self.stream:
            raise TicketError(f"ticket stream must be a non-empty string, got {self.stream!r}")
        if isinstance(self.start, bool) or not isinstance(self.start, int) or self.start < 0:
            raise TicketError(f"ticket start must be an integer >= 0, got {self.start!r}")

    def encode(self) -> bytes:
        return json.dumps({"stream": self.stream, "start": self.start}).encode()

    def to_flight(self) -> flight.Ticket:
        return flight.Ticket(self.encode())

    @classmethod
    def decode(cls, data: bytes | flight.Ticket) -> StreamTicket:
        raw = data.ticket if isinstance(data, flight.Ticket) else data
        try:
            value = json.loads(raw)
        except (ValueError, TypeError) as e:
            raise TicketError(f"ticket is not JSON: {raw[:80]!r}") from e
        if not isinstance(value, dict):
            raise TicketError(f"ticket must be a JSON object, got {type(value).__name__}")
        unknown = set(value) - {"stream", "start"}
        if unknown:
            raise TicketError(f"ticket has unknown keys {sorted(unknown)}; known: stream, start")
        return cls(stream=value.get("stream", DEFAULT_STREAM), start=value.get("start", 0))
