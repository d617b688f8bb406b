"""tests/bench/baseline.py on hand-made pytest-benchmark JSON: which figures are kept, how a
run compares with the baseline (10 % speed, 20 % memory, 50 % tier), the file round trip,
the report's section, and the gate's verdicts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import baseline
from baseline import MEMORY, SPEED, TIER, Comparison, Figure


def bench(name: str, median: float, **extra: Any) -> dict[str, Any]:
    return {"name": name, "stats": {"median": median}, "extra_info": extra}


def run(*benchmarks: dict[str, Any]) -> dict[str, Any]:
    return {"benchmarks": list(benchmarks)}


def speed(value: float, better: str = "lower") -> Figure:
    return Figure(value, "s", SPEED, better)


def test_medians_and_extra_info_become_figures_by_their_key() -> None:
    figures = baseline.figures_of(
        run(
            bench(
                "test_pipeline_throughput",
                10.0,
                pipeline_to_ceiling_ratio=0.05,
                peak_rss_mib={"source": 200, "sink": 240},
                tracked_kib_per_service=2.5,
                cpu_us_per_event_sink=0.9,
                pipeline_events_per_second=100_000,
                handoff_claim_ms=100,
                load_average_at_end=[1.0, 2.0, 3.0],
                api="legacy",
            )
        )
    )
    assert figures["test_pipeline_throughput"] == Figure(10.0, "s", SPEED, "lower")
    ratio = figures["test_pipeline_throughput:pipeline_to_ceiling_ratio"]
    assert (ratio.unit, ratio.better, ratio.stable) == ("ratio", "higher", True)
    assert figures["test_pipeline_throughput:peak_rss_mib.sink"].kind == MEMORY
    per_service = figures["test_pipeline_throughput:tracked_kib_per_service"]
    assert (per_service.unit, per_service.kind, per_service.better) == ("KiB", MEMORY, "lower")
    assert figures["test_pipeline_throughput:cpu_us_per_event_sink"].stable
    rate = figures["test_pipeline_throughput:pipeline_events_per_second"]
    assert (rate.unit, rate.better, rate.stable) == ("/s", "higher", False)
    assert not any("handoff" in name or "load_average" in name for name in figures)


def test_a_dict_already_recorded_flat_is_not_kept_twice() -> None:
    extra = {"cpu_us_per_event": {"sink": 0.9}, "cpu_us_per_event_sink": 0.9}
    figures = baseline.figures_of(run(bench("b", 1.0, **extra)))
    assert [name for name in figures if "cpu" in name] == ["b:cpu_us_per_event_sink"]


def test_a_value_shared_by_two_benchmarks_stays_with_the_first() -> None:
    shared = {"ceiling_events_per_second": 3e6}
    figures = baseline.figures_of(run(bench("first", 1.0, **shared), bench("then", 2.0, **shared)))
    assert "first:ceiling_events_per_second" in figures
    assert "then:ceiling_events_per_second" not in figures


def test_a_time_eleven_percent_longer_is_flagged_and_nine_is_not() -> None:
    assert Comparison("x", speed(1.0), speed(1.11)).flagged
    assert not Comparison("x", speed(1.0), speed(1.09)).flagged


def test_a_rate_is_compared_as_its_inverse() -> None:
    slower = Comparison("x", speed(100.0, "higher"), speed(90.0, "higher"))
    assert slower.worse_by is not None and abs(slower.worse_by - 1 / 9) < 1e-9
    assert slower.flagged
    faster = Comparison("x", speed(100.0, "higher"), speed(200.0, "higher"))
    assert faster.worse_by == -0.5 and not faster.flagged


def test_memory_is_flagged_over_twenty_percent_and_a_tier_over_fifty() -> None:
    memory = Figure(100.0, "MiB", MEMORY, "lower")
    assert not Comparison("m", memory, Figure(119.0, "MiB", MEMORY, "lower")).flagged
    assert Comparison("m", memory, Figure(121.0, "MiB", MEMORY, "lower")).flagged
    tier = baseline.tier_figure(60.0)
    assert tier.kind == TIER
    assert not Comparison("t", tier, baseline.tier_figure(89.0)).flagged
    assert Comparison("t", tier, baseline.tier_figure(91.0)).flagged


def test_figures_missing_on_either_side_are_listed_not_flagged() -> None:
    comparisons = baseline.compare({"new": speed(1.0)}, {"old": speed(1.0)})
    assert [(c.name, baseline.verdict(c)) for c in comparisons] == [
        ("old", "not in this run"),
        ("new", "new"),
    ]
    assert not any(c.flagged for c in comparisons)


def test_the_verdict_says_how_much_and_why_it_is_flagged() -> None:
    assert baseline.verdict(Comparison("x", speed(1.0), speed(1.5))) == (
        "⚠ +50% worse (over 10%: slowdown)"
    )
    assert baseline.verdict(Comparison("x", speed(1.0), speed(0.8))) == "-20% better"


def test_the_file_round_trips_and_keeps_what_it_does_not_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    assert baseline.load(path) == {"figures": {}, "gate": {}, "tiers": {}}
    content = baseline.with_figures({"commit": "abc"}, "tiers", {"unit": baseline.tier_figure(30)})
    content = baseline.with_figures(content, "figures", {"b": speed(1.23456789)})
    baseline.save(content, path)
    loaded = baseline.load(path)
    assert list(loaded)[:2] == ["commit", "tolerances"]
    assert baseline.figures_in(loaded) == {"b": speed(1.235)}
    assert baseline.figures_in(loaded, "tiers")["unit"].value == 30.0


def test_the_report_section_shows_each_figure_beside_its_baseline(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    recorded = {"b": speed(1.0), "gone": speed(1.0)}
    baseline.save({"commit": "abc", **baseline.with_figures({}, "figures", recorded)}, path)
    lines = baseline.report_section(run(bench("b", 2.0)), path)
    assert "**1 figures flagged.**" in lines
    assert any(line.startswith("| `b` | 1 s | 2 s | ⚠ +100% worse") for line in lines)
    assert "1 baseline figures were not measured in this run." in lines


def test_the_gate_fails_only_beyond_twice_the_recorded_ratio() -> None:
    recorded = {"render_jsonl": 1.0, "heartbeat": 3.0}
    assert baseline.gate_failures({"render_jsonl": 1.9, "heartbeat": 5.9}, recorded) == []
    failures = baseline.gate_failures({"render_jsonl": 2.5, "validate_500": 1.0}, recorded)
    assert failures[0].startswith("render_jsonl: ratio 2.5 is 2.5x the recorded 1")
    assert "no recorded ratio in baseline.json (make bench-baseline)" in failures[1]
