"""FlowController: inflight accounting, load, hysteresis, directives, pacing."""

from __future__ import annotations

import logging
import threading

import pytest
from fixtures.manual_clock import ManualClock
from flowctl import FlowControlError, FlowController, SettingsError
from flowctl.contract import FlowControlSettings


class FakeClock(ManualClock):
    """Its `sleep` moves it on instead of waiting."""

    def sleep(self, event: threading.Event, seconds: float) -> None:
        self.now += seconds


def make(max_inflight: int = 10, **kwargs: object) -> tuple[FlowController, FakeClock]:
    clock = FakeClock()
    flow = FlowController(max_inflight, FlowControlSettings(), clock=clock, sleep=clock.sleep)
    return flow, clock


def test_acquire_release_counts_and_load() -> None:
    flow, _ = make(10)
    flow.acquire(3)
    assert flow.inflight_count == 3
    assert flow.load == pytest.approx(0.3)
    flow.release(2)
    assert flow.inflight_count == 1
    assert flow.snapshot().completed_total == 2


def test_release_without_acquire_is_an_error() -> None:
    flow, _ = make(10)
    flow.acquire(1)
    with pytest.raises(FlowControlError, match="every release needs its acquire"):
        flow.release(2)
    assert flow.inflight_count == 1


def test_context_manager_releases_on_error_and_measures_latency() -> None:
    flow, clock = make(10)
    observed: list[float] = []
    flow.latency_observer = observed.append
    with pytest.raises(RuntimeError), flow.inflight(2):
        clock.now += 0.25
        raise RuntimeError("boom")
    assert flow.inflight_count == 0
    assert observed == [pytest.approx(0.25)]
    assert flow.snapshot().latency_seconds == pytest.approx(0.25)


def test_acquire_waits_at_max_inflight_and_times_out() -> None:
    flow = FlowController(2)
    assert flow.acquire(2)
    assert not flow.try_acquire(1)
    assert not flow.acquire(1, timeout=0.05)
    got = threading.Event()

    def waiter() -> None:
        flow.acquire(1)
        got.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    assert not got.wait(0.05)
    flow.release(1)
    thread.join(10)
    assert got.is_set()
    assert flow.inflight_count == 2


def test_oversized_request_is_admitted_alone_and_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flow = FlowController(4)
    with caplog.at_level(logging.WARNING, logger="flowctl.flow_control"):
        for _ in range(3):
            assert flow.acquire(10, timeout=1)
            assert flow.load == pytest.approx(2.5)
            flow.release(10)
        assert flow.acquire(4, timeout=1)  # a full window is no oversize
        flow.release(4)
    [said] = caplog.messages
    assert "10 items asked at once, more than max_inflight 4" in said
    assert "max_inflight in the spec to at least 20" in said


def test_local_hysteresis_on_thresholds() -> None:
    flow, _ = make(100)
    loads = []
    for target in (50, 75, 85, 95, 85, 70, 61, 59, 70):
        delta = target - flow.inflight_count
        flow.acquire(delta) if delta > 0 else flow.release(-delta)
        loads.append((target, flow.backpressure_active, flow.throttle_rate))
    assert loads == [
        (50, False, 1.0),
        (75, False, 1.0),
        (85, True, 0.5),
        (95, True, 0.5),
        (85, True, 0.5),
        (70, True, 0.5),
        (61, True, 0.5),
        (59, False, 1.0),
        (70, False, 1.0),
    ]


def test_directives_rule_while_connected_and_local_rules_after() -> None:
    flow, _ = make(100)
    flow.acquire(90)
    flow.set_controller_connected(True)
    assert flow.throttle_rate == 1.0
    assert not flow.backpressure_active
    flow.apply_directive(0.25, True)
    assert flow.throttle_rate == 0.25
    assert flow.backpressure_active
    flow.set_controller_connected(False)
    assert flow.throttle_rate == 0.5  # local: own load 0.9 >= activate_at
    flow.apply_directive(float("nan"), False)
    flow.set_controller_connected(True)
    assert flow.throttle_rate == 1.0
    flow.apply_directive(-3, False)
    assert flow.throttle_rate == 0.01


def test_thresholds_update_live_and_reject_bad_ones() -> None:
    flow, _ = make(100)
    flow.acquire(70)
    assert not flow.backpressure_active
    flow.update_thresholds(
        FlowControlSettings(activate_at=0.7, deactivate_at=0.5, throttle_rate=0.2)
    )
    assert flow.backpressure_active
    assert flow.throttle_rate == 0.2
    with pytest.raises(SettingsError):
        flow.update_thresholds(FlowControlSettings(activate_at=0.5, deactivate_at=0.7))
    with pytest.raises(SettingsError):
        flow.update_thresholds(FlowControlSettings(throttle_rate=0))
    with pytest.raises(FlowControlError):
        flow.set_max_inflight(0)


def test_pace_slows_a_loop_to_the_directed_rate() -> None:
    flow, clock = make(100)
    flow.set_controller_connected(True)

    def loop(rate: float) -> float:
        flow.apply_directive(rate, rate < 1)
        pacer = flow.pacer()
        started = clock.now
        pacer.pace()
        for _ in range(100):
            clock.now += 0.01  # 10 ms of work per item
            pacer.pace(1)
        return clock.now - started

    full = loop(1.0)
    half = loop(0.5)
    tenth = loop(0.1)
    assert full == pytest.approx(1.0)
    assert half == pytest.approx(2.0)
    assert tenth == pytest.approx(10.0)
    assert flow.unthrottled_rate == pytest.approx(100.0)


def test_pause_is_capped() -> None:
    flow, clock = make(100)
    flow.max_pause_seconds = 0.5
    flow.set_controller_connected(True)
    flow.apply_directive(0.01, True)
    flow.pace()
    clock.now += 10.0
    assert flow.pace() == pytest.approx(0.5)


def test_real_pacing_sleeps_at_least_the_computed_pause() -> None:
    flow = FlowController(10)
    flow.set_controller_connected(True)
    flow.apply_directive(0.5, True)
    pacer = flow.pacer()
    pacer.pace()
    slept = 0.0
    for _ in range(5):
        threading.Event().wait(0.01)  # the "work"
        slept += pacer.pace()
    # Each pause equals the work before it (rate 0.5), and waits never end early.
    assert slept >= 5 * 0.01


def test_rate_change_wakes_a_paused_loop() -> None:
    flow = FlowController(10, max_pause_seconds=30.0)
    flow.set_controller_connected(True)
    flow.apply_directive(0.01, True)
    pacer = flow.pacer()
    pacer.pace()
    threading.Event().wait(0.2)  # a pause of ~20s is due next
    done = threading.Event()
    thread = threading.Thread(target=lambda: (pacer.pace(), done.set()))
    thread.start()
    assert not done.wait(0.1)
    flow.apply_directive(1.0, False)
    assert done.wait(10)
    thread.join(10)


def test_concurrent_acquire_release_keeps_count() -> None:
    flow = FlowController(1000)

    def worker() -> None:
        for _ in range(2000):
            with flow.inflight():
                pass

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert flow.inflight_count == 0
    assert flow.snapshot().completed_total == 8000


def test_throughput_over_window() -> None:
    flow, clock = make(100)
    for _ in range(20):
        flow.record(5)
        clock.now += 0.5
    # 100 items over 10 seconds.
    assert flow.snapshot().throughput == pytest.approx(10.0, rel=0.15)
    clock.now += 60
    assert flow.snapshot().throughput == 0.0
    assert flow.snapshot().completed_total == 100


def test_heartbeat_metrics_have_contract_keys() -> None:
    flow, _ = make(40)
    flow.acquire(10)
    metrics = flow.snapshot().heartbeat_metrics()
    assert {"inflight", "max_inflight", "load", "throughput", "latency_seconds"} <= set(metrics)
    assert metrics["inflight"] == 10
    assert metrics["max_inflight"] == 40
    assert metrics["load"] == 0.25


def test_bad_initial_thresholds_are_refused() -> None:
    with pytest.raises(SettingsError, match="deactivate_at"):
        FlowController(10, FlowControlSettings(activate_at=0.5, deactivate_at=0.9))
