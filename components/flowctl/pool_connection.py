"""One pooled Flight connection, the pool's statistics, and how a connection is opened."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.flight as flight

# What a dead or unreachable endpoint raises; anything else is the caller's bug.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    flight.FlightUnavailableError,
    flight.FlightTimedOutError,
    flight.FlightInternalError,
    flight.FlightCancelledError,
    ConnectionError,
    OSError,
    pa.ArrowIOError,
)


@dataclass
class PoolStats:
    """Counters since the pool started, and the current connections."""

    endpoint: str
    total: int = 0
    healthy: int = 0
    in_use: int = 0
    reachable: bool = True
    created_total: int = 0
    closed_total: int = 0
    acquired_total: int = 0
    failures_total: int = 0
    reconnections_total: int = 0
    health_checks_total: int = 0


@dataclass(eq=False)
class PooledConnection:
    """A FlightClient with the pool's bookkeeping; compared by identity."""

    id: int
    client: flight.FlightClient
    created_at: float = 0.0
    last_used: float = 0.0
    in_use: bool = False
    healthy: bool = True

    def probe(self, timeout_seconds: float) -> bool:
        """A cheap round trip every Flight server answers (ListActions)."""
        try:
            list(
                self.client.list_actions(options=flight.FlightCallOptions(timeout=timeout_seconds))
            )
        except CONNECTION_ERRORS:
            return False
        except (pa.ArrowNotImplementedError, flight.FlightServerError):
            pass  # an answer, even "not implemented", proves the connection works
        return True


def flight_location(endpoint: str) -> str:
    """`host:port` or a full URI (`grpc+tls://...`) to a Flight location string."""
    return endpoint if "://" in endpoint else f"grpc://{endpoint}"


def open_connection(connection_id: int, location: str, timeout_seconds: float) -> PooledConnection:
    """A connected client: FlightClient is lazy, so wait until the server answers."""
    client = flight.FlightClient(location)
    try:
        client.wait_for_available(timeout=timeout_seconds)
    except BaseException:
        client.close()
        raise
    return PooledConnection(id=connection_id, client=client)
