"""Label values that come from the data, bounded: every distinct value is a series
Prometheus keeps, so an upstream sending ever new values must not grow them without end."""

from __future__ import annotations

OTHER = "other"


class BoundedLabels:
    """Values as given while fewer than `limit` were seen, then `other` for new ones (a
    value already given stays its own). Not thread-safe: callers hold their lock."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def of(self, value: str) -> str:
        if value not in self._seen and len(self._seen) < self.limit:
            self._seen.add(value)
        return value if value in self._seen else OTHER
