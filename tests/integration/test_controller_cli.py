"""`flowrun controller` as a real process: binds, serves, stops on SIGTERM/SIGINT."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from ports import free_port

pytestmark = pytest.mark.timeout(120)
FLOWRUN = str(Path(sys.executable).parent / "flowrun")
WAIT = 30.0
LISTENING = re.compile(r"^flowctl controller listening on (\S+)$")


class Running:
    """A `flowrun controller` subprocess whose stdout lines are read on a thread."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [FLOWRUN, "controller", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        stdout = self.process.stdout
        threading.Thread(
            target=lambda: [self.lines.put(line) for line in stdout], daemon=True
        ).start()

    def address(self) -> str:
        line = self.lines.get(timeout=WAIT).strip()
        match = LISTENING.match(line)
        assert match, f"unexpected first line {line!r}"
        return match.group(1)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(WAIT)
            raise


@pytest.fixture
def running() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait(WAIT)


def register(address: str, token: str | None = None) -> str:
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    with grpc.insecure_channel(address) as channel:
        ack = cp_grpc.ControlPlaneStub(channel).Register(
            cp.ServiceInfo(service_id="sink-1"), metadata=metadata, timeout=WAIT
        )
    return str(ack.service_id)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_until_signalled(running: list[Running], signum: int) -> None:
    controller = Running("--listen", "127.0.0.1:0", "--heartbeat-ttl", "2s")
    running.append(controller)
    address = controller.address()
    assert address.startswith("127.0.0.1:") and not address.endswith(":0")
    assert register(address) == "sink-1"
    assert controller.stop(signum) == 0
    assert "stopped" in controller.lines.get(timeout=WAIT)


def test_token_from_environment_and_metrics_endpoint(running: list[Running]) -> None:
    metrics_port = free_port()
    controller = Running(
        "--listen", "127.0.0.1:0", "--token-env", "TEST_FLOWCTL_TOKEN",
        "--metrics-listen", f"127.0.0.1:{metrics_port}",
        env={"TEST_FLOWCTL_TOKEN": "t0ken"},
    )  # fmt: skip
    running.append(controller)
    address = controller.address()
    with pytest.raises(grpc.RpcError) as error:
        register(address)
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
    assert register(address, token="t0ken") == "sink-1"
    assert "metrics" in controller.lines.get(timeout=WAIT)
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=WAIT) as page:
        text = page.read().decode()
    assert "flowctl_controller_registrations_total 1.0" in text
    assert controller.stop() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--token-env", "SURELY_UNSET_VARIABLE_X"], "SURELY_UNSET_VARIABLE_X"),
        (["--activate-at", "0.5"], "deactivate_at"),
        (["--heartbeat-ttl", "5"], "--heartbeat-ttl"),
        (["--listen", "nowhere"], "HOST:PORT"),
    ],
)
def test_bad_options_are_reported_without_traceback(args: list[str], message: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SURELY_UNSET_VARIABLE_X"}
    done = subprocess.run(
        [FLOWRUN, "controller", *args], capture_output=True, text=True, timeout=WAIT, env=env
    )
    assert done.returncode in (1, 2)
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_busy_port_is_reported(running: list[Running]) -> None:
    first = Running("--listen", "127.0.0.1:0")
    running.append(first)
    address = first.address()
    done = subprocess.run(
        [FLOWRUN, "controller", "--listen", address], capture_output=True, text=True, timeout=WAIT
    )
    assert done.returncode == 1
    assert "cannot listen" in done.stderr and "Traceback" not in done.stderr
    assert first.stop() == 0
