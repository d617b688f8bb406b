"""The data-plane ticket: which stream a downstream wants, and from where.

A ticket is JSON bytes in a Flight `Ticket`, so that any Flight client (Go, the
`pyarrow` CLI, a notebook) can write one by hand: `{"stream": "ledgers", "start": 42}`.
Two ways to say where: `start`, a number the stream counts in (the Stellar streams count
ledgers), or `after`, the opaque position of the last batch the reader already has
(`flowctl.positions`): a restarted downstream asks for exactly what follows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow.flight as flight

from flowctl.errors import TicketError

DEFAULT_STREAM = "default"


@dataclass(frozen=True)
class StreamTicket:
    """Ask `stream` from `start` (inclusive; 0: from the beginning), or for what follows
    the position `after` (None: from `start`)."""

    stream: str = DEFAULT_STREAM
    start: int = 0
    after: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.stream, str) or not self.stream:
            raise TicketError(f"ticket stream must be a non-empty string, got {self.stream!r}")
        if isinstance(self.start, bool) or not isinstance(self.start, int) or self.start < 0:
            raise TicketError(f"ticket start must be an integer >= 0, got {self.start!r}")
        if self.after is not None and not isinstance(self.after, str):
            raise TicketError(f"ticket after must be a position string, got {self.after!r}")

    def encode(self) -> bytes:
        value: dict[str, object] = {"stream": self.stream, "start": self.start}
        if self.after is not None:
            value["after"] = self.after
        return json.dumps(value).encode()

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
        unknown = set(value) - {"stream", "start", "after"}
        if unknown:
            raise TicketError(
                f"ticket has unknown keys {sorted(unknown)}; known: stream, start, after"
            )
        return cls(
            stream=value.get("stream", DEFAULT_STREAM),
            start=value.get("start", 0),
            after=value.get("after"),
        )
