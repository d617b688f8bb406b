"""Small shared pieces of the supervisor: component states, outcomes, a change notifier."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from enum import StrEnum


class ComponentState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True)
class StartResult:
    """How a start (first start, add or replace) ended: ready, or why not."""

    name: str
    ready: bool
    message: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class RunEnd:
    """How one run of a process ended."""

    failure: bool
    what: str
    detail: str = ""  # the last lines of its log, when they explain the end
    fatal: bool = False
    exit_code: int | None = None


LOG_TAIL_MARK = "; last lines of its log:"
"""Ends the first line of a reason that quotes the component's log on the lines after it."""


def one_line(reason: str) -> str:
    """A reason in one line (a health line, a table's footer): its first, where a quote of
    the log announced on the lines after it becomes the log's last line."""
    first, *quoted = reason.splitlines() or [""]
    if first.endswith(LOG_TAIL_MARK) and quoted:
        return f"{first.removesuffix(LOG_TAIL_MARK)} (its log ends: {quoted[-1].strip()})"
    return first


class ChangeNotifier:
    """Wakes everyone waiting for 'something changed' (a component got ready, stopped...)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, timeout_seconds: float | None = None) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout_seconds)
