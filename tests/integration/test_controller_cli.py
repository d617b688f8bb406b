"""`flowrun controller` as a real process: binds, serves, stops on SIGTERM/SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request

import grpc
import pytest
from fixtures.controller_process import (
    FLOWRUN,
    WAIT_SECONDS,
    ControllerProcess,
)
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc

pytestmark = pytest.mark.timeout(120)


def register(address: str, token: str | None = None) -> str:
    metadata = (("authorization", f"Bearer {token}"),) if token else None
    with grpc.insecure_channel(address) as channel:
        ack = cp_grpc.ControlPlaneStub(channel).Register(
            cp.ServiceInfo(service_id="sink-1"), metadata=metadata, timeout=WAIT_SECONDS
        )
    return str(ack.service_id)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_until_signalled(running: list[ControllerProcess], signum: int) -> None:
    controller = ControllerProcess("--listen", "127.0.0.1:0", "--heartbeat-ttl", "2s")
    running.append(controller)
    address = controller.address()
    assert address.startswith("127.0.0.1:") and not address.endswith(":0")
    assert register(address) == "sink-1"
    assert controller.stop(signum) == 0
    assert "stopped" in controller.lines.get(timeout=WAIT_SECONDS)


def test_token_from_environment_and_metrics_endpoint(running: list[ControllerProcess]) -> None:
    controller = ControllerProcess(
        "--listen", "127.0.0.1:0", "--token-env", "TEST_FLOWCTL_TOKEN",
        "--metrics-listen", "127.0.0.1:0",
        env={"TEST_FLOWCTL_TOKEN": "t0ken"},
    )  # fmt: skip
    running.append(controller)
    address = controller.address()
    with pytest.raises(grpc.RpcError) as error:
        register(address)
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
    assert register(address, token="t0ken") == "sink-1"
    # The port it bound, not the 0 it was given (docs audit: it said :0).
    said = controller.lines.get(timeout=WAIT_SECONDS)
    url = said.removeprefix("prometheus metrics on ")
    assert url.startswith("http://127.0.0.1:") and not url.startswith("http://127.0.0.1:0/")
    with urllib.request.urlopen(url, timeout=WAIT_SECONDS) as page:
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
        [FLOWRUN, "controller", *args],
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        env=env,
    )
    assert done.returncode in (1, 2)
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_busy_port_is_reported(running: list[ControllerProcess]) -> None:
    first = ControllerProcess("--listen", "127.0.0.1:0")
    running.append(first)
    address = first.address()
    done = subprocess.run(
        [FLOWRUN, "controller", "--listen", address],
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert done.returncode == 1
    assert "cannot listen" in done.stderr and "Traceback" not in done.stderr
    assert first.stop() == 0
