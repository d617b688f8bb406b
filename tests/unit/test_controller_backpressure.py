"""The backpressure decision: hysteresis per service, throttling of everything upstream."""

from __future__ import annotations

from flowctl.contract import FlowControlSettings
from flowrun.controller.backpressure import FULL_SPEED, BackpressureDecision

THRESHOLDS = FlowControlSettings(activate_at=0.8, deactivate_at=0.6, throttle_rate=0.5)


def chain() -> BackpressureDecision:
    """source -> processor -> sink, plus an unrelated side service reading the source."""
    decision = BackpressureDecision(THRESHOLDS)
    decision.place("source-1", "source", ())
    decision.place("processor-1", "processor", ("source",))
    decision.place("sink-1", "sink", ("processor",))
    decision.place("audit-1", "audit", ("source",))
    return decision


def test_load_sequence_activates_at_threshold_and_releases_below_deactivate() -> None:
    decision = chain()
    seen = []
    for load in (0.5, 0.75, 0.85, 0.95, 0.85, 0.75, 0.65, 0.6, 0.55, 0.7):
        decision.observe("sink-1", load)
        seen.append((load, decision.is_overloaded("sink-1"), decision.throttle_rate("source-1")))
    assert seen == [
        (0.5, False, FULL_SPEED),
        (0.75, False, FULL_SPEED),
        (0.85, True, 0.5),
        (0.95, True, 0.5),
        (0.85, True, 0.5),
        (0.75, True, 0.5),
        (0.65, True, 0.5),
        (0.6, True, 0.5),
        (0.55, False, FULL_SPEED),
        (0.7, False, FULL_SPEED),
    ]


def test_upstream_is_throttled_transitively_downstream_and_unrelated_are_not() -> None:
    decision = chain()
    changed = decision.observe("processor-1", 0.9)
    assert changed == {"source-1"}
    assert decision.throttle_rate("source-1") == 0.5
    assert decision.throttle_rate("processor-1") == FULL_SPEED  # overloaded, not throttled
    assert decision.throttle_rate("sink-1") == FULL_SPEED  # downstream
    assert decision.throttle_rate("audit-1") == FULL_SPEED  # a sibling reading the source

    changed = decision.observe("sink-1", 0.9)
    assert changed == {"processor-1"}
    assert decision.cause("processor-1") == "sink-1"
    assert decision.active


def test_release_reports_every_service_whose_throttle_changed() -> None:
    decision = chain()
    decision.observe("sink-1", 0.9)
    assert decision.observe("sink-1", 0.7) == set()  # in the band: nothing changes
    assert decision.observe("sink-1", 0.1) == {"source-1", "processor-1"}
    assert not decision.active
    assert decision.overloaded_services() == []


def test_every_replica_of_an_upstream_component_is_throttled() -> None:
    decision = chain()
    decision.place("source-2", "source", ())
    decision.observe("sink-1", 0.99)
    assert decision.throttle_rate("source-2") == 0.5


def test_upstream_registering_later_is_throttled_at_once() -> None:
    decision = BackpressureDecision(THRESHOLDS)
    decision.place("sink-1", "sink", ("processor",))
    decision.observe("sink-1", 0.9)
    assert decision.place("processor-1", "processor", ()) == {"processor-1"}
    assert decision.throttle_rate("processor-1") == 0.5


def test_re_registration_starts_unloaded() -> None:
    decision = chain()
    decision.observe("sink-1", 0.9)
    assert decision.place("sink-1", "sink", ("processor",)) == {"source-1", "processor-1"}
    assert not decision.is_overloaded("sink-1")


def test_silent_service_releases_its_upstream_and_takes_over_when_back() -> None:
    decision = chain()
    decision.observe("sink-1", 0.9)
    assert decision.set_live("sink-1", False) == {"source-1", "processor-1"}
    assert decision.throttle_rate("source-1") == FULL_SPEED
    assert decision.observe("sink-1", 0.9) == {"source-1", "processor-1"}


def test_remove_forgets_the_service() -> None:
    decision = chain()
    decision.observe("sink-1", 0.9)
    assert decision.remove("sink-1") == {"source-1", "processor-1"}
    assert decision.remove("sink-1") == set()
    assert decision.observe("sink-1", 0.9) == set()


def test_retune_applies_new_thresholds_with_hysteresis() -> None:
    decision = chain()
    decision.observe("sink-1", 0.7)
    assert not decision.is_overloaded("sink-1")
    changed = decision.retune(
        FlowControlSettings(activate_at=0.7, deactivate_at=0.5, throttle_rate=0.5)
    )
    assert changed == {"source-1", "processor-1"}
    assert decision.is_overloaded("sink-1")
    # Only the rate changes: every throttled service must hear of it.
    changed = decision.retune(
        FlowControlSettings(activate_at=0.7, deactivate_at=0.5, throttle_rate=0.25)
    )
    assert changed == {"source-1", "processor-1"}
    assert decision.throttle_rate("source-1") == 0.25


def test_cycle_in_inputs_terminates() -> None:
    decision = BackpressureDecision(THRESHOLDS)
    decision.place("a-1", "a", ("b",))
    decision.place("b-1", "b", ("a",))
    assert decision.observe("a-1", 1.0) == {"a-1", "b-1"}


def test_unknown_service_is_ignored() -> None:
    decision = chain()
    assert decision.observe("ghost", 5.0) == set()
    assert decision.set_live("ghost", False) == set()
    assert decision.throttle_rate("ghost") == FULL_SPEED


def test_a_service_reading_nothing_known_flips_without_changing_any_throttle() -> None:
    """The per-heartbeat fast path: an unlinked service (nothing upstream) flips its own flag
    and no throttle changes, as the full graph walk would find."""
    decision = chain()
    decision.place("lone-1", "lone", ("nobody",))
    assert decision.observe("lone-1", 0.9) == set()
    assert decision.is_overloaded("lone-1") and decision.active
    assert all(decision.throttle_rate(s) == FULL_SPEED for s in ("source-1", "lone-1"))
    assert decision.observe("lone-1", 0.1) == set()
    assert not decision.active


def test_a_service_reading_itself_still_throttles_itself() -> None:
    """Its own component among its inputs is upstream: the fast path must not skip it."""
    decision = BackpressureDecision(THRESHOLDS)
    decision.place("loop-1", "loop", ("loop",))
    assert decision.observe("loop-1", 0.9) == {"loop-1"}
    assert decision.throttle_rate("loop-1") == 0.5
