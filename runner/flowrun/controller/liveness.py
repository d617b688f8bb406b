"""How long a service may stay silent before it is unhealthy, and before it is forgotten.

Each service is judged against its own heartbeat interval, since real clients differ: the
flowrun SDK heartbeats every policy interval (1 s by default), the legacy obsrvr client and
flowctl-sdk every 10 s. A service is healthy until it has missed `MISSED_INTERVALS`
intervals (and never sooner than the policy's heartbeat_ttl), where its interval is:

- the policy's heartbeat interval for a component the runner runs (the runner hands it
  that interval), which the runner declares by component id;
- otherwise the median of the intervals observed between its heartbeats;
- before its second heartbeat, `FOREIGN_HEARTBEAT_INTERVAL_SECONDS` (what the real clients
  use), never less than the policy's interval.

A service silent for longer than the retention window is removed: a client restarting under
a new id must not leave a trail of unhealthy records behind.

Silence the controller could not have heard does not count: after a stall of its own loop
(`resumed`, told by the janitor), a service it held fresh when the loop stopped and has not
heard from since is silent only since the loop resumed, so it has its whole allowance (and
retention) from then on; its heartbeats may have waited unread meanwhile. One already
silent when the loop stopped is judged as before: a stall does not revive it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from flowctl.contract import Policy

from flowrun.controller.registry import ServiceRecord

MISSED_INTERVALS = 3
FOREIGN_HEARTBEAT_INTERVAL_SECONDS = 10.0
RETENTION_SECONDS = 600.0


@dataclass(frozen=True)
class Liveness:
    policy: Policy
    declared_components: frozenset[str] = frozenset()
    """Component ids the runner runs: judged by the policy's heartbeat interval."""
    foreign_interval_seconds: float = FOREIGN_HEARTBEAT_INTERVAL_SECONDS
    retention_seconds: float = RETENTION_SECONDS
    paused_at: float = -math.inf
    resumed_at: float = -math.inf
    """The latest stall of the controller's own loop, in monotonic seconds: it may not have
    run from `paused_at` on, and runs again since `resumed_at`."""

    def with_policy(self, policy: Policy) -> Liveness:
        return replace(self, policy=policy)

    def declaring(self, component_ids: Iterable[str]) -> Liveness:
        return replace(self, declared_components=frozenset(component_ids))

    def resumed(self, paused_at: float, resumed_at: float) -> Liveness:
        return replace(self, paused_at=paused_at, resumed_at=resumed_at)

    def expected_interval(self, record: ServiceRecord) -> float:
        policy_interval = self.policy.heartbeat_interval_seconds
        registration = record.registration
        # A client that named no id is the older obsrvr one, which keeps its own 10 s
        # whatever it is told, even when the spec left its protocol to `auto`.
        if registration.component_id in self.declared_components and not registration.id_assigned:
            return policy_interval
        observed = record.observed_interval  # a median, computed when read: read it once
        if observed is not None:
            return observed
        return max(self.foreign_interval_seconds, policy_interval)

    def allowed_silence(self, record: ServiceRecord) -> float:
        missed = MISSED_INTERVALS * self.expected_interval(record)
        return max(self.policy.heartbeat_ttl_seconds, missed)

    def is_fresh(self, record: ServiceRecord, monotonic_now: float) -> bool:
        allowed = self.allowed_silence(record)  # a median when observed: computed once
        return self._silence(record, monotonic_now, allowed) <= allowed

    def is_expired(self, record: ServiceRecord, monotonic_now: float) -> bool:
        """Silent past the retention window (and past its own allowance, for a slow one)."""
        allowed = self.allowed_silence(record)
        limit = max(self.retention_seconds, allowed)
        return self._silence(record, monotonic_now, allowed) > limit

    def _silence(self, record: ServiceRecord, monotonic_now: float, allowed: float) -> float:
        """Its silence, counted from the latest resume for one fresh when the loop stopped."""
        seen_at = record.seen_at
        if seen_at < self.resumed_at and self.paused_at - seen_at <= allowed:
            return monotonic_now - self.resumed_at
        return monotonic_now - seen_at
