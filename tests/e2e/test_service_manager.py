"""`flowrun up` under systemd with `Type=notify-reload` and `WatchdogSec=`, played here as
systemd does it: a datagram socket named by NOTIFY_SOCKET, read for the sd_notify messages.
READY=1 comes once every component is running (systemd took the pipeline as started the
moment the runner existed), WATCHDOG=1 at half the interval asked, RELOADING=1 then READY=1
around the reload a SIGHUP asks for, STOPPING=1 when it stops; the components inherit
neither the socket nor the watchdog."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.runner_harness import (
    FLOWRUN,
    Pipeline,
    clean_environ,
    component,
    pipeline_processes,
    track_pipelines,
    write_spec,
)
from flowrun.daemon.service_manager import ServiceManager

pipelines = pytest.fixture(track_pipelines, name="pipelines")


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(tmp_path / "notify"))
        listener.settimeout(60)
        yield listener


def _message(listener: socket.socket) -> dict[str, str]:
    data = listener.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.splitlines())


def _next_but_watchdog(
    listener: socket.socket, pings: list[float], timeout_seconds: float = 30.0
) -> dict[str, str]:
    """The next message that is not a WATCHDOG=1 ping; the pings' times go to `pings`."""
    deadline = time.monotonic() + timeout_seconds
    while (message := _message(listener)) == {"WATCHDOG": "1"}:
        pings.append(time.monotonic())
        assert time.monotonic() < deadline, f"only WATCHDOG=1 for {timeout_seconds}s"
    return message


def test_ready_once_every_component_runs_reloading_and_stopping_at_the_end(
    tmp_path: Path, pipelines: list[Pipeline], notify_socket: socket.socket
) -> None:
    pipeline = Pipeline(
        write_spec(
            tmp_path,
            {"src": component(), "sink": component("sink", inputs=["src"], endpoint=False)},
        )
    )
    pipelines.append(pipeline)
    environ = {
        **clean_environ(),
        "NOTIFY_SOCKET": str(tmp_path / "notify"),
        "WATCHDOG_USEC": "400000",  # WatchdogSec=0.4s
    }
    runner = subprocess.Popen(
        [*FLOWRUN, "up", str(pipeline.spec)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environ,
    )
    pipeline.runner_pids.add(runner.pid)
    pings: list[float] = []
    try:
        ready = _next_but_watchdog(notify_socket, pings)
        assert ready == {"READY": "1", "STATUS": "2/2 components running"}
        states = {c["name"]: c["state"] for c in pipeline.status()["components"]}
        assert states == {"src": "running", "sink": "running"}  # ready meant it
        for process in pipeline_processes(pipeline.runner_pids):
            leaked = {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"} & set(process.environ())
            assert not leaked, (process.cmdline(), leaked)

        asked_at_usec = time.monotonic_ns() // 1000
        runner.send_signal(signal.SIGHUP)  # systemctl reload, under Type=notify-reload
        reloading = _next_but_watchdog(notify_socket, pings)
        assert reloading.pop("RELOADING") == "1"
        assert reloading.pop("STATUS") == "reloading"
        # systemd takes a reload as its own by this stamp: CLOCK_MONOTONIC, after the signal.
        assert int(reloading.pop("MONOTONIC_USEC")) >= asked_at_usec
        assert reloading == {}
        reloaded = _next_but_watchdog(notify_socket, pings)
        assert reloaded == {"READY": "1", "STATUS": "2/2 components running, reload unchanged"}

        pings.clear()
        alive_since = time.monotonic()
        time.sleep(2)  # alive: a ping at least every 0.4 s, at 0.2 s when all is well

        runner.send_signal(signal.SIGTERM)  # systemctl stop
        stopping = _next_but_watchdog(notify_socket, pings)
        alive_seconds = time.monotonic() - alive_since
        assert stopping == {"STOPPING": "1", "STATUS": "stopping"}
        assert runner.wait(60) == 0
        assert len(pings) >= int(alive_seconds / 0.4), (len(pings), alive_seconds)
    finally:
        if runner.poll() is None:
            runner.kill()
    assert not pipeline_processes(pipeline.runner_pids)


def test_an_abstract_socket_is_reached_and_no_socket_is_no_error() -> None:
    name = f"flowrun-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(10)
        ServiceManager({"NOTIFY_SOCKET": "@" + name}).notify({"READY": "1"})
        assert listener.recv(4096) == b"READY=1"
    # The manager gone, or none: nothing raised, the pipeline goes on.
    ServiceManager({"NOTIFY_SOCKET": "@" + name}).notify({"READY": "1"})
    ServiceManager({}).notify({"READY": "1"})


def test_the_watchdog_is_fed_only_when_asked_of_this_process() -> None:
    ours = {"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": str(os.getpid())}
    assert ServiceManager(ours).watchdog_seconds == 3.0
    assert ServiceManager({"WATCHDOG_USEC": "3000000"}).watchdog_seconds == 3.0
    # Inherited from a parent systemd watches, not asked of this process.
    assert ServiceManager({**ours, "WATCHDOG_PID": str(os.getppid())}).watchdog_seconds is None
    assert ServiceManager({"WATCHDOG_USEC": "0"}).watchdog_seconds is None
    assert ServiceManager({"WATCHDOG_USEC": "soon"}).watchdog_seconds is None
