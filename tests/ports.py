"""Loopback ports for tests: `free_port()` is the one every tier uses.

It binds port 0 and hands back what the kernel chose, never the same port twice in one
process (one spec needs many, and a port closed a moment ago is often offered again).
"""

from __future__ import annotations

import socket

_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """An ephemeral loopback port that was free a moment ago and not handed out before."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
