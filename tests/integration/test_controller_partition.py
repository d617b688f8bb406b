"""A network partition between a component and the controller, through tests/tcp_proxy.py.

The "component" here is a bare gRPC client (the SDK has its own tests): what is under
test is the controller's side, i.e. that a partitioned service turns unhealthy, stops
throttling others, leaves no stream behind, and is taken back when the network heals.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl import flow_control_pb2 as fc
from flowctl import flow_control_pb2_grpc as fc_grpc
from flowctl.contract import Policy
from flowrun.controller.server import Controller
from flowrun.controller.views import ServiceView
from polling import wait_for_async
from prometheus_client import CollectorRegistry
from tcp_proxy import TcpProxy

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]
WAIT = 15.0
FAST_RECONNECT = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 300),
]


@pytest.fixture
async def controller(metrics: CollectorRegistry) -> AsyncIterator[Controller]:
    server = Controller(
        Policy(heartbeat_interval_seconds=0.1, heartbeat_ttl_seconds=0.5),
        registry=metrics,
        declared_components={"source", "sink"},  # judged by the policy, as if run by the runner
    )
    await server.start()
    yield server
    await server.stop(grace=0)


@pytest.fixture
def proxy(controller: Controller) -> Iterator[TcpProxy]:
    assert controller.address is not None
    with TcpProxy(controller.address) as started:
        yield started


def view(controller: Controller, service_id: str) -> ServiceView:
    return next(v for v in controller.services() if v.service_id == service_id)


async def try_heartbeat(plane: cp_grpc.ControlPlaneStub, service_id: str, load: float) -> bool:
    """One heartbeat with a short deadline: True if the controller took it."""
    try:
        await plane.Heartbeat(
            cp.ServiceHeartbeat(service_id=service_id, metrics={"load": load}), timeout=0.5
        )
    except grpc.aio.AioRpcError as error:
        assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
        return False
    return True


async def register_pipeline(
    direct: cp_grpc.ControlPlaneStub, remote: cp_grpc.ControlPlaneStub
) -> None:
    """source-1 talks through the proxy; sink-1, downstream of it, talks directly.

    FAST_RECONNECT also makes gRPC's connect timeout 100-300 ms, which a loaded machine can
    miss through the proxy: wait_for_ready retries the first connection until WAIT."""
    await remote.Register(
        cp.ServiceInfo(service_id="source-1", component_id="source", service_type=1),
        timeout=WAIT,
        wait_for_ready=True,
    )
    await direct.Register(
        cp.ServiceInfo(
            service_id="sink-1", component_id="sink", service_type=3, metadata={"inputs": "source"}
        ),
        timeout=WAIT,
    )


@pytest.mark.parametrize("blackhole", [False, True], ids=["cut", "blackhole"])
async def test_partitioned_service_turns_unhealthy_and_recovers(
    controller: Controller, proxy: TcpProxy, metrics: CollectorRegistry, blackhole: bool
) -> None:
    assert controller.address is not None
    async with (
        grpc.aio.insecure_channel(controller.address) as direct_channel,
        grpc.aio.insecure_channel(proxy.address, options=FAST_RECONNECT) as remote_channel,
    ):
        direct = cp_grpc.ControlPlaneStub(direct_channel)
        remote = cp_grpc.ControlPlaneStub(remote_channel)
        await register_pipeline(direct, remote)
        assert await try_heartbeat(remote, "source-1", 0.2)
        assert proxy.accepted >= 1 and proxy.bytes_forwarded > 0

        stream = fc_grpc.FlowControlStub(remote_channel).WatchDirectives(
            fc.DirectiveRequest(service_id="source-1")
        )
        first = await asyncio.wait_for(stream.read(), WAIT)
        assert isinstance(first, fc.Directive) and first.throttle_rate == 1.0

        proxy.partition(blackhole=blackhole)
        assert not await try_heartbeat(remote, "source-1", 0.2)
        await wait_for_async(
            lambda: not view(controller, "source-1").healthy, what="source-1 unhealthy"
        )
        last_seen = view(controller, "source-1").last_heartbeat
        assert last_seen is not None

        # The sink overloads while the source cannot hear it.
        await direct.Heartbeat(cp.ServiceHeartbeat(service_id="sink-1", metrics={"load": 0.95}))
        assert view(controller, "source-1").throttle_rate == 0.5

        proxy.heal()
        with pytest.raises(grpc.aio.AioRpcError):
            await asyncio.wait_for(stream.read(), WAIT)  # the partitioned stream is dead
        await wait_for_async(
            lambda: metrics.get_sample_value("flowctl_controller_directive_streams") == 0.0,
            what="the controller to drop the dead stream",
        )

        await wait_for_async(
            lambda: try_heartbeat(remote, "source-1", 0.2), what="a heartbeat after heal"
        )
        assert view(controller, "source-1").healthy
        assert (view(controller, "source-1").last_heartbeat or 0) > last_seen
        again = fc_grpc.FlowControlStub(remote_channel).WatchDirectives(
            fc.DirectiveRequest(service_id="source-1")
        )
        directive = await asyncio.wait_for(again.read(), WAIT)
        assert isinstance(directive, fc.Directive)
        assert directive.throttle_rate == 0.5 and directive.backpressure_active
        again.cancel()


def test_proxy_refuses_while_cut_and_forwards_after_heal() -> None:
    """The proxy alone, against a plain TCP echo server: the helper other tests rely on."""

    async def scenario() -> None:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(1024):
                writer.write(data)
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        with TcpProxy(f"127.0.0.1:{port}") as proxy:
            host, _, proxy_port = proxy.address.rpartition(":")

            async def round_trip() -> bytes:
                reader, writer = await asyncio.open_connection(host, int(proxy_port))
                writer.write(b"ping")
                await writer.drain()
                try:
                    return await asyncio.wait_for(reader.read(4), 1.0)
                except TimeoutError:
                    return b"timeout"
                except ConnectionError:
                    return b""
                finally:
                    writer.close()

            assert await round_trip() == b"ping"
            proxy.partition()
            assert await round_trip() == b""  # reset at once
            proxy.partition(blackhole=True)
            assert await round_trip() == b"timeout"  # silently dropped
            proxy.heal()
            assert await round_trip() == b"ping"
            assert proxy.accepted == 4
        server.close()
        await server.wait_closed()

    asyncio.run(asyncio.wait_for(scenario(), 30))
