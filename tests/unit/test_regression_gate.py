"""The cheap regression gate of `make test`: a few seconds of ratio-based measurements
(tests/bench/gate.py), each against the ratio recorded in tests/bench/baseline.json, failing
only beyond twice that ratio. A ratio of two timings taken in turn in the same process
moves little when the machine is busy; only a gross regression crosses 2x. Finer changes
are `make bench` (10 % against the baseline) and `make bench-compare BASE=...`.

After a deliberate change of speed, `make bench-baseline` records the new ratios.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import baseline
import gate
from bench_validate import generate_spec


@pytest.fixture(scope="module")
def recorded() -> dict[str, float]:
    return dict(baseline.load().get("gate", {}))


ATTEMPTS = 3


def untraced(measure: Callable[[], dict[str, float]]) -> dict[str, float]:
    """Timed without coverage's tracer (`make test` runs under it): it slows the Python
    side of each ratio several times and the C side not at all."""
    tracer = sys.gettrace()
    sys.settrace(None)
    try:
        return measure()
    finally:
        sys.settrace(tracer)


def check(measure: Callable[[], dict[str, float]], recorded: dict[str, float]) -> None:
    """Fails when every attempt is over 2x: a regression is there each time, while a burst
    of load on a shared machine (the rest of `make test` runs beside) passes."""
    for _ in range(ATTEMPTS):
        failures = baseline.gate_failures(untraced(measure), recorded)
        if not failures:
            return
    pytest.fail(f"{ATTEMPTS} attempts over the gate: " + "; ".join(failures))


def test_sink_rendering_against_pyarrows_own_parquet_write(recorded: dict[str, float]) -> None:
    check(gate.rendering_ratios, recorded)


def test_heartbeat_handling_against_building_the_message(recorded: dict[str, float]) -> None:
    check(lambda: {"heartbeat": gate.heartbeat_ratio()}, recorded)


def test_validating_500_components_against_parsing_their_yaml(
    recorded: dict[str, float],
) -> None:
    spec = generate_spec(gate.SPEC_COMPONENTS)
    check(lambda: {"validate_500": gate.validation_ratio(spec)}, recorded)
