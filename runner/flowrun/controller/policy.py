"""The flow-control policy a controller enforces and pushes to every component.

One frozen value: the runner builds it from the spec, a hot reload replaces it whole
(`Controller.update_policy`), and it travels on the wire as `flowctl.Policy`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from flowctl import flow_control_pb2 as fc

from flowrun.errors import PolicyError

if TYPE_CHECKING:
    from flowrun.spec.model import PipelineBody


@dataclass(frozen=True)
class Policy:
    """Every setting a running component follows without a restart (seconds for durations)."""

    activate_at: float = 0.8
    deactivate_at: float = 0.6
    throttle_rate: float = 0.5
    heartbeat_interval: float = 1.0
    heartbeat_ttl: float = 5.0
    monitoring_interval: float = 5.0
    pool_min_connections: int = 2
    pool_max_connections: int = 10
    pool_idle_timeout: float = 300.0
    pool_health_check_interval: float = 30.0
    pool_connect_timeout: float = 5.0
    pool_max_retries: int = 3

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise PolicyError("invalid flow-control policy: " + "; ".join(problems))

    @classmethod
    def from_spec(cls, body: PipelineBody) -> Policy:
        """The policy of a validated spec body (after profiles were applied)."""
        flow, controller, pool = body.flow_control, body.controller, body.pool
        return cls(
            activate_at=flow.activate_at,
            deactivate_at=flow.deactivate_at,
            throttle_rate=flow.throttle_rate,
            heartbeat_interval=controller.heartbeat_interval,
            heartbeat_ttl=controller.heartbeat_ttl,
            monitoring_interval=body.monitoring.interval,
            pool_min_connections=pool.min_connections,
            pool_max_connections=pool.max_connections,
            pool_idle_timeout=pool.idle_timeout,
            pool_health_check_interval=pool.health_check_interval,
            pool_connect_timeout=pool.connect_timeout,
            pool_max_retries=pool.max_retries,
        )

    @classmethod
    def from_proto(cls, message: fc.Policy) -> Policy:
        """Read a wire policy; the revision is the controller's business and is ignored."""
        pool = message.pool
        return cls(
            activate_at=message.activate_at,
            deactivate_at=message.deactivate_at,
            throttle_rate=message.throttle_rate,
            heartbeat_interval=message.heartbeat_interval_seconds,
            heartbeat_ttl=message.heartbeat_ttl_seconds,
            monitoring_interval=message.monitoring_interval_seconds,
            pool_min_connections=pool.min_connections,
            pool_max_connections=pool.max_connections,
            pool_idle_timeout=pool.idle_timeout_seconds,
            pool_health_check_interval=pool.health_check_interval_seconds,
            # Zero or absent: a policy from an older client, which leaves these as they were.
            pool_connect_timeout=pool.connect_timeout_seconds or cls.pool_connect_timeout,
            pool_max_retries=pool.max_retries
            if pool.HasField("max_retries")
            else cls.pool_max_retries,
        )

    def to_proto(self, revision: int = 0) -> fc.Policy:
        return fc.Policy(
            activate_at=self.activate_at,
            deactivate_at=self.deactivate_at,
            throttle_rate=self.throttle_rate,
            heartbeat_interval_seconds=self.heartbeat_interval,
            heartbeat_ttl_seconds=self.heartbeat_ttl,
            monitoring_interval_seconds=self.monitoring_interval,
            pool=fc.PoolPolicy(
                min_connections=self.pool_min_connections,
                max_connections=self.pool_max_connections,
                idle_timeout_seconds=self.pool_idle_timeout,
                health_check_interval_seconds=self.pool_health_check_interval,
                connect_timeout_seconds=self.pool_connect_timeout,
                max_retries=self.pool_max_retries,
            ),
            revision=revision,
        )


_DURATIONS = (
    "heartbeat_interval",
    "heartbeat_ttl",
    "monitoring_interval",
    "pool_idle_timeout",
    "pool_health_check_interval",
    "pool_connect_timeout",
)


def _problems(policy: Policy) -> list[str]:
    """Every reason the policy cannot work, so one error lists them all."""
    problems = [
        f"{field.name}={getattr(policy, field.name)!r} is not a finite number"
        for field in fields(policy)
        if not math.isfinite(getattr(policy, field.name))
    ]
    if problems:
        return problems
    if not 0 < policy.deactivate_at < policy.activate_at <= 1:
        problems.append(
            f"thresholds must satisfy 0 < deactivate_at < activate_at <= 1, got "
            f"deactivate_at={policy.deactivate_at}, activate_at={policy.activate_at}"
        )
    if not 0 < policy.throttle_rate <= 1:
        problems.append(f"throttle_rate must be in (0, 1], got {policy.throttle_rate}")
    problems.extend(
        f"{name} must be a duration greater than zero, got {getattr(policy, name)}"
        for name in _DURATIONS
        if getattr(policy, name) <= 0
    )
    if policy.pool_max_retries < 0:
        problems.append(f"pool_max_retries must be >= 0, got {policy.pool_max_retries}")
    if policy.pool_min_connections < 0:
        problems.append(f"pool_min_connections must be >= 0, got {policy.pool_min_connections}")
    if policy.pool_max_connections < max(1, policy.pool_min_connections):
        problems.append(
            f"pool_max_connections ({policy.pool_max_connections}) must be >= 1 and >= "
            f"pool_min_connections ({policy.pool_min_connections})"
        )
    return problems
