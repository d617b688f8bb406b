"""A component written on the SDK (examples/custom_processor) as a real subprocess:
registration, Flight data, metrics, /health, actions, SIGTERM, runner death."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pyarrow.flight as flight
import pytest
from _sdk_harness import (
    ControllerThread,
    CountingSource,
    component_settings,
    ended,
    serving,
    spawn,
    started_controller,
    wait_serving,
)
from flowctl import Component, ComponentSettings, StreamTicket
from flowctl.contract import FlowControlSettings, Policy, PoolSettings
from polling import wait_for
from ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "custom_processor" / "add_column.py"


def processor_env(
    controller: str | None, inputs: dict[str, str], **overrides: object
) -> dict[str, str]:
    settings = component_settings(
        controller,
        component_id="scaler",
        service_id="scaler",
        component_type="processor",
        endpoint=f"127.0.0.1:{free_port()}",
        metrics_port=free_port(),
        inputs=inputs,
        config={"source_column": "value", "factor": 3},
        **overrides,
    )
    return {**os.environ, **settings.to_environ()}


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def source() -> Iterator[CountingSource]:
    with serving(CountingSource(component_settings(None, component_id="counting"))) as src:
        yield src


controller = pytest.fixture(started_controller, name="controller")


def action(client: flight.FlightClient, name: str) -> dict[str, object]:
    result = next(iter(client.do_action(flight.Action(name, b""))))
    value: dict[str, object] = json.loads(result.body.to_pybytes())
    return value


def test_example_processor_end_to_end(
    source: CountingSource, controller: ControllerThread, tmp_path: Path
) -> None:
    assert controller.controller is not None and controller.controller.address
    env = processor_env(controller.controller.address, {"counting": source.endpoint})
    proc = spawn(EXAMPLE, env, tmp_path / "scaler.log")
    try:
        wait_for(lambda: "scaler" in controller.services() or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, (tmp_path / "scaler.log").read_text()
        endpoint = env["FLOWRUN_ENDPOINT"]
        assert controller.services()["scaler"].endpoint == endpoint

        client = flight.FlightClient(f"grpc://{endpoint}")
        table = client.do_get(StreamTicket("default", 5).to_flight()).read_all()
        assert table.column("ledger").to_pylist()[0] == 5
        assert table.num_rows == CountingSource.count * CountingSource.rows
        assert table.column("value_x3").to_pylist() == [
            3.0 * v for v in table.column("value").to_pylist()
        ]

        status = action(client, "get_status")
        assert status["registered"] is True
        assert status["flow_control_mode"] == "controller"
        assert status["flow"]["completed_total"] == table.num_rows  # type: ignore[index]
        assert action(client, "health")["status"] == "healthy"
        with pytest.raises(flight.FlightError, match="unknown action"):
            action(client, "nope")
        client.close()

        port = env["FLOWRUN_METRICS_PORT"]
        text = (
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        )
        families = {
            line.split()[2] for line in text.splitlines() if line.startswith("# TYPE flowctl_")
        }
        assert len(families) >= 13, sorted(families)
        labels = '{service_id="scaler",service_type="processor"}'
        assert f"flowctl_pipeline_throughput_total{labels} {float(table.num_rows)}" in text
        assert "add_column_rows_total 200.0" in text
        health = json.loads(
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10).read()
        )
        assert health["status"] == "healthy"
        wait_for(lambda: controller.services()["scaler"].throughput > 0)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert "stopping: SIGTERM" in (tmp_path / "scaler.log").read_text()
    finally:
        ended(proc)


def test_runs_without_controller_on_local_flow_control(
    source: CountingSource, tmp_path: Path
) -> None:
    unreachable = f"127.0.0.1:{free_port()}"
    env = processor_env(unreachable, {"counting": source.endpoint})
    proc = spawn(EXAMPLE, env, tmp_path / "scaler.log")
    try:
        client = flight.FlightClient(f"grpc://{env['FLOWRUN_ENDPOINT']}")
        client.wait_for_available(timeout=60)
        assert client.do_get(StreamTicket("default", 0).to_flight()).read_all().num_rows == 200
        status = action(client, "get_status")
        assert status["flow_control_mode"] == "local"

        def degraded_health() -> dict[str, object] | None:
            health = action(client, "health")
            return health if health["status"] == "degraded" else None

        # Degraded once the first registration window is over (healthy, "starting", before).
        health = wait_for(degraded_health, what="the health to say degraded")
        assert any("local flow control" in reason for reason in health["reasons"])  # type: ignore[attr-defined]
        text = urllib.request.urlopen(
            f"http://127.0.0.1:{env['FLOWRUN_METRICS_PORT']}/metrics", timeout=10
        ).read()
        assert (
            b'flowctl_local_flow_control{service_id="scaler",service_type="processor"} 1.0' in text
        )
        client.close()
        # Said by the first failed registration after the first registration window.
        wait_for(lambda: "running on local flow control" in (tmp_path / "scaler.log").read_text())
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        ended(proc)


RUNNER = """
import os, subprocess, sys, time
env = dict(os.environ, FLOWRUN_RUNNER_PID=str(os.getpid()))
child = subprocess.Popen([sys.executable, sys.argv[1]], env=env)
print(child.pid, flush=True)
time.sleep(300)
"""


def test_exits_when_its_runner_is_killed(tmp_path: Path) -> None:
    env = processor_env(None, {"counting": "127.0.0.1:9"})
    runner = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(EXAMPLE)], env=env, stdout=subprocess.PIPE
    )
    assert runner.stdout is not None
    child = int(runner.stdout.readline())
    try:
        wait_serving(env["FLOWRUN_ENDPOINT"])
        runner.kill()
        runner.wait(10)
        wait_for(lambda: gone(child), timeout=30)
    finally:
        if not gone(child):
            os.kill(child, signal.SIGKILL)


def test_exits_when_a_runner_that_is_not_its_parent_dies(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    env = processor_env(None, {"counting": "127.0.0.1:9"}, runner_pid=sleeper.pid)
    proc = spawn(EXAMPLE, env, tmp_path / "scaler.log")
    try:
        wait_serving(env["FLOWRUN_ENDPOINT"])
        sleeper.kill()
        sleeper.wait(10)
        assert proc.wait(30) == 0
        assert "runner died" in (tmp_path / "scaler.log").read_text()
    finally:
        ended(proc)


def test_bad_settings_exit_2_naming_the_variable(tmp_path: Path) -> None:
    env = processor_env(None, {})
    env["FLOWRUN_MAX_INFLIGHT"] = "lots"
    proc = spawn(EXAMPLE, env, tmp_path / "scaler.log")
    assert proc.wait(60) == 2
    assert "FLOWRUN_MAX_INFLIGHT" in (tmp_path / "scaler.log").read_text()


def test_an_endpoint_taken_by_another_process_exits_2_saying_so(tmp_path: Path) -> None:
    env = processor_env(None, {})
    with socket.create_server(("127.0.0.1", 0)) as taken:
        env["FLOWRUN_ENDPOINT"] = f"127.0.0.1:{taken.getsockname()[1]}"
        proc = spawn(EXAMPLE, env, tmp_path / "scaler.log")
        assert proc.wait(60) == 2
    log = (tmp_path / "scaler.log").read_text()
    assert f"cannot serve Flight on {env['FLOWRUN_ENDPOINT']} (FLOWRUN_ENDPOINT)" in log
    assert "is the port taken by another process?" in log
    assert "Traceback" not in log


class SlowSink(Component):
    """Pulls its input in work(), holding each batch a while (a slow writer)."""

    def __init__(self, settings: ComponentSettings | None = None) -> None:
        super().__init__(settings)
        self.ledgers: list[int] = []
        self.done = threading.Event()

    def work(self) -> None:
        for batch in self.read_input(start=100):
            self.stopping.wait(0.05)
            self.ledgers.append(batch.column(0)[0].as_py())
        self.done.set()


def test_slow_sink_throttles_its_source_through_the_controller(
    controller: ControllerThread,
) -> None:
    assert controller.controller is not None and controller.controller.address
    address = controller.controller.address
    source = CountingSource(
        component_settings(address, component_id="counting", service_id="counting")
    )
    source.count = 40
    source.start()
    sink = SlowSink(
        component_settings(
            address,
            component_id="sink",
            service_id="sink",
            component_type="sink",
            max_inflight=10,  # one batch of 10 rows in hand is load 1.0
            inputs={"counting": source.endpoint},
        )
    )
    throttled = threading.Event()
    try:
        wait_for(lambda: "counting" in controller.services())
        sink.start()

        def sink_done_watching_the_source() -> bool:
            if source.flow.throttle_rate == 0.5 and source.flow.backpressure_active:
                throttled.set()
            return sink.done.is_set() or sink.stopping.is_set()

        wait_for(sink_done_watching_the_source, timeout=60, interval=0.005)
        assert sink.exit_code == 0
        assert throttled.is_set()
        assert sink.ledgers == list(range(100, 140))
        assert sink.flow.snapshot().completed_total == 400
        wait_for(lambda: source.flow.throttle_rate == 1.0)  # released once the sink is idle
    finally:
        for component in (sink, source):
            component.stop()
            component.shutdown()


def test_policy_update_resizes_pools_and_moves_thresholds_live(
    source: CountingSource, controller: ControllerThread
) -> None:
    assert controller.controller is not None and controller.controller.address
    sink = SlowSink(
        component_settings(
            controller.controller.address,
            component_id="sink",
            service_id="sink",
            component_type="sink",
            inputs={"counting": source.endpoint},
        )
    ).start()
    try:
        wait_for(sink.done.is_set)
        pool = sink.pools.get(source.endpoint)
        wait_for(lambda: pool.stats().total >= 1)
        controller.update_policy(
            Policy(
                flow_control=FlowControlSettings(activate_at=0.9, deactivate_at=0.2),
                pool=PoolSettings(
                    min_connections=3, max_connections=3, connect_timeout_seconds=1.5, max_retries=0
                ),
                heartbeat_interval_seconds=0.2,
                heartbeat_ttl_seconds=1.0,
                monitoring_interval_seconds=0.25,
            )
        )
        # Applying a policy ends with the monitoring interval: wait for it, not for a pool of 3
        # (the sink's own demand can grow the pool to 3 before the policy arrives).
        wait_for(lambda: sink.health_watch.interval_seconds == 0.25, what="the policy applied")
        wait_for(lambda: pool.stats().total == 3, what="the pool resized to 3")
        assert sink.pools.settings.max_connections == 3
        assert sink.pools.settings.connect_timeout_seconds == 1.5
        assert sink.pools.settings.max_retries == 0
        assert sink.health_watch.interval_seconds == 0.25
        assert sink.flow.thresholds.activate_at == 0.9
        assert sink.status()["thresholds"]["deactivate_at"] == 0.2
    finally:
        sink.stop()
        sink.shutdown()
