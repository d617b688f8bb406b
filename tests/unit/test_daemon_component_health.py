"""Each component's own health report, polled by the runner: parsed from the SDK's JSON,
kept per process, forgotten when the component does not answer."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flowrun.daemon.component_health import (
    ComponentHealth,
    ComponentHealthPoller,
    HealthTarget,
    fetch_report,
    parse_report,
    with_reported_status,
)


def test_a_report_is_its_status_and_reasons_and_anything_else_is_none() -> None:
    report = {"status": "degraded", "reasons": ["input src: nothing for 12s"]}
    assert parse_report(json.dumps(report).encode()) == (
        "degraded",
        ("input src: nothing for 12s",),
    )
    assert parse_report(b'{"status": "fine"}') is None
    assert parse_report(b"<html>") is None


def test_checks_the_runner_judges_itself_are_left_out() -> None:
    checks = [
        {"name": "controller", "status": "degraded", "reason": "unreachable"},
        {"name": "load", "status": "degraded", "reason": "load 0.90 >= activate_at 0.8"},
        {"name": "lifecycle", "status": "unhealthy", "reason": "shutting down"},
        {"name": "pool 127.0.0.1:1", "status": "healthy", "reason": "2/2"},
    ]
    report = {"status": "unhealthy", "reasons": ["..."], "checks": checks}
    assert parse_report(json.dumps(report).encode()) == ("healthy", ())
    checks.append({"name": "input src", "status": "degraded", "reason": "nothing for 12s"})
    checks.append({"name": "disk", "status": "unhealthy", "reason": "full"})
    assert parse_report(json.dumps(report).encode()) == (
        "unhealthy",
        ("input src: nothing for 12s", "disk: full"),
    )
    assert parse_report(b"<html>") is None
    assert parse_report(b"[1, 2]") is None


def test_a_status_a_v1_heartbeat_reports_counts_beside_the_health_endpoint() -> None:
    """The worse of the two wins, with the reasons of both; none reported (HEALTHY, the
    legacy API, flowctl-sdk v0.1.3's UNKNOWN) leaves the endpoint's report alone."""
    said = "reported UNHEALTHY by the component in its heartbeat"
    assert with_reported_status(None, None) == (None, ())
    assert with_reported_status(None, "UNHEALTHY") == ("unhealthy", (said,))
    assert with_reported_status(None, "STARTING") == (
        "degraded",
        ("reported STARTING by the component in its heartbeat",),
    )
    fine = ComponentHealth("healthy", (), 7, 0.0)
    assert with_reported_status(fine, None) == ("healthy", ())
    assert with_reported_status(fine, "UNHEALTHY") == ("unhealthy", (said,))
    full = ComponentHealth("degraded", ("disk: full",), 7, 0.0)
    assert with_reported_status(full, "UNHEALTHY") == ("unhealthy", ("disk: full", said))
    failing = ComponentHealth("unhealthy", ("db: down",), 7, 0.0)
    assert with_reported_status(failing, "DEGRADED") == (
        "unhealthy",
        ("db: down", "reported DEGRADED by the component in its heartbeat"),
    )


def test_the_poller_keeps_the_last_answer_of_each_process() -> None:
    answers = {"http://a/health": ("degraded", ("x: y",)), "http://b/health": None}
    targets = [HealthTarget("a", 11, "http://a/health"), HealthTarget("b", 12, "http://b/health")]
    poller = ComponentHealthPoller(
        lambda: targets, interval_seconds=5.0, fetch=lambda url, timeout: answers[url]
    )

    asyncio.run(poller.poll_once())

    seen = poller.latest("a", 11)
    assert seen is not None and (seen.status, seen.reasons) == ("degraded", ("x: y",))
    assert poller.latest("a", 99) is None  # a restarted process has said nothing yet
    assert poller.latest("b", 12) is None  # no answer: not known, not degraded
    answers["http://a/health"] = None
    asyncio.run(poller.poll_once())
    assert poller.latest("a", 11) is None


@pytest.fixture
def health_server() -> Iterator[tuple[str, dict[str, object]]]:
    """A real HTTP server answering /health with `state["body"]` and `state["code"]`."""
    state: dict[str, object] = {"body": b"{}", "code": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = state["body"]
            assert isinstance(body, bytes)
            self.send_response(int(str(state["code"])))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/health", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_fetching_reads_200_and_503_reports_and_tolerates_silence(
    health_server: tuple[str, dict[str, object]],
) -> None:
    url, state = health_server
    state["body"] = json.dumps({"status": "degraded", "reasons": ["r"]}).encode()
    assert fetch_report(url, 2.0) == ("degraded", ("r",))
    state["body"], state["code"] = json.dumps({"status": "unhealthy", "reasons": []}).encode(), 503
    assert fetch_report(url, 2.0) == ("unhealthy", ())
    state["body"], state["code"] = b"not json", 200
    assert fetch_report(url, 2.0) is None
    assert fetch_report("file:///etc/passwd", 2.0) is None
    server_gone = url.rsplit(":", 1)[0] + ":1/health"
    assert fetch_report(server_gone, 2.0) is None
