"""The committed baseline (tests/bench/baseline.json): which figures of a benchmark run it
keeps, reading and writing it, and comparing a run with it.

A figure is one number of a run that should not get worse: a benchmark's median, or a value
it recorded in `extra_info`. Ratios taken in the same run (pipeline / raw Flight ceiling,
controller / do-nothing server) and CPU-normalised figures (heartbeats per CPU-second, CPU µs
per event per stage) move least when the machine is busy; absolute medians move with the
load, so `stable` says which is which. A run is flagged where a figure is worse than its
baseline by more than the tolerance of its kind: speed 10 %, memory 20 %, a test tier's
duration 50 % (the handoff's promise). `make bench` prints the comparison; `make
bench-baseline` (record_baseline.py) rewrites the file on purpose.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BASELINE = Path(__file__).resolve().parent / "baseline.json"
SPEED, MEMORY, TIER = "speed", "memory", "tier"
TOLERANCE = {SPEED: 0.10, MEMORY: 0.20, TIER: 0.50}
GATE_FACTOR = 2.0  # the gate in `make test` fails only on a gross regression


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str  # "s", "ms", "µs", "/s", "ratio", "MiB", "KiB"
    kind: str  # SPEED, MEMORY or TIER
    better: str  # "lower" or "higher"
    stable: bool = False  # a ratio or a CPU-normalised figure: little moved by load


@dataclass(frozen=True)
class Rule:
    """How an `extra_info` key whose name matches `pattern` is kept (None: not kept)."""

    pattern: str
    figure: tuple[str, str, str, bool] | None  # unit, kind, better, stable


# First match wins. Counts, settings, samples, totals and worst cases are not figures:
# they describe the run, or are too noisy (a maximum) to compare.
RULES = (
    Rule(r"handoff_claim|load_average|cpu_count|^services$|per_round|processes$|"
         r"_runs$|samples|^events$|_events$|cpu_seconds|cores_used|_max_|^api$|^client_", None),
    Rule(r"ratio", ("ratio", SPEED, "higher", True)),
    Rule(r"rss_mib", ("MiB", MEMORY, "lower", True)),
    Rule(r"kib", ("KiB", MEMORY, "lower", True)),
    Rule(r"capacity_per_core", ("/s", SPEED, "higher", True)),
    Rule(r"cpu_us_per_", ("µs", SPEED, "lower", True)),
    Rule(r"per_second", ("/s", SPEED, "higher", False)),
    Rule(r"us_per_", ("µs", SPEED, "lower", False)),
    Rule(r"_ms$", ("ms", SPEED, "lower", False)),
    Rule(r"_seconds$", ("s", SPEED, "lower", False)),
)  # fmt: skip


def _rule_for(key: str) -> tuple[str, str, str, bool] | None:
    for rule in RULES:
        if re.search(rule.pattern, key):
            return rule.figure
    return None


def _numbers(extra: Mapping[str, Any]) -> Iterator[tuple[str, float]]:
    """Numeric values of extra_info; a dict of numbers (peak RSS per component) flattened
    to `key.name`, unless the benchmark already recorded it flat as `key_name`."""
    for key, value in extra.items():
        if isinstance(value, dict):
            for name, inner in value.items():
                if f"{key}_{name}" not in extra and _is_number(inner):
                    yield f"{key}.{name}", float(inner)
        elif _is_number(value):
            yield key, float(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def figures_of(data: Mapping[str, Any]) -> dict[str, Figure]:
    """The figures of a pytest-benchmark JSON, named `bench` (its median) or `bench:key`."""
    figures: dict[str, Figure] = {}
    # Benchmarks of one module may share their extra_info (bench_stellar.py's `results`):
    # a value is kept under the first benchmark that recorded it.
    seen: set[tuple[str, float]] = set()
    for bench in data.get("benchmarks", []):
        name = bench["name"]
        median = bench.get("stats", {}).get("median")
        if _is_number(median) and median > 0:
            figures[name] = Figure(float(median), "s", SPEED, "lower")
        for key, value in _numbers(bench.get("extra_info", {})):
            rule = _rule_for(key)
            if rule is not None and value > 0 and (key, value) not in seen:
                seen.add((key, value))
                unit, kind, better, stable = rule
                figures[f"{name}:{key}"] = Figure(value, unit, kind, better, stable)
    return figures


# ------------------------------------------------------------------ comparing


def worse_by(before: float, now: float, better: str) -> float:
    """How much worse `now` is than `before`, as a fraction (negative: better); a rate
    (`better` "higher") is compared as its inverse, so 10 % slower means the same for both."""
    return now / before - 1 if better == "lower" else before / now - 1


@dataclass(frozen=True)
class Comparison:
    name: str
    baseline: Figure | None
    current: Figure | None

    @property
    def worse_by(self) -> float | None:
        """How much worse the current figure is than the baseline (`worse_by`)."""
        if self.baseline is None or self.current is None:
            return None
        return worse_by(self.baseline.value, self.current.value, self.baseline.better)

    @property
    def flagged(self) -> bool:
        worse = self.worse_by
        return (
            worse is not None
            and self.baseline is not None
            and (worse > TOLERANCE[self.baseline.kind])
        )


def compare(current: Mapping[str, Figure], baseline: Mapping[str, Figure]) -> list[Comparison]:
    """Every figure of either side, in the baseline's order, then the new ones."""
    names = [*baseline, *(name for name in current if name not in baseline)]
    return [Comparison(name, baseline.get(name), current.get(name)) for name in names]


def significant(value: float) -> str:
    """Three significant digits, whole thousands with separators (the reports' numbers)."""
    return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"


def format_value(figure: Figure | None) -> str:
    if figure is None:
        return "-"
    value = figure.value
    text = significant(value)
    if figure.unit == "s" and value < 1:
        return f"{value * 1e6:.3g} µs" if value < 1e-3 else f"{value * 1e3:.3g} ms"
    return text if figure.unit == "ratio" else f"{text} {figure.unit}"


def verdict(comparison: Comparison) -> str:
    worse = comparison.worse_by
    if worse is None:
        return "new" if comparison.baseline is None else "not in this run"
    kind = comparison.baseline.kind if comparison.baseline else SPEED
    change = f"{'+' if worse >= 0 else '-'}{abs(worse):.0%} {'worse' if worse >= 0 else 'better'}"
    if comparison.flagged:
        return f"⚠ {change} (over {TOLERANCE[kind]:.0%}: {_ALARM[kind]})"
    return change


_ALARM = {SPEED: "slowdown", MEMORY: "memory to review", TIER: "tier to investigate"}


def comparison_lines(comparisons: list[Comparison], *, only_present: bool = True) -> list[str]:
    """A markdown table of the comparisons; with only_present, figures this run did not
    measure are counted below it rather than listed."""
    shown = [c for c in comparisons if c.current is not None or not only_present]
    lines = [
        "| Figure | Baseline | This run | Change | Stable |",
        "|---|---|---|---|---|",
    ]
    for item in shown:
        figure = item.baseline or item.current
        stable = "ratio/CPU" if figure is not None and figure.stable else "absolute"
        cells = (
            f"`{item.name}`",
            format_value(item.baseline),
            format_value(item.current),
            verdict(item),
            stable,
        )
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    missing = len(comparisons) - len(shown)
    if missing:
        lines.append("")
        lines.append(f"{missing} baseline figures were not measured in this run.")
    return lines


# ------------------------------------------------------------------ the file


def load(path: Path = BASELINE) -> dict[str, Any]:
    """The baseline file's content, or an empty baseline when there is none yet."""
    if not path.exists():
        return {"figures": {}, "gate": {}, "tiers": {}}
    return dict(json.loads(path.read_text()))


def figures_in(content: Mapping[str, Any], section: str = "figures") -> dict[str, Figure]:
    return {name: Figure(**fields) for name, fields in content.get(section, {}).items()}


def tier_figure(seconds: float) -> Figure:
    return Figure(round(seconds, 2), "s", TIER, "lower")


def with_figures(
    content: Mapping[str, Any], section: str, figures: Mapping[str, Figure]
) -> dict[str, Any]:
    """`content` with `section` replaced by `figures`, everything else kept."""
    kept = {
        name: {**asdict(figure), "value": float(f"{figure.value:.4g}")}
        for name, figure in figures.items()
    }
    return {**content, section: kept}


_FIRST = ("recorded", "commit", "machine", "load_average", "pytest_args", "environment")


def save(content: Mapping[str, Any], path: Path = BASELINE) -> None:
    """Where and when first, then the gate's ratios, the tiers, the figures."""
    order = [*_FIRST, "tolerances", "gate", "tiers", "figures"]
    content = {**content, "tolerances": TOLERANCE}
    ordered = {key: content[key] for key in order if key in content}
    ordered |= {key: value for key, value in content.items() if key not in ordered}
    path.write_text(json.dumps(ordered, indent=2, ensure_ascii=False) + "\n")


def gate_failures(measured: Mapping[str, float], recorded: Mapping[str, float]) -> list[str]:
    """Why the gate fails: each ratio over GATE_FACTOR times its recorded value."""
    failures = []
    for name, value in measured.items():
        before = recorded.get(name)
        if before is None:
            failures.append(f"{name}: no recorded ratio in baseline.json (make bench-baseline)")
        elif value > GATE_FACTOR * before:
            failures.append(
                f"{name}: ratio {value:.3g} is {value / before:.2g}x the recorded {before:.3g}"
                f" (the gate allows {GATE_FACTOR:g}x)"
            )
    return failures


# ------------------------------------------------------------------ in the report


def report_section(data: Mapping[str, Any], path: Path = BASELINE) -> list[str]:
    """docs/benchmarks.md's section comparing a run with the committed baseline."""
    content = load(path)
    comparisons = compare(figures_of(data), figures_in(content))
    flagged = [c for c in comparisons if c.flagged]
    recorded = content.get("recorded", "never")
    commit = content.get("commit", "unknown")
    lines = [
        "## This run against the committed baseline",
        "",
        f"tests/bench/baseline.json, recorded {recorded} at commit {commit}"
        " (`make bench-baseline` rewrites it). Flagged: a speed figure over"
        f" {TOLERANCE[SPEED]:.0%} worse, memory over {TOLERANCE[MEMORY]:.0%}."
        " Absolute figures move with the machine's load; the ratio/CPU ones much less.",
        f"**{len(flagged)} figures flagged.**",
        "",
        *comparison_lines(comparisons),
    ]
    return lines
