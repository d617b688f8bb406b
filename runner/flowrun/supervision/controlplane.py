"""The runner's view of the control plane, whichever of the three modes the spec chose.

- embedded: the runner hosts `flowrun.controller.Controller` on its own event loop;
- external: the runner reads another controller over gRPC (ListServices and
  GetPipelineMetrics, refreshed in the background) and pushes policies with UpdatePolicy;
- disabled: no controller; readiness falls back to the component's endpoint.

The supervisor only asks: has this component registered, when did it last heartbeat,
is it healthy, what is its load and throttle rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from flowrun.errors import ControllerError
from flowrun.spec.model import ControllerMode, PipelineBody

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from flowrun.controller.state import Counters
    from flowrun.controller.views import ServiceView

EXTERNAL_RPC_TIMEOUT_SECONDS = 2.0
VIEWS_MAX_AGE_SECONDS = 0.01


@dataclass(frozen=True)
class ServiceSnapshot:
    """One component as the controller last saw it (epoch seconds)."""

    component_id: str
    registered_at: float | None
    last_heartbeat: float | None
    healthy: bool
    load: float
    throttle_rate: float
    health_endpoint: str | None = None
    """The URL of its own health report, as it registered it (embedded controller only)."""
    heartbeated: bool = True
    """False while it has registered and never heartbeated (a flowctl-sdk v0.1.3 sink never
    does): the runner then judges it by its process, not by the controller's health."""
    own_pace: bool = False
    """It registered without an id, as the older obsrvr client does: it heartbeats every
    10 s whatever the policy says, so it is judged by that (ComponentSpec.liveness_ttl)."""
    reported_status: str | None = None
    """What a flowctl.v1 client last said of itself in its heartbeats when not HEALTHY
    (`UNHEALTHY`, `DEGRADED`...): status shows it as the component's own verdict."""

    def seen_since(self, epoch: float) -> bool:
        """Registered (or heard from) after the given moment: i.e. by the current process."""
        latest = max(self.registered_at or 0.0, self.last_heartbeat or 0.0)
        return latest >= epoch


class ControlPlane(Protocol):
    mode: ControllerMode
    endpoint: str | None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def service(self, component_id: str) -> ServiceSnapshot | None: ...

    def expect(self, component_id: str, endpoint: str) -> None:
        """The component was started to serve `endpoint`: a registration that names no id
        but that endpoint is this component's."""
        ...

    def forget(self, component_id: str) -> None:
        """The component was removed from the pipeline (an embedded controller drops it)."""
        ...

    def ended(self, component_id: str) -> None:
        """The component's process exited: what it last told the controller is stale (an
        embedded controller stops counting its load; another controller judges by the
        heartbeats it no longer gets)."""
        ...

    @property
    def reachable(self) -> bool: ...

    @property
    def reachable_since(self) -> float:
        """Epoch seconds since which the controller answers without a break (0: never)."""
        ...

    @property
    def last_error(self) -> str | None:
        """Why an external controller does not answer (None while it does, or not external)."""
        ...

    @property
    def backpressure_active(self) -> bool | None:
        """None: no controller decides; each component throttles itself at its own load."""
        ...

    async def update_policy(self, body: PipelineBody) -> None: ...


class DisabledControlPlane:
    mode = ControllerMode.DISABLED
    endpoint: str | None = None
    reachable = False
    reachable_since = 0.0
    last_error: str | None = None
    backpressure_active: bool | None = None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def service(self, component_id: str) -> ServiceSnapshot | None:
        return None

    def expect(self, component_id: str, endpoint: str) -> None:
        return None

    def forget(self, component_id: str) -> None:
        return None

    def ended(self, component_id: str) -> None:
        return None

    async def update_policy(self, body: PipelineBody) -> None:
        return None


class EmbeddedControlPlane:
    """The controller running inside the runner."""

    mode = ControllerMode.EMBEDDED
    reachable = True
    reachable_since = 0.0
    last_error: str | None = None

    def __init__(
        self,
        body: PipelineBody,
        registry: CollectorRegistry | None,
        counters: Counters | None = None,
    ) -> None:
        """`counters`: the running totals of the controller this one replaces (a change of
        its endpoint or TLS restarts it): a Prometheus counter that fell reads as a reset."""
        from flowrun.controller.server import Controller

        self._listen = body.controller.endpoint
        tls = body.controller.tls
        self._controller = Controller(
            body.policy(),
            listen=body.controller.endpoint,
            token=body.controller.token,
            tls_cert=tls.cert_file if tls else None,
            tls_key=tls.key_file if tls else None,
            registry=registry,
            declared_components=body.paced_by_policy(),
            counters=counters,
        )
        self.endpoint: str | None = None
        self._by_component: dict[str, ServiceView] = {}
        self._views_at = float("-inf")

    async def start(self) -> None:
        self.endpoint = await self._controller.start()

    async def stop(self) -> None:
        await self._controller.stop()

    def expect(self, component_id: str, endpoint: str) -> None:
        self._controller.expect(component_id, endpoint)

    def forget(self, component_id: str) -> None:
        self._controller.forget_component(component_id)
        self._views_at = float("-inf")

    def ended(self, component_id: str) -> None:
        self._controller.component_ended(component_id)
        self._views_at = float("-inf")

    def service(self, component_id: str) -> ServiceSnapshot | None:
        view = self._views().get(component_id)
        if view is None:
            return None
        return ServiceSnapshot(
            component_id=component_id,
            registered_at=view.registered_at,
            last_heartbeat=view.last_heartbeat,
            healthy=view.healthy or not view.heartbeats,
            load=view.load,
            throttle_rate=view.throttle_rate,
            health_endpoint=view.health_endpoint or None,
            heartbeated=view.heartbeats > 0,
            own_pace=view.id_assigned,
            reported_status=view.reported_status,
        )

    @property
    def backpressure_active(self) -> bool:
        return bool(self._controller.backpressure_active)

    def _views(self) -> dict[str, ServiceView]:
        """The newest view per component, shared by every caller for VIEWS_MAX_AGE_SECONDS:
        fifty components polling for readiness read one snapshot, not fifty."""
        now = time.monotonic()
        if now - self._views_at > VIEWS_MAX_AGE_SECONDS:
            newest: dict[str, ServiceView] = {}
            for view in self._controller.services():
                known = newest.get(view.component_id)
                if known is None or view.registered_at >= known.registered_at:
                    newest[view.component_id] = view
            self._by_component, self._views_at = newest, now
        return self._by_component

    async def update_policy(self, body: PipelineBody) -> None:
        self._controller.declare_components(body.paced_by_policy())
        await self._controller.update_policy(body.policy())


class ExternalControlPlane:
    """A controller somewhere else, read every `refresh_seconds`."""

    mode = ControllerMode.EXTERNAL

    def __init__(self, body: PipelineBody, refresh_seconds: float) -> None:
        self.endpoint: str | None = body.controller.endpoint
        self._token = body.controller.token
        tls = body.controller.tls
        self._ca_file = tls.ca_file if tls else None  # as the components verify it
        self._names = tuple(body.components)
        self._ttl_seconds = body.controller.heartbeat_ttl
        self._refresh_seconds = refresh_seconds
        self._snapshots: dict[str, ServiceSnapshot] = {}
        # Imported here: the CLI reads this module and must not load protobuf to do so.
        from flowrun.controller.registration import EndpointClaims

        self._claims = EndpointClaims()
        self._backpressure = False
        self.reachable = False
        # A restarted controller has forgotten every service until each re-registers:
        # liveness counts from its return, not from the last heartbeat it never saw.
        self.reachable_since = 0.0
        self.last_error: str | None = None
        self._channel: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        import grpc

        if self._ca_file is None:
            self._channel = grpc.aio.insecure_channel(self.endpoint)
        else:
            try:
                roots = Path(self._ca_file).read_bytes()
            except OSError as e:
                raise ControllerError(
                    f"cannot read spec.controller.tls.ca_file {self._ca_file}: {e.strerror}"
                ) from e
            credentials = grpc.ssl_channel_credentials(root_certificates=roots)
            self._channel = grpc.aio.secure_channel(self.endpoint, credentials)
        await self._refresh()
        await self._refuse_names_in_use()
        self._task = asyncio.get_running_loop().create_task(
            self._refresh_forever(), name="external-controller"
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._channel is not None:
            await self._channel.close()

    async def _refuse_names_in_use(self) -> None:
        """Components register under their names, and a controller holds one service per
        name: a second pipeline of the same names would take over the first one's records
        (heartbeats, load, throttling, discovery mixed up). A live record of one of our
        names is another pipeline's if it is heard from again within a ttl (the records of
        a run of this pipeline that just ended are not: their processes are gone). Compared
        as the controller stamps them, so that no clock of this machine is trusted."""
        seen = self._heartbeats_of_live_names()
        deadline = time.monotonic() + self._ttl_seconds + self._refresh_seconds
        while seen and time.monotonic() < deadline:
            await asyncio.sleep(self._refresh_seconds)
            await self._refresh()
            now = self._heartbeats_of_live_names()
            taken = [name for name, stamp in seen.items() if now.get(name, stamp) != stamp]
            if taken:
                raise ControllerError(
                    f"the controller at {self.endpoint} already has live services named "
                    f"{', '.join(taken)}: another pipeline or runner uses these component "
                    "names. A controller holds one service per name: rename the components "
                    "of one of them, or give each pipeline its own controller"
                )
            seen = {name: stamp for name, stamp in seen.items() if name in now}

    def _heartbeats_of_live_names(self) -> dict[str, float | None]:
        """The last heartbeat of each of our names the controller holds as live."""
        return {
            name: snapshot.last_heartbeat
            for name in self._names
            if (snapshot := self._snapshots.get(name)) is not None
            and snapshot.heartbeated
            and snapshot.healthy
        }

    def service(self, component_id: str) -> ServiceSnapshot | None:
        return self._snapshots.get(component_id)

    def expect(self, component_id: str, endpoint: str) -> None:
        """The runner started `component_id` serving `endpoint`. A controller elsewhere is
        not told: the runner itself reads a service registered there without an id (the
        older obsrvr client) as that component."""
        self._claims.claim(component_id, endpoint)

    def forget(self, component_id: str) -> None:
        """Nothing: a controller elsewhere expires the record itself."""

    def ended(self, component_id: str) -> None:
        """Nothing: a controller elsewhere judges it by the heartbeats it no longer gets."""

    @property
    def backpressure_active(self) -> bool:
        return self._backpressure

    async def update_policy(self, body: PipelineBody) -> None:
        from flowctl import flow_control_pb2_grpc as fc_grpc
        from flowctl.channel import rpc_reason
        from flowctl.policy_codec import policy_to_proto

        stub = fc_grpc.FlowControlStub(self._channel)  # type: ignore[no-untyped-call, unused-ignore]
        try:
            await stub.UpdatePolicy(
                policy_to_proto(body.policy()),
                metadata=self._metadata(),
                timeout=EXTERNAL_RPC_TIMEOUT_SECONDS,
            )
        except Exception as e:  # grpc.aio raises AioRpcError, which mypy cannot see
            raise ControllerError(
                f"cannot update the policy of the controller at {self.endpoint}: {rpc_reason(e)}"
            ) from e

    def _metadata(self) -> tuple[tuple[str, str], ...]:
        from flowctl.channel import call_metadata

        return call_metadata(self._token)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_seconds)
            await self._refresh()

    async def _refresh(self) -> None:
        from flowctl import flow_control_pb2_grpc as fc_grpc
        from flowctl.channel import rpc_reason
        from google.protobuf import empty_pb2

        stub = fc_grpc.FlowControlStub(self._channel)  # type: ignore[no-untyped-call, unused-ignore]
        try:
            metrics = await stub.GetPipelineMetrics(
                empty_pb2.Empty(), metadata=self._metadata(), timeout=EXTERNAL_RPC_TIMEOUT_SECONDS
            )
        except Exception as e:  # an unreachable controller is a state, not a crash
            self.reachable, self.last_error = False, rpc_reason(e)
            return
        if not self.reachable:
            self.reachable_since = time.time()
        self.reachable, self.last_error = True, None
        self._backpressure = bool(metrics.backpressure_active)
        snapshots: dict[str, ServiceSnapshot] = {}
        for service in metrics.services:
            claimed = self._claims.component_of(service.endpoint, id_assigned=service.id_assigned)
            name = claimed or service.component_id
            snapshot = ServiceSnapshot(
                component_id=name,
                registered_at=None,
                last_heartbeat=_epoch(service.last_heartbeat)
                if service.HasField("last_heartbeat")
                else None,
                healthy=service.is_healthy or not service.heartbeats,
                load=service.load,
                throttle_rate=service.throttle_rate,
                heartbeated=service.heartbeats > 0,
                own_pace=service.id_assigned,
                reported_status=service.reported_status or None,
            )
            # Records of earlier processes on one endpoint (each got an id of its own)
            # linger until they expire: the one heard from last is the component's.
            earlier = snapshots.get(name)
            if earlier is None or _heard_at(snapshot) >= _heard_at(earlier):
                snapshots[name] = snapshot
        self._snapshots = snapshots


def _heard_at(snapshot: ServiceSnapshot) -> float:
    return snapshot.last_heartbeat or 0.0


def _epoch(timestamp: Any) -> float:
    return float(timestamp.seconds) + float(timestamp.nanos) / 1e9


def control_plane_for(
    body: PipelineBody, registry: CollectorRegistry | None, counters: Counters | None = None
) -> ControlPlane:
    mode = body.controller.mode
    if mode is ControllerMode.DISABLED:
        return DisabledControlPlane()
    if mode is ControllerMode.EXTERNAL:
        return ExternalControlPlane(
            body, refresh_seconds=min(1.0, body.controller.heartbeat_interval)
        )
    return EmbeddedControlPlane(body, registry, counters)
