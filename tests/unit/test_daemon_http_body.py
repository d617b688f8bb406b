"""What the runner reads of a component's HTTP endpoint when something else answers on
the port: nothing, never an error (a port handed out twice once left a gRPC server
where the runner expected /metrics, and `flowrun top` failed whole)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from flowrun.daemon.component_counters import CounterReading, fetch_counters
from flowrun.daemon.component_health import fetch_report
from flowrun.daemon.http_body import read_body


@pytest.fixture
def grpc_port() -> Iterator[int]:
    """A real gRPC server on loopback: it answers an HTTP/1.1 request with HTTP/2 frames."""
    with ThreadPoolExecutor(1) as pool:
        server = grpc.server(pool)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        try:
            yield port
        finally:
            server.stop(None).wait(5)


def test_a_grpc_server_on_the_port_reads_as_no_answer(grpc_port: int) -> None:
    url = f"http://127.0.0.1:{grpc_port}"
    assert read_body(f"{url}/metrics", 2.0, 1024) is None
    assert fetch_counters(f"{url}/metrics", 2.0) == CounterReading()
    assert fetch_report(f"{url}/health", 2.0) is None
