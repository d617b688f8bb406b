"""Waiting in tests: poll a condition until it holds or a timeout passes. Never a bare sleep.

    from polling import wait_for, wait_for_async

    value = wait_for(lambda: server.stats().get("done"), 60, "the server to finish")
    await wait_for_async(controller.services, what="a service registered", interval=0.02)

The value returned is the condition's first truthy value. On timeout an AssertionError
names what was waited for, for how long, and the last value seen (or the last exception
ignored), so a failing test says what did not happen. `ignoring=(OSError,)` treats those
exceptions as "not yet" (a process restarting, a port not open yet).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

TIMEOUT_SECONDS = 60.0  # only a failing test waits this long: generous for a loaded machine
INTERVAL_SECONDS = 0.05
_NOTHING = object()


class _Attempts:
    """The deadline and the last value or exception, for the message of a timeout."""

    def __init__(self, timeout: float, what: str, condition: object) -> None:
        self.timeout = timeout
        self.what = what or getattr(condition, "__qualname__", repr(condition))
        self.deadline = time.monotonic() + timeout
        self.last: object = _NOTHING
        self.error: BaseException | None = None

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def failure(self) -> AssertionError:
        if self.error is not None:
            seen = f"last error {type(self.error).__name__}: {self.error}"
        elif self.last is _NOTHING:
            seen = "never checked"
        else:
            seen = f"last value {_short(repr(self.last))}"
        message = f"not within {self.timeout:g}s: {self.what} ({seen})"
        error = AssertionError(message)
        error.__cause__ = self.error
        return error


def _short(text: str, most: int = 300) -> str:
    return text if len(text) <= most else f"{text[: most - 5]}[...]"


def wait_for(
    condition: Callable[[], T],
    timeout: float = TIMEOUT_SECONDS,
    what: str = "",
    interval: float = INTERVAL_SECONDS,
    *,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `condition` every `interval` seconds until it returns something truthy."""
    attempts = _Attempts(timeout, what, condition)
    while True:
        try:
            value = condition()
        except ignoring as e:
            attempts.error = e
        else:
            if value:
                return value
            attempts.last, attempts.error = value, None
        if attempts.expired():
            raise attempts.failure()
        time.sleep(interval)


async def wait_for_async(
    condition: Callable[[], T | Awaitable[T]],
    timeout: float = TIMEOUT_SECONDS,
    what: str = "",
    interval: float = INTERVAL_SECONDS,
    *,
    ignoring: tuple[type[BaseException], ...] = (),
) -> T:
    """wait_for inside an event loop: `condition` may be a plain or an async function."""
    attempts = _Attempts(timeout, what, condition)
    while True:
        try:
            outcome: Any = condition()
            value: T = await outcome if inspect.isawaitable(outcome) else outcome
        except ignoring as e:
            attempts.error = e
        else:
            if value:
                return value
            attempts.last, attempts.error = value, None
        if attempts.expired():
            raise attempts.failure()
        await asyncio.sleep(interval)
