"""Telling a service manager (systemd, `Type=notify`) when the pipeline is ready and when it
stops: the sd_notify protocol, `KEY=value` lines in one datagram to the socket that
NOTIFY_SOCKET names (a path, or `@name` in the abstract namespace).

Without it systemd took the pipeline as started the moment the runner's process existed:
`systemctl start` returned, and units ordered after it started, before any component was
ready. The components do not inherit NOTIFY_SOCKET (flowrun.spec.process): one that speaks
sd_notify itself would tell systemd the whole pipeline is ready (with NotifyAccess=all), or
fill the journal with refused messages.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Mapping

NOTIFY_SOCKET = "NOTIFY_SOCKET"


class ServiceManager:
    """The service manager that started this runner, if one listens; else it hears nothing."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        address = environ.get(NOTIFY_SOCKET, "")
        self._address = "\0" + address[1:] if address.startswith("@") else address

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
