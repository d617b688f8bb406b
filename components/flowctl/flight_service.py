"""The Arrow Flight server of a component: DoGet of StreamTickets, JSON actions.

It only translates between Flight and the Component: tickets are decoded here, the
component's `stream()` produces the batches, and every batch served is paced and
counted by the component's flow controller. Every message carries its position
(flowctl.positions), and a stream that `stream()` finished ends with the end message;
one cut short by a stop does not, so its reader resumes it elsewhere.

A stream that fails is remembered for the component's health (`health_checks`): its
reader resumes it, so nothing else would say that the component keeps failing.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.flight as flight

from flowctl.errors import FlowctlError, TicketError
from flowctl.health import Check
from flowctl.positions import END_METADATA, CurrentPosition, Delivered, position_metadata
from flowctl.stream_failures import StreamFailures
from flowctl.tickets import StreamTicket

if TYPE_CHECKING:
    from flowctl.component import Component

log = logging.getLogger("flowctl.flight")

Action = Callable[[dict[str, Any]], Any]


class _Refused(FlowctlError):
    """The standing refusal after the one-batch rule: a check of its own, not a failure."""


class FlightService(flight.FlightServerBase):  # type: ignore[misc]
    def __init__(self, component: Component, location: str) -> None:
        super().__init__(location)
        self._component = component
        self._streams_lock = threading.Lock()
        self.open_streams = 0
        self.refusal: str | None = None  # why every stream is refused, once stream() broke a rule
        self.failures = StreamFailures()

    def do_get(
        self, context: flight.ServerCallContext, ticket: flight.Ticket
    ) -> flight.FlightDataStream:
        try:
            request = StreamTicket.decode(ticket)
        except TicketError as e:
            raise flight.FlightServerError(f"bad ticket: {e}") from e
        component = self._component
        call = "schema()"
        try:
            schema = component.schema()
            call = "stream()"
            batches = component.stream(request)
        except FlowctlError as e:
            component.log.error("stream refused: %s", e)
            raise self._failed(context, e, str(e)) from e
        except Exception as e:
            # Raised before the stream began (schema() not overridden, or failing): the
            # same bug report as once it runs. Left to Flight, this component logged
            # nothing and its reader quoted only `Python exception: Traceback ...`.
            component.log.exception("%s failed", call)
            raise self._failed(context, e, f"{call} failed: {e!r}") from e
        return flight.GeneratorStream(schema, self._served(schema, batches, context))

    def _served(
        self, schema: pa.Schema, batches: Iterator[Any], context: flight.ServerCallContext
    ) -> Iterator[tuple[pa.RecordBatch, bytes]]:
        component = self._component
        delivered = Delivered()  # what read_input hands over to this stream's stream()
        pacer = component.flow.pacer()
        with self._streams_lock:
            self.open_streams += 1
        try:
            if self.refusal is not None:
                raise _Refused(self.refusal)
            yielded_after = 0  # input batches delivered when stream() last yielded
            for item in _stepped(batches, component.input_positions, delivered):
                if context.is_cancelled() or component.stopping.is_set():
                    return
                if delivered.batches and not isinstance(item, tuple):
                    self._one_batch_per_input(delivered, delivered.batches == yielded_after)
                    yielded_after = delivered.batches
                batch, metadata = _with_metadata(item, delivered.position)
                if not batch.schema.equals(schema):
                    # Arrow would refuse it too, but only after this generator, so only the
                    # reader would say so, in Arrow's words: say it here, naming the fix.
                    raise FlowctlError(_foreign_batch(component, batch.schema, schema))
                component.on_batch_served(batch)
                yield batch, metadata
                pacer.pace(batch.num_rows)
            if not (context.is_cancelled() or component.stopping.is_set()):
                # stream() is done, not cut short: tell the reader the stream is finished.
                yield pa.RecordBatch.from_pylist([], schema=schema), END_METADATA
        except FlowctlError as e:
            # A refusal the component explains: the client gets the reason, not a traceback.
            component.log.error("stream refused: %s", e)
            raise self._failed(context, e, str(e)) from e
        except Exception as e:
            # A bug of stream(): its traceback goes to this component's log, the reason to
            # the reader (which resumes the stream after it), and a count to its health.
            component.log.exception("stream() failed")
            raise self._failed(context, e, f"stream() failed: {e!r}") from e
        finally:
            with self._streams_lock:
                self.open_streams -= 1
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    def _one_batch_per_input(self, delivered: Delivered, same_input: bool) -> None:
        """A processor yields at most one batch per input batch: a second one makes its
        input's position a lie (a reader that commits the first resumes after the second).
        Found, the rest of that input batch is still served with its position, so a reader
        that commits it all loses nothing; then every stream is refused with the fix until
        the component restarts."""
        if same_input and self.refusal is None:
            self.refusal = _second_batch_of_one_input(self._component, delivered)
            self._component.log.error("%s", self.refusal)
        elif not same_input and self.refusal is not None:
            raise _Refused(self.refusal)

    def _failed(
        self, context: flight.ServerCallContext, error: Exception, told: str
    ) -> flight.FlightServerError:
        """The error that tells the reader `told`, the stream's failure remembered for
        `health_checks`. Not remembered: a bad ticket (the reader's mistake, its own to
        fix), the standing refusal (a check of its own), a stream whose reader left or whose
        component is stopping (what broke it then was most likely the cancel or the stop)."""
        ours = not isinstance(error, TicketError | _Refused)
        if ours and not (context.is_cancelled() or self._component.stopping.is_set()):
            self.failures.record(told)
        return flight.FlightServerError(told)

    def health_checks(self, interval_seconds: float) -> list[Check]:
        """`stream`: unhealthy while every stream is refused, else as StreamFailures says."""
        if self.refusal is not None:
            # Unhealthy, not degraded: it serves nothing at all, and no wait clears it (a
            # failure ages out, this lasts until a restart). /health answers 503, so
            # Kubernetes' readiness takes it out of its Service, with nothing to serve;
            # nothing restarts it for that (liveness probes the Flight port), which would
            # only break the rule again: the fix, then the restart, are the author's.
            return [Check("stream", "unhealthy", f"every stream refused: {self.refusal}")]
        return self.failures.check(interval_seconds)

    def get_schema(
        self, context: flight.ServerCallContext, descriptor: flight.FlightDescriptor
    ) -> flight.SchemaResult:
        return flight.SchemaResult(self._component.schema())

    def list_flights(
        self, context: flight.ServerCallContext, criteria: bytes
    ) -> Iterator[flight.FlightInfo]:
        component = self._component
        try:
            schema = component.schema()
        except Exception as e:
            # A processor's schema may need its input; clients probe readiness with
            # ListFlights, which must not fail for that.
            log.debug("no flight listed: schema unavailable: %r", e)
            return
        descriptor = flight.FlightDescriptor.for_path(component.stream_name)
        endpoint = flight.FlightEndpoint(
            StreamTicket(component.stream_name).encode(), [f"grpc://{component.endpoint}"]
        )
        yield flight.FlightInfo(schema, descriptor, [endpoint], -1, -1)

    def list_actions(self, context: flight.ServerCallContext) -> list[tuple[str, str]]:
        return [(name, _describe(action)) for name, action in self._component.all_actions().items()]

    def do_action(
        self, context: flight.ServerCallContext, action: flight.Action
    ) -> Iterator[bytes]:
        handler = self._component.all_actions().get(action.type)
        if handler is None:
            known = ", ".join(sorted(self._component.all_actions()))
            raise flight.FlightServerError(f"unknown action {action.type!r}; known: {known}")
        body = _json_body(action)
        try:
            result = handler(body)
        except FlowctlError as e:
            raise flight.FlightServerError(f"{action.type}: {e}") from e
        except Exception as e:
            self._component.log.exception("action %s failed", action.type)
            raise flight.FlightServerError(f"{action.type} failed: {e!r}") from e
        yield json.dumps(result, default=str).encode()


def _stepped(
    batches: Iterator[Any], current: CurrentPosition, delivered: Delivered
) -> Iterator[Any]:
    """`batches`, with `delivered` bound as the thread's before every step (see
    CurrentPosition: each step may run under a new Python thread state)."""
    iterator = iter(batches)
    while True:
        current.bind(delivered)
        try:
            item = next(iterator)
        except StopIteration:
            return
        yield item


def _second_batch_of_one_input(component: Component, delivered: Delivered) -> str:
    return (
        f"{type(component).__name__}.stream() yielded a second batch for one input batch "
        f"(position {delivered.position!r}): a position must mean everything up to it, or a "
        "restart resumes short or twice. Yield one batch per input batch (join what you "
        "split with pa.concat_batches; docs/sdk.md, 'Inputs and positions') and restart it"
    )


def _foreign_batch(component: Component, served: pa.Schema, declared: pa.Schema) -> str:
    return (
        f"{type(component).__name__}.stream() yielded a batch with the schema "
        f"({_fields(served)}), not the one its schema() declares ({_fields(declared)}): "
        "build every batch with that schema (pa.record_batch(columns, schema=self.schema()))"
    )


def _fields(schema: pa.Schema) -> str:
    return ", ".join(f"{field.name}: {field.type}" for field in schema)


def _with_metadata(item: Any, input_position: str | None) -> tuple[pa.RecordBatch, bytes]:
    """What `stream()` yields, as a message: a batch (it carries the position of the input
    batch being worked on, if any), a (batch, position) pair, or a (batch, metadata bytes)
    pair whose metadata has its own position (the Stellar streams' ledger spans)."""
    if not isinstance(item, tuple):
        return item, position_metadata(input_position)
    batch, mark = item
    return batch, position_metadata(mark) if isinstance(mark, str) else mark


def _json_body(action: flight.Action) -> dict[str, Any]:
    raw = action.body.to_pybytes() if action.body is not None else b""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as e:
        raise flight.FlightServerError(f"{action.type}: body is not JSON: {e}") from e
    if not isinstance(value, dict):
        raise flight.FlightServerError(f"{action.type}: body must be a JSON object")
    return value


def _describe(action: Action) -> str:
    doc = (action.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""
