"""Reading an input stream that survives its input going away.

`ResumableInput.chunks(ticket)` yields (batch, position) in order, through the
component's connection pool. Every batch carries its position (what a `PositionCodec`
reads, from its app_metadata or its data); when the input goes away mid-stream (killed,
restarted by a reload, stopped, a network cut, a moved endpoint), the reader reconnects
with capped backoff and asks for what follows the last position it delivered, so the
caller sees every batch exactly once. The stream is finished only when its server says
so (the `end` message of flowctl.positions); a stream that stops without it is resumed.
A foreign server that sends no marks at all is read once: its clean end is the end.

What a position is (an opaque token, a span of ledgers) is the codec's business.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import pyarrow as pa
import pyarrow.flight as flight

from flowctl.actions import call_action
from flowctl.backoff import Backoff
from flowctl.errors import FlowctlError, PoolError
from flowctl.health import Check
from flowctl.positions import read_marks
from flowctl.tickets import DEFAULT_STREAM, StreamTicket

if TYPE_CHECKING:
    from flowctl.component import Component

UPSTREAM_ERRORS: tuple[type[BaseException], ...] = (
    flight.FlightError,
    PoolError,
    ConnectionError,
    OSError,
    pa.ArrowException,
)
_WATCH_SECONDS = 0.2
STALLED_INTERVALS = 3
"""Monitoring intervals without a batch, while the input cannot be reached, before the
component reports itself degraded."""

Position = TypeVar("Position")


class PositionCodec(Protocol[Position]):
    """Where a batch of a stream is, and which ticket asks for what follows it."""

    unit: str
    """What the positions count, for log lines ("ledger", "position")."""

    def position_of(self, batch: pa.RecordBatch, app_metadata: pa.Buffer | None) -> Position | None:
        """The position a received batch carries; None: none (the batch is skipped)."""
        ...

    def ticket_after(self, ticket: StreamTicket, position: Position) -> StreamTicket:
        """The ticket that asks `ticket`'s stream for what follows `position`."""
        ...

    def is_new(self, position: Position, ticket: StreamTicket) -> bool:
        """False for a batch `ticket` did not ask for (delivered before a reconnect)."""
        ...

    def describe(self, ticket: StreamTicket) -> str:
        """Where `ticket` resumes, for log lines: "ledger 42", "after position '17'"."""
        ...


class ForeignSchemaError(FlowctlError):
    """The input serves a stream of another schema: a wiring mistake, not a disconnect."""


class _StreamStopped(Exception):
    """The input's stream ended without its end message: its server went away."""


_LOST: tuple[type[BaseException], ...] = (*UPSTREAM_ERRORS, _StreamStopped)


@dataclass
class ResumableInput(Generic[Position]):
    component: Component
    positions: PositionCodec[Position]
    input_name: str | None = None
    stream: str = DEFAULT_STREAM
    idle_seconds: float = 1.0
    backoff: Backoff = field(default_factory=lambda: Backoff(base_seconds=0.1, cap_seconds=5.0))
    on_disconnect: Callable[[BaseException], None] | None = None
    on_end: Callable[[], None] | None = None
    """Called when the stream is finished, before `follow` asks again: nothing more is
    coming for now (a sink commits what it holds instead of waiting for more)."""
    disconnects: int = 0
    schema: pa.Schema | None = None
    """The schema the input must serve; another one raises ForeignSchemaError."""
    retry_foreign_schema: bool = False
    """Log a foreign schema and ask again with backoff (a sink's pull loop) instead of raising."""
    lost_since: float | None = None
    """Monotonic time the input was lost at, until a batch arrives again."""
    last_error: str = ""

    @property
    def name(self) -> str:
        return self.input_name or next(iter(self.component.settings.inputs), "input")

    def endpoint(self) -> str:
        return self.component.input_endpoint(self.name)

    def chunks(
        self,
        ticket: StreamTicket,
        *,
        follow: bool = False,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        """Chunks of `ticket`'s stream, until its server says it is finished: then return,
        or with `follow`, wait `idle_seconds` and ask again for what follows (a sink that
        outlives a bounded source that a reload may extend)."""
        stop = cancelled or self.component.stopping.is_set
        codec = self.positions
        while not stop():
            try:
                for batch, position in self._read_once(ticket, stop):
                    if not codec.is_new(position, ticket):
                        continue  # already delivered before a reconnect
                    ticket = codec.ticket_after(ticket, position)
                    self.backoff.reset()
                    self.lost_since = None
                    yield batch, position
            except ForeignSchemaError as e:
                if not self.retry_foreign_schema:
                    raise
                self.component.log.error("%s; asking again %s", e, codec.describe(ticket))
                self.component.stopping.wait(self.backoff.next_delay())
                continue
            except _LOST as e:
                if stop():
                    return
                self._disconnected(e, ticket)
                self.component.stopping.wait(self.backoff.next_delay())
                continue
            if stop():
                return
            if self.on_end is not None:
                self.on_end()
            if not follow:
                return
            self.component.stopping.wait(self.idle_seconds)

    def health(self, interval_seconds: float) -> Check | None:
        """Degraded while the input has been lost for several monitoring intervals."""
        lost_since = self.lost_since
        if lost_since is None:
            return None
        lost_for = time.monotonic() - lost_since
        if lost_for < STALLED_INTERVALS * interval_seconds:
            return None
        return Check(
            f"input {self.name}",
            "degraded",
            f"input {self.name} delivered nothing for {lost_for:.0f}s: {self.last_error}",
        )

    def _disconnected(self, error: BaseException, ticket: StreamTicket) -> None:
        self.disconnects += 1
        if self.lost_since is None:
            self.lost_since = time.monotonic()
        if self.on_disconnect is not None:
            self.on_disconnect(error)
        text = str(error).strip() or repr(error)
        reason = text.splitlines()[0].split(". gRPC client debug context")[0]
        self.last_error = f"lost ({reason})"
        self.component.log.warning(
            "input %s lost (%s): resuming %s", self.name, reason, self.positions.describe(ticket)
        )

    def _check_schema(self, served: pa.Schema) -> None:
        expected = self.schema
        if expected is None or served.equals(expected):
            return
        wanted = (expected.metadata or {}).get(b"name", b"").decode() or "expected"
        raise ForeignSchemaError(
            f"input {self.name} ({self.endpoint()}) serves a stream with the schema "
            f"({', '.join(f'{f.name}: {f.type}' for f in served)}), not the {wanted} schema "
            f"this component reads: check spec.components.<this>.inputs"
        )

    def _read_once(
        self, ticket: StreamTicket, stop: Callable[[], bool]
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        """One Flight call: returns at the end message (or, from a server that sends no
        marks, at the clean end); _StreamStopped when the stream stops short of it."""
        pool = self.component.pools.get(self.endpoint())
        with pool.connection() as client:
            reader = client.do_get(replace(ticket, stream=self.stream).to_flight())
            self._check_schema(reader.schema)
            done = threading.Event()
            watcher = threading.Thread(
                target=_cancel_when, args=(stop, done, reader), daemon=True, name="input-watch"
            )
            watcher.start()
            finished = marked = ended = False
            try:
                while not stop():
                    try:
                        chunk = reader.read_chunk()
                    except StopIteration:
                        finished = True
                        if marked and not ended:
                            raise _StreamStopped("the stream stopped before its end") from None
                        return
                    marks = read_marks(chunk.app_metadata)
                    marked = marked or marks.known
                    if marks.end:
                        ended = True
                        continue
                    position = self.positions.position_of(chunk.data, chunk.app_metadata)
                    if position is not None:
                        yield chunk.data, position
            finally:
                done.set()
                if not finished:
                    reader.cancel()  # the caller left early: end the call, free the server


def _cancel_when(stop: Callable[[], bool], done: threading.Event, reader: object) -> None:
    """Cancel a blocked read as soon as the reader must stop (a read has no timeout)."""
    while not done.wait(_WATCH_SECONDS):
        if stop():
            cancel = getattr(reader, "cancel", None)
            if cancel is not None:
                cancel()
            return


def call_input_action(
    component: Component,
    action: str,
    *,
    input_name: str | None = None,
    timeout_seconds: float = 2.0,
) -> dict[str, Any]:
    """Call a JSON Flight action of an input (e.g. get_current_ledger) through the pool."""
    name = input_name or next(iter(component.settings.inputs), "")
    endpoint = component.input_endpoint(name)
    try:
        with component.pools.get(endpoint).connection(timeout_seconds) as client:
            return call_action(client, action, timeout_seconds=timeout_seconds)
    except (*UPSTREAM_ERRORS, FlowctlError) as e:  # type: ignore[misc]
        raise FlowctlError(f"input {name!r} did not answer {action}: {e}") from e
