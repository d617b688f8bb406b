"""Positions: where a batch of a stream is, so that a reader can resume right after it.

Every message a component serves carries a small JSON object as its Flight
`app_metadata`:

    {"position": "1234"}     the batch's position, an opaque token its source chose
    {"position": null}       a batch without a position (its source gives none)
    {"end": true}            the last message: the stream is finished (a bounded source
                             reached its end); it carries no rows

A source chooses what a position is (an offset, a file and a line, a cursor of an API):
only the source reads it back, from `StreamTicket.after`, to serve what follows it. A
processor passes the position of the input batch it is working on to the batch it
yields; a sink commits its output together with the position of the last batch it
wrote (`flowctl.commit`), and asks for what follows it after a restart. So a stream
ends only with the `end` message: a stream that stops without it (its server stopped,
crashed, restarted) is resumed by the reader, never taken for finished.

Other keys may travel in the same object (the Stellar streams add their ledger span).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from flowctl.tickets import StreamTicket

POSITION_KEY = "position"
END_KEY = "end"


@dataclass(frozen=True)
class Marks:
    """What a message's metadata says: its position, whether it ends the stream, and
    whether it speaks this protocol at all (a foreign Flight server sends nothing)."""

    position: str | None = None
    end: bool = False
    known: bool = False


def read_marks(app_metadata: pa.Buffer | bytes | None) -> Marks:
    if app_metadata is None:
        return Marks()
    raw = app_metadata.to_pybytes() if isinstance(app_metadata, pa.Buffer) else app_metadata
    try:
        value = json.loads(raw)
    except ValueError:
        return Marks()
    if not isinstance(value, dict) or not (POSITION_KEY in value or END_KEY in value):
        return Marks()
    position = value.get(POSITION_KEY)
    return Marks(
        position=position if isinstance(position, str) else None,
        end=value.get(END_KEY) is True,
        known=True,
    )


def position_metadata(position: str | None, **extra: Any) -> bytes:
    return json.dumps({POSITION_KEY: position, **extra}).encode()


END_METADATA = json.dumps({END_KEY: True}).encode()


class OpaquePositions:
    """The positions of a stream served by the SDK, for `flowctl.resumable.ResumableInput`:
    the token in each message's metadata; resuming asks for what follows the last one."""

    unit = "position"

    def position_of(self, batch: pa.RecordBatch, app_metadata: pa.Buffer | None) -> str | None:
        """The batch's token; "" for a batch that has none (it is still delivered)."""
        return read_marks(app_metadata).position or ""

    def ticket_after(self, ticket: StreamTicket, position: str) -> StreamTicket:
        if not position:
            return ticket  # nothing to resume after: ask again as at first
        return StreamTicket(ticket.stream, ticket.start, after=position)

    def is_new(self, position: str, ticket: StreamTicket) -> bool:
        """The source serves exactly what follows `ticket.after`: nothing to drop."""
        return True

    def describe(self, ticket: StreamTicket) -> str:
        return f"after position {ticket.after!r}" if ticket.after else f"from {ticket.start}"


OPAQUE_POSITIONS = OpaquePositions()


@dataclass
class Delivered:
    """What `read_input` has handed over to one consumer: the last batch's position, and
    how many batches so far (the Flight server tells by it a second batch yielded for one
    input batch)."""

    position: str | None = None
    batches: int = 0


class CurrentPosition:
    """The position of the input batch a consumer is working on.

    `read_input` records each batch it hands over in the `Delivered` of the thread; the
    Flight server reads it when the processor's `stream()` yields, so the output batch
    carries its input's position without a line of user code. A sink's worker reads its own
    to commit with. The server binds one `Delivered` to the stream before every step of
    `stream()`: pyarrow resumes that generator from gRPC's threads under a new Python thread
    state each time, where what an earlier step recorded in a thread-local is gone.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def bind(self, delivered: Delivered) -> None:
        self._local.delivered = delivered

    def delivered(self) -> Delivered:
        found: Delivered | None = getattr(self._local, "delivered", None)
        if found is None:
            found = self._local.delivered = Delivered()
        return found

    def set(self, position: str | None) -> None:
        """A batch at `position` is handed over."""
        delivered = self.delivered()
        delivered.position = position
        delivered.batches += 1

    def get(self) -> str | None:
        return self.delivered().position
