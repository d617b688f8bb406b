"""The settings that cross the runner/component boundary: one definition, one check.

Flow control (the backpressure thresholds), the connection pool and the intervals a
running component follows live are defined here once, with their defaults and rules:
the spec model takes its defaults and rules from these classes, the controller enforces a
`Policy` (carried on the wire by `flowctl.policy_codec`), and `flowctl.settings` carries
the parts in a component's environment.

They are plain frozen values. `check` is the one validation: it names every problem at
once, each a `Problem` a caller can word for its own source (a spec key, a variable, a flag).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import TypeVar

from flowctl.errors import SettingsError

__all__ = ["FlowControlSettings", "Policy", "PoolSettings", "Problem", "check", "minimum"]

_MINIMUM = "minimum"
_HYSTERESIS = "backpressure turns on at activate_at and off below deactivate_at"
_TTL_REASON = "every service would be unhealthy between two heartbeats"


@dataclass(frozen=True)
class Problem:
    """One rule a setting breaks."""

    path: str
    """Dotted name of the setting inside the checked value: `flow_control.deactivate_at`."""
    requirement: str
    """What the value must be: `must be in (0, 1]`."""
    shown: str = ""
    """The offending value as written (`1.5`, `2s`); empty when `requirement` quotes it."""
    reason: str = ""
    """Why the rule exists, where that is not obvious."""

    def message(self, value_note: str = "") -> str:
        """`requirement, got value: reason`; `value_note` qualifies the value (` (the default)`)."""
        text = self.requirement
        if self.shown:
            text += f", got {self.shown}{value_note}"
        return f"{text}: {self.reason}" if self.reason else text

    def within(self, part: str) -> Problem:
        return Problem(f"{part}.{self.path}", self.requirement, self.shown, self.reason)

    def __str__(self) -> str:
        return f"{self.path}: {self.message()}"


def _count(default: int, *, at_least: int) -> int:
    """A whole-number setting with a floor, which `check` enforces and the spec's schema shows."""
    value: int = field(default=default, metadata={_MINIMUM: at_least})
    return value


def minimum(settings_type: type[PoolSettings], name: str) -> int | None:
    """The floor of a whole-number setting, or None when it has none."""
    floors = {item.name: item.metadata.get(_MINIMUM) for item in fields(settings_type)}
    return floors[name]


@dataclass(frozen=True)
class FlowControlSettings:
    """Backpressure thresholds on load (inflight / max_inflight), and the rate it imposes."""

    activate_at: float = 0.8
    """Load at which a service becomes overloaded."""
    deactivate_at: float = 0.6
    """Load below which an overloaded service is not any more (below activate_at)."""
    throttle_rate: float = 0.5
    """Fraction of full speed the services upstream of an overloaded one run at."""

    def overloaded(self, load: float, was_overloaded: bool) -> bool:
        """The hysteresis rule, the only copy: a service turns overloaded once its load
        reaches activate_at and stays so until its load falls below deactivate_at."""
        return load >= (self.deactivate_at if was_overloaded else self.activate_at)

    def problems(self) -> list[Problem]:
        activate, deactivate, rate = self.activate_at, self.deactivate_at, self.throttle_rate
        problems = []
        if not 0 < activate <= 1:
            problems.append(Problem("activate_at", "must be in (0, 1]", _number(activate)))
        if not deactivate > 0:
            problems.append(Problem("deactivate_at", "must be greater than 0", _number(deactivate)))
        elif 0 < activate <= 1 and not deactivate < activate:
            requirement = f"must be below activate_at ({_number(activate)})"
            problems.append(Problem("deactivate_at", requirement, _number(deactivate), _HYSTERESIS))
        if not 0 < rate <= 1:
            problems.append(Problem("throttle_rate", "must be in (0, 1]", _number(rate)))
        return problems


@dataclass(frozen=True)
class PoolSettings:
    """How a downstream component keeps its connections to each of its inputs."""

    min_connections: int = _count(2, at_least=0)
    max_connections: int = _count(10, at_least=1)
    idle_timeout_seconds: float = 300.0
    """Idle connections above the minimum close after this."""
    health_check_interval_seconds: float = 30.0
    connect_timeout_seconds: float = 5.0
    max_retries: int = _count(3, at_least=0)
    """Retries of a failed call before it is reported."""

    def problems(self) -> list[Problem]:
        problems = _field_problems(self)
        low, high = self.min_connections, self.max_connections
        if _all_valid(problems, "min_connections", "max_connections") and low > high:
            requirement = f"min_connections ({low}) must not exceed max_connections ({high})"
            problems.append(Problem("min_connections", requirement))
        return problems


@dataclass(frozen=True)
class Policy:
    """Every setting a running component follows without a restart; the controller's
    current one reaches every component, and a hot reload replaces it whole."""

    flow_control: FlowControlSettings = field(default_factory=FlowControlSettings)
    pool: PoolSettings = field(default_factory=PoolSettings)
    heartbeat_interval_seconds: float = 1.0
    heartbeat_ttl_seconds: float = 5.0
    """A service silent for longer is unhealthy."""
    monitoring_interval_seconds: float = 5.0
    """How often metrics and health reports are refreshed."""

    def problems(self) -> list[Problem]:
        problems = [
            *(problem.within("flow_control") for problem in self.flow_control.problems()),
            *(problem.within("pool") for problem in self.pool.problems()),
        ]
        own = _field_problems(self)
        interval, ttl = self.heartbeat_interval_seconds, self.heartbeat_ttl_seconds
        heartbeat = ("heartbeat_interval_seconds", "heartbeat_ttl_seconds")
        if _all_valid(own, *heartbeat) and ttl <= interval:
            requirement = f"must be longer than heartbeat_interval ({_seconds(interval)})"
            own.append(Problem("heartbeat_ttl_seconds", requirement, _seconds(ttl), _TTL_REASON))
        return problems + own


Checked = TypeVar("Checked", bound=FlowControlSettings | PoolSettings | Policy)

_NAMES: dict[type, str] = {
    FlowControlSettings: "flow control settings",
    PoolSettings: "pool settings",
    Policy: "policy",
}


def check(settings: Checked) -> Checked:
    """`settings` when every rule holds, else a SettingsError naming every problem."""
    problems = settings.problems()
    if problems:
        listed = "; ".join(str(problem) for problem in problems)
        raise SettingsError(f"invalid {_NAMES[type(settings)]}: {listed}", problems)
    return settings


def _field_problems(settings: PoolSettings | Policy) -> list[Problem]:
    """The rules of single fields: floors of counts, durations (`*_seconds`) above zero."""
    problems = []
    for item in fields(settings):
        value = getattr(settings, item.name)
        floor = item.metadata.get(_MINIMUM)
        if floor is not None and value < floor:
            problems.append(Problem(item.name, f"must be >= {floor}", str(value)))
        elif item.name.endswith("_seconds") and not (math.isfinite(value) and value > 0):
            problems.append(
                Problem(item.name, "must be a finite duration above 0", _seconds(value))
            )
    return problems


def _all_valid(problems: list[Problem], *paths: str) -> bool:
    """True when none of `paths` broke a rule of its own (a rule across them can apply)."""
    return not any(problem.path in paths for problem in problems)


def _number(value: float) -> str:
    return f"{value:g}"


def _seconds(value: float) -> str:
    return f"{value:g}s" if math.isfinite(value) else f"{value:g}"
