"""Waits that end when the component stops.

A signal handler only sets the component's `stopping` event (flowctl.lifecycle), so a
component answers SIGTERM at once only if every wait of the SDK that can last more than
a moment looks at that event too: a back-off, a wait for a pooled connection, a
registration call to a controller that does not answer, a connect to an input that is
gone. Python cannot wait on two events at once, nor can a Flight call be cancelled from
another thread, so these waits go in slices of `STOP_CHECK_SECONDS` and look between
them; a gRPC call runs as a future and is cancelled when the stop comes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import grpc

STOP_CHECK_SECONDS = 0.05
"""How long a wait may go without looking at the stop: the latency of an answer to SIGTERM."""

Stopped = Callable[[], bool]


def never_stopped() -> bool:
    return False


def any_set(events: Iterable[threading.Event | None]) -> Stopped:
    """A `Stopped` that is true once any of `events` is set (None entries are skipped)."""
    present = tuple(event for event in events if event is not None)
    return lambda: any(event.is_set() for event in present)


def wait_unless_stopped(
    event: threading.Event, timeout_seconds: float | None, stopped: Stopped
) -> bool:
    """`event.wait(timeout_seconds)` that also ends once `stopped()` is true.

    True when `event` was set or `stopped()` turned true (the caller asks which), False when
    the time ran out."""
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    while True:
        if event.is_set() or stopped():
            return True
        slice_seconds = STOP_CHECK_SECONDS
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            slice_seconds = min(slice_seconds, remaining)
        event.wait(slice_seconds)


def sleep_unless_stopped(seconds: float, stopped: Stopped) -> bool:
    """Sleep `seconds`, or less when `stopped()` turns true; True when it did."""
    return wait_unless_stopped(threading.Event(), seconds, stopped)


def grpc_result(future: grpc.Future, stopped: Stopped) -> Any:
    """The answer of a gRPC call started with `.future(...)`, its RpcError raised as usual;
    None when `stopped()` turned true first (then the call is cancelled: its timeout, up
    to seconds against a controller that does not answer, is not waited out), or when the
    call was cancelled otherwise (its channel closed by a stop)."""
    while True:
        try:
            return future.result(timeout=STOP_CHECK_SECONDS)
        except grpc.FutureCancelledError:
            return None
        except grpc.FutureTimeoutError:
            if stopped():
                future.cancel()
                return None
