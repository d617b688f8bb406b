"""The Controller: the flowctl control plane served with grpc.aio on the caller's loop.

One server, one port, one state behind three services: the legacy `flowctl.ControlPlane`,
`flowctl.v1.ControlPlaneService` and flowrun's `flowctl.FlowControl`. The token
interceptor and TLS credentials are the server's, so they apply to all three alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

import grpc
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl import flow_control_pb2 as fc
from flowctl import flow_control_pb2_grpc as fc_grpc
from flowctl.contract import Policy
from flowctl.v1 import control_plane_pb2_grpc as v1_grpc
from prometheus_client import CollectorRegistry

from flowrun.controller.janitor import Janitor
from flowrun.controller.liveness import FOREIGN_HEARTBEAT_INTERVAL_SECONDS, RETENTION_SECONDS
from flowrun.controller.prometheus import ControllerCollector
from flowrun.controller.security import TokenInterceptor, server_credentials
from flowrun.controller.servicers import ControlPlaneServicer, FlowControlServicer
from flowrun.controller.servicers_v1 import ControlPlaneServiceServicer
from flowrun.controller.state import Clock, ControllerState, Counters
from flowrun.controller.views import ServiceView
from flowrun.errors import ControllerError

logger = logging.getLogger(__name__)

SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    # Without this a second controller could bind the same port and silently share it.
    ("grpc.so_reuseport", 0),
    # Find clients that vanished without closing (partition, power loss) on open streams.
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    # Let SDK clients keep their own keepalive pings without being told "too many pings".
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 1_000),
    ("grpc.http2.max_ping_strikes", 0),
)


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ControllerError(f"invalid listen address {address!r}: expected HOST:PORT")
    return host, int(port)


class Controller:
    """Registry, heartbeats, discovery, backpressure and policy, served over gRPC.

    `start()` binds and returns the address actually bound; everything then runs on the
    running asyncio loop until `stop()`.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        listen: str = "127.0.0.1:0",
        token: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        registry: CollectorRegistry | None = None,
        declared_components: Iterable[str] = (),
        foreign_heartbeat_interval_seconds: float = FOREIGN_HEARTBEAT_INTERVAL_SECONDS,
        retention_seconds: float = RETENTION_SECONDS,
        wall_clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
        counters: Counters | None = None,
    ) -> None:
        """`declared_components`: the component ids the runner runs, judged by the policy's
        heartbeat interval; any other service by the interval it is seen to keep
        (controller/liveness.py). `retention_seconds`: how long a silent service is kept.
        The clocks are for tests that play a 10 s client without waiting 10 s. `counters`:
        the running totals to go on from (a runner's controller restarted on a new endpoint)."""
        split_address(listen)
        if (tls_cert is None) != (tls_key is None):
            raise ControllerError("TLS needs both a certificate file and a key file")
        self._listen = listen
        self._token = token
        self._tls = (tls_cert, tls_key) if tls_cert and tls_key else None
        self._state = ControllerState(
            policy,
            wall_clock=wall_clock,
            monotonic=monotonic,
            declared_components=declared_components,
            foreign_interval_seconds=foreign_heartbeat_interval_seconds,
            retention_seconds=retention_seconds,
            counters=counters,
        )
        self._janitor = Janitor(self._state)
        self._metrics_registry = registry if registry is not None else CollectorRegistry()
        self._collector: ControllerCollector | None = None  # built on the loop, by start()
        self._server: grpc.aio.Server | None = None
        self._address: str | None = None
        self._stopped = False

    @property
    def address(self) -> str | None:
        """`HOST:PORT` bound by start(), None before."""
        return self._address

    @property
    def policy(self) -> Policy:
        return self._state.policy

    @property
    def revision(self) -> int:
        return self._state.revision

    @property
    def metrics_registry(self) -> CollectorRegistry:
        return self._metrics_registry

    @property
    def backpressure_active(self) -> bool:
        return self._state.decision.active

    async def start(self) -> str:
        if self._server is not None or self._stopped:
            raise ControllerError("a controller can be started once")
        interceptors = [TokenInterceptor(self._token)] if self._token else []
        server = grpc.aio.server(interceptors=interceptors, options=SERVER_OPTIONS)
        cp_grpc.add_ControlPlaneServicer_to_server(ControlPlaneServicer(self._state), server)  # type: ignore[no-untyped-call, unused-ignore]
        fc_grpc.add_FlowControlServicer_to_server(FlowControlServicer(self._state), server)  # type: ignore[no-untyped-call, unused-ignore]
        v1_grpc.add_ControlPlaneServiceServicer_to_server(  # type: ignore[no-untyped-call, unused-ignore]
            ControlPlaneServiceServicer(self._state), server
        )
        collector = ControllerCollector(self._state, asyncio.get_running_loop())
        try:
            self._metrics_registry.register(collector)
        except ValueError as e:
            raise ControllerError(
                "this metrics registry already holds a running controller's metrics: "
                "give each controller its own CollectorRegistry"
            ) from e
        try:
            port = self._bind(server)
            await server.start()
        except BaseException:
            self._metrics_registry.unregister(collector)
            raise
        self._server = server
        self._collector = collector
        self._address = f"{split_address(self._listen)[0]}:{port}"
        self._state.endpoint = self._address
        self._janitor.start()
        logger.info("flowctl controller listening on %s", self._address)
        return self._address

    def _bind(self, server: grpc.aio.Server) -> int:
        try:
            if self._tls is None:
                port = server.add_insecure_port(self._listen)
            else:
                port = server.add_secure_port(self._listen, server_credentials(*self._tls))
        except RuntimeError as e:
            raise ControllerError(f"cannot listen on {self._listen}: {e}") from e
        if not port:
            raise ControllerError(f"cannot listen on {self._listen}: address in use or invalid")
        return int(port)

    async def update_policy(self, policy: Policy) -> int:
        """Apply new thresholds now and push them to every directive stream; the new revision."""
        revision, notified = self._state.update_policy(policy)
        logger.info("policy revision %d applied (%d services told)", revision, notified)
        return revision

    def expect(self, component_id: str, endpoint: str) -> None:
        """The runner started `component_id` on `endpoint` (see ControllerState.expect)."""
        self._state.expect(component_id, endpoint)

    def component_ended(self, component_id: str) -> None:
        """The runner saw `component_id`'s process exit (see ControllerState.component_ended)."""
        self._state.component_ended(component_id)

    def forget_component(self, component_id: str) -> None:
        """The runner removed `component_id` (see ControllerState.forget_component)."""
        for service_id in self._state.forget_component(component_id):
            logger.info("service %s forgotten: its component was removed", service_id)

    def declare_components(self, component_ids: Iterable[str]) -> None:
        """The component ids the runner runs now (a reload may change them)."""
        self._state.declare_components(component_ids)

    def services(self) -> list[ServiceView]:
        return self._state.views()

    def pipeline_metrics(self) -> fc.PipelineMetrics:
        return self._state.pipeline_metrics()

    async def stop(self, grace: float = 1.0) -> None:
        """Stop serving: directive streams end cleanly, other calls get `grace` seconds."""
        server, self._server = self._server, None
        self._stopped = True
        if server is None:
            return
        await self._janitor.stop()
        self._state.hub.close_all()
        await server.stop(grace)
        with contextlib.suppress(KeyError):  # already unregistered by its owner
            if self._collector is not None:
                self._metrics_registry.unregister(self._collector)
        logger.info("flowctl controller on %s stopped", self._address)
