"""The controller's state and every operation on it, without gRPC.

Runs on one asyncio loop, so no locks: each method runs to completion between awaits.
Whenever an operation changes a service's throttle, that service's directive streams are
sent a new directive before the method returns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from flowctl import control_plane_pb2 as cp
from flowctl import flow_control_pb2 as fc
from flowctl.contract import Policy, check
from flowctl.policy_codec import policy_to_proto
from flowctl.v1 import control_plane_pb2 as v1

from flowrun.controller import messages
from flowrun.controller.backpressure import BackpressureDecision
from flowrun.controller.directives import DirectiveHub
from flowrun.controller.liveness import (
    FOREIGN_HEARTBEAT_INTERVAL_SECONDS,
    RETENTION_SECONDS,
    Liveness,
)
from flowrun.controller.pipeline_metrics import pipeline_metrics
from flowrun.controller.registration import EndpointClaims, Registration
from flowrun.controller.registry import Registry, ServiceRecord
from flowrun.controller.sanitize import LOAD_KEYS, CleanMetrics, clean_metrics, load_refused
from flowrun.controller.text_metrics import parse_text_metrics
from flowrun.controller.views import ServiceView, view_of

Clock = Callable[[], float]
logger = logging.getLogger(__name__)
MAX_LOGGED_VALUE = 64


@dataclass
class Counters:
    """Monotonic event counts, exported as Prometheus counters."""

    registrations: int = 0
    replacements: int = 0
    heartbeats: int = 0
    unknown_heartbeats: int = 0
    metrics_dropped: int = 0
    went_unhealthy: int = 0
    policy_updates: int = 0
    unregistrations: int = 0
    expired: int = 0


class ControllerState:
    def __init__(
        self,
        policy: Policy,
        *,
        wall_clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
        declared_components: Iterable[str] = (),
        foreign_interval_seconds: float = FOREIGN_HEARTBEAT_INTERVAL_SECONDS,
        retention_seconds: float = RETENTION_SECONDS,
        counters: Counters | None = None,
    ) -> None:
        self._wall = wall_clock
        self._monotonic = monotonic
        self._policy = check(policy)
        self.liveness = Liveness(
            self._policy, frozenset(declared_components), foreign_interval_seconds,
            retention_seconds,
        )  # fmt: skip
        self.endpoint = ""
        """The address clients reach this controller at (the ack's control_plane_endpoint)."""
        self._revision = 1
        self._policy_message = policy_to_proto(policy, self._revision)
        self._silent: set[str] = set()
        self._claims = EndpointClaims()
        self.registry = Registry()
        self.decision = BackpressureDecision(policy.flow_control)
        self.hub = DirectiveHub()
        self.counters = counters if counters is not None else Counters()

    @property
    def policy(self) -> Policy:
        return self._policy

    @property
    def revision(self) -> int:
        return self._revision

    def policy_message(self) -> fc.Policy:
        return self._policy_message

    def expect(self, component_id: str, endpoint: str) -> None:
        """The runner started `component_id` serving `endpoint`: a registration that names
        no id but that endpoint is that component (the older obsrvr client registers with an
        empty id and its address in metadata), so the runner finds it by name."""
        self._claims.claim(component_id, endpoint)

    def declare_components(self, component_ids: Iterable[str]) -> None:
        """The component ids the runner runs: judged by the policy's heartbeat interval."""
        self.liveness = self.liveness.declaring(component_ids)

    def connection_info(self) -> dict[str, str]:
        """What a registration's answer tells the client, as flowctl's server does."""
        return {
            "control_plane_endpoint": self.endpoint,
            "policy_revision": str(self._revision),
        }

    def register(self, info: cp.ServiceInfo) -> ServiceRecord:
        """A legacy registration."""
        return self.admit(Registration.from_proto(info))

    def admit(self, registration: Registration) -> ServiceRecord:
        """Register a service through either API; the same id again replaces the record."""
        claimed = self._claims.component_of(
            registration.endpoint, id_assigned=registration.id_assigned
        )
        if claimed:
            registration = replace(registration, component_id=claimed)
        record, replaced = self.registry.register(registration, self._wall(), self._monotonic())
        self.counters.registrations += 1
        self.counters.replacements += replaced
        service_id = registration.service_id
        self._silent.discard(service_id)
        changed = self.decision.place(
            service_id,
            registration.component_id,
            registration.inputs,
            aliases=registration.names(),
        )
        # A restarted service still watching from before learns its state afresh.
        changed.add(service_id)
        self._notify(changed)
        return record

    def heartbeat(self, heartbeat: cp.ServiceHeartbeat) -> ServiceRecord | None:
        """Absorb one legacy heartbeat; None when the service is unknown (it must
        re-register)."""
        record = self._known(heartbeat.service_id)
        if record is None:
            return None
        metrics = clean_metrics(heartbeat.metrics)
        self.counters.metrics_dropped += metrics.dropped
        record.absorb(metrics, self._wall(), self._monotonic())
        _tell_refused_load(record, heartbeat.metrics, metrics)
        return self._observed(record)

    def heartbeat_v1(self, heartbeat: v1.HeartbeatRequest) -> ServiceRecord | None:
        """Absorb one flowctl.v1 heartbeat: alive whatever its status (flowctl-sdk always
        sends UNKNOWN), string metrics parsed and merged; None when the service is unknown."""
        record = self._known(heartbeat.service_id)
        if record is None:
            return None
        metrics = parse_text_metrics(heartbeat.metrics)
        self.counters.metrics_dropped += metrics.numbers.dropped
        record.absorb(
            metrics.numbers,
            self._wall(),
            self._monotonic(),
            texts=metrics.texts,
            status=heartbeat.status,
        )
        _tell_refused_load(record, heartbeat.metrics, metrics.numbers)
        return self._observed(record)

    def unregister(self, service_id: str) -> ServiceRecord | None:
        record = self.registry.remove(service_id)
        if record is None:
            return None
        self.counters.unregistrations += 1
        self._forget(service_id)
        return record

    def forget_component(self, component_id: str) -> list[str]:
        """The runner removed the component: drop its records now (silent, they would stay
        unhealthy for the retention window); the service ids dropped."""
        gone = [
            record.registration.service_id
            for record in self.registry
            if record.registration.component_id == component_id
        ]
        for service_id in gone:
            self.unregister(service_id)
        return gone

    def component_ended(self, component_id: str) -> None:
        """The runner saw the component's process exit: its services go silent now, so the
        last load of a crashed sink throttles no one while it waits for its restart (the
        liveness allowance would have taken seconds to say the same)."""
        changed: set[str] = set()
        for record in self.registry:
            if record.registration.component_id != component_id or record.process_ended:
                continue
            record.process_ended = True
            self._silent.add(record.service_id)
            changed |= self.decision.set_live(record.service_id, False)
        self._notify(changed)

    def _known(self, service_id: str) -> ServiceRecord | None:
        record = self.registry.get(service_id)
        if record is None:
            self.counters.unknown_heartbeats += 1
        else:
            self.counters.heartbeats += 1
        return record

    def _observed(self, record: ServiceRecord) -> ServiceRecord:
        service_id = record.service_id
        record.process_ended = False  # a heartbeat is the word of a live process
        self._silent.discard(service_id)
        changed = self.decision.observe(service_id, record.load)
        if changed:
            self._notify(changed)
        return record

    def _forget(self, service_id: str) -> None:
        self._silent.discard(service_id)
        self._notify(self.decision.remove(service_id))

    def sweep(self) -> list[str]:
        """Mark services silent past their allowance (and back), forget those silent past
        the retention window; returns the newly silent."""
        now, liveness = self._monotonic(), self.liveness
        went_silent: list[str] = []
        changed: set[str] = set()
        self.expire(now)
        for record in self.registry:
            service_id, fresh = record.service_id, _alive(liveness, record, now)
            if fresh == (service_id not in self._silent):
                continue
            if fresh:
                self._silent.discard(service_id)
            else:
                self._silent.add(service_id)
                went_silent.append(service_id)
            changed |= self.decision.set_live(service_id, fresh)
        self.counters.went_unhealthy += len(went_silent)
        self._notify(changed)
        return went_silent

    def resume(self, stalled_seconds: float) -> None:
        """This controller's own loop may not have run during the last `stalled_seconds`
        (its process stopped, its VM paused, its loop blocked): heartbeats sent meanwhile may
        still wait unread, so every service fresh before gets its whole allowance from now."""
        now = self._monotonic()
        self.liveness = self.liveness.resumed(paused_at=now - stalled_seconds, resumed_at=now)

    def expire(self, monotonic_now: float) -> list[str]:
        """Forget the services silent past the retention window; returns their ids.

        The newest record of a component the runner runs is kept: the runner judges that
        one by its process (a sink that never heartbeats), and replaces it on a restart."""
        liveness = self.liveness
        expired = [r for r in self.registry if liveness.is_expired(r, monotonic_now)]
        if not expired:
            return []
        kept = self._newest_declared()
        gone = [r.service_id for r in expired if r.service_id not in kept]
        for service_id in gone:
            self.registry.remove(service_id)
            self._forget(service_id)
        self.counters.expired += len(gone)
        return gone

    def _newest_declared(self) -> set[str]:
        declared = self.liveness.declared_components
        newest: dict[str, ServiceRecord] = {}
        for record in self.registry:
            component_id = record.registration.component_id
            if component_id not in declared:
                continue
            known = newest.get(component_id)
            if known is None or record.registered_at >= known.registered_at:
                newest[component_id] = record
        return {record.service_id for record in newest.values()}

    def update_policy(self, policy: Policy) -> tuple[int, int]:
        """Apply a new policy; returns the new revision and how many services were told."""
        self._policy = check(policy)
        self.liveness = self.liveness.with_policy(self._policy)
        self._revision += 1
        self._policy_message = policy_to_proto(policy, self._revision)
        self.counters.policy_updates += 1
        self.decision.retune(policy.flow_control)
        subscribed = self.hub.subscribed_services()
        self._notify(subscribed)
        self.sweep()
        return self._revision, len(subscribed)

    def status_target(self, info: cp.ServiceInfo) -> ServiceRecord | None:
        """The service a legacy GetServiceStatus asks about: by service or component id, else
        (the obsrvr client sends the ServiceInfo it registered, service id empty) the newest
        service registered with the same type, health endpoint and event types."""
        name = info.service_id or info.component_id
        if name:
            return self.registry.find(name)
        wanted = Registration.from_proto(info)
        alike = [
            record
            for record in self.registry
            if record.registration.api is wanted.api and _same_shape(record.registration, wanted)
        ]
        return max(alike, key=lambda record: record.registered_at, default=None)

    def is_healthy(self, record: ServiceRecord) -> bool:
        return self.liveness.is_fresh(record, self._monotonic())

    def directive_for(self, service_id: str) -> fc.Directive:
        return messages.directive(service_id, self.decision, self._policy_message, self._wall())

    def samples(self) -> list[tuple[ServiceRecord, bool]]:
        now, liveness = self._monotonic(), self.liveness
        return [(record, _alive(liveness, record, now)) for record in self.registry]

    def views(self) -> list[ServiceView]:
        return [view_of(record, self.decision, healthy) for record, healthy in self.samples()]

    def pipeline_metrics(self) -> fc.PipelineMetrics:
        return pipeline_metrics(self.samples(), self.decision, self._revision)

    def discover(self, request: fc.DiscoverRequest) -> fc.DiscoverResponse:
        response = fc.DiscoverResponse()
        for record, healthy in self.samples():
            registration = record.registration
            if request.service_type and registration.service_type != request.service_type:
                continue
            if request.name and request.name not in (record.service_id, registration.component_id):
                continue
            if request.healthy_only and not healthy:
                continue
            response.endpoints.append(messages.service_endpoint(record, healthy))
        return response

    def _notify(self, service_ids: set[str] | list[str]) -> None:
        hub = self.hub
        for service_id in service_ids:
            if hub.has_subscribers(service_id):
                hub.publish(self.directive_for(service_id))


def _alive(liveness: Liveness, record: ServiceRecord, monotonic_now: float) -> bool:
    """Heard from within its allowance, by a process the runner has not seen exit."""
    return not record.process_ended and liveness.is_fresh(record, monotonic_now)


def _tell_refused_load(
    record: ServiceRecord, raw: Mapping[str, object], metrics: CleanMetrics
) -> None:
    """Keep the last good load when a heartbeat's load values are all unusable (dropping it
    to 0 would lift backpressure on the word of a broken client), but say so once per
    registration, so the operator sees the client is broken and why its load stands still."""
    if record.load_refused_logged or not load_refused(raw, metrics):
        return
    record.load_refused_logged = True
    sent = ", ".join(f"{key}={str(raw[key])[:MAX_LOGGED_VALUE]}" for key in LOAD_KEYS if key in raw)
    logger.warning(
        "service %s sent no usable load (%s: each must be a finite number >= 0); keeping its"
        " last load %g until it does (said once per registration)",
        record.service_id,
        sent,
        record.load,
    )


def _same_shape(known: Registration, asked: Registration) -> bool:
    return (
        known.service_type == asked.service_type
        and known.health_endpoint == asked.health_endpoint
        and known.input_event_types == asked.input_event_types
        and known.output_event_types == asked.output_event_types
    )
