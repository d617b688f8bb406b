"""Helpers of the SDK integration tests: a real Controller on its own loop thread, a Flight
source component to pull from, and an SDK component program run as a subprocess."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.flight as flight
from flowctl import Component, ComponentSettings, StreamTicket
from flowctl.actions import call_action_at
from flowctl.contract import FlowControlSettings, Policy, PoolSettings
from flowrun.controller.server import Controller
from flowrun.controller.views import ServiceView
from polling import wait_for

T = TypeVar("T")
C = TypeVar("C", bound=Component)


class ControllerThread:
    """A flowrun Controller served by an asyncio loop on a daemon thread."""

    def __init__(self, policy: Policy | None = None, **kwargs: Any) -> None:
        self.policy = policy or Policy(heartbeat_interval_seconds=0.2, heartbeat_ttl_seconds=1.0)
        self.kwargs = kwargs
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.controller: Controller | None = None

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def start(self, listen: str = "127.0.0.1:0") -> str:
        async def start() -> str:
            self.controller = Controller(self.policy, listen=listen, **self.kwargs)
            return await self.controller.start()

        return self._run(start())

    def stop(self) -> None:
        if self.controller is not None:
            controller, self.controller = self.controller, None
            self._run(controller.stop(grace=0.2))

    def update_policy(self, policy: Policy) -> int:
        assert self.controller is not None
        return self._run(self.controller.update_policy(policy))

    def services(self) -> dict[str, ServiceView]:
        controller = self.controller
        if controller is None:
            return {}

        async def views() -> list[ServiceView]:
            return controller.services()

        return {view.service_id: view for view in self._run(views())}

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


def started_controller() -> Iterator[ControllerThread]:
    """A started ControllerThread on its default policy, closed afterwards (as a fixture:
    `controller = pytest.fixture(started_controller, name="controller")`)."""
    thread = ControllerThread()
    thread.start()
    yield thread
    thread.close()


def component_settings(controller: str | None, **overrides: Any) -> ComponentSettings:
    values: dict[str, Any] = {
        "component_id": "sdk-test",
        "service_id": "sdk-test",
        "component_type": "source",
        "endpoint": "127.0.0.1:0",
        "flowctl_enabled": controller is not None,
        "flowctl_endpoint": controller or "127.0.0.1:1",
        "heartbeat_interval_seconds": 0.2,
        "max_inflight": 100,
        "flow_control": FlowControlSettings(),
        "pool": PoolSettings(min_connections=1, max_connections=4, connect_timeout_seconds=1.0),
    }
    values.update(overrides)
    return ComponentSettings(**values)


@contextmanager
def serving(component: C) -> Iterator[C]:
    """`component` started (in this process), stopped and shut down at the end."""
    component.start()
    try:
        yield component
    finally:
        component.stop()
        component.shutdown()


class CountingSource(Component):
    """Serves `rows` rows per ledger, one batch per ledger, ledgers start..start+count-1."""

    count = 20
    rows = 10

    def schema(self) -> pa.Schema:
        return pa.schema([("ledger", pa.int64()), ("value", pa.int64())])

    def stream(self, ticket: StreamTicket) -> Iterator[pa.RecordBatch]:
        for ledger in range(ticket.start, ticket.start + self.count):
            yield pa.record_batch(
                [
                    pa.array([ledger] * self.rows, pa.int64()),
                    pa.array(range(self.rows), pa.int64()),
                ],
                schema=self.schema(),
            )


class CancellingServer(flight.FlightServerBase):  # type: ignore[misc]
    """Cancels every ListActions, as a server restarting (or a proxy) may cancel a call:
    pyarrow answers each with a simulated SIGINT (flowctl.cancelled_calls)."""

    def __init__(self) -> None:
        super().__init__("grpc://127.0.0.1:0")
        self.cancelled = 0

    def list_actions(self, context: flight.ServerCallContext) -> list[flight.ActionType]:
        self.cancelled += 1
        raise flight.FlightCancelledError("cancelled by the server")


def spawn(program: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python PROGRAM` with its stdout and stderr in `log`."""
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, str(program)], env=env, stdout=out, stderr=out)


def ended(proc: subprocess.Popen[bytes]) -> None:
    """Killed if a test left it running."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def wait_serving(endpoint: str) -> None:
    """Until the component answers an action. (Not wait_for_available: its ListFlights waits
    for a processor's schema, so for its input, which is unreachable in these tests.)"""
    wait_for(
        lambda: call_action_at(endpoint, "get_status", timeout_seconds=1.0),
        what=f"a component serving Flight on {endpoint}",
        ignoring=(flight.FlightError, OSError),
    )
