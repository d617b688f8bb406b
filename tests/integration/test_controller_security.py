"""Shared-token authentication and TLS, over real gRPC on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from certificates import self_signed
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl import flow_control_pb2 as fc
from flowctl import flow_control_pb2_grpc as fc_grpc
from flowctl.contract import Policy
from flowrun.controller.security import bearer_token
from flowrun.controller.server import Controller
from flowrun.errors import ControllerError
from google.protobuf.empty_pb2 import Empty
from prometheus_client import CollectorRegistry

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]
TOKEN = "s3cret-token"
WAIT = 10.0


@pytest.fixture
async def guarded() -> AsyncIterator[str]:
    server = Controller(Policy(), token=TOKEN, registry=CollectorRegistry())
    yield await server.start()
    await server.stop(grace=0)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def test_token_accepted(guarded: str) -> None:
    async with grpc.aio.insecure_channel(guarded) as channel:
        plane = cp_grpc.ControlPlaneStub(channel)
        ack = await plane.Register(
            cp.ServiceInfo(service_id="sink-1"), metadata=bearer(TOKEN), timeout=WAIT
        )
        assert ack.service_id == "sink-1"
        stream = fc_grpc.FlowControlStub(channel).WatchDirectives(
            fc.DirectiveRequest(service_id="sink-1"), metadata=bearer(TOKEN)
        )
        directive = await stream.read()
        assert isinstance(directive, fc.Directive) and directive.throttle_rate == 1.0
        stream.cancel()


@pytest.mark.parametrize("metadata", [(), bearer("wrong"), (("authorization", TOKEN),)])
async def test_token_rejected(guarded: str, metadata: tuple[tuple[str, str], ...]) -> None:
    async with grpc.aio.insecure_channel(guarded) as channel:
        plane = cp_grpc.ControlPlaneStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await plane.ListServices(Empty(), metadata=metadata, timeout=WAIT)
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "token" in (error.value.details() or "")

        with pytest.raises(grpc.aio.AioRpcError) as error:
            await plane.Register(cp.ServiceInfo(service_id="x"), metadata=metadata, timeout=WAIT)
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED

        stream = fc_grpc.FlowControlStub(channel).WatchDirectives(
            fc.DirectiveRequest(service_id="x"), metadata=metadata, timeout=WAIT
        )
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stream.read()
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_bearer_token_parsing() -> None:
    assert bearer_token((("Authorization", "bearer  abc "),)) == "abc"
    assert bearer_token((("authorization", b"Bearer abc"),)) == "abc"
    assert bearer_token((("authorization", "Basic abc"),)) is None
    assert bearer_token(None) is None


async def test_tls_with_a_self_signed_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server = Controller(
        Policy(), tls_cert=str(cert), tls_key=str(key), token=TOKEN, registry=CollectorRegistry()
    )
    address = await server.start()
    try:
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        async with grpc.aio.secure_channel(address, credentials) as channel:
            plane = cp_grpc.ControlPlaneStub(channel)
            ack = await plane.Register(
                cp.ServiceInfo(service_id="sink-1"), metadata=bearer(TOKEN), timeout=WAIT
            )
            assert ack.service_id == "sink-1"

        async with grpc.aio.insecure_channel(address) as plaintext:
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await cp_grpc.ControlPlaneStub(plaintext).ListServices(
                    Empty(), metadata=bearer(TOKEN), timeout=WAIT
                )
            assert error.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop(grace=0)


async def test_unusable_tls_files_are_reported(tmp_path: Path) -> None:
    not_pem = tmp_path / "cert.pem"
    not_pem.write_text("hello")
    server = Controller(Policy(), tls_cert=str(not_pem), tls_key=str(tmp_path / "missing.pem"))
    with pytest.raises(ControllerError, match=r"cert\.pem is not a PEM file"):
        await server.start()
    with pytest.raises(ControllerError, match="both a certificate file and a key file"):
        Controller(Policy(), tls_cert=str(not_pem))


async def test_busy_port_is_an_error() -> None:
    first = Controller(Policy(), registry=CollectorRegistry())
    address = await first.start()
    try:
        with pytest.raises(ControllerError, match="cannot listen"):
            await Controller(Policy(), listen=address, registry=CollectorRegistry()).start()
    finally:
        await first.stop(grace=0)


async def test_one_metrics_registry_cannot_serve_two_running_controllers() -> None:
    shared = CollectorRegistry()
    first = Controller(Policy(), registry=shared)
    await first.start()
    try:
        with pytest.raises(ControllerError, match="own CollectorRegistry"):
            await Controller(Policy(), registry=shared).start()
    finally:
        await first.stop(grace=0)
    second = Controller(Policy(), registry=shared)  # free again once the first stopped
    await second.start()
    await second.stop(grace=0)
