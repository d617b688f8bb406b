"""tests/bench/compare.py's table and verdicts, and tests/bench/flaky.py's reading of JUnit
XML, pass rates and the sections of docs/suite-reliability.md, on hand-made numbers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import compare
import flaky
from baseline import SPEED, Figure


def rounds(*values: float, better: str = "lower") -> list[dict[str, Figure]]:
    return [{"b": Figure(value, "s", SPEED, better)} for value in values]


def test_a_change_beyond_twice_the_spread_between_rounds_is_reported() -> None:
    (row,) = compare.rows_of(rounds(1.0, 1.02, 0.99), rounds(2.0, 2.1, 1.95))
    assert row.change == 1.0 and row.noise < 0.1
    assert compare.verdict(row) == "SLOWER, beyond noise"


def test_a_change_inside_the_noise_is_quiet_either_way() -> None:
    (row,) = compare.rows_of(rounds(1.0, 1.3, 0.8), rounds(1.1, 0.9, 1.2))
    assert compare.verdict(row) == "within noise"


def test_a_faster_rate_is_a_negative_change() -> None:
    (row,) = compare.rows_of(rounds(100, 101, 99, better="higher"), rounds(200, 201, 199))
    assert row.change == -0.5
    assert compare.verdict(row) == "faster, beyond noise"


def test_only_figures_of_every_round_of_both_sides_are_compared() -> None:
    base = [{"a": Figure(1, "s", SPEED, "lower"), "b": Figure(1, "s", SPEED, "lower")}] * 2
    head = [{"a": Figure(1, "s", SPEED, "lower")}] * 2
    assert [row.name for row in compare.rows_of(base, head)] == ["a"]


def test_the_table_shows_medians_change_and_noise() -> None:
    rows = compare.rows_of(rounds(1e-3, 1e-3), rounds(2e-3, 2e-3))
    assert compare.table(rows, "main", "working tree")[2] == (
        "| `b` | 1 ms | 2 ms | +100.0% | ±0.0% | SLOWER, beyond noise |"
    )


JUNIT = """<?xml version="1.0"?><testsuites><testsuite>
<testcase classname="tests.unit.test_a" name="test_ok" time="0.5"/>
<testcase classname="tests.unit.test_a" name="test_bad" time="1.5"><failure message="x"/></testcase>
<testcase classname="tests.unit.test_a" name="test_skip" time="0"><skipped/></testcase>
<testcase classname="tests.unit.test_a" name="test_ok" time="0.1"><error message="td"/>
</testcase>
</testsuite></testsuites>"""


def test_junit_outcomes_and_a_teardown_error_counts_as_a_failure() -> None:
    results = flaky.parse_junit(JUNIT)
    assert results["tests.unit.test_a::test_bad"] == ("failed", 1.5)
    assert results["tests.unit.test_a::test_skip"][0] == "skipped"
    assert results["tests.unit.test_a::test_ok"][0] == "failed"


def run(status: int, wall: float, **outcomes: str) -> flaky.Run:
    return flaky.Run({name: (outcome, 1.0) for name, outcome in outcomes.items()}, wall, status)


def test_pass_rates_over_the_runs_and_the_tests_that_failed_once() -> None:
    runs = [run(0, 10.0, a="passed", b="passed"), run(1, 12.0, a="passed", b="failed")]
    records = flaky.aggregate(runs)
    assert records["b"].pass_rate == 0.5 and records["a"].pass_rate == 1.0
    section = flaky.tier_section("unit", runs, records, {"Date": "today"})
    text = "\n".join(section)
    assert "| unit | 2 | 1 | 2 | 3 of 4 (75.00%) | 1 | 10.00 / 11.00 / 12.00 |" in text
    assert "| `b` | 1 of 2 | 1.00 / 1.00 / 1.00 |" in text


def section(tier: str, body: str) -> list[str]:
    return [f"<!-- tier:{tier} -->", body, f"<!-- /tier:{tier} -->"]


def test_a_tiers_section_is_replaced_and_the_others_kept_in_tier_order() -> None:
    document = flaky.replace_section("", "integration", section("integration", "old"))
    document = flaky.replace_section(document, "unit", section("unit", "u"))
    document = flaky.replace_section(document, "integration", section("integration", "new"))
    assert document.startswith(flaky.HEADER)
    assert "old" not in document
    assert document.index("tier:unit") < document.index("tier:integration -->\nnew")
