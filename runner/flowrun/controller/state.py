"""The controller's state and every operation on it, without gRPC.

Runs on one asyncio loop, so no locks: each method runs to completion between awaits.
Whenever an operation changes a service's throttle, that service's directive streams are
sent a new directive before the method returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from flowctl import control_plane_pb2 as cp
from flowctl import flow_control_pb2 as fc
from flowctl.contract import Policy, check
from flowctl.policy_codec import policy_to_proto

from flowrun.controller import messages
from flowrun.controller.backpressure import BackpressureDecision
from flowrun.controller.directives import DirectiveHub
from flowrun.controller.pipeline_metrics import pipeline_metrics
from flowrun.controller.registry import Registration, Registry, ServiceRecord
from flowrun.controller.sanitize import clean_metrics
from flowrun.controller.views import ServiceView, view_of

Clock = Callable[[], float]


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


class ControllerState:
    def __init__(
        self, policy: Policy, *, wall_clock: Clock = time.time, monotonic: Clock = time.monotonic
    ) -> None:
        self._wall = wall_clock
        self._monotonic = monotonic
        self._policy = check(policy)
        self._revision = 1
        self._policy_message = policy_to_proto(policy, self._revision)
        self._silent: set[str] = set()
        self.registry = Registry()
        self.decision = BackpressureDecision(policy.flow_control)
        self.hub = DirectiveHub()
        self.counters = Counters()

    @property
    def policy(self) -> Policy:
        return self._policy

    @property
    def revision(self) -> int:
        return self._revision

    def policy_message(self) -> fc.Policy:
        return self._policy_message

    def register(self, info: cp.ServiceInfo) -> ServiceRecord:
        registration = Registration.from_proto(info)
        record, replaced = self.registry.register(registration, self._wall(), self._monotonic())
        self.counters.registrations += 1
        self.counters.replacements += replaced
        service_id = registration.service_id
        self._silent.discard(service_id)
        changed = self.decision.place(service_id, registration.component_id, registration.inputs)
        # A restarted service still watching from before learns its state afresh.
        changed.add(service_id)
        self._notify(changed)
        return record

    def heartbeat(self, heartbeat: cp.ServiceHeartbeat) -> ServiceRecord | None:
        """Absorb one heartbeat; None when the service is unknown (it must re-register)."""
        service_id = heartbeat.service_id
        record = self.registry.get(service_id)
        if record is None:
            self.counters.unknown_heartbeats += 1
            return None
        metrics = clean_metrics(heartbeat.metrics)
        self.counters.heartbeats += 1
        self.counters.metrics_dropped += metrics.dropped
        record.absorb(metrics, self._wall(), self._monotonic())
        self._silent.discard(service_id)
        changed = self.decision.observe(service_id, record.load)
        if changed:
            self._notify(changed)
        return record

    def sweep(self) -> list[str]:
        """Mark services silent past heartbeat_ttl (and back); returns the newly silent."""
        now, ttl = self._monotonic(), self._policy.heartbeat_ttl_seconds
        went_silent: list[str] = []
        changed: set[str] = set()
        for record in self.registry:
            service_id, fresh = record.service_id, record.is_fresh(now, ttl)
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

    def update_policy(self, policy: Policy) -> tuple[int, int]:
        """Apply a new policy; returns the new revision and how many services were told."""
        self._policy = check(policy)
        self._revision += 1
        self._policy_message = policy_to_proto(policy, self._revision)
        self.counters.policy_updates += 1
        self.decision.retune(policy.flow_control)
        subscribed = self.hub.subscribed_services()
        self._notify(subscribed)
        self.sweep()
        return self._revision, len(subscribed)

    def is_healthy(self, record: ServiceRecord) -> bool:
        return record.is_fresh(self._monotonic(), self._policy.heartbeat_ttl_seconds)

    def directive_for(self, service_id: str) -> fc.Directive:
        return messages.directive(service_id, self.decision, self._policy_message, self._wall())

    def samples(self) -> list[tuple[ServiceRecord, bool]]:
        now, ttl = self._monotonic(), self._policy.heartbeat_ttl_seconds
        return [(record, record.is_fresh(now, ttl)) for record in self.registry]

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
