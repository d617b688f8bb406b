"""The base of every flowrun component: subclass `Component`, override a few methods.

A component is a process with an Arrow Flight server. The base gives it, for free:
settings from the environment (`ComponentSettings.from_environ`), registration and
heartbeats with the controller (when `ENABLE_FLOWCTL=true`), flow control, a pool of
Flight clients to its inputs, Prometheus metrics and `/health` on the metrics port,
JSON Flight actions `get_status` and `health`, clean shutdown on SIGTERM/SIGINT, and
exit when the runner dies.

Override (all optional, but a component that serves data overrides the first two):

    schema(self) -> pa.Schema                         the Arrow schema of stream()
    stream(self, ticket: StreamTicket) -> Iterator[pa.RecordBatch | (batch, position)]
                                                      batches from the ticket on (DoGet): a
                                                      source yields (batch, position) and
                                                      resumes after ticket.after; a processor
                                                      yields plain batches
    work(self) -> None                                active loop on its own thread (a sink's
                                                      pull loop); return when done or stopping
    actions(self) -> Mapping[str, Callable[[dict], Any]]   extra JSON Flight actions
    health_checks(self) -> Iterable[Check]            component-specific findings
    metrics(self) -> Mapping[str, float]              extra heartbeat metrics
    on_start(self) / on_stop(self)                    after the servers start / before they stop
    on_policy(self, policy) -> None                   after a new controller policy applied

Use, from those methods:

    self.settings, self.config (settings.config), self.log, self.stopping (Event)
    self.flow: FlowController   (`with self.flow.inflight(n):`, `self.flow.pace(items)`)
    self.read_input(name=None, after=None, start=0, stream="default") -> Iterator[pa.RecordBatch]
        pull from an input through the pool, resumed after the last batch delivered
        whenever the input goes away, until the input's stream is finished; rows count in
        flight until the next batch is asked for, and the loop is paced to the throttle rate
    self.input_position         the position of the batch read_input() last delivered on
                                this thread (a sink commits it with its output: flowctl.commit;
                                a processor's yielded batch carries it by itself)
    self.pools: PoolManager     (`self.pools.get(endpoint).read_stream(ticket)`)
    self.monitor.registry       (register your own prometheus_client metrics on it)
    self.client: ControllerClient | None

    self.input_endpoint(name) -> str   (FLOWRUN_INPUTS, else controller discovery)
    self.endpoint -> str        (host:port really bound), self.health(), self.status()
    self.stop(reason)           (ask for a stop; signal-safe), self.exit_code

Counting: a component with inputs counts the rows it reads (read_input); one without
inputs (a source) counts the rows it serves. Served batches are paced either way.
A ticket is `StreamTicket(stream, start)` (flowctl.tickets), JSON in the Flight ticket;
a bad one raises TicketError, which the client sees as a FlightServerError.
Actions take the JSON body as a dict and return anything JSON-serialisable; raising
FlowctlError gives the client a FlightServerError with its message.

Lifecycle: `start()` (returns at once) / `stop()` / `shutdown()`, or `serve_forever()`
(start, wait for stop, shut down, return exit_code). Run it as a program with
`raise SystemExit(run_component(MyComponent))` (flowctl.run): exit 0 after a clean stop,
1 when work() raised, 2 for bad settings.

Related: flowctl.health.Check(name, status, reason), flowctl.errors (FlowctlError,
PoolError, TicketError, FlowControlError), flowctl.backoff.Backoff, and
flowctl.pool.ConnectionPool (`connection(timeout)`, `read_stream(ticket)`, `stats()`),
flowctl.options (typed reads of `self.config`, ConfigError), flowctl.actions.call_action
(a JSON Flight action of another component), flowctl.positions (what a position is on
the wire), flowctl.commit.CommittedFiles (a sink's output and position committed together),
flowctl.resumable.ResumableInput (read_input's resuming read, for a stream with positions
of its own kind, given a PositionCodec). docs/sdk.md is the reference.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

import pyarrow as pa

from flowctl.client import ControllerClient, Registration
from flowctl.component_io import InputReader, component_status
from flowctl.contract import Policy
from flowctl.errors import FlowctlError
from flowctl.flight_service import FlightService
from flowctl.flow_control import FlowController
from flowctl.health import Check, HealthReport, assess
from flowctl.health_watch import HealthWatch
from flowctl.lifecycle import ParentWatch
from flowctl.monitor import Monitor
from flowctl.options import ComponentConfig
from flowctl.pool_manager import PoolManager
from flowctl.positions import CurrentPosition
from flowctl.settings import FLOWRUN_ENDPOINT, ComponentSettings
from flowctl.tickets import DEFAULT_STREAM, StreamTicket

SIGNAL_CHECK_SECONDS = 0.2
# How long work() may take to return after a stop before the log says where it is: well
# inside the runner's default stop_grace (10 s), after which the process is killed.
STUCK_WORK_SECONDS = 2.0
Action = Callable[[dict[str, Any]], Any]


class Component:
    stream_name: ClassVar[str] = DEFAULT_STREAM
    input_event_types: ClassVar[tuple[str, ...]] = ()
    output_event_types: ClassVar[tuple[str, ...]] = ()
    stop_timeout_seconds: ClassVar[float] = 10.0

    def __init__(self, settings: ComponentSettings | None = None) -> None:
        self.settings = settings or ComponentSettings.from_environ()
        self.config: dict[str, Any] = ComponentConfig(
            self.settings.config, self.settings.component_id
        )
        self.log = logging.getLogger(self.settings.component_id)
        self.stopping = threading.Event()
        self.exit_code = 0
        self.started_at = time.time()
        self.flow = FlowController(self.settings.max_inflight, self.settings.flow_control)
        self.pools = PoolManager(self.settings.pool, on_event=self._pool_event, stop=self.stopping)
        self.client: ControllerClient | None = None
        self._server: FlightService | None = None
        self._worker: threading.Thread | None = None
        self._parent_watch: ParentWatch | None = None
        self.health_watch = HealthWatch(self.health, self.settings.monitoring_interval_seconds)
        self.input_positions = CurrentPosition()
        self._inputs = InputReader(self, self.input_positions)
        self.monitor = Monitor(
            self.settings.service_id,
            self.settings.component_type,
            self.flow,
            pools=self.pools,
            client_stats=lambda: self.client.stats if self.client else None,
            health=self.health,
            inbound_streams=lambda: self._server.open_streams if self._server else 0,
            stream_failures=lambda: self._server.failures.total if self._server else 0,
        )

    # -- what subclasses override ---------------------------------------------------

    def schema(self) -> pa.Schema:
        raise NotImplementedError(f"{type(self).__name__} serves no data (override schema)")

    def stream(self, ticket: StreamTicket) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError(f"{type(self).__name__} serves no data (override stream)")

    def work(self) -> None:
        """An active loop on its own thread; the default has none."""

    def actions(self) -> Mapping[str, Action]:
        return {}

    def health_checks(self) -> Iterable[Check]:
        return ()

    def metrics(self) -> Mapping[str, float]:
        return {}

    def on_start(self) -> None:
        """Called once the Flight server is up (and the client started)."""

    def on_stop(self) -> None:
        """Called when stopping, before the servers stop."""

    def on_policy(self, policy: Policy) -> None:
        """Called after a new controller policy was applied."""

    # -- what subclasses use ----------------------------------------------------------

    def read_input(
        self,
        name: str | None = None,
        *,
        after: str | None = None,
        start: int = 0,
        stream: str = DEFAULT_STREAM,
    ) -> Iterator[pa.RecordBatch]:
        return self._inputs.read(name, StreamTicket(stream, start, after))

    @property
    def input_position(self) -> str | None:
        """The position of the batch read_input() last delivered on this thread."""
        return self.input_positions.get()

    def input_endpoint(self, name: str) -> str:
        return self._inputs.endpoint(name)

    @property
    def endpoint(self) -> str:
        """host:port the Flight server listens on (the real port when 0 was asked)."""
        if self._server is None:
            return self.settings.endpoint
        return f"{self._listen_host}:{self._server.port}"

    @property
    def _listen_host(self) -> str:
        return self.settings.endpoint.rsplit(":", 1)[0]

    def health(self) -> HealthReport:
        client = self.client
        return assess(
            self.flow.snapshot(),
            self.flow.thresholds,
            controller_enabled=client is not None,
            controller_detail=client.stats.last_error if client else "",
            controller_starting=client.starting if client else False,
            pools=self.pools.stats(),
            component_checks=self._all_health_checks,
            stopping=self.stopping.is_set(),
        )

    def status(self) -> dict[str, Any]:
        return component_status(self)

    def _all_health_checks(self) -> list[Check]:
        interval_seconds = self.health_watch.interval_seconds
        server = self._server
        # Its readers resume a failed stream: only this check says stream() keeps failing.
        streams = server.health_checks(interval_seconds) if server is not None else []
        return [*self._inputs.health_checks(interval_seconds), *streams, *self.health_checks()]

    def all_actions(self) -> dict[str, Action]:
        builtin: dict[str, Action] = {
            "get_status": lambda body: self.status(),
            "health": lambda body: self.health().to_dict(),
        }
        return {**builtin, **self.actions()}

    def on_batch_served(self, batch: pa.RecordBatch) -> None:
        if not self.settings.inputs:
            self.flow.record(batch.num_rows)

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> Component:
        """Start servers, client and worker; returns at once (see serve_forever)."""
        endpoint = self.settings.endpoint
        try:
            self._server = FlightService(self, f"grpc://{endpoint}")
        except (pa.ArrowException, OSError) as e:
            raise FlowctlError(
                f"cannot serve Flight on {endpoint} ({FLOWRUN_ENDPOINT}): {e}; is the port "
                "taken by another process?"
            ) from e
        metrics_port = self.settings.metrics_port
        if metrics_port is None and self.settings.flowctl_enabled:
            # No health_port in the spec: a free port, registered with the controller, so
            # that the runner still reads this component's /health and /metrics.
            metrics_port = 0
        if metrics_port is not None:
            self._serve_metrics(metrics_port)
        if self.settings.flowctl_enabled:
            self._start_client()
        else:
            self.log.info("flowctl disabled: local flow control only")
        if self.settings.runner_pid is not None:
            self._parent_watch = ParentWatch(self.settings.runner_pid, self.stop).start()
        self.on_start()
        self.health_watch.start()
        self._worker = threading.Thread(target=self._run_work, name="component-work", daemon=True)
        self._worker.start()
        self.log.info("ready: %s serving Flight on %s", self.settings.component_id, self.endpoint)
        return self

    def stop(self, reason: str = "") -> None:
        """Ask for a stop; safe from a signal handler (it only sets an event)."""
        if reason and not self.stopping.is_set():
            self.log.info("stopping: %s", reason)
        self.stopping.set()

    def serve_forever(self) -> int:
        self.start()
        # A wait with no timeout is not woken by a signal the kernel hands to another
        # thread (gRPC's, Flight's): the handler, which runs on this thread, would wait
        # for the next bytecode here forever. Waking now and then lets it run.
        while not self.stopping.wait(SIGNAL_CHECK_SECONDS):
            pass
        self.shutdown()
        return self.exit_code

    def shutdown(self) -> None:
        self.stopping.set()
        if self._worker is not None:
            self._worker.join(min(STUCK_WORK_SECONDS, self.stop_timeout_seconds))
            if self._worker.is_alive():
                self.log.warning("%s", _stuck_work(self._worker, STUCK_WORK_SECONDS))
                self._worker.join(max(0.0, self.stop_timeout_seconds - STUCK_WORK_SECONDS))
        self.on_stop()
        self.health_watch.stop()
        if self._parent_watch is not None:
            self._parent_watch.stop()
        if self.client is not None:
            self.client.stop()
        self.pools.close()
        if self._server is not None:
            _bounded(self._server.shutdown, self.stop_timeout_seconds)
        self.monitor.stop()
        self.log.info("stopped")

    def _start_client(self) -> None:
        metrics_port = self.monitor.port
        registration = Registration(
            endpoint=self.endpoint,
            health_endpoint=f"http://127.0.0.1:{metrics_port}/health" if metrics_port else "",
            input_event_types=self.input_event_types,
            output_event_types=self.output_event_types,
        )
        self.client = ControllerClient(
            self.settings,
            self.flow,
            registration,
            metrics_provider=self.metrics,
            on_policy=self._apply_policy,
            stop=self.stopping,
        )
        self.client.discovery_observer = self.monitor.observe_discovery
        self.client.start()

    def _serve_metrics(self, port: int) -> None:
        # A component serving Flight on every interface (in a pod: flowrun export) serves
        # /health and /metrics there too, for the kubelet's probe and Prometheus.
        every_interface = self._listen_host == "0.0.0.0"
        try:
            bound = self.monitor.serve(port, "0.0.0.0" if every_interface else "127.0.0.1")
        except OSError as e:
            self.log.error("metrics port %d unavailable (%s): no /metrics or /health", port, e)
            return
        self.log.info("metrics on http://127.0.0.1:%d/metrics", bound)

    def _apply_policy(self, policy: Policy) -> None:
        self.pools.resize(policy.pool)
        self.health_watch.interval_seconds = policy.monitoring_interval_seconds
        self.on_policy(policy)

    def _pool_event(self, endpoint: str, event: str) -> None:
        level = logging.INFO if event == "reconnected" else logging.WARNING
        self.log.log(level, "input %s: %s", endpoint, event.replace("_", " "))

    def _run_work(self) -> None:
        try:
            self.work()
        except Exception:
            if not self.stopping.is_set():
                self.log.exception("work() failed: stopping with exit code 1")
                self.exit_code = 1
                self.stop()
            return
        if type(self).work is not Component.work and not self.stopping.is_set():
            # Otherwise a sink whose loop ended (done, or by mistake at once) sits idle and
            # healthy with nothing in its log to say why.
            self.log.info(
                "work() returned: %s keeps serving Flight and /health until it is stopped; "
                "call self.stop(reason) to exit instead",
                self.settings.component_id,
            )


def _stuck_work(worker: threading.Thread, waited_seconds: float) -> str:
    """Where a work() that does not return after a stop is, and the fix: without it the
    runner only says the process was killed after stop_grace."""
    frame = sys._current_frames().get(worker.ident or 0)
    stack = traceback.extract_stack(frame) if frame is not None else traceback.StackSummary()
    # From work() on: the thread's bootstrap and _run_work are the SDK's, not the author's.
    names = [entry.name for entry in stack]
    first = names.index("_run_work") + 1 if "_run_work" in names else 0
    where = "".join(traceback.format_list(stack[first:])).rstrip() or "  (unknown)"
    return (
        f"work() has not returned {waited_seconds:g}s after the stop; it is at:\n{where}\n"
        "work() should return soon once self.stopping is set: wait with self.stopping.wait(s), "
        "not time.sleep, and test it in every loop (docs/sdk.md, Lifecycle)"
    )


def _bounded(call: Callable[[], None], timeout_seconds: float) -> None:
    """Run `call` but wait at most `timeout_seconds` (a stuck stream must not hang exit)."""
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout_seconds)
