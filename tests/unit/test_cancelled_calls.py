"""Which SIGINT pyarrow simulated for a cancelled Flight call (flowctl.cancelled_calls)."""

from __future__ import annotations

import time

import pyarrow.flight as flight
import pytest
from flowctl import cancelled_calls


class CancellingClient:
    def list_actions(self, options: object) -> list[object]:
        raise flight.FlightCancelledError("cancelled by the server")


def test_a_sigint_just_after_a_cancelled_call_is_pyarrows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cancelled_calls, "_last_cancelled_at", float("-inf"))
    assert not cancelled_calls.simulated_interrupt()  # no call cancelled: a Ctrl-C
    with pytest.raises(flight.FlightCancelledError):
        cancelled_calls.list_actions(CancellingClient(), flight.FlightCallOptions())  # type: ignore[arg-type]
    assert cancelled_calls.simulated_interrupt()
    assert cancelled_calls.simulated_interrupt()  # several coalesce into one handler call


def test_a_cancellation_long_past_explains_no_sigint(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window, not a count: a count outlived the simulated SIGINTs it stood for (they
    coalesce) and swallowed a real Ctrl-C afterwards."""
    past = time.monotonic() - cancelled_calls.EXPLAINS_SECONDS - 1
    monkeypatch.setattr(cancelled_calls, "_last_cancelled_at", past)
    assert not cancelled_calls.simulated_interrupt()
