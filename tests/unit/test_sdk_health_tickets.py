"""HealthReport assessment, StreamTicket encoding, the sliding window and backoff."""

from __future__ import annotations

import json

import pyarrow.flight as flight
import pytest
from flowctl import FlowController, StreamTicket, TicketError
from flowctl.backoff import Backoff
from flowctl.contract import FlowControlSettings
from flowctl.health import Check, assess
from flowctl.pool import PoolStats
from flowctl.window import SlidingWindow, Totals

THRESHOLDS = FlowControlSettings()


def snapshot(inflight: int = 0, connected: bool = True) -> object:
    flow = FlowController(10)
    flow.set_controller_connected(connected)
    if inflight:
        flow.acquire(inflight)
    return flow.snapshot()


def test_healthy_when_all_is_well() -> None:
    report = assess(snapshot(), THRESHOLDS, controller_enabled=True)  # type: ignore[arg-type]
    assert report.status == "healthy"
    assert report.exit_code == 0
    assert report.reasons == []


def test_degraded_reasons_are_specific() -> None:
    report = assess(
        snapshot(9, connected=False),  # type: ignore[arg-type]
        THRESHOLDS,
        controller_enabled=True,
        controller_detail="register: UNAVAILABLE",
        pools=[PoolStats(endpoint="127.0.0.1:9", reachable=False, failures_total=4)],
    )
    assert report.status == "degraded"
    assert report.exit_code == 1
    text = " | ".join(report.reasons)
    assert "unreachable (register: UNAVAILABLE): local flow control" in text
    assert "load 0.90" in text and "activate_at 0.8" in text
    assert "pool 127.0.0.1:9: endpoint unreachable (4 failed connects)" in text


def test_a_controller_not_reached_while_starting_is_no_alarm() -> None:
    starting = assess(
        snapshot(connected=False),  # type: ignore[arg-type]
        THRESHOLDS,
        controller_enabled=True,
        controller_starting=True,
    )
    assert starting.status == "healthy"
    assert starting.checks[0].reason == "starting: registering with the controller"
    past_the_window = assess(
        snapshot(connected=False),  # type: ignore[arg-type]
        THRESHOLDS,
        controller_enabled=True,
        controller_starting=False,
    )
    assert past_the_window.status == "degraded"
    assert past_the_window.reasons == ["controller: unreachable (no answer): local flow control"]


def test_component_checks_and_raising_checks() -> None:
    def bad() -> list[Check]:
        raise OSError("disk gone")

    report = assess(snapshot(), THRESHOLDS, controller_enabled=False, component_checks=bad)  # type: ignore[arg-type]
    assert report.status == "unhealthy"
    assert report.exit_code == 2
    assert "health check raised OSError('disk gone')" in report.reasons[0]
    checks = lambda: [Check("lag", "degraded", "3 ledgers behind")]  # noqa: E731
    report = assess(snapshot(), THRESHOLDS, controller_enabled=False, component_checks=checks)  # type: ignore[arg-type]
    assert report.status == "degraded"
    assert json.loads(json.dumps(report.to_dict()))["reasons"] == ["lag: 3 ledgers behind"]


def test_a_check_with_a_status_nothing_ranks_makes_the_component_unhealthy_saying_why() -> None:
    checks = lambda: [Check("disk", "warn", "90% full")]  # type: ignore[arg-type]  # noqa: E731
    report = assess(snapshot(), THRESHOLDS, controller_enabled=False, component_checks=checks)  # type: ignore[arg-type]
    assert report.status == "unhealthy"
    assert "status must be healthy, degraded or unhealthy, not 'warn'" in report.reasons[0]
    assert json.loads(json.dumps(report.to_dict()))["status"] == "unhealthy"


def test_stopping_is_unhealthy() -> None:
    report = assess(snapshot(), THRESHOLDS, controller_enabled=False, stopping=True)  # type: ignore[arg-type]
    assert report.status == "unhealthy"


def test_ticket_round_trip() -> None:
    ticket = StreamTicket("ledgers", 42)
    assert StreamTicket.decode(ticket.to_flight()) == ticket
    assert StreamTicket.decode(ticket.encode()) == ticket
    assert json.loads(ticket.encode()) == {"stream": "ledgers", "start": 42}
    assert StreamTicket.decode(b"{}") == StreamTicket("default", 0)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[1]",
        b'{"stream": "", "start": 1}',
        b'{"start": -1}',
        b'{"start": "3"}',
        b'{"start": true}',
        b'{"stream": "s", "from": 3}',
    ],
)
def test_bad_tickets_are_rejected(raw: bytes) -> None:
    with pytest.raises(TicketError):
        StreamTicket.decode(flight.Ticket(raw))


def test_window_rate_covers_about_one_window() -> None:
    now = [100.0]
    window = SlidingWindow(5, lambda: now[0])
    items = 0
    for _ in range(20):  # 10 items every 0.5s, read each time (like a scrape)
        items += 10
        now[0] += 0.5
        rate, latency = window.read(Totals(items, items * 0.5, items))
    assert rate == pytest.approx(20.0, rel=0.15)
    assert latency == pytest.approx(0.5)
    now[0] += 10
    assert window.read(Totals(items, items * 0.5, items)) == (0.0, 0.0)
    with pytest.raises(ValueError):
        SlidingWindow(0.5, lambda: 0.0)


def test_window_without_reads_averages_since_the_last_one() -> None:
    now = [0.0]
    window = SlidingWindow(10, lambda: now[0])
    now[0] = 30.0
    assert window.read(Totals(300))[0] == pytest.approx(10.0)


def test_backoff_grows_is_capped_and_jittered() -> None:
    backoff = Backoff(base_seconds=0.1, cap_seconds=1.0)
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [min(1.0, 0.1 * 2**n) for n in range(8)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) > 1
    backoff.reset()
    assert backoff.next_delay() <= 0.1
