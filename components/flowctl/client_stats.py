"""What the controller client counts, and what it tells the controller about itself."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ClientStats:
    """Counters since start (what the monitor exports)."""

    registrations_total: int = 0
    registration_failures_total: int = 0
    reregistrations_total: int = 0
    heartbeats_total: int = 0
    heartbeat_failures_total: int = 0
    metrics_errors_total: int = 0
    disconnections_total: int = 0
    directives_total: int = 0
    discovery_failures_total: int = 0
    last_error: str = ""
    extra: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Registration:
    """What the client tells the controller about its component."""

    endpoint: str
    health_endpoint: str = ""
    input_event_types: tuple[str, ...] = ()
    output_event_types: tuple[str, ...] = ()
