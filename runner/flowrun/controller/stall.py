"""Noticing that our own event loop did not run for a while: a stall of this very process.

Whoever judges others by the heartbeats it receives hears them only while its own loop
runs. When the process is stopped (SIGSTOP, Ctrl-Z), its VM paused, its host suspended or
its loop blocked, the heartbeats sent meanwhile wait unread, and on resume every sender
looks silent for as long as the judge was away. So a loop that judges liveness measures the
gaps between its own passes: a pass that comes much later than planned means it was away,
and the caller then gives everyone it judges a fresh allowance from that moment instead of
holding the unread heartbeats against them.

The controller's janitor and the runner's watch of each component use it (the supervisor
sits above the controller, so this lives here).
"""

from __future__ import annotations

import time
from collections.abc import Callable

MAX_STALL_SLACK_SECONDS = 1.0

_BOOTTIME: int | None = getattr(time, "CLOCK_BOOTTIME", None)


def awake_seconds() -> float:
    """Seconds on a clock that keeps running while this process is stopped and while the
    host is suspended, and never steps: CLOCK_BOOTTIME on Linux (time.monotonic elsewhere).

    The runner judges heartbeats on the wall clock (the controller stamps them in epoch
    seconds), and the wall clock runs through a host suspend; time.monotonic does not
    (CLOCK_MONOTONIC stops while the host sleeps), so a suspend measured on it would go
    unnoticed and still make every component look silent for as long as the host slept.
    The wall clock itself cannot measure the absence: it steps (NTP, an operator's `date`).
    """
    if _BOOTTIME is None:
        return time.monotonic()
    return time.clock_gettime(_BOOTTIME)


def stall_slack(ttl_seconds: float) -> float:
    """How much later than planned a pass may come before it counts as a stall.

    A quarter of the TTL: a shorter absence cannot by itself cost a component that
    heartbeats a few times per TTL its TTL. At most a second: an asyncio loop wakes within
    milliseconds, a loaded host within a few hundred; only a real stall is later still. Not
    lower, so that a loop that is merely slow keeps judging (each stall postpones a verdict
    by up to one TTL, and a loop late on every pass would never reach one)."""
    return min(MAX_STALL_SLACK_SECONDS, ttl_seconds / 4)


class LoopGaps:
    """The gaps between the passes of one loop, on `clock` (one that runs while the process
    is stopped and, where silence is judged on the wall clock, while the host sleeps)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._last_pass = clock()

    def stalled(self, planned_gap_seconds: float, ttl_seconds: float) -> float | None:
        """The seconds since the previous pass (or since this was made) when the loop was
        away for longer than planned by more than `stall_slack(ttl_seconds)`; else None."""
        now = self._clock()
        gap, self._last_pass = now - self._last_pass, now
        if gap - planned_gap_seconds > stall_slack(ttl_seconds):
            return gap
        return None
