"""The TTL janitor: services silent past heartbeat_ttl become unhealthy.

Health read through the controller is always computed from the time of the last
heartbeat, so it is exact at any moment; the janitor's job is the side effects: a
silent overloaded service stops throttling its upstream, and the change is logged.

It also notices when the controller's own loop did not run (a sweep much later than
planned: the process was stopped or blocked) and tells the state, so that heartbeats that
waited unread meanwhile are not held against anyone (`flowrun.controller.stall`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from flowrun.controller.stall import LoopGaps
from flowrun.controller.state import ControllerState

logger = logging.getLogger(__name__)

MIN_SWEEP_INTERVAL = 0.05
MAX_SWEEP_INTERVAL = 1.0


def sweep_interval(heartbeat_ttl: float) -> float:
    """A quarter of the TTL, so a silent service is noticed soon after its TTL, within bounds."""
    return min(MAX_SWEEP_INTERVAL, max(MIN_SWEEP_INTERVAL, heartbeat_ttl / 4))


class Janitor:
    def __init__(
        self, state: ControllerState, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """`clock` measures the gaps between sweeps (a test's manual clock plays a stall).
        time.monotonic, as the state's own silence: a host suspend stops both, so only an
        absence that made services look silent counts as a stall."""
        self._state = state
        self._clock = clock
        self._gaps = LoopGaps(clock)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._gaps = LoopGaps(self._clock)  # the time before it started is no stall
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
            pause_seconds = sweep_interval(self._state.policy.heartbeat_ttl_seconds)
            await asyncio.sleep(pause_seconds)
            self.sweep(pause_seconds)

    def sweep(self, planned_gap_seconds: float) -> list[str]:
        """One pass, planned `planned_gap_seconds` after the previous one; the newly silent."""
        ttl = self._state.policy.heartbeat_ttl_seconds
        try:
            stalled_seconds = self._gaps.stalled(planned_gap_seconds, ttl)
            if stalled_seconds is not None:
                self._state.resume(stalled_seconds)
                logger.warning(
                    "the controller did not run for %.1fs (its process stopped, its VM paused "
                    "or its loop blocked): heartbeats missed meanwhile do not count, every "
                    "service live before has its whole heartbeat allowance again from now",
                    stalled_seconds,
                )
            silent = self._state.sweep()
        except Exception:
            # A bug here must not end health checking for the controller's lifetime.
            logger.exception("health sweep failed; retrying")
            return []
        for service_id in silent:
            logger.warning("service %s silent for more than %gs: unhealthy", service_id, ttl)
        return silent
