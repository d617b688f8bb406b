"""A component whose `stream()` fails says so in its health, over real Flight.

Its reader resumes after the failure, so the data goes on, only stuttering: the failure
was logged with its traceback, and nothing else. `flowrun health` and `/health` said the
component was healthy while a bug in its processor hit some input. Now the `stream` check
is degraded for a few monitoring intervals after each failure, quoting the last one and
how many, then healthy again by itself; a reader's bad ticket is no failure of the
component's. (A processor refused for good by the one-batch rule is unhealthy: tested in
test_sdk_one_batch_per_input.py, beside the rule.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from _sdk_harness import component_settings, ended, serving, spawn, wait_serving
from flowctl import Component, ComponentSettings, StreamTicket
from flowctl.actions import call_action_at
from flowctl.stream_failures import STREAM_FAILURE_INTERVALS
from polling import wait_for
from ports import free_port

SCHEMA = pa.schema([("seq", pa.int64())])
BATCHES = 6
ROWS_PER_BATCH = 4
INTERVAL_SECONDS = 0.5  # the processor's monitoring interval: a failure counts for 3 s
WINDOW_SECONDS = STREAM_FAILURE_INTERVALS * INTERVAL_SECONDS

FLAKY = '''\
import pyarrow as pa
from flowctl import Component, run_component


class Flaky(Component):
    """Passes its input on, but raises the first time it meets input batch 3."""

    failed = False

    def schema(self):
        return pa.schema([("seq", pa.int64())])

    def stream(self, ticket):
        for batch in self.read_input(after=ticket.after):
            if self.input_position == "3" and not self.failed:
                self.failed = True
                raise ValueError("cannot parse row 12")
            yield batch


raise SystemExit(run_component(Flaky))
'''


class PositionedSource(Component):
    """BATCHES batches of ROWS_PER_BATCH rows, batch n at position str(n), then the end."""

    def schema(self) -> pa.Schema:
        return SCHEMA

    def stream(self, ticket: StreamTicket) -> Iterator[tuple[pa.RecordBatch, str]]:
        first = int(ticket.after) + 1 if ticket.after else 0
        for n in range(first, BATCHES):
            rows = range(n * ROWS_PER_BATCH, (n + 1) * ROWS_PER_BATCH)
            yield pa.record_batch([pa.array(rows, pa.int64())], schema=SCHEMA), str(n)


class Collector(Component):
    """A sink that keeps every row of its input, until the input's stream is finished."""

    def __init__(self, settings: ComponentSettings) -> None:
        super().__init__(settings)
        self.rows: list[int] = []
        self.finished = threading.Event()

    def work(self) -> None:
        for batch in self.read_input():
            self.rows.extend(batch.column("seq").to_pylist())
        self.finished.set()


@dataclass(frozen=True)
class Running:
    endpoint: str
    metrics_port: int
    log: Path
    process: subprocess.Popen[bytes]


@pytest.fixture
def source() -> Iterator[PositionedSource]:
    with serving(PositionedSource(component_settings(None, component_id="numbers"))) as component:
        yield component


@pytest.fixture
def flaky(tmp_path: Path, source: PositionedSource) -> Iterator[Running]:
    """The Flaky processor as a process of its own, reading `source`."""
    program = tmp_path / "flaky.py"
    program.write_text(FLAKY)
    settings = component_settings(
        None,
        component_id="flaky",
        service_id="flaky",
        component_type="processor",
        endpoint=f"127.0.0.1:{free_port()}",
        inputs={"numbers": source.endpoint},
        metrics_port=free_port(),
        monitoring_interval_seconds=INTERVAL_SECONDS,
    )
    log = tmp_path / "flaky.log"
    process = spawn(program, {**os.environ, **settings.to_environ()}, log)
    try:
        wait_serving(settings.endpoint)
        assert settings.metrics_port is not None
        yield Running(settings.endpoint, settings.metrics_port, log, process)
        process.terminate()
        process.wait(10)
    finally:
        ended(process)


def health(endpoint: str) -> dict[str, Any]:
    return call_action_at(endpoint, "health", timeout_seconds=5.0)


def health_page(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5.0) as page:
        report: dict[str, Any] = json.loads(page.read())
    return report


def stream_check(report: dict[str, Any]) -> dict[str, str] | None:
    return next((check for check in report["checks"] if check["name"] == "stream"), None)


def failing_stream(endpoint: str) -> tuple[float, dict[str, str]] | None:
    """(when it was asked, the stream check) once that check is not healthy."""
    asked_at = time.monotonic()
    check = stream_check(health(endpoint))
    return (asked_at, check) if check is not None and check["status"] != "healthy" else None


def test_a_stream_that_failed_is_degraded_while_its_reader_goes_on_then_healthy_again(
    flaky: Running,
) -> None:
    assert stream_check(health(flaky.endpoint)) is None  # nothing failed: no check at all
    reader = Collector(
        component_settings(
            None, component_id="reader", component_type="sink", inputs={"flaky": flaky.endpoint}
        )
    ).start()
    try:
        asked_at, check = wait_for(
            lambda: failing_stream(flaky.endpoint),
            timeout=20,
            what="the flaky processor's stream check not healthy",
            interval=0.02,
        )
        reason = check["reason"]
        assert check["status"] == "degraded", check
        assert reason.startswith(f"failed streams: 1 in the last {WINDOW_SECONDS:g}s"), reason
        assert "stream() failed: ValueError('cannot parse row 12')" in reason, reason
        assert "see this component's log for the traceback" in reason, reason
        age = re.search(r"the last ([\d.]+)s ago", reason)
        assert age is not None, reason
        failed_at = asked_at - float(age.group(1))  # no later than the failure (+ rounding)
        # /health says the same, as the runner reads it for `flowrun status` and `health`.
        report = health_page(flaky.metrics_port)
        assert report["status"] == "degraded", report
        assert any(r.startswith("stream: failed streams: 1 in the last") for r in report["reasons"])
        # And Prometheus counts it, read at scrape time from the same record.
        with urllib.request.urlopen(f"http://127.0.0.1:{flaky.metrics_port}/metrics") as page:
            assert "flowctl_stream_failures_total 1.0" in page.read().decode().splitlines()

        # The reader resumed after its last batch: every row, once, in order.
        wait_for(reader.finished.is_set, timeout=30, what="the reader at the end of its input")
        assert reader.rows == list(range(BATCHES * ROWS_PER_BATCH))

        report = wait_for(
            lambda: (page := health_page(flaky.metrics_port))["status"] == "healthy" and page,
            timeout=30,
            what="the flaky processor healthy again",
        )
        healthy_at = time.monotonic()
    finally:
        reader.stop()
        reader.shutdown()
    # Healthy by itself, once the window passed and not before; the count is kept.
    assert healthy_at - failed_at >= WINDOW_SECONDS - 0.1, (healthy_at, failed_at)
    assert stream_check(report) == {
        "name": "stream",
        "status": "healthy",
        "reason": f"failed streams: 1 since start, none in the last {WINDOW_SECONDS:g}s; "
        "the last: stream() failed: ValueError('cannot parse row 12')",
    }
    text = flaky.log.read_text()
    assert "stream() failed" in text and "Traceback" in text, text


def test_a_bad_ticket_is_the_readers_mistake_not_a_failure(source: PositionedSource) -> None:
    client = flight.FlightClient(f"grpc://{source.endpoint}")
    with pytest.raises(flight.FlightServerError, match="bad ticket"):
        client.do_get(flight.Ticket(b"ledger 42")).read_all()
    client.close()
    report = health(source.endpoint)
    assert report["status"] == "healthy", report
    assert stream_check(report) is None, report
