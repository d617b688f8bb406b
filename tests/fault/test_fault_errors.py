"""Error recovery: a metrics provider that raises, and invalid data on the Flight streams
(a fake upstream, tests/fixtures/fault_flight.py, that breaks mid-stream, or sends a
foreign schema or junk) to the real processor and sink run as subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pyarrow as pa
import pyarrow.flight as flight
import pytest
from fixtures.fault_flight import FakeUpstream
from fixtures.fault_stellar import (
    assert_exact_output,
    expected_events,
    http_text,
    metric_value,
    poll_until,
)
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl.contract import Policy
from flowctl.settings import ComponentSettings
from flowctl.tickets import StreamTicket
from integration._sdk_harness import ControllerThread
from ports import free_port
from stellar_local_pipeline import LocalPipeline

pytestmark = pytest.mark.timeout(180)
FLAKY = Path(__file__).resolve().parent.parent / "fixtures" / "fault_flaky_metrics.py"
LAST = 120


@pytest.fixture
def controller() -> Iterator[ControllerThread]:
    thread = ControllerThread(Policy(heartbeat_interval_seconds=0.2, heartbeat_ttl_seconds=2.0))
    thread.start()
    yield thread
    thread.close()


def test_a_metrics_provider_that_raises_costs_its_keys_only(
    controller: ControllerThread, tmp_path: Path
) -> None:
    assert controller.controller is not None and controller.controller.address
    metrics_port = free_port()
    settings = ComponentSettings(
        component_id="flaky",
        service_id="flaky",
        component_type="source",
        endpoint=f"127.0.0.1:{free_port()}",
        metrics_port=metrics_port,
        flowctl_enabled=True,
        flowctl_endpoint=controller.controller.address,
        heartbeat_interval_seconds=0.2,
    )
    log = tmp_path / "flaky.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(FLAKY)],
            env={**os.environ, **settings.to_environ()},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        poll_until(lambda: "flaky" in controller.services(), 60, "the registration")
        first_seen = controller.services()["flaky"].last_heartbeat or 0.0
        exposition = poll_until(
            lambda: (
                (text := http_text(metrics_port, "/metrics"))
                and metric_value(text, "flowctl_metrics_provider_errors_total") >= 3
                and text
            ),
            30,
            "three failed provider calls",
        )
        assert process.poll() is None, log.read_text()
        view = controller.services()["flaky"]
        assert view.healthy and (view.last_heartbeat or 0.0) > first_seen  # still heartbeating
        assert metric_value(exposition, "flowctl_controller_connected") == 1.0
        seen: set[bool] = set()
        with grpc.insecure_channel(controller.controller.address) as channel:
            plane = cp_grpc.ControlPlaneStub(channel)  # type: ignore[no-untyped-call]

            def heartbeats_with_and_without_the_provider_keys() -> bool:
                status = plane.GetServiceStatus(cp.ServiceInfo(service_id="flaky"), timeout=10)
                assert "load" in status.metrics and "broken_gauge" not in status.metrics
                seen.add("calls" in status.metrics)
                return seen == {True, False}

            poll_until(heartbeats_with_and_without_the_provider_keys, 30, "both kinds", 0.05)
        health = json.loads(http_text(metrics_port, "/health"))
        assert health["status"] == "healthy", health  # a broken sensor is not a sick component
        assert "sensor broke on call" in log.read_text()
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalPipeline]:
    pipeline = LocalPipeline(tmp_path, sink={"output_dir": "out", "durable": False})
    yield pipeline
    pipeline.stop_all()


def _alive(pipeline: LocalPipeline, name: str) -> bool:
    return pipeline.processes[name].poll() is None


@pytest.mark.parametrize("upstream_of", ["processor", "sink"])
def test_a_stream_that_breaks_mid_way_is_resumed_exactly(
    local: LocalPipeline, tmp_path: Path, upstream_of: str
) -> None:
    stream = "ledgers" if upstream_of == "processor" else "ttp_events"
    plan = ["fail_after:2", "fail_after:0", "fail_after:3"]
    with FakeUpstream(stream, last_ledger=LAST, plan=plan) as fake:
        faked = "source" if upstream_of == "processor" else "processor"
        local.ports[faked] = fake.port
        started = ["processor", "sink"] if upstream_of == "processor" else ["sink"]
        for name in started:
            local.start(name)
        local.wait_for(
            lambda: local.action("sink", "get_stats")["last_ledger"] == LAST, 120, "the range"
        )
        assert [behaviour for _, behaviour in fake.calls[:3]] == plan
        assert all(_alive(local, name) for name in started)
    assert_exact_output(tmp_path / "out", LAST)


@pytest.mark.parametrize("bad", ["wrong_schema", "garbage"])
def test_a_foreign_schema_from_the_source_is_a_clear_error_at_the_processor(
    local: LocalPipeline, bad: str
) -> None:
    with FakeUpstream("ledgers", last_ledger=LAST, plan=[bad]) as fake:
        local.ports["source"] = fake.port
        local.start("processor")
        client = flight.FlightClient(f"grpc://{local.endpoint('processor')}")
        try:
            with pytest.raises((flight.FlightError, pa.ArrowException)) as refused:
                client.do_get(StreamTicket("ttp_events", 1).to_flight()).read_all()
            # The upstream serves good ledgers again: the same call now works.
            table = client.do_get(StreamTicket("ttp_events", 1).to_flight()).read_all()
        finally:
            client.close()
        assert table.equals(expected_events(LAST))
        assert _alive(local, "processor")
        message = str(refused.value)
        assert "Traceback" not in message, message
        assert "schema" in message and "stellar" in message.lower(), message
        log = local.log_path("processor").read_text()
        assert "schema" in log, log


@pytest.mark.parametrize("bad", ["wrong_schema", "garbage"])
def test_a_foreign_schema_from_the_processor_does_not_crash_the_sink(
    local: LocalPipeline, tmp_path: Path, bad: str
) -> None:
    with FakeUpstream("ttp_events", last_ledger=LAST, plan=[bad, bad]) as fake:
        local.ports["processor"] = fake.port
        local.start("sink")

        def committed_or_exited() -> bool:
            if not _alive(local, "sink"):
                return True
            return bool(local.action("sink", "get_stats")["last_ledger"] == LAST)

        local.wait_for(committed_or_exited, 120, "the sink to commit the range or exit")
        assert _alive(local, "sink"), local.log_path("sink").read_text()[-3000:]
    log = local.log_path("sink").read_text()
    assert "schema" in log and "processor" in log, log
    assert_exact_output(tmp_path / "out", LAST)
