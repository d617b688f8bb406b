"""What can be asked of a running runner, and the signals that ask it.

Signal handlers only queue a request; the runner's main loop acts on requests in order
(uvicorn's supervisors do the same), so nothing runs inside a handler.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable

SHUTDOWN = "shutdown"  # SIGTERM, `flowrun down`
INTERRUPT = "interrupt"  # SIGINT (Ctrl-C): a shutdown, and a second one kills at once
RELOAD = "reload"  # SIGHUP

SIGNAL_REQUESTS = {signal.SIGINT: INTERRUPT, signal.SIGTERM: SHUTDOWN, signal.SIGHUP: RELOAD}


def queue_signals(request: Callable[[str], None]) -> Callable[[], None]:
    """Route SIGINT/SIGTERM/SIGHUP to `request`; returns the function that undoes it."""
    loop = asyncio.get_running_loop()
    for signum, kind in SIGNAL_REQUESTS.items():
        loop.add_signal_handler(signum, request, kind)

    def restore() -> None:
        for signum in SIGNAL_REQUESTS:
            loop.remove_signal_handler(signum)

    return restore


class StartingTerminal:
    """The terminal `flowrun up` started in, if any. Its hangup (an SSH session dropped, the
    window closed) sends SIGHUP too, which was taken for a reload request ("nothing to
    reload (SIGHUP)"); the pipeline runs on without the terminal, as `up -d` would."""

    def __init__(self) -> None:
        self._descriptors = [fd for fd in (0, 1, 2) if os.isatty(fd)]

    def hung_up(self) -> bool:
        """True once, at the first call after the terminal is gone; a SIGHUP after that is
        a reload request again (`kill -HUP`)."""
        if self._descriptors and not any(os.isatty(fd) for fd in self._descriptors):
            self._descriptors = []
            return True
        return False
