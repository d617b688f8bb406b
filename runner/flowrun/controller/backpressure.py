"""The backpressure decision: which services are overloaded, and who must slow down.

Pure and synchronous (no I/O, no clock) so it can run on every heartbeat: a heartbeat
costs two dict lookups unless it flips a service's overloaded flag, and only a flip
(or a topology or threshold change) walks the graph, in O(services + inputs).

Hysteresis (`FlowControlSettings.overloaded`, the rule components apply locally too): a
service becomes overloaded when its load reaches `activate_at` and stays so until its
load falls below `deactivate_at`. Every service transitively upstream of an overloaded
one (following the names in its `inputs`: component ids, or the endpoint keys of the
services it reads, for clients that link by endpoint) runs at `throttle_rate`; all others
run at 1.0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flowctl.contract import FlowControlSettings

FULL_SPEED = 1.0


@dataclass(slots=True)
class _Node:
    names: tuple[str, ...]
    inputs: tuple[str, ...]
    load: float = 0.0
    overloaded: bool = False
    # A silent (unhealthy) service's last load is stale: it must not throttle anyone
    # forever, so it counts as not overloaded until it heartbeats again.
    live: bool = True


class BackpressureDecision:
    """Overloaded flags and throttle rates of every known service.

    Every mutating method returns the ids of the services whose throttle rate changed,
    which are the ones that must be sent a new directive.
    """

    def __init__(self, thresholds: FlowControlSettings) -> None:
        self._thresholds = thresholds
        self._nodes: dict[str, _Node] = {}
        self._by_name: dict[str, set[str]] = {}
        self._overloaded: set[str] = set()
        self._throttled: dict[str, str] = {}  # throttled service id -> overloaded cause

    @property
    def thresholds(self) -> FlowControlSettings:
        return self._thresholds

    @property
    def active(self) -> bool:
        """True while at least one service is overloaded."""
        return bool(self._overloaded)

    def place(
        self,
        service_id: str,
        component_id: str,
        inputs: Iterable[str],
        *,
        aliases: Iterable[str] = (),
    ) -> set[str]:
        """Add a service, or replace it (a re-registration starts again unloaded).
        `aliases`: other names its downstream may list it by (its endpoint key)."""
        self._forget(service_id)
        names = tuple(dict.fromkeys((component_id, *aliases)))
        self._nodes[service_id] = _Node(names, tuple(inputs))
        for name in names:
            self._by_name.setdefault(name, set()).add(service_id)
        return self._recompute()

    def remove(self, service_id: str) -> set[str]:
        if service_id not in self._nodes:
            return set()
        self._forget(service_id)
        return self._recompute()

    def observe(self, service_id: str, load: float) -> set[str]:
        """Record a service's new load: the per-heartbeat path, O(1) unless a flag flips."""
        node = self._nodes.get(service_id)
        if node is None:
            return set()
        node.load = load
        node.live = True
        if self._thresholds.overloaded(load, node.overloaded) == node.overloaded:
            return set()
        self._set_flag(service_id, node, not node.overloaded)
        if not self._reaches_upstream(node):
            # Nothing is upstream of it, so no throttle changes: skip the graph walk
            # (a flip of an unlinked service is the common case at 1,000 services).
            return set()
        return self._recompute()

    def set_live(self, service_id: str, live: bool) -> set[str]:
        """Mark a service silent (False) or back (True); a silent one releases its upstream."""
        node = self._nodes.get(service_id)
        if node is None or node.live == live:
            return set()
        node.live = live
        return self._reflag(service_id, node)

    def retune(self, thresholds: FlowControlSettings) -> set[str]:
        """Apply new thresholds to every service at once (a policy update)."""
        rate_changed = thresholds.throttle_rate != self._thresholds.throttle_rate
        self._thresholds = thresholds
        for service_id, node in self._nodes.items():
            self._set_flag(service_id, node, self._flag(node))
        changed = self._recompute()
        if rate_changed:
            changed.update(self._throttled)
        return changed

    def throttle_rate(self, service_id: str) -> float:
        if service_id in self._throttled:
            return self._thresholds.throttle_rate
        return FULL_SPEED

    def is_overloaded(self, service_id: str) -> bool:
        return service_id in self._overloaded

    def cause(self, service_id: str) -> str | None:
        """The overloaded service that throttles this one, if any."""
        return self._throttled.get(service_id)

    def overloaded_services(self) -> list[str]:
        return sorted(self._overloaded)

    def load(self, service_id: str) -> float:
        node = self._nodes.get(service_id)
        return node.load if node is not None else 0.0

    def _flag(self, node: _Node) -> bool:
        return node.live and self._thresholds.overloaded(node.load, node.overloaded)

    def _reaches_upstream(self, node: _Node) -> bool:
        by_name = self._by_name
        return any(by_name.get(name) for name in node.inputs)

    def _reflag(self, service_id: str, node: _Node) -> set[str]:
        if self._set_flag(service_id, node, self._flag(node)):
            return self._recompute()
        return set()

    def _set_flag(self, service_id: str, node: _Node, overloaded: bool) -> bool:
        if overloaded == node.overloaded:
            return False
        node.overloaded = overloaded
        if overloaded:
            self._overloaded.add(service_id)
        else:
            self._overloaded.discard(service_id)
        return True

    def _forget(self, service_id: str) -> None:
        node = self._nodes.pop(service_id, None)
        if node is None:
            return
        self._overloaded.discard(service_id)
        for name in node.names:
            siblings = self._by_name.get(name)
            if siblings is not None:
                siblings.discard(service_id)
                if not siblings:
                    del self._by_name[name]

    def _recompute(self) -> set[str]:
        throttled = self._upstream_of_overloaded()
        changed = throttled.keys() ^ self._throttled.keys()
        self._throttled = throttled
        return set(changed)

    def _upstream_of_overloaded(self) -> dict[str, str]:
        throttled: dict[str, str] = {}
        for cause in sorted(self._overloaded):
            stack = [cause]
            while stack:
                node = self._nodes[stack.pop()]
                for name in node.inputs:
                    for upstream in self._by_name.get(name, ()):
                        if upstream not in throttled:
                            throttled[upstream] = cause
                            stack.append(upstream)
        return throttled
