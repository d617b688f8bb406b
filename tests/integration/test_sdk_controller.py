"""The SDK's ControllerClient against the real flowrun Controller on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from _sdk_harness import ControllerThread, component_settings
from certificates import self_signed
from flowctl import FlowController, FlowctlError
from flowctl.client import ControllerClient, Registration
from flowctl.contract import FlowControlSettings, Policy, PoolSettings
from flowctl.settings import ComponentSettings
from polling import wait_for
from ports import free_port
from tcp_proxy import TcpProxy

INTERVAL = 0.2


@pytest.fixture
def controller() -> Iterator[ControllerThread]:
    thread = ControllerThread(
        Policy(heartbeat_interval_seconds=INTERVAL, heartbeat_ttl_seconds=1.0)
    )
    yield thread
    thread.close()


def start_client(
    endpoint: str,
    name: str,
    *,
    max_inflight: int = 100,
    inputs: dict[str, str] | None = None,
    **kw: object,
) -> ControllerClient:
    settings: ComponentSettings = component_settings(
        endpoint,
        component_id=name,
        service_id=name,
        max_inflight=max_inflight,
        inputs=inputs or {},
        component_type="processor" if inputs else "source",
        **kw,
    )
    flow = FlowController(settings.max_inflight, settings.flow_control)
    return ControllerClient(
        settings, flow, Registration(endpoint=f"127.0.0.1:{free_port()}")
    ).start()


def test_registered_service_reports_real_load(controller: ControllerThread) -> None:
    address = controller.start()
    client = start_client(address, "src", max_inflight=200)
    try:
        client.flow.acquire(50)
        wait_for(lambda: controller.services().get("src") is not None)
        wait_for(lambda: controller.services()["src"].load == pytest.approx(0.25))
        view = controller.services()["src"]
        assert view.inflight == 50
        assert view.healthy
        found = client.discover(name="src")
        assert [e.endpoint for e in found] == [client.registration.endpoint]
    finally:
        client.stop()


def test_backpressure_throttles_upstream_and_releases_below_deactivate(
    controller: ControllerThread,
) -> None:
    address = controller.start()
    source = start_client(address, "src")
    sink = start_client(address, "sink", max_inflight=10, inputs={"src": ""})
    try:
        wait_for(lambda: source.flow.controller_connected and sink.flow.controller_connected)
        sink.flow.acquire(9)  # 0.9 >= activate_at 0.8
        wait_for(lambda: source.flow.throttle_rate == 0.5)
        assert source.flow.backpressure_active
        sink.flow.release(2)  # 0.7: between the thresholds, still on
        wait_for(lambda: controller.services()["sink"].load == pytest.approx(0.7))
        assert source.flow.throttle_rate == 0.5
        sink.flow.release(2)  # 0.5 < deactivate_at 0.6
        wait_for(lambda: source.flow.throttle_rate == 1.0)
        assert not source.flow.backpressure_active
    finally:
        source.stop()
        sink.stop()


def test_policy_update_reaches_the_client_live(controller: ControllerThread) -> None:
    address = controller.start()
    client = start_client(address, "src")
    try:
        assert client.wait_registered(20)
        wait_for(lambda: client.flow.controller_connected)
        controller.update_policy(
            Policy(
                flow_control=FlowControlSettings(
                    activate_at=0.95, deactivate_at=0.4, throttle_rate=0.2
                ),
                pool=PoolSettings(min_connections=1, max_connections=3),
                heartbeat_interval_seconds=0.3,
                heartbeat_ttl_seconds=2.0,
            )
        )
        wait_for(lambda: client.flow.thresholds.activate_at == 0.95)
        assert client.flow.thresholds.deactivate_at == 0.4
        assert client.flow.thresholds.throttle_rate == 0.2
        wait_for(lambda: client.heartbeat_interval == 0.3)
    finally:
        client.stop()


def test_unreachable_at_start_then_registers_when_it_appears(
    controller: ControllerThread, caplog: pytest.LogCaptureFixture
) -> None:
    address = f"127.0.0.1:{free_port()}"
    with caplog.at_level(logging.WARNING, logger="flowctl.client"):
        client = start_client(address, "src")
        try:
            wait_for(lambda: client.stats.registration_failures_total >= 2)
            assert not client.flow.controller_connected
            # Said by the first failure after the first registration window, not before.
            wait_for(lambda: "running on local flow control" in caplog.text)
            controller.start(address)
            assert client.wait_registered(20)
            wait_for(lambda: "src" in controller.services())
            wait_for(lambda: client.flow.controller_connected)
        finally:
            client.stop()


def test_restarted_controller_gets_the_service_back_within_two_heartbeats(
    controller: ControllerThread,
) -> None:
    interval = 0.5
    controller.policy = Policy(heartbeat_interval_seconds=interval, heartbeat_ttl_seconds=3.0)
    address = controller.start()
    client = start_client(address, "src", heartbeat_interval_seconds=interval)
    try:
        wait_for(lambda: "src" in controller.services())
        controller.stop()
        wait_for(lambda: not client.flow.controller_connected)
        client.flow.acquire(3)  # the component keeps working meanwhile
        controller.start(address)
        attempts_before = client.stats.heartbeats_total + client.stats.heartbeat_failures_total
        wait_for(lambda: "src" in controller.services())
        attempts = client.stats.heartbeats_total + client.stats.heartbeat_failures_total
        # The first or second heartbeat after the restart brings the registration back.
        assert attempts - attempts_before <= 2
        # The controller holds the registration before the client has read its answer.
        wait_for(lambda: client.stats.reregistrations_total == 1)
        wait_for(lambda: controller.services()["src"].inflight == 3)
        wait_for(lambda: client.flow.controller_connected)
    finally:
        client.stop()


@pytest.mark.parametrize("blackhole", [False, True])
def test_partition_falls_back_to_local_and_recovers(
    controller: ControllerThread, blackhole: bool
) -> None:
    address = controller.start()
    with TcpProxy(address) as proxy:
        client = start_client(proxy.address, "src", max_inflight=10)
        try:
            wait_for(lambda: client.flow.controller_connected)
            proxy.partition(blackhole=blackhole)
            wait_for(lambda: not client.flow.controller_connected)
            client.flow.acquire(9)
            assert client.flow.throttle_rate == 0.5  # local hysteresis on the same thresholds
            beats = client.stats.heartbeats_total
            proxy.heal()
            wait_for(lambda: client.flow.controller_connected)
            wait_for(lambda: client.stats.heartbeats_total > beats)
            wait_for(lambda: controller.services()["src"].inflight == 9)
            assert client.stats.disconnections_total == 1
        finally:
            client.stop()


def test_token_is_required_and_accepted() -> None:
    controller = ControllerThread(Policy(heartbeat_interval_seconds=INTERVAL), token="s3cret")
    try:
        address = controller.start()
        good = start_client(address, "good", token="s3cret")
        bad = start_client(address, "bad", token="wrong")
        try:
            assert good.wait_registered(20)
            wait_for(lambda: bad.stats.registration_failures_total >= 2)
            assert not bad.registered
            assert "UNAUTHENTICATED" in bad.stats.last_error
            assert set(controller.services()) == {"good"}
        finally:
            good.stop()
            bad.stop()
    finally:
        controller.close()


def test_tls_with_a_ca_file_and_token(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    controller = ControllerThread(
        Policy(heartbeat_interval_seconds=INTERVAL),
        token="s3cret",
        tls_cert=str(cert),
        tls_key=str(key),
    )
    try:
        address = controller.start()
        secure = start_client(address, "secure", token="s3cret", ca_file=str(cert))
        plain = start_client(address, "plain", token="s3cret")
        try:
            assert secure.wait_registered(20)
            wait_for(lambda: secure.stats.heartbeats_total >= 2)
            wait_for(lambda: plain.stats.registration_failures_total >= 2)
            assert set(controller.services()) == {"secure"}
        finally:
            secure.stop()
            plain.stop()
    finally:
        controller.close()


def test_missing_ca_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FlowctlError, match=r"FLOWCTL_CA_FILE=.*cannot read the CA file"):
        start_client("127.0.0.1:1", "x", ca_file=str(tmp_path / "nope.pem"))
