"""One pooled Flight connection, the pool's statistics, and how a connection is opened."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.flight as flight

from flowctl import cancelled_calls
from flowctl.waits import Stopped, never_stopped, sleep_unless_stopped

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

ATTEMPT_SECONDS = 0.2
"""One try of a connect or a probe. A Flight call cannot be cancelled from another thread,
so a long timeout is made of short tries with a look at the stop between them (the
channel keeps connecting from one try to the next)."""
RETRY_PAUSE_SECONDS = 0.025


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

    def probe(self, timeout_seconds: float, stopped: Stopped = never_stopped) -> bool:
        """A cheap round trip every Flight server answers (ListActions). A probe cut short
        by `stopped()` judges nothing: True."""
        try:
            wait_answering(self.client, timeout_seconds, stopped)
        except CONNECTION_ERRORS:
            return stopped()
        except pa.ArrowInvalid:  # "FlightClient is closed": by the pool's close, under it
            if not stopped():
                raise
        return True


def flight_location(endpoint: str) -> str:
    """`host:port` or a full URI (`grpc+tls://...`) to a Flight location string."""
    return endpoint if "://" in endpoint else f"grpc://{endpoint}"


def open_connection(
    connection_id: int, location: str, timeout_seconds: float, stopped: Stopped = never_stopped
) -> PooledConnection:
    """A connected client: FlightClient is lazy, so wait until the server answers."""
    client = flight.FlightClient(location)
    try:
        wait_answering(client, timeout_seconds, stopped)
    except BaseException:
        client.close()
        raise
    return PooledConnection(id=connection_id, client=client)


def wait_answering(client: flight.FlightClient, timeout_seconds: float, stopped: Stopped) -> None:
    """Return once the server answers ListActions; raise the last connection error when it
    has not within `timeout_seconds`, or as soon as `stopped()` is true.

    Not FlightClient.wait_for_available: its ListFlights asks a processor for its schema,
    which waits for that processor's own input, and its one call cannot be cut short."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        attempt_seconds = max(0.001, min(ATTEMPT_SECONDS, deadline - time.monotonic()))
        options = flight.FlightCallOptions(timeout=attempt_seconds)
        try:
            cancelled_calls.list_actions(client, options)
        except CONNECTION_ERRORS:
            if stopped() or time.monotonic() >= deadline:
                raise
            sleep_unless_stopped(RETRY_PAUSE_SECONDS, stopped)
            continue
        except (pa.ArrowNotImplementedError, flight.FlightServerError):
            pass  # an answer, even "not implemented", proves the connection works
        return
