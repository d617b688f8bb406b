"""tests/bench/report.py on a small hand-made pytest-benchmark JSON: rows, "not measured"
rows, conversions between times and rates, the throughput ratio, the header."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import claims
import report
from claims import Measure, Quantity, Row, Throughput, parse_figure

HANDOFF_TIME = "Flow Control Operations: `BenchmarkFlowControlOperations` - <100 ns/op"


def bench(name: str, median: float, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "fullname": f"tests/bench/bench_x.py::{name}",
        "stats": {"median": median, "mean": median * 1.1, "rounds": 5},
        "extra_info": extra,
    }


def run_json(*benchmarks: dict[str, Any]) -> dict[str, Any]:
    return {
        "machine_info": {"python_version": "3.11.7", "python_implementation": "CPython"},
        "datetime": "2026-01-02T03:04:05+00:00",
        "version": "5.3.1",
        "benchmarks": list(benchmarks),
    }


def row(figure: str | None, measure: Measure, quote: str = HANDOFF_TIME) -> Row:
    return Row("Area", quote, figure, "what we time", measure)


def cells(line: str) -> list[str]:
    return [part.strip() for part in line.strip("|").split(" | ")]


def table_rows(text: str) -> list[list[str]]:
    lines = text.split("## The handoff's claims beside this run")[1].split("## End-to-end")[0]
    return [cells(line) for line in lines.splitlines() if line.startswith("| ")][1:]


# ---------------------------------------------------------------- parsing the claims


@pytest.mark.parametrize(
    ("figure", "expected"),
    [
        ("<100 ns/op", Quantity(100e-9, "time", qualifier="<")),
        ("<500 μs/op", Quantity(500e-6, "time", qualifier="<")),
        ("<1μs", Quantity(1e-6, "time", qualifier="<")),
        ("~50ms", Quantity(0.05, "time", qualifier="~")),
        ("<2 seconds", Quantity(2.0, "time", qualifier="<")),
        ("2,000 calculations/second", Quantity(2000.0, "rate", "calculations")),
        ("500KB", Quantity(500 * 2**10, "size")),
        ("+2KB", Quantity(2 * 2**10, "size", qualifier="+")),
        ("<50MB", Quantity(50 * 2**20, "size", qualifier="<")),
    ],
)
def test_parse_figure(figure: str, expected: Quantity) -> None:
    parsed = parse_figure(figure)
    assert parsed.kind == expected.kind
    assert parsed.noun == expected.noun
    assert parsed.qualifier == expected.qualifier
    assert parsed.value == pytest.approx(expected.value)


def test_parse_figure_refuses_text_without_a_number() -> None:
    with pytest.raises(ValueError, match="no time, rate or size"):
        parse_figure("fast")


def test_every_claim_row_quotes_a_figure_it_can_parse() -> None:
    assert len(claims.ROWS) >= 20
    for claim in claims.ROWS:
        if claim.figure is not None:
            assert claim.figure in claim.quote
            sized = parse_figure(claim.figure).kind == "size"
            assert sized == (claim.measure.unit in claims.SIZE_UNITS), claim  # no conversion


# ---------------------------------------------------------------- rows


def test_a_median_is_shown_in_the_claims_unit_with_the_factor() -> None:
    data = run_json(bench("test_op", 250e-9))
    text = report.build_report(data, {}, rows=[row("<100 ns/op", Measure("test_op"))])
    [[area, quote, ours_bench, ours, versus]] = table_rows(text)
    assert (area, ours, versus) == ("Area", "250 ns", "✗ 2.5x slower")
    assert quote == f"“{HANDOFF_TIME}”"
    assert "`test_op`" in ours_bench


def test_a_median_against_a_rate_claim_is_inverted() -> None:
    data = run_json(bench("test_op", 50e-9))
    claim = row("10,000,000 ops/second", Measure("test_op"), "10,000,000 ops/second")
    [[*_, ours, versus]] = table_rows(report.build_report(data, {}, rows=[claim]))
    assert ours == "20,000,000 ops/s (1 / median of 50 ns)"
    assert versus == "✓ 2x faster"


def test_an_extra_info_rate_without_a_claimed_figure() -> None:
    data = run_json(bench("test_beats", 0.4, beats_per_second=12345.6))
    measure = Measure("test_beats", "beats_per_second", "/s", "heartbeats")
    [[*_, ours, versus]] = table_rows(report.build_report(data, {}, rows=[row(None, measure)]))
    assert (ours, versus) == ("12,346 heartbeats/s", "no figure claimed")


def test_an_extra_info_time_in_milliseconds() -> None:
    data = run_json(bench("test_up", 9.0, ready_ms=1500))
    measure = Measure("test_up", "ready_ms", "ms")
    [[*_, ours, versus]] = table_rows(
        report.build_report(data, {}, rows=[row("<2 seconds", measure)])
    )
    assert (ours, versus) == ("1.5 s", "✓ 1.33x faster")


def test_a_memory_figure_against_a_size_claim() -> None:
    data = run_json(bench("test_beats", 1.0, base_rss_mib=48.25, per_service_kib=1.5))
    rows = [
        row("500KB", Measure("test_beats", "base_rss_mib", "MiB"), "Base controller: 500KB"),
        row("+2KB", Measure("test_beats", "per_service_kib", "KiB"), "Per service: +2KB"),
    ]
    base, per_service = table_rows(report.build_report(data, {}, rows=rows))
    assert base[3:] == ["48.2 MiB", "✗ 98.8x bigger"]
    assert per_service[3:] == ["1.5 KiB", "✓ 1.33x smaller"]


def test_missing_benchmark_and_missing_key_are_not_measured_with_the_reason() -> None:
    data = run_json(bench("test_printed_only", 0.1))
    rows = [
        row("<100 ns/op", Measure("test_absent")),
        row("<100 ns/op", Measure("test_printed_only", "events_per_second", "/s", "events")),
    ]
    absent, unrecorded = table_rows(report.build_report(data, {}, rows=rows))
    assert absent[3:] == ["not measured", "no benchmark `test_absent` in this run"]
    assert unrecorded[3] == "not measured"
    assert "extra_info['events_per_second']" in unrecorded[4]
    assert "`test_printed_only`" in unrecorded[4]


def test_parameters_are_part_of_the_benchmark_name() -> None:
    data = run_json(bench("test_metrics[10]", 1e-4), bench("test_metrics[1000]", 9e-2))
    rows = [
        row("2,000 calculations/second", Measure("test_metrics[10]"), "2,000 calc/second"),
        row("20 calculations/second", Measure("test_metrics[1000]"), "20 calc/second"),
    ]
    small, large = table_rows(report.build_report(data, {}, rows=rows))
    assert small[3].startswith("10,000 calculations/s") and small[4] == "✓ 5x faster"
    assert large[3].startswith("11.1 calculations/s") and large[4] == "✗ 1.8x slower"


# ---------------------------------------------------------------- throughput and header

THROUGHPUT = Throughput(
    pipeline=Measure("test_e2e", "events_per_second", "/s", "events"),
    ceiling=Measure("test_ceiling", "events_per_second", "/s", "events"),
)


def throughput_lines(text: str) -> dict[str, list[str]]:
    section = text.split("## End-to-end throughput")[1]
    rows = [cells(line) for line in section.splitlines() if line.startswith("| ")][1:]
    return {r[0]: r[1:] for r in rows}


def test_throughput_against_the_ceiling_and_their_ratio() -> None:
    data = run_json(
        bench("test_e2e", 2.0, events_per_second=50_000),
        bench("test_ceiling", 0.5, events_per_second=200_000),
    )
    lines = throughput_lines(report.build_report(data, {}, rows=[], throughput=THROUGHPUT))
    assert lines["Pipeline: source → processor → sink"][0] == "50,000"
    assert lines["Raw Arrow Flight `DoGet`, same batches, no processing"][0] == "200,000"
    assert lines["Pipeline / ceiling"][0] == "25.0%"


def test_no_ratio_without_the_ceiling() -> None:
    data = run_json(bench("test_e2e", 2.0, events_per_second=50_000))
    lines = throughput_lines(report.build_report(data, {}, rows=[], throughput=THROUGHPUT))
    assert lines["Pipeline / ceiling"][0] == "not measured"
    ceiling = lines["Raw Arrow Flight `DoGet`, same batches, no processing"][0]
    assert ceiling.startswith("not measured (no benchmark `test_ceiling`")


def test_header_has_the_facts_the_count_and_a_failed_run() -> None:
    data = run_json(bench("test_op", 1e-6))
    rows = [row("<100 ns/op", Measure("test_op")), row("<100 ns/op", Measure("test_gone"))]
    facts = {"Machine": "CPU X, 2 logical cores", "Python": "CPython 3.11.7"}
    text = report.build_report(data, facts, rows=rows, pytest_status=1)
    assert "- **Machine**: CPU X, 2 logical cores" in text
    assert "- **Python**: CPython 3.11.7" in text
    assert "- **Rows measured**: 1 of 2" in text
    assert "pytest exited with status 1" in text
    assert "pytest exited" not in report.build_report(data, facts, rows=rows, pytest_status=0)


def test_machine_facts_come_from_the_run_and_this_machine() -> None:
    facts = report.machine_facts(run_json())
    assert facts["Python"] == "CPython 3.11.7"
    assert facts["Date"] == "2026-01-02 03:04 UTC"
    assert "GiB RAM" in facts["Machine"] and "logical cores" in facts["Machine"]
    assert set(facts) >= {"Date", "Machine", "OS", "Python"}


def test_main_renders_an_existing_json(tmp_path: Path) -> None:
    source = tmp_path / "run.json"
    source.write_text(json.dumps(run_json(bench("test_flow_acquire_release", 2e-6))))
    output = tmp_path / "docs" / "benchmarks.md"
    assert report.main(["--from-json", str(source), "--output", str(output)]) == 0
    text = output.read_text()
    assert text.startswith("# Benchmarks")
    flow = next(r for r in table_rows(text) if "test_flow_acquire_release" in r[2])
    assert flow[3] == "2 µs" and flow[4] == "✗ 20x slower"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (3.2e-8, "32 ns"),
        (4.56e-6, "4.56 µs"),
        (0.0123, "12.3 ms"),
        (2.0, "2 s"),
        (1234.0, "1,234 s"),
    ],
)
def test_times_pick_a_readable_unit(seconds: float, shown: str) -> None:
    assert report.format_time(seconds) == shown
