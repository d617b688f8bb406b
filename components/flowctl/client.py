"""The controller client: registration, heartbeats with real metrics, directives.

One background thread registers (retrying with capped exponential backoff and jitter)
and then heartbeats every interval; a second follows the WatchDirectives stream.
The client never stops the component: while the controller is unreachable the
FlowController runs on local hysteresis, the log says so once, and
`controller_connected` reads 0. A NOT_FOUND heartbeat (the controller restarted and
forgot us) triggers a new registration at once.

A client that has not reached its controller yet is `starting`, not unreachable, for the
first registration window (one call timeout and one heartbeat interval): a controller
that answers a moment after the component started is no alarm. Every call and wait ends
as soon as the component is stopping (`stop=` its stopping event; flowctl.waits).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import grpc
from google.protobuf import empty_pb2, timestamp_pb2

from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl import flow_control_pb2 as fc
from flowctl import flow_control_pb2_grpc as fc_grpc
from flowctl.backoff import Backoff
from flowctl.channel import call_metadata, open_channel, rpc_reason
from flowctl.client_stats import ClientStats, Registration
from flowctl.contract import Policy
from flowctl.directives import DirectiveWatcher
from flowctl.errors import FlowctlError
from flowctl.flow_control import FlowController
from flowctl.settings import ComponentSettings
from flowctl.waits import any_set, grpc_result, sleep_unless_stopped

log = logging.getLogger("flowctl.client")

SERVICE_TYPES: dict[str, cp.ServiceType] = {
    "source": cp.SERVICE_TYPE_SOURCE,
    "processor": cp.SERVICE_TYPE_PROCESSOR,
    "sink": cp.SERVICE_TYPE_SINK,
    "pipeline": cp.SERVICE_TYPE_PIPELINE,
}
UNREACHABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}

MetricsProvider = Callable[[], Mapping[str, float]]

__all__ = ["ClientStats", "ControllerClient", "MetricsProvider", "Registration"]


class ControllerClient:
    def __init__(
        self,
        settings: ComponentSettings,
        flow: FlowController,
        registration: Registration,
        *,
        metrics_provider: MetricsProvider | None = None,
        on_policy: Callable[[Policy], None] | None = None,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.flow = flow
        self.registration = registration
        self.metrics_provider = metrics_provider
        self.stats = ClientStats()
        self.discovery_observer: Callable[[float], None] | None = None
        self.heartbeat_interval = settings.heartbeat_interval_seconds
        self.service_id = settings.service_id
        self._metadata = call_metadata(settings.token)
        self._channel = open_channel(
            settings.flowctl_endpoint,
            ca_file=settings.ca_file,
            reconnect_backoff_seconds=min(1.0, self.heartbeat_interval / 2),
        )
        self._control = cp_grpc.ControlPlaneStub(self._channel)  # type: ignore[no-untyped-call]
        self._flow_control = fc_grpc.FlowControlStub(self._channel)  # type: ignore[no-untyped-call]
        self._stop = threading.Event()
        # The component's stop as well as ours: a stopping component waits for no call.
        self._stopping = any_set((self._stop, stop))
        self._clock = clock
        self._started_at: float | None = None
        self._registered = threading.Event()
        # None until the first answer or failure.
        self._connected: bool | None = None
        self._loss_reported = False
        self._thread: threading.Thread | None = None
        self._watcher = DirectiveWatcher(self, on_policy)

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> ControllerClient:
        self._started_at = self._clock()
        self._thread = threading.Thread(target=self._run, name="flowctl-client", daemon=True)
        self._thread.start()
        self._watcher.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._watcher.stop(timeout)
        if self._thread is not None:
            self._thread.join(timeout)
        self._channel.close()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopped(self) -> threading.Event:
        return self._stop

    @property
    def registered(self) -> bool:
        return self._registered.is_set()

    @property
    def connected(self) -> bool:
        return bool(self._connected)

    @property
    def starting(self) -> bool:
        """Never registered yet, and still within the first registration window: the
        controller has not had the chance to answer, so its silence is no alarm."""
        if self._started_at is None:
            return True
        if self.stats.registrations_total:
            return False
        return self._clock() - self._started_at < self.startup_window_seconds

    @property
    def startup_window_seconds(self) -> float:
        """The first attempt (up to one call timeout) and one retry interval after it."""
        return self.call_timeout + self.heartbeat_interval

    def is_stopping(self) -> bool:
        return self._stopping()

    def wait_registered(self, timeout: float) -> bool:
        return self._registered.wait(timeout)

    @property
    def call_timeout(self) -> float:
        return max(0.5, min(self.heartbeat_interval, 5.0))

    # -- the loop ---------------------------------------------------------------------

    def _run(self) -> None:
        backoff = Backoff(base_seconds=0.1, cap_seconds=5.0)
        while not self._stopping():
            if not self._registered.is_set():
                if not self.register_once():
                    # Capped at one heartbeat interval: a returning controller is found
                    # within two intervals, whatever the outage lasted.
                    backoff.cap_seconds = min(5.0, self.heartbeat_interval)
                    sleep_unless_stopped(backoff.next_delay(), self._stopping)
                    continue
                backoff.reset()
            self.heartbeat_once()
            sleep_unless_stopped(self.heartbeat_interval, self._stopping)
        # The component is stopping: end the directive stream now, not when stop() comes.
        self._watcher.halt()

    def register_once(self) -> bool:
        try:
            ack = self._call(self._control.Register, self._service_info())
        except grpc.RpcError as e:
            self.stats.registration_failures_total += 1
            self._lost(e, "register")
            return False
        if ack is None:  # cancelled: the component is stopping
            return False
        if ack.service_id:
            self.service_id = ack.service_id
        self.stats.registrations_total += 1
        if self.stats.registrations_total > 1:
            self.stats.reregistrations_total += 1
        self._registered.set()
        self._set_connected(True)
        log.info(
            "registered with controller %s as %s", self.settings.flowctl_endpoint, self.service_id
        )
        return True

    def heartbeat_once(self) -> bool:
        heartbeat = cp.ServiceHeartbeat(service_id=self.service_id, metrics=self.collect_metrics())
        heartbeat.timestamp.CopyFrom(_now())
        try:
            answer = self._call(self._control.Heartbeat, heartbeat)
        except grpc.RpcError as e:
            self.stats.heartbeat_failures_total += 1
            if e.code() == grpc.StatusCode.NOT_FOUND:
                log.warning("controller does not know %s: registering again", self.service_id)
                self._registered.clear()
            else:
                self._lost(e, "heartbeat")
            return False
        if answer is None:  # cancelled: the component is stopping
            return False
        self.stats.heartbeats_total += 1
        self._set_connected(True)
        return True

    def collect_metrics(self) -> dict[str, float]:
        """The contract keys from the FlowController, plus the component's own.

        A provider that raises costs its own keys only: the heartbeat still goes out.
        """
        metrics: dict[str, float] = {}
        if self.metrics_provider is not None:
            try:
                extra = dict(self.metrics_provider())
            except Exception as e:
                self.stats.metrics_errors_total += 1
                log.warning("metrics provider failed (heartbeat sent without its keys): %r", e)
                extra = {}
            metrics.update(_finite(extra))
        metrics.update(self.flow.snapshot().heartbeat_metrics())
        return metrics

    def _service_info(self) -> cp.ServiceInfo:
        registration = self.registration
        metadata = {
            "endpoint": registration.endpoint,
            "inputs": ",".join(self.settings.inputs),
            "component_type": self.settings.component_type,
        }
        return cp.ServiceInfo(
            service_id=self.service_id,
            service_type=SERVICE_TYPES.get(
                self.settings.component_type, cp.SERVICE_TYPE_UNSPECIFIED
            ),
            input_event_types=list(registration.input_event_types),
            output_event_types=list(registration.output_event_types),
            health_endpoint=registration.health_endpoint,
            max_inflight=min(self.flow.max_inflight, 2**31 - 1),
            metadata=metadata,
            component_id=self.settings.component_id,
        )

    def _lost(self, error: grpc.RpcError, doing: str) -> None:
        self.stats.last_error = f"{doing}: {rpc_reason(error)}"
        if error.code() not in UNREACHABLE:
            log.error("controller refused %s: %s", doing, self.stats.last_error)
        self._set_connected(False)

    def _set_connected(self, connected: bool) -> None:
        if connected != self._connected:
            was_connected, self._connected = self._connected, connected
            self.flow.set_controller_connected(connected)
            if connected:
                self._loss_reported = False
            elif was_connected:
                self.stats.disconnections_total += 1
        # Said once per loss, and not while starting: a failure in the first registration
        # window is retried quietly, and said here by the first one after it.
        if not connected and not self._loss_reported and not self.starting:
            self._loss_reported = True
            log.warning(
                "controller %s unreachable (%s): running on local flow control",
                self.settings.flowctl_endpoint,
                self.stats.last_error,
            )

    # -- discovery --------------------------------------------------------------------

    def discover(
        self, *, service_type: str | None = None, name: str = "", healthy_only: bool = True
    ) -> list[fc.ServiceEndpoint]:
        request = fc.DiscoverRequest(
            service_type=SERVICE_TYPES.get(service_type or "", cp.SERVICE_TYPE_UNSPECIFIED),
            name=name,
            healthy_only=healthy_only,
        )
        started = time.perf_counter()
        try:
            response = self._call(self._flow_control.Discover, request)
        except grpc.RpcError as e:
            self.stats.discovery_failures_total += 1
            self._lost(e, "discover")
            raise
        finally:
            if self.discovery_observer is not None:
                self.discovery_observer(time.perf_counter() - started)
        if response is None:
            raise FlowctlError(f"discovery of {name or service_type!r} cancelled: stopping")
        return list(response.endpoints)

    def get_policy(self) -> fc.Policy:
        policy: fc.Policy | None = self._call(self._flow_control.GetPolicy, empty_pb2.Empty())
        if policy is None:
            raise FlowctlError("GetPolicy cancelled: the component is stopping")
        return policy

    def _call(self, method: grpc.UnaryUnaryMultiCallable, request: Any) -> Any:
        """`method(request)` with the call timeout, cancelled once the component stops:
        its answer, or None when it was cancelled (flowctl.waits.grpc_result)."""
        future = method.future(request, timeout=self.call_timeout, metadata=self._metadata)
        return grpc_result(future, self._stopping)

    def watch_stream(self) -> grpc.Call:
        """The WatchDirectives stream for this service (used by DirectiveWatcher)."""
        request = fc.DirectiveRequest(service_id=self.service_id)
        return self._flow_control.WatchDirectives(request, metadata=self._metadata)

    @property
    def registered_event(self) -> threading.Event:
        return self._registered


def _finite(values: Mapping[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in values.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out[str(key)] = number
    return out


def _now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp
