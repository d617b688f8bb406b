"""Process lifecycle of a component: signals that only queue a stop, and exiting by
itself when the runner that started it dies (prctl where the OS has it, a poll always)."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

from flowctl.cancelled_calls import simulated_interrupt

log = logging.getLogger("flowctl.lifecycle")

PR_SET_PDEATHSIG = 1


SAME_REQUEST_SECONDS = 1.0
"""A second signal this soon after the first is the same stop, sent by another: systemd's
default KillMode (control-group) signals every process of the unit at once, the runner its
components too. Such a pair made every component leave at once, exit 143, mid-commit."""


def install_signal_handlers(stop: Callable[[str], None]) -> bool:
    """SIGTERM and SIGINT call `stop(signal name)`; the handler does nothing else (but tell
    a SIGINT pyarrow simulated for a cancelled Flight call from a Ctrl-C, which takes it
    cancelled_calls.SETTLE_SECONDS). A second signal, SAME_REQUEST_SECONDS or more after
    the first, exits at once with 128 + its number (one sooner is the same stop, from
    another sender).

    Only the main thread may install handlers; elsewhere (tests) this returns False.
    """
    if threading.current_thread() is not threading.main_thread():
        return False

    first_at: list[float] = []

    def handle(signum: int, frame: FrameType | None) -> None:
        received_at = time.monotonic()  # before the wait a SIGINT may take to be judged
        if signum == signal.SIGINT and simulated_interrupt():
            return  # pyarrow's, for a Flight call cancelled in some thread: not a Ctrl-C
        if first_at:
            if received_at - first_at[0] >= SAME_REQUEST_SECONDS:
                # Asked again while a graceful stop hangs: leave now, as Ctrl-C twice would.
                os._exit(128 + signum)
            return
        first_at.append(received_at)
        stop(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return True


def set_parent_death_signal(runner_pid: int | None, signum: int = signal.SIGTERM) -> bool:
    """Ask Linux to send `signum` when our parent dies, if the runner is our parent.

    The poll of `ParentWatch` covers other systems and a runner that is not the parent.
    """
    if runner_pid is None or runner_pid != os.getppid() or not sys.platform.startswith("linux"):
        return False
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        return False
    # The parent may have died between fork and prctl: then no signal will ever come.
    return os.getppid() == runner_pid


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ParentWatch:
    """Calls `on_death` once when the runner process is gone (polled every interval)."""

    def __init__(
        self, runner_pid: int, on_death: Callable[[str], None], interval_seconds: float = 0.5
    ) -> None:
        self.runner_pid = runner_pid
        self._was_parent = runner_pid == os.getppid()
        self._on_death = on_death
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flowctl-parent-watch", daemon=True)

    def start(self) -> ParentWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def runner_gone(self) -> bool:
        # A reparented child (getppid changed) lost its runner even if the pid was reused.
        if self._was_parent and os.getppid() != self.runner_pid:
            return True
        return not process_alive(self.runner_pid)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            if self.runner_gone():
                log.warning("runner (pid %d) is gone: stopping", self.runner_pid)
                self._on_death("runner died")
                return
