"""Retry a read with capped exponential backoff, giving up after `attempts` failures."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flowctl.backoff import Backoff

from stellar_arrow_source.errors import LedgerSourceError, LedgerSourceUnavailable

T = TypeVar("T")
log = logging.getLogger("stellar.source")


class Stopped(Exception):
    """The component is stopping: the read was abandoned (not an error to report)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_seconds: float = 0.2
    cap_seconds: float = 10.0

    def backoff(self) -> Backoff:
        return Backoff(base_seconds=self.base_seconds, cap_seconds=self.cap_seconds)


def retrying(read: Callable[[], T], what: str, policy: RetryPolicy, stopping: threading.Event) -> T:
    """`read()`, again after a delay while it raises anything but a LedgerSourceError or
    FileNotFoundError (an answer: the object is not there, which the caller handles)."""
    backoff = policy.backoff()
    failures = 0
    while True:
        try:
            return read()
        except (LedgerSourceError, FileNotFoundError):
            raise
        except Exception as e:
            failures += 1
            if failures >= policy.attempts:
                raise LedgerSourceUnavailable(
                    f"{what}: failed {failures} times, last: {type(e).__name__}: {e}"
                ) from None
            delay = backoff.next_delay()
            log.warning("%s: %s: %s; retrying in %.1fs", what, type(e).__name__, e, delay)
            if stopping.wait(delay):
                raise Stopped(what) from None
