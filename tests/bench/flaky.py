"""Run a test tier several times and report each test's pass rate and duration spread
(what `make flaky TIER=unit RUNS=5` runs).

    python tests/bench/flaky.py --tier unit --runs 5          # pytest-xdist, 2 workers
    python tests/bench/flaky.py --tier integration --runs 2 --record-baseline

Each run is `pytest -m TIER tests/TIER -n WORKERS --junitxml=...`; the JUnit XML of the
runs gives every test's outcome and duration. The tier's section of
docs/suite-reliability.md (linked from docs/benchmarks.md's "Suite reliability") is
replaced; the other tiers' sections are kept. The tier's median wall time is printed
beside baseline.json's and flagged when over 50 % longer; --record-baseline records it.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import baseline

REPO = Path(__file__).resolve().parents[2]
RELIABILITY = REPO / "docs" / "suite-reliability.md"
TIERS = ("unit", "integration", "e2e", "fault")
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
HEADER = """# Suite reliability

Written by `make flaky TIER=<tier> RUNS=<n>` (tests/bench/flaky.py): the tier run n times
with pytest-xdist, each test's pass rate and the spread of its duration over the runs,
from the runs' JUnit XML. Each tier's section is from its own latest `make flaky`; do not
edit by hand.
"""


@dataclass
class TestRecord:
    """One test over the runs: its outcomes and its durations (seconds)."""

    outcomes: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def executed(self) -> int:
        return sum(outcome != SKIPPED for outcome in self.outcomes)

    @property
    def passed(self) -> int:
        return self.outcomes.count(PASSED)

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.executed if self.executed else None


@dataclass(frozen=True)
class Run:
    results: Mapping[str, tuple[str, float]]  # test id -> (outcome, seconds)
    wall_seconds: float
    status: int


# ------------------------------------------------------------------ reading the runs


def parse_junit(text: str) -> dict[str, tuple[str, float]]:
    """Test id (`classname::name`) -> (passed | failed | skipped, seconds)."""
    results: dict[str, tuple[str, float]] = {}
    for case in ElementTree.fromstring(text).iter("testcase"):
        test = f"{case.get('classname', '')}::{case.get('name', '')}"
        children = {child.tag for child in case}
        if children & {"failure", "error"}:
            outcome = FAILED
        elif "skipped" in children:
            outcome = SKIPPED
        else:
            outcome = PASSED
        # A test can appear twice (an error in teardown after it passed): the worse counts.
        if results.get(test, (PASSED, 0.0))[0] != FAILED:
            results[test] = (outcome, float(case.get("time") or 0.0))
    return results


def aggregate(runs: Sequence[Run]) -> dict[str, TestRecord]:
    records: dict[str, TestRecord] = {}
    for run in runs:
        for test, (outcome, seconds) in run.results.items():
            record = records.setdefault(test, TestRecord())
            record.outcomes.append(outcome)
            record.seconds.append(seconds)
    return records


# ------------------------------------------------------------------ the section


def _spread(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def tier_section(
    tier: str, runs: Sequence[Run], records: Mapping[str, TestRecord], facts: Mapping[str, str]
) -> list[str]:
    executed = sum(record.executed for record in records.values())
    passed = sum(record.passed for record in records.values())
    rate = f"{passed / executed:.2%}" if executed else "-"
    unstable = sorted(
        (test for test, record in records.items() if record.passed < record.executed),
        key=lambda test: (records[test].pass_rate or 0.0, test),
    )
    incomplete = [test for test, record in records.items() if len(record.outcomes) < len(runs)]
    slowest = sorted(records, key=lambda test: max(records[test].seconds), reverse=True)[:10]
    green = sum(run.status == 0 for run in runs)
    lines = [
        f"<!-- tier:{tier} -->",
        f"## {tier}",
        "",
        *(f"- **{name}**: {value}" for name, value in facts.items()),
        "",
        "| Tier | Runs | Runs all green | Tests | Test executions passed | Tests that failed "
        "at least once | Wall time min / median / max (s) |",
        "|---|---|---|---|---|---|---|",
        f"| {tier} | {len(runs)} | {green} | {len(records)} | {passed} of {executed} ({rate}) "
        f"| {len(unstable)} | {_spread([run.wall_seconds for run in runs])} |",
        "",
    ]
    if unstable:
        lines += ["Tests that failed at least once:", "", "| Test | Passed | Durations (s) |"]
        lines.append("|---|---|---|")
        for test in unstable:
            record = records[test]
            lines.append(
                f"| `{test}` | {record.passed} of {record.executed} | {_spread(record.seconds)} |"
            )
        lines.append("")
    if incomplete:
        lines += [
            f"{len(incomplete)} tests did not run in every run (a crash or a "
            "collection error in the others).",
            "",
        ]
    lines += ["Slowest tests, duration min / median / max over the runs (s):", ""]
    lines += ["| Test | Durations (s) | Passed |", "|---|---|---|"]
    for test in slowest:
        record = records[test]
        lines.append(
            f"| `{test}` | {_spread(record.seconds)} | {record.passed} of {record.executed} |"
        )
    lines += ["", f"<!-- /tier:{tier} -->"]
    return lines


def replace_section(document: str, tier: str, section: Sequence[str]) -> str:
    """`document` with the tier's section replaced, or added; tiers in TIERS order."""
    sections = dict(_sections(document))
    sections[tier] = "\n".join(section)
    ordered = sorted(sections, key=lambda name: TIERS.index(name) if name in TIERS else 99)
    return HEADER + "".join(f"\n{sections[name]}\n" for name in ordered)


def _sections(document: str) -> list[tuple[str, str]]:
    pattern = re.compile(r"<!-- tier:(\S+) -->.*?<!-- /tier:\1 -->", re.DOTALL)
    return [(match.group(1), match.group(0)) for match in pattern.finditer(document)]


def link_section() -> list[str]:
    """docs/benchmarks.md's pointer to the generated reliability file."""
    return [
        "## Suite reliability",
        "",
        "Pass rate of every test and the spread of its duration, per tier, over repeated runs:",
        "[suite-reliability.md](suite-reliability.md), written by `make flaky TIER=<tier>"
        " RUNS=<n>` (tests/bench/flaky.py).",
    ]


# ------------------------------------------------------------------ running


def run_once(tier: str, workers: int, junit: Path, pytest_args: Sequence[str]) -> Run:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-m",
        tier,
        f"tests/{tier}",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit2",
    ]
    if workers:
        command += ["-n", str(workers)]
    command += pytest_args
    start = time.monotonic()
    status = subprocess.call(command, cwd=REPO, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - start
    results = parse_junit(junit.read_text()) if junit.exists() else {}
    return Run(results, wall, status)


def tier_comparison(tier: str, runs: Sequence[Run], content: Mapping[str, object]) -> str:
    wall = statistics.median(run.wall_seconds for run in runs)
    now = baseline.tier_figure(wall)
    before = baseline.figures_in(content, "tiers").get(tier)
    item = baseline.Comparison(f"tier {tier}", before, now)
    shown = baseline.format_value(before)
    return f"{tier}: median wall time {wall:.1f} s, baseline {shown}: {baseline.verdict(item)}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tests/bench/flaky.py", description=__doc__)
    parser.add_argument("--tier", choices=TIERS, required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers (0: none)")
    parser.add_argument("--output", type=Path, default=RELIABILITY)
    parser.add_argument(
        "--record-baseline",
        action="store_true",
        help="record the tier's median wall time in baseline.json",
    )
    parser.add_argument("pytest_args", nargs="*", help="after --: pytest arguments")
    args = parser.parse_args(argv)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="flowrun-flaky-") as folder:
        for index in range(args.runs):
            run = run_once(args.tier, args.workers, Path(folder) / f"{index}.xml", args.pytest_args)
            runs.append(run)
            failed = sum(outcome == FAILED for outcome, _ in run.results.values())
            print(
                f"run {index + 1}/{args.runs}: status {run.status}, {len(run.results)} tests, "
                f"{failed} failed, {run.wall_seconds:.1f} s",
                flush=True,
            )
    records = aggregate(runs)
    facts = {
        "Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "Command": f"make flaky TIER={args.tier} RUNS={args.runs} (pytest -n {args.workers})",
        "Commit": _commit(),
    }
    section = tier_section(args.tier, runs, records, facts)
    existing = args.output.read_text() if args.output.exists() else ""
    args.output.write_text(replace_section(existing, args.tier, section))
    print("\n".join(section[2:]))
    content = baseline.load()
    print(tier_comparison(args.tier, runs, content))
    if args.record_baseline:
        wall = statistics.median(run.wall_seconds for run in runs)
        tiers = {**baseline.figures_in(content, "tiers"), args.tier: baseline.tier_figure(wall)}
        baseline.save(baseline.with_figures(content, "tiers", tiers))
    print(f"wrote the {args.tier} section of {args.output}")
    return 0 if all(run.status == 0 for run in runs) else 1


def _commit() -> str:
    # rev-parse only reads: `git describe --dirty` would refresh the shared index.
    result = subprocess.run(
        ["git", "rev-parse", "--short=10", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    return (result.stdout.strip() or "unknown") + " (and the working tree's changes)"


if __name__ == "__main__":
    raise SystemExit(main())
