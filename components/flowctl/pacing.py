"""Pacing one loop to its FlowController's throttle rate."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowctl.flow_control import FlowController


class Pacer:
    """Paces one loop: after `w` seconds of work, sleeps `w * (1/rate - 1)`."""

    __slots__ = ("_flow", "_last")

    def __init__(self, flow: FlowController) -> None:
        self._flow = flow
        self._last: float | None = None

    def pace(self, items: int = 1) -> float:
        clock = self._flow.clock
        now = clock()
        if self._last is None:
            self._last = now
            return 0.0
        slept = self._flow.pause_after(now - self._last, items)
        self._last = clock()
        return slept

    def reset(self) -> None:
        self._last = None
