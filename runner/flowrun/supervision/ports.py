"""Loopback port checks: is an endpoint served yet (TCP, HTTP), who holds a port we need,
and which port is free for an endpoint written with port 0."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket

_TCP_LISTEN = "0A"
_HTTP_STATUS_LINE_BYTES = 256


def split_endpoint(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


async def accepts_connections(endpoint: str, timeout_seconds: float = 0.5) -> bool:
    host, port = split_endpoint(endpoint)
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), timeout_seconds
        )
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def http_answers(host: str, port: int, path: str, timeout_seconds: float = 0.5) -> bool:
    """True when GET `path` on host:port answers 2xx (any other answer, or none: False)."""
    try:
        return await asyncio.wait_for(_http_status_is_2xx(host, port, path), timeout_seconds)
    except (OSError, TimeoutError, ValueError):
        return False


async def _http_status_is_2xx(host: str, port: int, path: str) -> bool:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        request = f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode("ascii"))
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    parts = status_line[:_HTTP_STATUS_LINE_BYTES].split()
    return len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1][:1] == b"2"


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS has free on `host` now: bind port 0 and read which one it gave."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_in_use(endpoint: str) -> bool:
    """True when something listens on the endpoint's port (a bind with SO_REUSEADDR fails)."""
    host, port = split_endpoint(endpoint)
    if port == 0:
        return False
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            return e.errno == errno.EADDRINUSE
    return False


def port_holder(port: int) -> str:
    """`pid 123 (nc)` of the process listening on the port, when /proc lets us see it."""
    inodes = _listening_inodes(port)
    if not inodes:
        return "another program"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return f"pid {pid} ({_process_name(pid)})"
    return "another program"


def _listening_inodes(port: int) -> set[str]:
    """Socket links (`socket:[inode]`) listening on the port, from /proc/net/tcp{,6}."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as handle:
            for row in handle.readlines()[1:]:
                fields = row.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == _TCP_LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                    found.add(f"socket:[{inode}]")
    return found


def _process_name(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip()
    except OSError:
        return "?"


def port_conflict(component: str, key: str, endpoint: str) -> str | None:
    """A message naming the holder when the component's port is taken, else None."""
    if not port_in_use(endpoint):
        return None
    _host, port = split_endpoint(endpoint)
    return (
        f"component '{component}': {key} {endpoint} is already in use by {port_holder(port)}; "
        f"stop that program or change `{key}` in the spec"
    )
