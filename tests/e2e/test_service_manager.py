"""`flowrun up` under systemd with `Type=notify`, played here as systemd does it: a datagram
socket named by NOTIFY_SOCKET, read for the sd_notify messages. READY=1 comes once every
component is running (systemd took the pipeline as started the moment the runner existed),
STOPPING=1 when it stops; the components do not inherit the socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
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


def test_ready_once_every_component_runs_and_stopping_at_the_end(
    tmp_path: Path, pipelines: list[Pipeline], notify_socket: socket.socket
) -> None:
    pipeline = Pipeline(
        write_spec(
            tmp_path,
            {"src": component(), "sink": component("sink", inputs=["src"], endpoint=False)},
        )
    )
    pipelines.append(pipeline)
    environ = {**clean_environ(), "NOTIFY_SOCKET": str(tmp_path / "notify")}
    runner = subprocess.Popen(
        [*FLOWRUN, "up", str(pipeline.spec)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environ,
    )
    pipeline.runner_pids.add(runner.pid)
    try:
        ready = _message(notify_socket)
        assert ready == {"READY": "1", "STATUS": "2/2 components running"}
        states = {c["name"]: c["state"] for c in pipeline.status()["components"]}
        assert states == {"src": "running", "sink": "running"}  # ready meant it
        for process in pipeline_processes(pipeline.runner_pids):
            assert "NOTIFY_SOCKET" not in process.environ(), process.cmdline()

        runner.send_signal(signal.SIGTERM)  # systemctl stop
        assert _message(notify_socket) == {"STOPPING": "1", "STATUS": "stopping"}
        assert runner.wait(60) == 0
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
