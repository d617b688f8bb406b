"""A `Policy` on the wire: the one conversion to and from the `flowctl.Policy` message.

Both ends use it: the runner sends a policy with UpdatePolicy and the controller decodes
it; the controller sends its policy in every directive and the SDK decodes it. A decoded
policy is checked (`flowctl.contract.check`), so a bad one is refused with every reason.

`connect_timeout_seconds` and `max_retries` came after the first version of the message:
a sender that does not know them leaves them zero or absent, and they keep the
receiver's value (`pool_fallback`: the defaults, unless the receiver says otherwise).
"""

from __future__ import annotations

from flowctl import flow_control_pb2 as fc
from flowctl.contract import FlowControlSettings, Policy, PoolSettings, check

__all__ = ["policy_from_proto", "policy_to_proto"]


def policy_to_proto(policy: Policy, revision: int = 0) -> fc.Policy:
    flow, pool = policy.flow_control, policy.pool
    return fc.Policy(
        activate_at=flow.activate_at,
        deactivate_at=flow.deactivate_at,
        throttle_rate=flow.throttle_rate,
        heartbeat_interval_seconds=policy.heartbeat_interval_seconds,
        heartbeat_ttl_seconds=policy.heartbeat_ttl_seconds,
        monitoring_interval_seconds=policy.monitoring_interval_seconds,
        pool=fc.PoolPolicy(
            min_connections=pool.min_connections,
            max_connections=pool.max_connections,
            idle_timeout_seconds=pool.idle_timeout_seconds,
            health_check_interval_seconds=pool.health_check_interval_seconds,
            connect_timeout_seconds=pool.connect_timeout_seconds,
            max_retries=pool.max_retries,
        ),
        revision=revision,
    )


def policy_from_proto(message: fc.Policy, *, pool_fallback: PoolSettings | None = None) -> Policy:
    """The checked policy of `message` (its revision is the controller's business)."""
    fallback = pool_fallback or PoolSettings()
    pool = message.pool
    policy = Policy(
        flow_control=FlowControlSettings(
            activate_at=message.activate_at,
            deactivate_at=message.deactivate_at,
            throttle_rate=message.throttle_rate,
        ),
        pool=PoolSettings(
            min_connections=pool.min_connections,
            max_connections=pool.max_connections,
            idle_timeout_seconds=pool.idle_timeout_seconds,
            health_check_interval_seconds=pool.health_check_interval_seconds,
            connect_timeout_seconds=pool.connect_timeout_seconds
            or fallback.connect_timeout_seconds,
            # Presence, not zero: zero retries is a real setting.
            max_retries=pool.max_retries if pool.HasField("max_retries") else fallback.max_retries,
        ),
        heartbeat_interval_seconds=message.heartbeat_interval_seconds,
        heartbeat_ttl_seconds=message.heartbeat_ttl_seconds,
        monitoring_interval_seconds=message.monitoring_interval_seconds,
    )
    return check(policy)
