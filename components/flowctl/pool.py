"""A pool of Arrow Flight clients per endpoint: how a downstream pulls from its inputs.

`ConnectionPool(endpoint, settings)` keeps between `min_connections` and
`max_connections` clients, hands them out round robin, checks idle ones on
`health_check_interval_seconds`, closes the ones idle past `idle_timeout_seconds`
(down to the minimum), and replaces broken ones. `read_stream(ticket)` is the usual
entry point; `connection()` lends a raw `pyarrow.flight.FlightClient`.

Given its component's stopping event (`stop=`), a pool stops opening connections and
lending them the moment the component stops: no connect, retry or wait for a busy
connection outlasts a SIGTERM.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import replace

import pyarrow as pa
import pyarrow.flight as flight

from flowctl.backoff import Backoff
from flowctl.contract import PoolSettings, check
from flowctl.errors import PoolError
from flowctl.pool_connection import (
    CONNECTION_ERRORS,
    PooledConnection,
    PoolStats,
    flight_location,
    open_connection,
)
from flowctl.positions import read_marks
from flowctl.tickets import StreamTicket
from flowctl.waits import STOP_CHECK_SECONDS, any_set, sleep_unless_stopped, wait_unless_stopped

__all__ = ["ConnectionPool", "PoolEvent", "PoolStats", "PooledConnection"]

PoolEvent = Callable[[str, str], None]


class ConnectionPool:
    def __init__(
        self,
        endpoint: str,
        settings: PoolSettings | None = None,
        *,
        on_event: PoolEvent | None = None,
        clock: Callable[[], float] = time.monotonic,
        stop: threading.Event | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.location = flight_location(endpoint)
        self.settings = check(settings or PoolSettings())
        self._on_event = on_event
        self._clock = clock
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        self._connections: list[PooledConnection] = []
        self._next = 0
        self._opening = 0
        self._ids = itertools.count(1)
        self._stats = PoolStats(endpoint=endpoint)
        self._degraded = False
        self._closed = threading.Event()
        # Closed, or its component stopping: either ends every connect and wait.
        self._halted = any_set((self._closed, stop))
        self._maintainer: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> ConnectionPool:
        """Start the maintenance thread, which first opens min_connections (in the
        background: an endpoint still down is not an error, `acquire` opens on demand)."""
        self._maintainer = threading.Thread(
            target=self._maintain, name=f"pool-{self.endpoint}", daemon=True
        )
        self._maintainer.start()
        return self

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            connections, self._connections = self._connections, []
            self._available.notify_all()
        for connection in connections:
            self._close_connection(connection)
        if self._maintainer and self._maintainer is not threading.current_thread():
            self._maintainer.join(timeout=5)

    def resize(self, settings: PoolSettings) -> None:
        """Apply new limits live: extra idle connections close, missing ones open."""
        check(settings)
        with self._lock:
            self.settings = settings
            self._available.notify_all()
        self.cleanup_idle(force_to_max=True)
        self._fill_to_minimum()

    # -- lending ----------------------------------------------------------------------

    def acquire(self, timeout: float | None = None) -> PooledConnection:
        """A healthy idle connection (round robin), a new one below the maximum, or
        wait for one to come back. PoolError when none could be had in time."""
        deadline = None if timeout is None else self._clock() + timeout
        with self._lock:
            while True:
                if self._halted():
                    raise self._halted_error()
                connection = self._take_idle()
                if connection is not None:
                    return connection
                if len(self._connections) + self._opening < self.settings.max_connections:
                    self._opening += 1
                    break
                remaining = math.inf if deadline is None else deadline - self._clock()
                if remaining <= 0:
                    raise PoolError(
                        f"all {self.settings.max_connections} connections to {self.endpoint} "
                        f"are busy after {timeout}s"
                    )
                # In slices: a release notifies, a component's stop does not.
                self._available.wait(min(remaining, STOP_CHECK_SECONDS))
        return self._open_lent_connection()

    def _take_idle(self) -> PooledConnection | None:
        connections = self._connections
        count = len(connections)
        for step in range(count):
            index = (self._next + step) % count
            connection = connections[index]
            if not connection.in_use and connection.healthy:
                self._next = index + 1
                connection.in_use = True
                connection.last_used = self._clock()
                self._stats.acquired_total += 1
                return connection
        return None

    def _open_lent_connection(self) -> PooledConnection:
        try:
            connection = self._open_with_retries()
        except BaseException:
            with self._lock:
                self._opening -= 1
                self._available.notify()
            raise
        with self._lock:
            self._opening -= 1
            connection.in_use = True
            self._connections.append(connection)
            self._stats.acquired_total += 1
        return connection

    def release(self, connection: PooledConnection, *, broken: bool = False) -> None:
        """Give a connection back; `broken=True` closes it (a call on it failed)."""
        with self._lock:
            if connection not in self._connections:
                if self._closed.is_set():
                    return
                raise PoolError(f"connection {connection.id} does not belong to this pool")
            if not connection.in_use:
                raise PoolError(f"connection {connection.id} released twice")
            connection.in_use = False
            connection.last_used = self._clock()
            if broken:
                connection.healthy = False
                self._connections.remove(connection)
                self._degraded = True
            self._available.notify()
        if broken:
            self._close_connection(connection)
            self._emit("connection_broken")

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[flight.FlightClient]:
        """Lend a FlightClient for the block; a transport error marks it broken."""
        lent = self.acquire(timeout)
        broken = False
        try:
            yield lent.client
        except CONNECTION_ERRORS:
            broken = True
            raise
        finally:
            self.release(lent, broken=broken)

    def read_stream(
        self, ticket: StreamTicket, *, timeout: float | None = None
    ) -> Generator[pa.RecordBatch, None, None]:
        """Record batches of `ticket` from this endpoint (the connection is held while
        the iterator lives; close it or exhaust it to give the connection back)."""
        with self.connection(timeout) as client:
            reader = client.do_get(ticket.to_flight())
            for chunk in reader:
                if not read_marks(chunk.app_metadata).end:  # the end message has no rows
                    yield chunk.data

    # -- opening and closing ----------------------------------------------------------

    def _open_with_retries(self) -> PooledConnection:
        backoff = Backoff(base_seconds=0.05, cap_seconds=1.0)
        attempts = max(1, self.settings.max_retries + 1)
        for attempt in range(attempts):
            try:
                connection = open_connection(
                    next(self._ids),
                    self.location,
                    self.settings.connect_timeout_seconds,
                    self._halted,
                )
            except CONNECTION_ERRORS as e:
                if self._halted():  # cut short by the stop: no failure of the endpoint
                    raise self._halted_error() from e
                with self._lock:
                    self._stats.failures_total += 1
                    self._degraded = True
                if attempt + 1 == attempts:
                    raise PoolError(f"cannot connect to {self.endpoint}: {e}") from e
                if sleep_unless_stopped(backoff.next_delay(), self._halted):
                    raise self._halted_error() from e
                continue
            return self._note_opened(connection)
        raise AssertionError("unreachable")  # pragma: no cover

    def _halted_error(self) -> PoolError:
        if self._closed.is_set():
            return PoolError(f"pool for {self.endpoint} is closed")
        return PoolError(f"pool for {self.endpoint}: its component is stopping")

    def _note_opened(self, connection: PooledConnection) -> PooledConnection:
        connection.created_at = connection.last_used = self._clock()
        with self._lock:
            self._stats.created_total += 1
            reconnected, self._degraded = self._degraded, False
            if reconnected:
                self._stats.reconnections_total += 1
        if reconnected:
            self._emit("reconnected")
        return connection

    def _close_connection(self, connection: PooledConnection) -> None:
        with self._lock:
            self._stats.closed_total += 1
        with contextlib.suppress(*CONNECTION_ERRORS):
            connection.client.close()

    def _emit(self, event: str) -> None:
        if self._on_event is not None:
            self._on_event(self.endpoint, event)

    def _fill_to_minimum(self) -> None:
        while not self._halted():
            with self._lock:
                if len(self._connections) + self._opening >= self.settings.min_connections:
                    return
                self._opening += 1
            try:
                connection = self._open_with_retries()
            except PoolError:
                with self._lock:
                    self._opening -= 1
                return
            with self._lock:
                self._opening -= 1
                self._connections.append(connection)
                self._available.notify()

    # -- maintenance ------------------------------------------------------------------

    def _maintain(self) -> None:
        self._fill_to_minimum()
        last_check = self._clock()
        while not wait_unless_stopped(self._closed, self._tick_seconds(), self._halted):
            if self._clock() - last_check >= self.settings.health_check_interval_seconds:
                last_check = self._clock()
                self.health_check()
            self.cleanup_idle()
            self._fill_to_minimum()

    def _tick_seconds(self) -> float:
        settings = self.settings
        return max(
            0.02, min(settings.health_check_interval_seconds, settings.idle_timeout_seconds, 1.0)
        )

    def health_check(self) -> int:
        """Probe every idle connection (list_actions with the connect timeout); close
        the failing ones. Returns how many were healthy."""
        with self._lock:
            idle = [c for c in self._connections if not c.in_use]
            for connection in idle:
                connection.in_use = True  # lent to the checker, so nobody else takes it
        healthy = 0
        for connection in idle:
            ok = connection.probe(self.settings.connect_timeout_seconds, self._halted)
            with self._lock:
                self._stats.health_checks_total += 1
            healthy += ok
            self._return_checked(connection, ok)
        return healthy

    def _return_checked(self, connection: PooledConnection, ok: bool) -> None:
        # Unlike release(), a probe is not a use: last_used stays, so idle clean-up holds.
        with self._lock:
            connection.in_use = False
            if ok:
                self._available.notify()
                return
            connection.healthy = False
            if connection in self._connections:
                self._connections.remove(connection)
            self._degraded = True
        self._close_connection(connection)
        self._emit("connection_broken")

    def cleanup_idle(self, *, force_to_max: bool = False) -> int:
        """Close connections idle past idle_timeout, keeping min_connections; with
        `force_to_max`, also idle ones above max_connections. Returns how many closed."""
        now = self._clock()
        with self._lock:
            keep_at_least = self.settings.min_connections
            victims: list[PooledConnection] = []
            for connection in list(self._connections):
                if connection.in_use or len(self._connections) <= keep_at_least:
                    continue
                expired = now - connection.last_used >= self.settings.idle_timeout_seconds
                too_many = force_to_max and len(self._connections) > self.settings.max_connections
                if expired or too_many:
                    self._connections.remove(connection)
                    victims.append(connection)
        for connection in victims:
            self._close_connection(connection)
        return len(victims)

    # -- readings ---------------------------------------------------------------------

    def stats(self) -> PoolStats:
        with self._lock:
            return replace(
                self._stats,
                total=len(self._connections),
                healthy=sum(c.healthy for c in self._connections),
                in_use=sum(c.in_use for c in self._connections),
                reachable=not self._degraded,
            )
