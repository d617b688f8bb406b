"""Rates from successive samples of a counter: what `top` shows as events per second.

The rate is taken over a sliding window (the samples of the last `window_seconds`): a
component that commits in bursts (the analytics sink writes a batch every few seconds)
shows its steady rate, not 0 then a spike, frame after frame.

A counter belongs to one process: a new pid (a restart) or a counter that went down
starts over rather than showing a negative or a huge rate. Two samples closer than
`min_window_seconds` (two `top` clients asking at once) give the last rate again.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

DEFAULT_WINDOW_SECONDS = 5.0
DEFAULT_MIN_WINDOW_SECONDS = 0.25


@dataclass
class _Series:
    pid: int | None
    samples: deque[tuple[float, float]] = field(default_factory=deque)
    """(at, value), oldest first."""
    rate: float | None = None


class RateTracker:
    """Per key (a component's counter): its rate over the last window."""

    def __init__(
        self,
        *,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        min_window_seconds: float = DEFAULT_MIN_WINDOW_SECONDS,
    ) -> None:
        self._window_seconds = window_seconds
        self._min_window_seconds = min_window_seconds
        self._series: dict[str, _Series] = {}

    def observe(self, key: str, pid: int | None, value: float | None, at: float) -> float | None:
        """The rate per second of `key` with this new sample (`at`: monotonic seconds);
        None until two samples of the same process are known."""
        if value is None:
            self._series.pop(key, None)
            return None
        series = self._series.get(key)
        if series is None or series.pid != pid or _went_back(series, value, at):
            self._series[key] = _Series(pid, deque([(at, value)]))
            return None
        if at - series.samples[-1][0] < self._min_window_seconds:
            return series.rate
        series.samples.append((at, value))
        # Keep one sample at or beyond the window's start, so the window is always full.
        while len(series.samples) > 2 and at - series.samples[1][0] >= self._window_seconds:
            series.samples.popleft()
        first_at, first_value = series.samples[0]
        series.rate = (value - first_value) / (at - first_at)
        return series.rate

    def forget_except(self, keys: set[str]) -> None:
        """Drop what no longer exists (a component removed by a reload)."""
        for key in set(self._series) - keys:
            del self._series[key]


def _went_back(series: _Series, value: float, at: float) -> bool:
    last_at, last_value = series.samples[-1]
    return value < last_value or at < last_at
