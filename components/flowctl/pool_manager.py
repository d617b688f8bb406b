"""One ConnectionPool per endpoint, all following the same pool settings (resized live)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flowctl.contract import PoolSettings
from flowctl.pool import ConnectionPool, PoolEvent, PoolStats


@dataclass
class PoolManager:
    """One ConnectionPool per endpoint, all following the same (live) PoolSettings."""

    settings: PoolSettings
    on_event: PoolEvent | None = None
    stop: threading.Event | None = None
    """The component's stopping event: its pools connect and wait no more once it is set."""

    def __post_init__(self) -> None:
        self._pools: dict[str, ConnectionPool] = {}
        self._lock = threading.Lock()

    def get(self, endpoint: str) -> ConnectionPool:
        with self._lock:
            pool = self._pools.get(endpoint)
            if pool is not None:
                return pool
            pool = ConnectionPool(endpoint, self.settings, on_event=self.on_event, stop=self.stop)
            self._pools[endpoint] = pool
        return pool.start()

    def resize(self, settings: PoolSettings) -> None:
        with self._lock:
            self.settings = settings
            pools = list(self._pools.values())
        for pool in pools:
            pool.resize(settings)

    def stats(self) -> list[PoolStats]:
        with self._lock:
            pools = list(self._pools.values())
        return [pool.stats() for pool in pools]

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
