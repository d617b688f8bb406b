"""flowctl.positions and the ticket's `after`: what travels with each batch."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest
from flowctl.errors import TicketError
from flowctl.positions import (
    END_METADATA,
    OPAQUE_POSITIONS,
    CurrentPosition,
    Delivered,
    position_metadata,
    read_marks,
)
from flowctl.tickets import StreamTicket


def test_a_position_and_the_end_are_read_back() -> None:
    assert read_marks(position_metadata("17")).position == "17"
    assert read_marks(pa.py_buffer(position_metadata("17"))).known
    unpositioned = read_marks(position_metadata(None))
    assert unpositioned.known and unpositioned.position is None and not unpositioned.end
    assert read_marks(END_METADATA).end


@pytest.mark.parametrize("foreign", [None, b"", b"not json", b"[1]", b'{"first": 1}'])
def test_metadata_of_a_foreign_server_is_not_taken_for_marks(foreign: bytes | None) -> None:
    assert read_marks(foreign) == read_marks(None)
    assert not read_marks(foreign).known


def test_a_ticket_after_a_position_round_trips_and_old_tickets_still_read() -> None:
    ticket = StreamTicket("default", 0, after="a/b:17")
    assert StreamTicket.decode(ticket.encode()) == ticket
    assert StreamTicket.decode(b'{"stream": "s", "start": 3}') == StreamTicket("s", 3)
    with pytest.raises(TicketError, match="after must be a position string"):
        StreamTicket("s", 0, after=17)  # type: ignore[arg-type]


def test_opaque_positions_resume_after_the_last_token_and_keep_the_ticket_without_one() -> None:
    first = StreamTicket("default", 0)
    batch = pa.record_batch({"id": [1]})
    token = OPAQUE_POSITIONS.position_of(batch, pa.py_buffer(position_metadata("41")))
    assert token == "41"
    assert OPAQUE_POSITIONS.ticket_after(first, token) == StreamTicket("default", 0, after="41")
    assert OPAQUE_POSITIONS.position_of(batch, None) == ""  # delivered, resumes nowhere new
    assert OPAQUE_POSITIONS.ticket_after(first, "") == first
    assert OPAQUE_POSITIONS.describe(StreamTicket(after="41")) == "after position '41'"


def test_the_current_position_is_per_thread() -> None:
    current = CurrentPosition()
    current.set("5")
    seen: list[str | None] = []
    worker = threading.Thread(target=lambda: seen.append(current.get()))
    worker.start()
    worker.join()
    assert (current.get(), seen) == ("5", [None])


def test_a_bound_delivery_is_what_the_thread_records_into_and_it_counts_batches() -> None:
    current = CurrentPosition()
    stream = Delivered()
    current.bind(stream)
    current.set("7")
    current.set("8")
    assert (stream.position, stream.batches) == ("8", 2)
    # Another thread (as pyarrow's next step of a stream may be) sees it once bound there.
    seen: list[str | None] = []

    def next_step() -> None:
        seen.append(current.get())
        current.bind(stream)
        seen.append(current.get())

    worker = threading.Thread(target=next_step)
    worker.start()
    worker.join()
    assert seen == [None, "8"]
