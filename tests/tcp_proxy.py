"""A loopback TCP proxy you control, to simulate network partitions in tests.

    from tcp_proxy import TcpProxy

    with TcpProxy("127.0.0.1:50051") as proxy:      # listens on an ephemeral loopback port
        channel = grpc.aio.insecure_channel(proxy.address)
        proxy.partition()                # cut: open connections are reset, new ones reset at once
        proxy.partition(blackhole=True)  # silent: connections stay open, every byte is dropped
        proxy.heal()                     # forward again; blackholed connections are reset so
                                         # clients reconnect instead of waiting on a dead stream

It runs its own asyncio loop on a daemon thread, so it works the same from sync tests,
async tests and tests of subprocesses (point the subprocess at `proxy.address`). The
listening port stays the same across partition/heal, as a real host's would. Every call
returns once the proxy has applied it. Counters (`accepted`, `active`, `bytes_forwarded`)
let a test check that traffic really went through the proxy.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

Mode = Literal["forward", "cut", "blackhole"]
_CHUNK = 64 * 1024
_CALL_TIMEOUT = 10.0


@dataclass(eq=False)
class _Link:
    """One client connection and, when forwarding, its upstream connection."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    blackholed: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def reset(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.transport.abort()


class TcpProxy:
    def __init__(self, target: str, *, listen_host: str = "127.0.0.1") -> None:
        host, _, port = target.rpartition(":")
        self._target = (host.strip("[]"), int(port))
        self._listen_host = listen_host
        self._mode: Mode = "forward"
        self._links: set[_Link] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self.accepted = 0
        self.bytes_forwarded = 0

    @property
    def address(self) -> str:
        if not self._port:
            raise RuntimeError("the proxy is not started")
        return f"{self._listen_host}:{self._port}"

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def active(self) -> int:
        """Client connections currently open through the proxy."""
        return len(self._links)

    def start(self) -> str:
        """Start listening; returns `HOST:PORT` to connect to instead of the target."""
        if self._thread is not None:
            raise RuntimeError("the proxy is already started")
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(_CALL_TIMEOUT) or not self._port:
            raise RuntimeError("the proxy did not start")
        return self.address

    def partition(self, *, blackhole: bool = False) -> None:
        """Stop forwarding. Default: reset open connections and close new ones at once
        (the peer sees a dead host fast). blackhole=True: keep connections open but drop
        every byte (the peer only notices through its own timeouts or keepalives)."""
        self._call(self._partition("blackhole" if blackhole else "cut"))

    def heal(self) -> None:
        """Forward again. Connections blackholed meanwhile are reset (their byte streams
        lost data, so they cannot be resumed); new connections are forwarded."""
        self._call(self._heal())

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_CALL_TIMEOUT)
        self._thread = None

    def __enter__(self) -> TcpProxy:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._accept, self._listen_host, 0)
            )
            self._port = int(self._server.sockets[0].getsockname()[1])
        finally:
            ready.set()
        loop.run_forever()
        loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError("the proxy is not started")
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(_CALL_TIMEOUT)

    async def _partition(self, mode: Mode) -> None:
        self._mode = mode
        for link in list(self._links):
            if mode == "cut":
                link.reset()
            else:
                link.blackholed = True

    async def _heal(self) -> None:
        self._mode = "forward"
        for link in list(self._links):
            if link.blackholed:
                link.reset()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [task for link in self._links for task in link.tasks]
        for link in list(self._links):
            link.reset()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        link = _Link(client=writer, blackholed=self._mode == "blackhole")
        if self._mode == "cut":
            link.reset()
            return
        self._links.add(link)
        try:
            if link.blackholed:
                await self._drain_forever(reader)
                return
            try:
                upstream_reader, link.upstream = await asyncio.open_connection(*self._target)
            except OSError:
                return  # target down: the client sees its connection closed
            link.tasks = [
                asyncio.create_task(self._pump(reader, link.upstream, link)),
                asyncio.create_task(self._pump(upstream_reader, writer, link)),
            ]
            await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._links.discard(link)
            link.reset()
            for task in link.tasks:
                task.cancel()

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, link: _Link
    ) -> None:
        try:
            while data := await source.read(_CHUNK):
                if link.blackholed:
                    continue
                sink.write(data)
                await sink.drain()
                self.bytes_forwarded += len(data)
        except (ConnectionError, OSError):
            pass  # either side went away: the link is torn down by _accept

    @staticmethod
    async def _drain_forever(reader: asyncio.StreamReader) -> None:
        try:
            while await reader.read(_CHUNK):
                pass
        except (ConnectionError, OSError):
            pass
