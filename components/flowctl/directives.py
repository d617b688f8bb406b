"""Following the controller's WatchDirectives stream: throttle, backpressure, policy.

A directive sets the FlowController's rate; a policy with a new revision updates the
thresholds, the heartbeat interval and (through `on_policy`) the pool sizes, live. A
policy the contract refuses is ignored whole, with a warning.
The stream is re-opened after every break once the client is registered again. Every
wait of the watcher ends when the client or its component is stopping.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import grpc

from flowctl import flow_control_pb2 as fc
from flowctl.backoff import Backoff
from flowctl.contract import Policy
from flowctl.errors import SettingsError
from flowctl.policy_codec import policy_from_proto
from flowctl.waits import sleep_unless_stopped, wait_unless_stopped

if TYPE_CHECKING:
    from flowctl.client import ControllerClient

log = logging.getLogger("flowctl.directives")


class DirectiveWatcher:
    def __init__(
        self, client: ControllerClient, on_policy: Callable[[Policy], None] | None
    ) -> None:
        self._client = client
        self._on_policy = on_policy
        self._thread: threading.Thread | None = None
        self._stream: grpc.Call | None = None
        # Set by stop(); with _stream under _lock, so that a stream opened while stop()
        # runs is cancelled by whichever of the two comes second.
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self.policy_revision = 0
        self.policy: Policy | None = None
        self.last_directive: fc.Directive | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="flowctl-directives", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Stop following, whatever the watcher is doing (waiting for registration, opening a
        stream, reading one, backing off); wait up to `timeout` seconds for its thread."""
        self.halt()
        if self._thread is not None:
            self._thread.join(timeout)

    def halt(self) -> None:
        """What stop() does without waiting: safe from the thread that follows the stream."""
        with self._lock:
            self._halt.set()
            stream = self._stream
        if stream is not None:
            stream.cancel()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _halted(self) -> bool:
        return self._halt.is_set() or self._client.is_stopping()

    def _run(self) -> None:
        client = self._client
        backoff = Backoff(base_seconds=0.05, cap_seconds=1.0)
        while not self._halted():
            wait_unless_stopped(client.registered_event, None, self._halted)
            if self._halted():
                return
            if self._follow_once():
                backoff.reset()
            backoff.cap_seconds = min(1.0, client.heartbeat_interval)
            sleep_unless_stopped(backoff.next_delay(), self._halted)

    def _follow_once(self) -> bool:
        """Read one stream until it breaks; True when it delivered anything."""
        delivered = False
        stream = self._client.watch_stream()
        with self._lock:
            if self._halt.is_set():
                # stop() came while this stream was being opened: it could not cancel it.
                stream.cancel()
                return False
            self._stream = stream
        try:
            for directive in stream:
                delivered = True
                self.apply(directive)
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.UNIMPLEMENTED:
                log.warning("controller has no FlowControl service: no directives will come")
                wait_unless_stopped(self._halt, None, self._halted)
            elif e.code() != grpc.StatusCode.CANCELLED:
                log.debug("directive stream broke: %s", e.code().name)
        finally:
            with self._lock:
                self._stream = None
        return delivered

    def apply(self, directive: fc.Directive) -> None:
        client = self._client
        client.stats.directives_total += 1
        self.last_directive = directive
        client.flow.apply_directive(directive.throttle_rate, directive.backpressure_active)
        if directive.HasField("policy") and directive.policy.revision != self.policy_revision:
            self.apply_policy(directive.policy)

    def apply_policy(self, message: fc.Policy) -> None:
        client = self._client
        revision = self.policy_revision = message.revision
        # What an older controller leaves out stays as this component has it.
        current = self.policy.pool if self.policy is not None else client.settings.pool
        try:
            policy = policy_from_proto(message, pool_fallback=current)
        except SettingsError as e:
            log.warning("ignoring policy %d: %s", revision, e)
            return
        self.policy = policy
        client.flow.update_thresholds(policy.flow_control)
        client.heartbeat_interval = policy.heartbeat_interval_seconds
        flow = policy.flow_control
        log.info(
            "policy %d: activate_at=%s deactivate_at=%s throttle_rate=%s heartbeat=%ss",
            revision,
            flow.activate_at,
            flow.deactivate_at,
            flow.throttle_rate,
            client.heartbeat_interval,
        )
        if self._on_policy is not None:
            try:
                self._on_policy(policy)
            except Exception:
                # A component's hook must not end the directive stream it rides on.
                log.exception("applying policy %d in the component failed", revision)
