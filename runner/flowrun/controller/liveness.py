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
"""

from __future__ import annotations

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

    def with_policy(self, policy: Policy) -> Liveness:
        return replace(self, policy=policy)

    def declaring(self, component_ids: Iterable[str]) -> Liveness:
        return replace(self, declared_components=frozenset(component_ids))

    def expected_interval(self, record: ServiceRecord) -> float:
        policy_interval = self.policy.heartbeat_interval_seconds
        if record.registration.component_id in self.declared_components:
            return policy_interval
        observed = record.observed_interval  # a median, computed when read: read it once
        if observed is not None:
            return observed
        return max(self.foreign_interval_seconds, policy_interval)

    def allowed_silence(self, record: ServiceRecord) -> float:
        missed = MISSED_INTERVALS * self.expected_interval(record)
        return max(self.policy.heartbeat_ttl_seconds, missed)

    def is_fresh(self, record: ServiceRecord, monotonic_now: float) -> bool:
        return record.silence(monotonic_now) <= self.allowed_silence(record)

    def is_expired(self, record: ServiceRecord, monotonic_now: float) -> bool:
        """Silent past the retention window (and past its own allowance, for a slow one)."""
        limit = max(self.retention_seconds, self.allowed_silence(record))
        return record.silence(monotonic_now) > limit
