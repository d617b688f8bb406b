"""The health report of one component: healthy, degraded or unhealthy, with reasons.

Built from what is measured: controller connectivity, load against the thresholds,
the pools' reachability, and the component's own checks. A check that raises makes
the component unhealthy, with the exception as the reason. A controller not reached yet
while the client is still `starting` (its first registration window) is no finding:
the component is healthy, the check's reason says "starting".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from flowctl.contract import FlowControlSettings
from flowctl.flow_control import FlowSnapshot
from flowctl.pool import PoolStats

Status = Literal["healthy", "degraded", "unhealthy"]
_RANK: dict[Status, int] = {"healthy": 0, "degraded": 1, "unhealthy": 2}


@dataclass(frozen=True)
class Check:
    """One finding: `status` is how bad, `reason` says what and (ideally) what to do."""

    name: str
    status: Status
    reason: str = ""

    def __post_init__(self) -> None:
        # Caught where it is made: a status nothing ranks would break /health and /metrics.
        if self.status not in _RANK:
            raise ValueError(
                f"Check {self.name!r}: status must be healthy, degraded or unhealthy, "
                f"not {self.status!r}"
            )


@dataclass(frozen=True)
class HealthReport:
    status: Status
    checks: tuple[Check, ...] = ()
    generated_at: float = field(default_factory=time.time)

    @property
    def reasons(self) -> list[str]:
        return [f"{c.name}: {c.reason}" for c in self.checks if c.status != "healthy"]

    @property
    def exit_code(self) -> int:
        """The `flowrun health` convention: 0 healthy, 1 degraded, 2 unhealthy."""
        return _RANK[self.status]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reasons": self.reasons,
            "checks": [
                {"name": c.name, "status": c.status, "reason": c.reason} for c in self.checks
            ],
            "generated_at": self.generated_at,
        }


ComponentChecks = Callable[[], Iterable[Check]]


def assess(
    flow: FlowSnapshot,
    thresholds: FlowControlSettings,
    *,
    controller_enabled: bool,
    controller_detail: str = "",
    controller_starting: bool = False,
    pools: Iterable[PoolStats] = (),
    component_checks: ComponentChecks | None = None,
    stopping: bool = False,
) -> HealthReport:
    checks = [
        _controller_check(flow, controller_enabled, controller_detail, controller_starting),
        _load_check(flow, thresholds),
        *(_pool_check(stats) for stats in pools),
        *_component_checks(component_checks),
    ]
    if stopping:
        checks.append(Check("lifecycle", "unhealthy", "shutting down"))
    worst: Status = max((c.status for c in checks), key=_RANK.__getitem__, default="healthy")
    return HealthReport(status=worst, checks=tuple(checks))


def _controller_check(flow: FlowSnapshot, enabled: bool, detail: str, starting: bool) -> Check:
    if not enabled:
        return Check("controller", "healthy", "disabled: local flow control")
    if flow.controller_connected:
        return Check("controller", "healthy", "connected")
    if starting:
        return Check("controller", "healthy", "starting: registering with the controller")
    return Check(
        "controller", "degraded", f"unreachable ({detail or 'no answer'}): local flow control"
    )


def _load_check(flow: FlowSnapshot, thresholds: FlowControlSettings) -> Check:
    summary = f"load {flow.load:.2f} ({flow.inflight}/{flow.max_inflight} in flight)"
    if flow.load >= 1.0:
        return Check("load", "degraded", f"{summary}: at max_inflight, callers wait")
    if flow.load >= thresholds.activate_at:
        return Check("load", "degraded", f"{summary} >= activate_at {thresholds.activate_at}")
    return Check("load", "healthy", summary)


def _pool_check(stats: PoolStats) -> Check:
    name = f"pool {stats.endpoint}"
    if not stats.reachable and stats.healthy == 0:
        failures = stats.failures_total
        return Check(name, "degraded", f"endpoint unreachable ({failures} failed connects)")
    return Check(name, "healthy", f"{stats.healthy}/{stats.total} connections healthy")


def _component_checks(component_checks: ComponentChecks | None) -> list[Check]:
    if component_checks is None:
        return []
    try:
        return list(component_checks())
    except Exception as e:
        return [Check("component", "unhealthy", f"health check raised {e!r}")]
