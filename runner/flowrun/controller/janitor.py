"""The TTL janitor: services silent past heartbeat_ttl become unhealthy.

Health read through the controller is always computed from the time of the last
heartbeat, so it is exact at any moment; the janitor's job is the side effects: a
silent overloaded service stops throttling its upstream, and the change is logged.
"""

from __future__ import annotations

import asyncio
import logging

from flowrun.controller.state import ControllerState

logger = logging.getLogger(__name__)

MIN_SWEEP_INTERVAL = 0.05
MAX_SWEEP_INTERVAL = 1.0


def sweep_interval(heartbeat_ttl: float) -> float:
    """A quarter of the TTL, so a silent service is noticed soon after its TTL, within bounds."""
    return min(MAX_SWEEP_INTERVAL, max(MIN_SWEEP_INTERVAL, heartbeat_ttl / 4))


class Janitor:
    def __init__(self, state: ControllerState) -> None:
        self._state = state
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="flowctl-janitor")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            # Ours was cancelled; re-raise only if the caller itself is being cancelled.
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(sweep_interval(self._state.policy.heartbeat_ttl_seconds))
            try:
                silent = self._state.sweep()
            except Exception:
                # A bug here must not end health checking for the controller's lifetime.
                logger.exception("health sweep failed; retrying")
                continue
            ttl = self._state.policy.heartbeat_ttl_seconds
            for service_id in silent:
                logger.warning("service %s silent for more than %gs: unhealthy", service_id, ttl)
