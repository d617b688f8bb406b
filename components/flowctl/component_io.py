"""Reading a component's inputs through the pool, and its status document."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from flowctl.errors import FlowctlError
from flowctl.health import Check
from flowctl.positions import OPAQUE_POSITIONS, CurrentPosition
from flowctl.resumable import ResumableInput
from flowctl.tickets import StreamTicket

if TYPE_CHECKING:
    from flowctl.component import Component


class InputReader:
    def __init__(self, component: Component, position: CurrentPosition) -> None:
        self._component = component
        self.position = position
        self._lock = threading.Lock()
        self._reading: list[ResumableInput[str]] = []

    def endpoint(self, name: str) -> str:
        """The input's endpoint: from the runner's FLOWRUN_INPUTS, else discovery."""
        component = self._component
        endpoint = component.settings.inputs.get(name, "")
        if endpoint:
            return endpoint
        if name not in component.settings.inputs:
            known = ", ".join(component.settings.inputs) or "none"
            raise FlowctlError(f"{name!r} is not an input of this component (inputs: {known})")
        client = component.client
        if client is None:
            raise FlowctlError(f"input {name!r} has no endpoint and flowctl is disabled")
        for found in client.discover(name=name):
            if found.endpoint:
                return found.endpoint
        raise FlowctlError(f"input {name!r}: the controller knows no healthy endpoint for it")

    def read(self, name: str | None, ticket: StreamTicket) -> Iterator[pa.RecordBatch]:
        """Batches of `ticket` from input `name` (the only input when None), resumed after
        the last one delivered whenever the input goes away, until its stream is finished.

        Before a batch is handed over, `position` holds its position on this thread. A
        batch's rows count in flight from its arrival until the next batch is asked
        for, so a slow consumer shows as load; the loop is paced to the throttle rate.
        """
        component = self._component
        upstream = ResumableInput(
            component, OPAQUE_POSITIONS, input_name=name or self._only_input(), stream=ticket.stream
        )
        flow = component.flow
        pacer = flow.pacer()
        with self._lock:
            self._reading.append(upstream)
        try:
            for batch, position in upstream.chunks(ticket):
                rows = batch.num_rows
                if rows == 0:
                    continue
                if not flow.acquire(rows, timeout=None):  # pragma: no cover - no timeout
                    return
                arrived = time.monotonic()
                self.position.set(position or None)
                try:
                    yield batch
                finally:
                    flow.release(rows, time.monotonic() - arrived)
                pacer.pace(rows)
        finally:
            with self._lock:
                self._reading.remove(upstream)

    def health_checks(self, interval_seconds: float) -> list[Check]:
        """An input lost for several monitoring intervals makes the component degraded."""
        with self._lock:
            reading = list(self._reading)
        return [check for upstream in reading if (check := upstream.health(interval_seconds))]

    def _only_input(self) -> str:
        inputs = list(self._component.settings.inputs)
        if len(inputs) != 1:
            raise FlowctlError(
                f"read_input() needs an input name: this component has {len(inputs)} "
                f"inputs ({', '.join(inputs) or 'none'})"
            )
        return inputs[0]


def component_status(component: Component) -> dict[str, Any]:
    """The `get_status` action's answer."""
    settings = component.settings
    client = component.client
    snapshot = component.flow.snapshot()
    return {
        "component_id": settings.component_id,
        "service_id": client.service_id if client else settings.service_id,
        "component_type": settings.component_type,
        "endpoint": component.endpoint,
        "pid": os.getpid(),
        "uptime_seconds": time.time() - component.started_at,
        "flowctl_enabled": settings.flowctl_enabled,
        "registered": client.registered if client else False,
        "controller_connected": snapshot.controller_connected,
        "flow_control_mode": "controller" if snapshot.controller_connected else "local",
        "flow": asdict(snapshot),
        "thresholds": asdict(component.flow.thresholds),
        "pools": [asdict(stats) for stats in component.pools.stats()],
        "client": asdict(client.stats) if client else None,
        "health": component.health().status,
        "metrics_port": component.monitor.port,
    }
