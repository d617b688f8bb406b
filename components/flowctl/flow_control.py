"""Flow control inside one component: inflight accounting, load, throttling, rates.

`FlowController` is thread-safe (Flight handlers run on many threads). A component
counts work in flight (`with flow.inflight(n):`), and calls `flow.pace()` once per
unit of work so that a throttle directive really slows it: after `w` seconds of work
at rate `r`, `pace` sleeps `w * (1/r - 1)`, so the loop runs at `r` times its own
unthrottled speed. The rate comes from the controller's directives while one is
connected, and from local hysteresis (`FlowControlSettings.overloaded`, the rule the
controller applies too) on the same thresholds when none is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flowctl.contract import FlowControlSettings, check
from flowctl.errors import FlowControlError
from flowctl.pacing import Pacer
from flowctl.snapshot import FlowSnapshot
from flowctl.window import SlidingWindow, Totals

MIN_THROTTLE_RATE = 0.01
log = logging.getLogger("flowctl.flow_control")

__all__ = ["FlowController", "FlowSnapshot", "Pacer"]


class FlowController:
    """Inflight accounting with a bounded acquire, load, throttle and throughput."""

    def __init__(
        self,
        max_inflight: int = 1000,
        thresholds: FlowControlSettings | None = None,
        *,
        window_seconds: float = 10.0,
        max_pause_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[threading.Event, float], object] = threading.Event.wait,
    ) -> None:
        self._sleep = sleep
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)
        self._clock = clock
        self.clock = clock
        self._window = SlidingWindow(window_seconds, clock)
        self._inflight = 0
        self._completed = 0
        self._latency_sum = 0.0
        self._latency_count = 0
        self._waiters = 0
        self._local_overloaded = False
        self._oversize_said = False
        self._controller_connected = False
        self._directed_rate = 1.0
        self._directed_backpressure = False
        self._rate_changed = threading.Event()
        self._pace_state = threading.local()
        self._paced_work: deque[tuple[int, float]] = deque(maxlen=64)
        self.max_pause_seconds = max_pause_seconds
        self.latency_observer: Callable[[float], None] | None = None
        self._thresholds = check(thresholds or FlowControlSettings())
        self._max_inflight = 1
        self.set_max_inflight(max_inflight)

    # -- accounting -------------------------------------------------------------------

    def acquire(self, n: int = 1, timeout: float | None = None) -> bool:
        """Count `n` items in flight; wait while that would pass max_inflight.

        Returns False when `timeout` (seconds) ran out first. A request larger than
        max_inflight is admitted alone (when nothing else is in flight) so it cannot
        wait forever.
        """
        with self._lock:
            if self._inflight + n <= self._max_inflight:
                self._inflight += n
                self._follow_load()
                return True
            return self._acquire_slow(n, timeout)

    def try_acquire(self, n: int = 1) -> bool:
        return self.acquire(n, timeout=0.0)

    def _acquire_slow(self, n: int, timeout: float | None) -> bool:
        # A caller that has to wait is the plainest sign of overload, whatever the load says.
        self._local_overloaded = True
        if n > self._max_inflight and not self._oversize_said:
            self._oversize_said = True
            log.warning(
                "%d items asked at once, more than max_inflight %d: admitted alone, they "
                "read as a load above 1 until done, so backpressure stays on while such "
                "requests come however fast they are served; set this component's "
                "max_inflight in the spec to at least %d",
                n,
                self._max_inflight,
                2 * n,
            )
        deadline = None if timeout is None else self._clock() + timeout
        self._waiters += 1
        try:
            while self._inflight and self._inflight + n > self._max_inflight:
                remaining = None if deadline is None else deadline - self._clock()
                if remaining is not None and remaining <= 0:
                    return False
                self._space.wait(remaining)
            self._inflight += n
            self._follow_load()
            return True
        finally:
            self._waiters -= 1

    def release(self, n: int = 1, latency_seconds: float | None = None) -> None:
        """Mark `n` items done: they count toward throughput (and latency, if given)."""
        with self._lock:
            if n > self._inflight:
                raise FlowControlError(
                    f"release({n}) with only {self._inflight} in flight: "
                    "every release needs its acquire"
                )
            self._inflight -= n
            self._follow_load()
            self._completed += n
            if latency_seconds is not None:
                self._latency_sum += latency_seconds
                self._latency_count += 1
            if self._waiters:
                self._space.notify_all()
        if latency_seconds is not None and self.latency_observer is not None:
            self.latency_observer(latency_seconds)

    def record(self, items: int, latency_seconds: float | None = None) -> None:
        """Count finished items that never went through acquire (a source's output)."""
        with self._lock:
            self._completed += items
            if latency_seconds is not None:
                self._latency_sum += latency_seconds
                self._latency_count += 1
        if latency_seconds is not None and self.latency_observer is not None:
            self.latency_observer(latency_seconds)

    @contextmanager
    def inflight(self, n: int = 1, timeout: float | None = None) -> Iterator[None]:
        """`with flow.inflight(n):` the block's items count in flight; latency is measured."""
        if not self.acquire(n, timeout):
            raise FlowControlError(f"no room for {n} more in flight within {timeout}s")
        started = self._clock()
        try:
            yield
        finally:
            self.release(n, self._clock() - started)

    # -- throttling -------------------------------------------------------------------

    def pace(self, items: int = 1) -> float:
        """Sleep so this thread runs at the throttle rate; return the seconds slept.

        Call once per unit of work; `items` is how many items that unit held (used to
        report the unthrottled rate). The first call of a thread only starts its clock.
        Loops that run on pooled threads should use their own `pacer()` instead.
        """
        pacer: Pacer | None = getattr(self._pace_state, "pacer", None)
        if pacer is None:
            pacer = self._pace_state.pacer = Pacer(self)
        return pacer.pace(items)

    def pacer(self) -> Pacer:
        """A fresh pacer for one loop (its clock starts at its first `pace`)."""
        return Pacer(self)

    def pause_after(self, work_seconds: float, items: int) -> float:
        """Sleep as long as `work_seconds` of work calls for at the current rate."""
        self._paced_work.append((items, work_seconds))
        rate = self.throttle_rate
        if rate >= 1.0:
            return 0.0
        pause = min(work_seconds * (1.0 / rate - 1.0), self.max_pause_seconds)
        if pause <= 0.0:
            return 0.0
        started = self._clock()
        # Waiting on the event (not time.sleep) ends the pause early when the rate changes.
        self._sleep(self._rate_changed, pause)
        return self._clock() - started

    @property
    def unthrottled_rate(self) -> float:
        """Items per second of work alone (pauses excluded), over the last calls of pace."""
        samples = list(self._paced_work)
        work = sum(seconds for _, seconds in samples)
        return sum(items for items, _ in samples) / work if work > 0 else 0.0

    @property
    def throttle_rate(self) -> float:
        """The rate to run at now: 1.0 is full speed."""
        if self._controller_connected:
            return self._directed_rate
        return self._thresholds.throttle_rate if self._local_overloaded else 1.0

    @property
    def backpressure_active(self) -> bool:
        if self._controller_connected:
            return self._directed_backpressure
        return self._local_overloaded

    def apply_directive(self, throttle_rate: float, backpressure_active: bool) -> None:
        """Follow the controller: run at `throttle_rate` (clamped to [0.01, 1])."""
        rate = (
            min(1.0, max(MIN_THROTTLE_RATE, throttle_rate))
            if throttle_rate == throttle_rate
            else 1.0
        )
        with self._lock:
            changed = rate != self._directed_rate
            self._directed_rate = rate
            self._directed_backpressure = backpressure_active
        if changed:
            self._wake_pacers()

    def set_controller_connected(self, connected: bool) -> None:
        """Connected: directives rule. Not connected: local hysteresis rules."""
        with self._lock:
            changed = connected != self._controller_connected
            self._controller_connected = connected
        if changed:
            self._wake_pacers()

    def _wake_pacers(self) -> None:
        # Pacers wait on the event they saw; a fresh one makes the next wait block again.
        event, self._rate_changed = self._rate_changed, threading.Event()
        event.set()

    # -- configuration ----------------------------------------------------------------

    def update_thresholds(self, thresholds: FlowControlSettings) -> None:
        check(thresholds)
        with self._lock:
            self._thresholds = thresholds
            self._follow_load()
        self._wake_pacers()

    def set_max_inflight(self, max_inflight: int) -> None:
        if max_inflight < 1:
            raise FlowControlError(f"max_inflight must be >= 1, got {max_inflight}")
        with self._lock:
            self._max_inflight = max_inflight
            self._follow_load()
            self._space.notify_all()

    def _follow_load(self) -> None:
        """Local hysteresis on the current load (called with the lock held)."""
        load = self._inflight / self._max_inflight
        self._local_overloaded = self._thresholds.overloaded(load, self._local_overloaded)

    @property
    def thresholds(self) -> FlowControlSettings:
        return self._thresholds

    # -- readings ---------------------------------------------------------------------

    @property
    def inflight_count(self) -> int:
        return self._inflight

    @property
    def max_inflight(self) -> int:
        return self._max_inflight

    @property
    def load(self) -> float:
        return self._inflight / self._max_inflight

    @property
    def controller_connected(self) -> bool:
        return self._controller_connected

    def snapshot(self) -> FlowSnapshot:
        with self._lock:
            total = self._completed
            totals = Totals(total, self._latency_sum, self._latency_count)
            throughput, latency = self._window.read(totals)
            return FlowSnapshot(
                inflight=self._inflight,
                max_inflight=self._max_inflight,
                load=self._inflight / self._max_inflight,
                throughput=throughput,
                latency_seconds=latency,
                throttle_rate=self.throttle_rate,
                backpressure_active=self.backpressure_active,
                controller_connected=self._controller_connected,
                completed_total=total,
            )
