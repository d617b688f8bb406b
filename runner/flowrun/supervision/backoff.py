"""Restart policies and exponential backoff: what to do when a component's process ends.

`always` restarts on any exit, `on-failure` on a non-zero exit, a signal, a missed
start timeout or lost heartbeats, `never` not at all. Each restart waits
`backoff * 2**n` (capped at `max_backoff`, minus up to 20% jitter so that components
which failed together do not restart in lockstep), where n counts the failures since the
component was last ready for a whole `window`. More than `max_restarts` restarts within
`window` and the component is `failed`: restarting it again would only hide the fault.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from flowrun.spec.model import RestartConfig, RestartPolicy

JITTER_FRACTION = 0.2


class Verdict(StrEnum):
    RESTART = "restart"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    delay_seconds: float = 0.0
    reason: str = ""


def wants_restart(policy: RestartPolicy, failure: bool) -> bool:
    if policy is RestartPolicy.ALWAYS:
        return True
    if policy is RestartPolicy.ON_FAILURE:
        return failure
    return False


class RestartTracker:
    """Restart history and backoff of one component (monotonic clock, in seconds)."""

    def __init__(self, config: RestartConfig, rng: random.Random | None = None) -> None:
        self.config = config
        self._rng = rng or random.Random()
        self._restarts: deque[float] = deque()
        self._consecutive = 0

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive

    def reconfigure(self, config: RestartConfig) -> None:
        """A hot reload changed the policy: keep the history, follow the new limits."""
        self.config = config

    def backoff_delay(self) -> float:
        base = min(self.config.max_backoff, self.config.backoff * 2.0**self._consecutive)
        return base * (1.0 - JITTER_FRACTION * self._rng.random())

    def decide(self, now: float, *, failure: bool, what: str) -> Decision:
        """What to do after the process ended; records the restart it allows."""
        if not wants_restart(self.config.policy, failure):
            verdict = Verdict.FAILED if failure else Verdict.STOPPED
            return Decision(verdict, reason=f"{what} (restart policy: {self.config.policy.value})")
        self._forget_before(now - self.config.window)
        if len(self._restarts) >= self.config.max_restarts:
            return Decision(
                Verdict.FAILED,
                reason=f"{what}; restarted {len(self._restarts)} times within "
                f"{self.config.window:g}s (max_restarts: {self.config.max_restarts}), giving up",
            )
        delay = self.backoff_delay()
        self._restarts.append(now)
        self._consecutive += 1
        return Decision(Verdict.RESTART, delay, f"{what}; restarting in {delay:.1f}s")

    def ready_for(self, seconds: float) -> None:
        """The component has been ready this long: a whole window of health resets the backoff."""
        if seconds >= self.config.window:
            self._consecutive = 0

    def _forget_before(self, horizon: float) -> None:
        while self._restarts and self._restarts[0] < horizon:
            self._restarts.popleft()
