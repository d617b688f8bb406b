"""RestartTracker: restart policies, exponential backoff with cap and jitter, giving up
after max_restarts within the window, and what a window of health and a reload change."""

from __future__ import annotations

import random
from typing import Any

import pytest
from flowrun.spec.model import RestartConfig, RestartPolicy
from flowrun.supervision.backoff import JITTER_FRACTION, RestartTracker, Verdict, wants_restart


class FixedRandom(random.Random):
    """A 'random' jitter the test chooses: 0.0 is no jitter, just under 1.0 the most."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def config(**fields: Any) -> RestartConfig:
    values = {"backoff": "1s", "max_backoff": "30s", "window": "60s", "max_restarts": 100}
    return RestartConfig.model_validate(values | fields)


def tracker(jitter: float = 0.0, **fields: Any) -> RestartTracker:
    return RestartTracker(config(**fields), rng=FixedRandom(jitter))


@pytest.mark.parametrize(
    ("policy", "failure", "restarts"),
    [
        (RestartPolicy.ALWAYS, True, True),
        (RestartPolicy.ALWAYS, False, True),
        (RestartPolicy.ON_FAILURE, True, True),
        (RestartPolicy.ON_FAILURE, False, False),
        (RestartPolicy.NEVER, True, False),
        (RestartPolicy.NEVER, False, False),
    ],
)
def test_policy_decides_whether_an_end_is_restarted(
    policy: RestartPolicy, failure: bool, restarts: bool
) -> None:
    assert wants_restart(policy, failure) is restarts


def test_an_end_the_policy_does_not_restart_is_failed_or_stopped_and_says_the_policy() -> None:
    never = tracker(policy="never")
    failed = never.decide(0.0, failure=True, what="exited with code 3")
    stopped = tracker(policy="on-failure").decide(0.0, failure=False, what="exited with code 0")

    assert failed.verdict is Verdict.FAILED
    assert failed.reason == "exited with code 3 (restart policy: never)"
    assert stopped.verdict is Verdict.STOPPED
    assert stopped.reason == "exited with code 0 (restart policy: on-failure)"
    assert never.consecutive_failures == 0  # nothing restarted, nothing counted


def test_always_restarts_even_a_clean_exit() -> None:
    decision = tracker(policy="always").decide(0.0, failure=False, what="exited with code 0")
    assert decision.verdict is Verdict.RESTART
    assert decision.reason == "exited with code 0; restarting in 1.0s"


def test_backoff_doubles_from_backoff_up_to_max_backoff() -> None:
    restarts = tracker(backoff="250ms", max_backoff="3s")

    delays = [restarts.decide(float(t), failure=True, what="crash").delay_seconds for t in range(6)]

    assert delays == [0.25, 0.5, 1.0, 2.0, 3.0, 3.0]
    assert restarts.consecutive_failures == 6


def test_jitter_shortens_a_delay_by_at_most_a_fifth() -> None:
    most_jitter = tracker(jitter=0.999999).decide(0.0, failure=True, what="crash")
    assert most_jitter.delay_seconds == pytest.approx(1.0 * (1 - JITTER_FRACTION), rel=1e-5)

    seeded = RestartTracker(config(backoff="2s", max_backoff="2s"), rng=random.Random(7))
    delays = {seeded.decide(float(t), failure=True, what="x").delay_seconds for t in range(200)}
    assert all(2.0 * (1 - JITTER_FRACTION) < delay <= 2.0 for delay in delays)
    assert len(delays) > 150  # spread out, not one value: components do not restart in lockstep


def test_more_than_max_restarts_within_the_window_fails_the_component() -> None:
    restarts = tracker(max_restarts=3, window="60s")
    verdicts = [restarts.decide(t, failure=True, what="crash").verdict for t in (0, 10, 20)]

    gave_up = restarts.decide(30.0, failure=True, what="exited with code 1")

    assert verdicts == [Verdict.RESTART] * 3
    assert gave_up.verdict is Verdict.FAILED
    assert gave_up.reason == (
        "exited with code 1; restarted 3 times within 60s (max_restarts: 3), giving up"
    )


def test_restarts_older_than_the_window_no_longer_count() -> None:
    restarts = tracker(max_restarts=2, window="10s")
    restarts.decide(0.0, failure=True, what="crash")
    restarts.decide(5.0, failure=True, what="crash")

    assert restarts.decide(10.5, failure=True, what="crash").verdict is Verdict.RESTART
    assert restarts.decide(11.0, failure=True, what="crash").verdict is Verdict.FAILED


def test_max_restarts_zero_fails_at_the_first_failure() -> None:
    decision = tracker(max_restarts=0).decide(0.0, failure=True, what="crash")
    assert decision.verdict is Verdict.FAILED


def test_a_whole_window_of_health_resets_the_backoff_and_less_does_not() -> None:
    restarts = tracker(window="30s")
    for t in range(3):
        restarts.decide(float(t), failure=True, what="crash")

    restarts.ready_for(29.9)
    assert restarts.consecutive_failures == 3
    restarts.ready_for(30.0)
    assert restarts.consecutive_failures == 0
    assert restarts.decide(100.0, failure=True, what="crash").delay_seconds == 1.0


def test_reconfigure_keeps_the_history_and_follows_the_new_limits() -> None:
    restarts = tracker(max_restarts=5, backoff="1s")
    restarts.decide(0.0, failure=True, what="crash")
    restarts.decide(1.0, failure=True, what="crash")

    restarts.reconfigure(config(max_restarts=3, backoff="100ms"))
    third = restarts.decide(2.0, failure=True, what="crash")
    fourth = restarts.decide(3.0, failure=True, what="crash")

    assert third.verdict is Verdict.RESTART
    assert third.delay_seconds == pytest.approx(0.1 * 2**2)  # new base, old count
    assert fourth.verdict is Verdict.FAILED
    assert "restarted 3 times within 60s (max_restarts: 3)" in fourth.reason
