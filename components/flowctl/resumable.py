"""Reading an input stream that survives its input going away.

`ResumableInput.chunks(start)` yields (batch, position) from `start` on, in order,
through the component's connection pool. Every batch of the stream carries its position
(what a `PositionCodec` reads, from its app_metadata or its data); when the input
disconnects mid-stream (killed, restarted, network), the reader reconnects with capped
backoff and asks again from the start that follows the last position it received, so
the caller sees every position exactly once. What a position is (a span of ledgers, an
offset...) is the stream's business: this module only asks the codec.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import pyarrow as pa
import pyarrow.flight as flight

from flowctl.actions import call_action
from flowctl.backoff import Backoff
from flowctl.component import Component
from flowctl.errors import FlowctlError, PoolError
from flowctl.tickets import DEFAULT_STREAM, StreamTicket

UPSTREAM_ERRORS: tuple[type[BaseException], ...] = (
    flight.FlightError,
    PoolError,
    ConnectionError,
    OSError,
    pa.ArrowException,
)
_WATCH_SECONDS = 0.2

Position = TypeVar("Position")


class PositionCodec(Protocol[Position]):
    """Where a batch of a stream is, and which ticket start resumes after it."""

    unit: str
    """What a ticket start counts, for log lines ("ledger": "resuming from ledger 42")."""

    def position_of(self, batch: pa.RecordBatch, app_metadata: pa.Buffer | None) -> Position | None:
        """The position a received batch carries; None: it carries none (it is skipped)."""
        ...

    def start_after(self, position: Position) -> int:
        """The ticket start that asks for what follows `position`."""
        ...


class ForeignSchemaError(FlowctlError):
    """The input serves a stream of another schema: a wiring mistake, not a disconnect."""


@dataclass
class ResumableInput(Generic[Position]):
    component: Component
    positions: PositionCodec[Position]
    input_name: str | None = None
    stream: str = DEFAULT_STREAM
    idle_seconds: float = 1.0
    backoff: Backoff = field(default_factory=lambda: Backoff(base_seconds=0.1, cap_seconds=5.0))
    on_disconnect: Callable[[BaseException], None] | None = None
    disconnects: int = 0
    schema: pa.Schema | None = None
    """The schema the input must serve; another one raises ForeignSchemaError."""
    retry_foreign_schema: bool = False
    """Log a foreign schema and ask again with backoff (a sink's pull loop) instead of raising."""

    def endpoint(self) -> str:
        settings = self.component.settings
        name = self.input_name or next(iter(settings.inputs), "")
        return self.component.input_endpoint(name)

    def chunks(
        self, start: int, *, follow: bool, cancelled: Callable[[], bool] | None = None
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        """Chunks from ticket start `start` on. At a clean end of the input stream:
        return, or with `follow`, wait `idle_seconds` and ask again for what follows."""
        stop = cancelled or self.component.stopping.is_set
        next_start = start
        unit = self.positions.unit
        while not stop():
            try:
                for batch, position in self._read_once(next_start, stop):
                    following = self.positions.start_after(position)
                    if following <= next_start:
                        continue  # already delivered before a reconnect
                    next_start = following
                    self.backoff.reset()
                    yield batch, position
            except ForeignSchemaError as e:
                if not self.retry_foreign_schema:
                    raise
                self.component.log.error("%s; asking again from %s %d", e, unit, next_start)
                self.component.stopping.wait(self.backoff.next_delay())
                continue
            except UPSTREAM_ERRORS as e:
                if stop():
                    return
                self._disconnected(e, next_start)
                self.component.stopping.wait(self.backoff.next_delay())
                continue
            if not follow:
                return
            self.component.stopping.wait(self.idle_seconds)

    def _disconnected(self, error: BaseException, next_start: int) -> None:
        self.disconnects += 1
        if self.on_disconnect is not None:
            self.on_disconnect(error)
        text = str(error).strip() or repr(error)
        reason = text.splitlines()[0].split(". gRPC client debug context")[0]
        self.component.log.warning(
            "input %s lost (%s): resuming from %s %d",
            self.input_name or next(iter(self.component.settings.inputs), "stream"),
            reason,
            self.positions.unit,
            next_start,
        )

    def _check_schema(self, served: pa.Schema) -> None:
        expected = self.schema
        if expected is None or served.equals(expected):
            return
        name = self.input_name or next(iter(self.component.settings.inputs), "input")
        wanted = (expected.metadata or {}).get(b"name", b"").decode() or "expected"
        raise ForeignSchemaError(
            f"input {name} ({self.endpoint()}) serves a stream with the schema "
            f"({', '.join(f'{f.name}: {f.type}' for f in served)}), not the {wanted} schema "
            f"this component reads: check spec.components.<this>.inputs"
        )

    def _read_once(
        self, start: int, stop: Callable[[], bool]
    ) -> Iterator[tuple[pa.RecordBatch, Position]]:
        pool = self.component.pools.get(self.endpoint())
        ticket = StreamTicket(self.stream, start)
        with pool.connection() as client:
            reader = client.do_get(ticket.to_flight())
            self._check_schema(reader.schema)
            done = threading.Event()
            watcher = threading.Thread(
                target=_cancel_when, args=(stop, done, reader), daemon=True, name="input-watch"
            )
            watcher.start()
            finished = False
            try:
                while not stop():
                    try:
                        chunk = reader.read_chunk()
                    except StopIteration:
                        finished = True
                        return
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
