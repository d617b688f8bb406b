"""The registry of services known to the controller: what they are and what they last said.

No I/O and no clock of its own: callers pass the time, so tests drive it directly.
A service is identified by its service id; registering an id again replaces the record
(a restarted component re-registers under the same id), so nothing accumulates.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from flowctl import control_plane_pb2 as cp

from flowrun.controller.sanitize import (
    INFLIGHT,
    LATENCY,
    MAX_INPUTS,
    THROUGHPUT,
    CleanMetrics,
    clean_metadata,
    clean_text,
    parse_inputs,
)

ENDPOINT_KEY = "endpoint"
INPUTS_KEY = "inputs"
MAX_SERVICES = 100_000


@dataclass(frozen=True, slots=True)
class Registration:
    """A validated, bounded copy of a ServiceInfo."""

    service_id: str
    component_id: str
    service_type: int
    endpoint: str
    max_inflight: int
    metadata: dict[str, str]
    inputs: tuple[str, ...]
    health_endpoint: str = ""
    input_event_types: tuple[str, ...] = ()
    output_event_types: tuple[str, ...] = ()

    @classmethod
    def from_proto(cls, info: cp.ServiceInfo) -> Registration:
        """Read a ServiceInfo; an empty service id gets one assigned (the ack returns it)."""
        metadata = clean_metadata(info.metadata)
        service_id = clean_text(info.service_id) or _assigned_id(info)
        return cls(
            service_id=service_id,
            component_id=clean_text(info.component_id) or service_id,
            service_type=info.service_type if info.service_type in _KNOWN_TYPES else 0,
            endpoint=metadata.get(ENDPOINT_KEY, ""),
            max_inflight=max(0, info.max_inflight),
            metadata=metadata,
            inputs=parse_inputs(metadata.get(INPUTS_KEY, "")),
            health_endpoint=clean_text(info.health_endpoint),
            input_event_types=_texts(info.input_event_types),
            output_event_types=_texts(info.output_event_types),
        )


_KNOWN_TYPES = frozenset(cp.ServiceType.values())


def _assigned_id(info: cp.ServiceInfo) -> str:
    prefix = clean_text(info.component_id) or "service"
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _texts(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(clean_text(value) for value in islice(values, MAX_INPUTS))


@dataclass(slots=True)
class ServiceRecord:
    """One registered service. Times: epoch seconds for display, monotonic for liveness."""

    registration: Registration
    registered_at: float
    seen_at: float
    last_heartbeat: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    load: float = 0.0
    inflight: float = 0.0
    throughput: float = 0.0
    latency_seconds: float = 0.0
    heartbeats: int = 0

    @property
    def service_id(self) -> str:
        return self.registration.service_id

    def is_fresh(self, monotonic_now: float, ttl: float) -> bool:
        return monotonic_now - self.seen_at <= ttl

    def absorb(self, metrics: CleanMetrics, wall_now: float, monotonic_now: float) -> None:
        """Take one heartbeat: known values present in it replace the previous ones."""
        values = metrics.values
        self.metrics = values
        self.last_heartbeat = wall_now
        self.seen_at = monotonic_now
        self.heartbeats += 1
        self.inflight = values.get(INFLIGHT, self.inflight)
        self.throughput = values.get(THROUGHPUT, self.throughput)
        self.latency_seconds = values.get(LATENCY, self.latency_seconds)
        load = metrics.derived_load(self.registration.max_inflight)
        if load is not None:
            self.load = load


class RegistryFullError(Exception):
    """More distinct services than the controller is willing to hold."""


class Registry:
    def __init__(self, max_services: int = MAX_SERVICES) -> None:
        self._records: dict[str, ServiceRecord] = {}
        self._max_services = max_services

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[ServiceRecord]:
        return iter(list(self._records.values()))

    def get(self, service_id: str) -> ServiceRecord | None:
        return self._records.get(service_id)

    def find(self, name: str) -> ServiceRecord | None:
        """By service id, else the first service of that component id."""
        record = self._records.get(name)
        if record is not None:
            return record
        return next(
            (r for r in self._records.values() if r.registration.component_id == name), None
        )

    def register(
        self, registration: Registration, wall_now: float, monotonic_now: float
    ) -> tuple[ServiceRecord, bool]:
        """Add or replace; returns the record and whether an older one was replaced."""
        replaced = registration.service_id in self._records
        if not replaced and len(self._records) >= self._max_services:
            raise RegistryFullError(f"the controller already holds {self._max_services} services")
        record = ServiceRecord(registration, registered_at=wall_now, seen_at=monotonic_now)
        self._records[registration.service_id] = record
        return record, replaced

    def remove(self, service_id: str) -> ServiceRecord | None:
        return self._records.pop(service_id, None)
