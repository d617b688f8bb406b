"""Reading an input stream that survives its input going away.

`ResumableInput.chunks(start)` yields (batch, LedgerSpan) from ledger `start` on, in
order, through the component's connection pool. When the input disconnects mid-stream
(killed, restarted, network), it reconnects with capped backoff and asks again from the
ledger after the last one it received, so the caller sees every ledger exactly once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
from flowctl.backoff import Backoff
from flowctl.component import Component
from flowctl.errors import FlowctlError, PoolError
from flowctl.tickets import DEFAULT_STREAM, StreamTicket

from stellar_arrow_source.wire import LedgerSpan, span_of

UPSTREAM_ERRORS: tuple[type[BaseException], ...] = (
    flight.FlightError,
    PoolError,
    ConnectionError,
    OSError,
    pa.ArrowException,
)
_WATCH_SECONDS = 0.2


class ForeignSchemaError(FlowctlError):
    """The input serves a stream of another schema: a wiring mistake, not a disconnect."""


@dataclass
class ResumableInput:
    component: Component
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
    ) -> Iterator[tuple[pa.RecordBatch, LedgerSpan]]:
        """Chunks from ledger `start` on. At a clean end of the input stream: return,
        or with `follow`, wait `idle_seconds` and ask again from the next ledger."""
        stop = cancelled or self.component.stopping.is_set
        next_ledger = start
        while not stop():
            try:
                for batch, span in self._read_once(next_ledger, stop):
                    if next_ledger and span.last_ledger < next_ledger:
                        continue  # already delivered before a reconnect
                    next_ledger = span.last_ledger + 1
                    self.backoff.reset()
                    yield batch, span
            except ForeignSchemaError as e:
                if not self.retry_foreign_schema:
                    raise
                self.component.log.error("%s; asking again from ledger %d", e, next_ledger)
                self.component.stopping.wait(self.backoff.next_delay())
                continue
            except UPSTREAM_ERRORS as e:
                if stop():
                    return
                self._disconnected(e, next_ledger)
                self.component.stopping.wait(self.backoff.next_delay())
                continue
            if not follow:
                return
            self.component.stopping.wait(self.idle_seconds)

    def _disconnected(self, error: BaseException, next_ledger: int) -> None:
        self.disconnects += 1
        if self.on_disconnect is not None:
            self.on_disconnect(error)
        text = str(error).strip() or repr(error)
        reason = text.splitlines()[0].split(". gRPC client debug context")[0]
        self.component.log.warning(
            "input %s lost (%s): resuming from ledger %d",
            self.input_name or next(iter(self.component.settings.inputs), "stream"),
            reason,
            next_ledger,
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
    ) -> Iterator[tuple[pa.RecordBatch, LedgerSpan]]:
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
                    span = LedgerSpan.decode(chunk.app_metadata) or span_of(chunk.data)
                    if span is not None:
                        yield chunk.data, span
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
    try:
        pool = component.pools.get(component.input_endpoint(name))
        options = flight.FlightCallOptions(timeout=timeout_seconds)
        with pool.connection(timeout_seconds) as client:
            results = list(client.do_action(flight.Action(action, b""), options=options))
        value = json.loads(results[0].body.to_pybytes()) if results else {}
    except (*UPSTREAM_ERRORS, ValueError, IndexError) as e:  # type: ignore[misc]
        raise FlowctlError(f"input {name!r} did not answer {action}: {e}") from e
    if not isinstance(value, dict):
        raise FlowctlError(f"input {name!r} answered {action} with {type(value).__name__}")
    return value
