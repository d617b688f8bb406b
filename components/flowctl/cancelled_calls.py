"""Flight calls whose cancellation pyarrow answers with a simulated Ctrl-C.

pyarrow makes `FlightClient.list_actions` and `do_action` inside its SignalStopHandler,
whose exit, when the call ended CANCELLED (the server, or a proxy on the way, cancelled
it), calls PyErr_SetInterrupt: a simulated SIGINT, whichever thread made the call. The main
thread's SIGINT handler then runs as if Ctrl-C had been pressed: an SDK component stopped
("stopping: SIGINT", exit 0) the first time a probe of its input was cancelled, and a test
process got a KeyboardInterrupt. The SDK makes those calls through here, which notes each
cancellation; its SIGINT handler ignores a SIGINT a recent one explains
(`simulated_interrupt`), and acts on the others.
"""

from __future__ import annotations

import math
import threading
import time

import pyarrow.flight as flight

SETTLE_SECONDS = 0.1
"""How long a SIGINT handler lets the thread whose call pyarrow just cancelled reach the
`except` that notes it (pyarrow simulates the SIGINT a few bytecodes before; on a loaded
machine the thread may wait that long for a core)."""
EXPLAINS_SECONDS = 1.0
"""A cancellation this recent explains a SIGINT. A window, not a count: pyarrow's simulated
SIGINTs coalesce (one handler call for several), so a count would outlive them and swallow
a real Ctrl-C later. A real one within it is taken for pyarrow's; one after it is not."""

_lock = threading.Lock()
_last_cancelled_at = -math.inf


def list_actions(
    client: flight.FlightClient, options: flight.FlightCallOptions
) -> list[flight.ActionType]:
    try:
        return list(client.list_actions(options=options))
    except flight.FlightCancelledError:
        _note_cancelled()
        raise


def do_action(
    client: flight.FlightClient, action: flight.Action, options: flight.FlightCallOptions
) -> list[flight.Result]:
    try:
        return list(client.do_action(action, options=options))
    except flight.FlightCancelledError:
        _note_cancelled()
        raise


def simulated_interrupt() -> bool:
    """Whether the SIGINT being handled is one pyarrow simulated for a cancelled call. For
    the SIGINT handler, in the main thread."""
    if _explained():
        return True
    time.sleep(SETTLE_SECONDS)  # releases the GIL: a cancelled call's thread notes it
    return _explained()


def _explained() -> bool:
    with _lock:
        return time.monotonic() - _last_cancelled_at <= EXPLAINS_SECONDS


def _note_cancelled() -> None:
    global _last_cancelled_at
    with _lock:
        _last_cancelled_at = time.monotonic()
