"""Telling a service manager (systemd, `Type=notify` or `notify-reload`) when the pipeline is
ready, that the runner is alive (`WatchdogSec=`), when a reload begins and ends, and when it
stops: the sd_notify protocol, `KEY=value` lines in one datagram to the socket that
NOTIFY_SOCKET names (a path, or `@name` in the abstract namespace).

Without it systemd took the pipeline as started the moment the runner's process existed:
`systemctl start` returned, and units ordered after it started, before any component was
ready. The components do not inherit NOTIFY_SOCKET (flowrun.spec.process): one that speaks
sd_notify itself would tell systemd the whole pipeline is ready (with NotifyAccess=all), or
fill the journal with refused messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Mapping

NOTIFY_SOCKET = "NOTIFY_SOCKET"


class ServiceManager:
    """The service manager that started this runner, if one listens; else it hears nothing."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        address = environ.get(NOTIFY_SOCKET, "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_seconds = _watchdog_seconds(environ)
        """How often the manager wants WATCHDOG=1 (None: it does not): a runner whose event
        loop is stuck stops saying it, and systemd restarts it (`Restart=on-watchdog`)."""

    async def keep_watchdog_fed(self) -> None:
        """Say WATCHDOG=1 at half the interval asked, from the event loop, until cancelled:
        a stuck loop says nothing."""
        if self.watchdog_seconds is None:
            return
        while True:
            self.notify({"WATCHDOG": "1"})
            await asyncio.sleep(self.watchdog_seconds / 2)

    def reloading(self) -> None:
        """RELOADING=1, stamped with CLOCK_MONOTONIC: under `Type=notify-reload` systemd
        sends SIGHUP and waits for this, then READY=1 (without them `systemctl reload` waited
        until its timeout, then failed)."""
        self.notify(
            {
                "RELOADING": "1",
                "MONOTONIC_USEC": str(time.monotonic_ns() // 1000),
                "STATUS": "reloading",
            }
        )

    def notify(self, fields: Mapping[str, str]) -> None:
        """Send `fields` as one message. Best effort: a manager gone or refusing is no
        reason to stop a pipeline."""
        if not self._address:
            return
        message = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        with (
            contextlib.suppress(OSError),
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender,
        ):
            sender.connect(self._address)
            sender.sendall(message)


def _watchdog_seconds(environ: Mapping[str, str]) -> float | None:
    """WATCHDOG_USEC in seconds, when it is meant for this process (WATCHDOG_PID, if set,
    is its pid: a runner started by another that inherited them is not asked)."""
    try:
        microseconds = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    wanted_by = environ.get("WATCHDOG_PID")
    if microseconds <= 0 or (wanted_by and wanted_by != str(os.getpid())):
        return None
    return microseconds / 1_000_000
