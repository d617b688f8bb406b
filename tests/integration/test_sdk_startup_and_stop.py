"""Real SDK component processes at the two ends of their life.

Start: no false alarm while the controller has not had the chance to answer, and a real
one when it stays unreachable. Stop: SIGTERM ends a component at once, even one stuck in a
registration call to a controller that never answers and a connect to an input that never
answers (issue 11, items 3 and 12)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _sdk_harness import (
    ControllerThread,
    component_settings,
    ended,
    spawn,
    started_controller,
    wait_serving,
)
from flowctl.actions import call_action_at
from flowctl.contract import PoolSettings
from polling import wait_for
from ports import free_port
from tcp_proxy import TcpProxy

HERE = Path(__file__).resolve().parent
STUCK_SINK = HERE / "_sdk_stuck_sink.py"
EXAMPLE = HERE.parents[1] / "examples" / "custom_processor" / "add_column.py"
SYS_TGKILL = {"x86_64": 234, "aarch64": 131}.get(platform.machine())
EXIT_BOUND_SECONDS = 5.0  # generous: the waits it cuts short are 5 s calls and 30 s connects


def health_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if "flowctl.health: health:" in line]


@pytest.fixture
def black_holes() -> Iterator[tuple[TcpProxy, TcpProxy]]:
    """Two endpoints that accept connections and never say a byte back."""
    with (
        TcpProxy(f"127.0.0.1:{free_port()}") as controller,
        TcpProxy(f"127.0.0.1:{free_port()}") as upstream,
    ):
        controller.partition(blackhole=True)
        upstream.partition(blackhole=True)
        yield controller, upstream


def stuck_sink_env(controller: str, upstream: str) -> dict[str, str]:
    settings = component_settings(
        controller,
        component_id="stuck-sink",
        service_id="stuck-sink",
        component_type="sink",
        endpoint=f"127.0.0.1:{free_port()}",
        metrics_port=free_port(),
        inputs={"upstream": upstream},
        heartbeat_interval_seconds=5.0,  # registration calls of 5 s
        pool=PoolSettings(
            min_connections=1, max_connections=2, connect_timeout_seconds=30.0, max_retries=3
        ),
    )
    return {**os.environ, **settings.to_environ()}


def test_sigterm_ends_a_component_stuck_on_a_silent_controller_and_input(
    black_holes: tuple[TcpProxy, TcpProxy], tmp_path: Path
) -> None:
    controller, upstream = black_holes
    env = stuck_sink_env(controller.address, upstream.address)
    log = tmp_path / "stuck-sink.log"
    proc = spawn(STUCK_SINK, env, log)
    try:
        wait_serving(env["FLOWRUN_ENDPOINT"])
        # Inside a registration call and a connect that will not be answered.
        wait_for(lambda: controller.accepted >= 1, what="a registration call in the black hole")
        wait_for(lambda: upstream.accepted >= 1, what="an input connect in the black hole")
        asked = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(EXIT_BOUND_SECONDS)
        print(f"stuck sink: SIGTERM to exit in {time.monotonic() - asked:.2f}s")
        assert code == 0, log.read_text()
        text = log.read_text()
        assert "stopping: SIGTERM" in text and "stopped" in text
    finally:
        ended(proc)


def test_sigterm_ends_a_component_whose_controller_and_input_refuse(tmp_path: Path) -> None:
    env = stuck_sink_env(f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}")
    log = tmp_path / "stuck-sink.log"
    proc = spawn(STUCK_SINK, env, log)
    try:
        wait_serving(env["FLOWRUN_ENDPOINT"])
        # Its pool exists: the sink is inside a connect that retries for 30 s, four times.
        wait_for(
            lambda: call_action_at(env["FLOWRUN_ENDPOINT"], "get_status", timeout_seconds=5.0)[
                "pools"
            ],
            what="the sink connecting to its input",
        )
        asked = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(EXIT_BOUND_SECONDS)
        print(f"refused sink: SIGTERM to exit in {time.monotonic() - asked:.2f}s")
        assert code == 0, log.read_text()
    finally:
        ended(proc)


controller = pytest.fixture(started_controller, name="controller")


def processor_env(controller: str, **overrides: object) -> dict[str, str]:
    settings = component_settings(
        controller,
        component_id="scaler",
        service_id="scaler",
        component_type="processor",
        endpoint=f"127.0.0.1:{free_port()}",
        metrics_port=free_port(),
        inputs={"counting": f"127.0.0.1:{free_port()}"},  # never read in these tests
        monitoring_interval_seconds=0.05,  # a health assessment every 50 ms from the start
        **overrides,
    )
    return {**os.environ, **settings.to_environ()}


def registered_scaler(
    controller: ControllerThread, tmp_path: Path
) -> tuple[subprocess.Popen[bytes], Path]:
    """The example processor, spawned and registered with `controller` (or exited)."""
    assert controller.controller is not None and controller.controller.address
    env = processor_env(controller.controller.address)
    log = tmp_path / "scaler.log"
    proc = spawn(EXAMPLE, env, log)
    try:
        wait_for(lambda: "scaler" in controller.services() or proc.poll() is not None)
    except BaseException:
        ended(proc)
        raise
    return proc, log


def test_no_false_alarm_while_registering_with_a_controller(
    controller: ControllerThread, tmp_path: Path
) -> None:
    proc, log = registered_scaler(controller, tmp_path)
    try:
        assert proc.poll() is None, log.read_text()
        # The first verdict is logged once it has lasted: by then the start is behind us.
        wait_for(lambda: health_lines(log), what="the first health verdict in the log")
        assert [line.rsplit("health: ", 1)[1] for line in health_lines(log)] == ["healthy"]
        assert "unreachable" not in log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(EXIT_BOUND_SECONDS) == 0
    finally:
        ended(proc)


def test_a_controller_that_stays_unreachable_is_still_an_alarm(tmp_path: Path) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    env = processor_env(nobody)
    log = tmp_path / "scaler.log"
    proc = spawn(EXAMPLE, env, log)
    try:
        wait_for(
            lambda: any("degraded" in line for line in health_lines(log)),
            what="the component to say it is degraded",
        )
        lines = health_lines(log)
        assert len(lines) == 1, lines  # said once, when it lasted: no flapping before it
        assert "health: degraded (controller: unreachable (register: UNAVAILABLE" in lines[0]
        assert "local flow control" in lines[0]
        assert f"controller {nobody} unreachable" in log.read_text()
        health = call_action_at(env["FLOWRUN_ENDPOINT"], "health", timeout_seconds=5.0)
        assert health["status"] == "degraded"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(EXIT_BOUND_SECONDS) == 0
    finally:
        ended(proc)


def send_to_thread(pid: int, thread_id: int, signum: int) -> None:
    """tgkill(2): a signal for one thread, as the kernel may pick any thread for a signal
    sent to the process (it does when the main thread is busy or was just continued)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.syscall(SYS_TGKILL, pid, thread_id, signum) != 0:
        raise OSError(ctypes.get_errno(), "tgkill")


@pytest.mark.skipif(SYS_TGKILL is None, reason="tgkill's number is known for x86-64 and arm64")
def test_sigterm_taken_by_another_thread_still_stops_the_component(
    controller: ControllerThread, tmp_path: Path
) -> None:
    proc, log = registered_scaler(controller, tmp_path)
    try:
        others = [int(t) for t in os.listdir(f"/proc/{proc.pid}/task") if int(t) != proc.pid]
        assert others, "a component serving Flight and gRPC runs threads besides its main one"
        # The handler runs on the main thread, which must notice the signal by itself:
        # nothing interrupts its wait when the signal lands on a gRPC or Flight thread.
        send_to_thread(proc.pid, others[-1], signal.SIGTERM)
        assert proc.wait(EXIT_BOUND_SECONDS) == 0, log.read_text()
        assert "stopping: SIGTERM" in log.read_text()
    finally:
        ended(proc)
