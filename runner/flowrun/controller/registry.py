"""The registry of services known to the controller: what they are and what they last said.

No I/O and no clock of its own: callers pass the time, so tests drive it directly.
A service is identified by its service id; registering an id again replaces the record
(a restarted component re-registers under the same id), so nothing accumulates.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from flowctl.v1 import common_pb2 as v1_common

from flowrun.controller.registration import Registration
from flowrun.controller.sanitize import INFLIGHT, LATENCY, MAX_METRIC_KEYS, THROUGHPUT, CleanMetrics

__all__ = ["Registration", "Registry", "RegistryFullError", "ServiceRecord"]

V = TypeVar("V")
MAX_SERVICES = 100_000
INTERVALS_KEPT = 5
"""Heartbeat intervals a service's expected interval is the median of: one long gap (a
partition, a pause) does not make a fast client look slow."""
_REPORTED_STATUSES = frozenset(v1_common.HealthStatus.values()) - {v1_common.HEALTH_STATUS_UNKNOWN}
"""The statuses a heartbeat sets: UNKNOWN keeps the current one, as does a number outside
the enum (a newer client's status this controller does not know)."""


@dataclass(slots=True)
class ServiceRecord:
    """One registered service. Times: epoch seconds for display, monotonic for liveness.

    `last_heartbeat` is set at registration (as flowctl's server does); `heartbeats`
    counts the heartbeats since, so 0 means "registered, never heartbeated".
    """

    registration: Registration
    registered_at: float
    seen_at: float
    last_heartbeat: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    """Non-numeric metrics of a flowctl.v1 heartbeat, as sent."""
    status: int = v1_common.HEALTH_STATUS_HEALTHY
    """The flowctl.v1 status it last reported (registration: HEALTHY; UNKNOWN keeps it)."""
    load: float = 0.0
    inflight: float = 0.0
    throughput: float = 0.0
    latency_seconds: float = 0.0
    heartbeats: int = 0
    process_ended: bool = False
    """The runner saw the process behind it exit: what it last said (its load) is stale, so
    it counts as silent until it heartbeats or registers again."""
    load_refused_logged: bool = False
    """A heartbeat's load values were all refused and the operator was told (once per
    registration: a broken client would otherwise fill the log every interval)."""
    _intervals: deque[float] = field(default_factory=lambda: deque(maxlen=INTERVALS_KEPT))

    @property
    def observed_interval(self) -> float | None:
        """Median of its last heartbeat intervals; None before its second heartbeat.
        Computed when read (by the liveness sweep), not on every heartbeat."""
        return _median(self._intervals) if self._intervals else None

    @property
    def service_id(self) -> str:
        return self.registration.service_id

    def silence(self, monotonic_now: float) -> float:
        return monotonic_now - self.seen_at

    def is_fresh(self, monotonic_now: float, ttl: float) -> bool:
        return monotonic_now - self.seen_at <= ttl

    def absorb(
        self,
        metrics: CleanMetrics,
        wall_now: float,
        monotonic_now: float,
        *,
        texts: Mapping[str, str] | None = None,
        status: int = v1_common.HEALTH_STATUS_UNKNOWN,
    ) -> None:
        """Take one heartbeat. A legacy heartbeat (`texts` None) replaces the metrics; a
        flowctl.v1 one merges into them, as flowctl's server does. Known values present
        replace the previous ones either way; status UNKNOWN (or unknown) keeps the current one."""
        if self.heartbeats:
            self._intervals.append(monotonic_now - self.seen_at)
        values = metrics.values
        if texts is None:
            self.metrics = values
        else:
            _merge_bounded(self.metrics, values)
            _merge_bounded(self.texts, texts)
            # Each key is what its latest heartbeat sent: a text then a number is a number.
            for key in values.keys() - texts.keys():
                self.texts.pop(key, None)
            for key in texts.keys() - values.keys():
                self.metrics.pop(key, None)
        if status in _REPORTED_STATUSES:
            self.status = status
        self.last_heartbeat = wall_now
        self.seen_at = monotonic_now
        self.heartbeats += 1
        self.inflight = values.get(INFLIGHT, self.inflight)
        self.throughput = values.get(THROUGHPUT, self.throughput)
        self.latency_seconds = values.get(LATENCY, self.latency_seconds)
        load = metrics.derived_load(self.registration.max_inflight)
        if load is not None:
            self.load = load


def _median(values: deque[float]) -> float:
    """statistics.median of a handful of values, without its per-call overhead (the sweep
    reads it for every service)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _merge_bounded(into: dict[str, V], new: Mapping[str, V]) -> None:
    """Merge, but never past MAX_METRIC_KEYS keys: keys already known are always updated."""
    for key, value in new.items():
        if key in into or len(into) < MAX_METRIC_KEYS:
            into[key] = value


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
        record = ServiceRecord(
            registration, registered_at=wall_now, seen_at=monotonic_now, last_heartbeat=wall_now
        )
        self._records[registration.service_id] = record
        return record, replaced

    def remove(self, service_id: str) -> ServiceRecord | None:
        return self._records.pop(service_id, None)
