"""ConnectionPool of real Flight clients against real Flight servers on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from _sdk_harness import CancellingServer
from flowctl import ConnectionPool, PoolError, PoolManager, SettingsError, StreamTicket
from flowctl.contract import PoolSettings
from polling import wait_for
from ports import free_port
from tcp_proxy import TcpProxy

HELD_SECONDS = 30.0
PROMPT_SECONDS = 5.0  # a fraction of the 30 s connect (x3 retries) a stuck acquire would take


class EchoServer(flight.FlightServerBase):  # type: ignore[misc]
    """Serves the ticket's start as a one-row batch."""

    def do_get(
        self, context: flight.ServerCallContext, ticket: flight.Ticket
    ) -> flight.RecordBatchStream:
        start = StreamTicket.decode(ticket).start
        table = pa.table({"start": pa.array([start], pa.int64())})
        return flight.RecordBatchStream(table)


def serve(port: int = 0) -> EchoServer:
    return EchoServer(f"grpc://127.0.0.1:{port}")


def settings(**overrides: float) -> PoolSettings:
    values: dict[str, float] = {
        "min_connections": 2,
        "max_connections": 4,
        "idle_timeout_seconds": 300.0,
        "health_check_interval_seconds": 300.0,
        "connect_timeout_seconds": 0.5,
        "max_retries": 1,
    }
    values.update(overrides)
    return PoolSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[EchoServer]:
    srv = serve()
    yield srv
    srv.shutdown()


def test_fills_to_minimum_and_reads_a_stream(server: EchoServer) -> None:
    pool = ConnectionPool(f"127.0.0.1:{server.port}", settings()).start()
    try:
        wait_for(lambda: pool.stats().total == 2)
        batches = list(pool.read_stream(StreamTicket("s", 41)))
        assert batches[0].column(0).to_pylist() == [41]
        stats = pool.stats()
        assert (stats.healthy, stats.in_use, stats.acquired_total) == (2, 0, 1)
    finally:
        pool.close()


def test_round_robin_over_idle_connections(server: EchoServer) -> None:
    pool = ConnectionPool(f"127.0.0.1:{server.port}", settings(min_connections=3)).start()
    try:
        wait_for(lambda: pool.stats().total == 3)
        seen = []
        for _ in range(6):
            connection = pool.acquire()
            seen.append(connection.id)
            pool.release(connection)
        assert len(set(seen[:3])) == 3
        assert seen[:3] == seen[3:]
    finally:
        pool.close()


def test_max_connections_bounds_lending(server: EchoServer) -> None:
    pool = ConnectionPool(
        f"127.0.0.1:{server.port}", settings(min_connections=0, max_connections=2)
    )
    held = [pool.acquire(), pool.acquire()]
    with pytest.raises(PoolError, match="busy"):
        pool.acquire(timeout=0.1)
    pool.release(held.pop())
    again = pool.acquire(timeout=5)
    assert pool.stats().total == 2
    pool.release(again)
    pool.release(held.pop())
    pool.close()


def test_double_release_and_foreign_connection_are_errors(server: EchoServer) -> None:
    endpoint = f"127.0.0.1:{server.port}"
    pool = ConnectionPool(endpoint, settings(min_connections=0))
    other = ConnectionPool(endpoint, settings(min_connections=0))
    connection = pool.acquire()
    pool.release(connection)
    with pytest.raises(PoolError, match="released twice"):
        pool.release(connection)
    with pytest.raises(PoolError, match="does not belong"):
        other.release(connection)
    pool.close()
    other.close()


def test_concurrent_users_never_share_or_lose_a_connection(server: EchoServer) -> None:
    pool = ConnectionPool(
        f"127.0.0.1:{server.port}", settings(min_connections=1, max_connections=3)
    )
    holders: dict[int, int] = {}
    lock = threading.Lock()
    errors: list[str] = []

    def user(worker: int) -> None:
        for _ in range(150):
            connection = pool.acquire(timeout=30)
            with lock:
                if connection.id in holders:
                    errors.append(f"{connection.id} lent to {holders[connection.id]} and {worker}")
                holders[connection.id] = worker
            with lock:
                del holders[connection.id]
            pool.release(connection)

    threads = [threading.Thread(target=user, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    stats = pool.stats()
    pool.close()
    assert errors == []
    assert stats.in_use == 0
    assert stats.acquired_total == 8 * 150
    assert stats.total <= 3


def test_endpoint_down_then_up_reconnects_and_counts_it() -> None:
    port = free_port()
    events: list[str] = []
    srv = serve(port)
    pool = ConnectionPool(
        f"127.0.0.1:{port}",
        settings(min_connections=1),
        on_event=lambda e, what: events.append(what),
    ).start()
    try:
        assert list(pool.read_stream(StreamTicket("s", 1)))
        srv.shutdown()
        with pytest.raises((PoolError, flight.FlightError)):
            list(pool.read_stream(StreamTicket("s", 2)))
        pool.health_check()
        with pytest.raises(PoolError, match="cannot connect"):
            pool.acquire(timeout=5)
        assert not pool.stats().reachable
        srv = serve(port)
        batches = list(pool.read_stream(StreamTicket("s", 3)))
        assert batches[0].column(0).to_pylist() == [3]
        stats = pool.stats()
        assert stats.reconnections_total == 1
        assert stats.reachable
        assert stats.failures_total >= 1
        assert "reconnected" in events
    finally:
        pool.close()
        srv.shutdown()


def test_health_check_replaces_dead_connections() -> None:
    port = free_port()
    srv = serve(port)
    pool = ConnectionPool(
        f"127.0.0.1:{port}", settings(min_connections=2, health_check_interval_seconds=0.05)
    ).start()
    try:
        wait_for(lambda: pool.stats().total == 2)
        first = pool.stats().created_total
        srv.shutdown()
        wait_for(lambda: pool.stats().healthy == 0)
        srv = serve(port)
        wait_for(lambda: pool.stats().healthy == 2)
        stats = pool.stats()
        assert stats.created_total >= first + 2
        assert stats.health_checks_total > 0
        assert stats.reconnections_total >= 1
    finally:
        pool.close()
        srv.shutdown()


class ActionlessServer(flight.FlightServerBase):  # type: ignore[misc]
    """Answers ListActions with 'not implemented', as some foreign Flight servers do."""

    def list_actions(self, context: flight.ServerCallContext) -> list[flight.ActionType]:
        raise NotImplementedError


def test_a_server_answering_not_implemented_is_healthy() -> None:
    srv = ActionlessServer("grpc://127.0.0.1:0")
    pool = ConnectionPool(f"127.0.0.1:{srv.port}", settings(min_connections=0))
    try:
        pool.release(pool.acquire())
        assert pool.health_check() == 1
        assert pool.stats().healthy == 1
    finally:
        pool.close()
        srv.shutdown()


class SlowToAnswerServer(flight.FlightServerBase):  # type: ignore[misc]
    """Holds each ListActions until `answer` is set: a probe the pool closes meanwhile."""

    def __init__(self) -> None:
        super().__init__("grpc://127.0.0.1:0")
        self.asked = threading.Event()
        self.answer = threading.Event()

    def list_actions(self, context: flight.ServerCallContext) -> list[flight.ActionType]:
        self.asked.set()
        self.answer.wait(HELD_SECONDS)
        return []


def test_closing_the_pool_during_a_health_check_ends_the_check_quietly() -> None:
    """A component's stop closes its pools while their thread may be probing: the check
    on the next connection met a closed client ("FlightClient is closed") and the thread
    died with a traceback in the component's log."""
    srv = SlowToAnswerServer()
    pool = ConnectionPool(f"127.0.0.1:{srv.port}", settings(min_connections=0))
    raised: list[BaseException] = []

    def check() -> None:
        try:
            pool.health_check()
        except BaseException as e:  # what would have ended the pool's own thread
            raised.append(e)

    try:
        srv.answer.set()  # the connections open while the server answers at once
        lent = [pool.acquire(), pool.acquire()]
        for connection in lent:
            pool.release(connection)
        srv.answer.clear()
        srv.asked.clear()
        checker = threading.Thread(target=check)
        checker.start()
        assert srv.asked.wait(PROMPT_SECONDS)  # the first probe is held by the server
        threading.Timer(0.2, srv.answer.set).start()
        pool.close()
        checker.join(PROMPT_SECONDS)
        assert not checker.is_alive()
        assert raised == []
    finally:
        srv.answer.set()
        pool.close()
        srv.shutdown()


def test_cancelled_probes_in_the_pools_thread_interrupt_nothing_here() -> None:
    """pyarrow simulates a SIGINT for each (flowctl.cancelled_calls): in this process it
    raised KeyboardInterrupt in the test's thread, which ended a CI run's worker."""
    srv = CancellingServer()
    pool = ConnectionPool(
        f"127.0.0.1:{srv.port}", settings(min_connections=1, connect_timeout_seconds=5.0)
    ).start()
    try:
        wait_for(lambda: srv.cancelled >= 3, PROMPT_SECONDS, "probes cancelled")
        time.sleep(0.3)  # the main thread runs bytecode: a pending interrupt would raise here
    finally:
        pool.close()
        srv.shutdown()


def test_idle_connections_are_closed_down_to_minimum(server: EchoServer) -> None:
    pool = ConnectionPool(
        f"127.0.0.1:{server.port}",
        settings(min_connections=1, max_connections=4, idle_timeout_seconds=0.1),
    ).start()
    try:
        held = [pool.acquire() for _ in range(4)]
        for connection in held:
            pool.release(connection)
        assert pool.stats().total == 4
        wait_for(lambda: pool.stats().total == 1)
        assert pool.stats().closed_total >= 3
    finally:
        pool.close()


def test_resize_applies_live(server: EchoServer) -> None:
    manager = PoolManager(settings(min_connections=1, max_connections=4))
    pool = manager.get(f"127.0.0.1:{server.port}")
    assert manager.get(f"127.0.0.1:{server.port}") is pool
    try:
        held = [pool.acquire() for _ in range(4)]
        for connection in held:
            pool.release(connection)
        manager.resize(settings(min_connections=3, max_connections=3))
        assert pool.stats().total == 3
        manager.resize(settings(min_connections=1, max_connections=1))
        assert pool.stats().total == 1
        assert [s.total for s in manager.stats()] == [1]
    finally:
        manager.close()


def test_closed_pool_refuses(server: EchoServer) -> None:
    pool = ConnectionPool(f"127.0.0.1:{server.port}", settings(min_connections=0))
    pool.close()
    with pytest.raises(PoolError, match="closed"):
        pool.acquire()


def test_the_components_stop_cuts_a_connect_to_a_black_hole_short() -> None:
    """An input that accepts connections and never answers: acquire() waits in a connect
    of 30 s (and retries); the component's stop ends it at once, as no endpoint failure."""
    stop = threading.Event()
    with TcpProxy(f"127.0.0.1:{free_port()}") as hole:
        hole.partition(blackhole=True)
        pool = ConnectionPool(
            hole.address,
            settings(min_connections=0, connect_timeout_seconds=HELD_SECONDS, max_retries=3),
            stop=stop,
        )
        outcome: list[BaseException] = []

        def acquire() -> None:
            try:
                pool.acquire()
            except BaseException as e:  # handed to the test thread
                outcome.append(e)

        borrower = threading.Thread(target=acquire, daemon=True)
        borrower.start()
        try:
            wait_for(lambda: hole.accepted >= 1, what="the connect in the black hole")
            stop.set()
            borrower.join(PROMPT_SECONDS)
            assert not borrower.is_alive(), "acquire() did not end on the component's stop"
            assert len(outcome) == 1 and isinstance(outcome[0], PoolError)
            assert "stopping" in str(outcome[0])
            assert pool.stats().failures_total == 0
            with pytest.raises(PoolError, match="stopping"):
                pool.acquire()
        finally:
            pool.close()


def test_bad_limits_are_refused(server: EchoServer) -> None:
    with pytest.raises(SettingsError, match="min_connections"):
        ConnectionPool(f"127.0.0.1:{server.port}", settings(min_connections=5, max_connections=2))
    pool = ConnectionPool(f"127.0.0.1:{server.port}", settings(min_connections=0))
    with pytest.raises(SettingsError, match="max_connections"):
        pool.resize(settings(min_connections=0, max_connections=0))
    pool.close()
