"""Run the benchmark suite and write docs/benchmarks.md (what `make bench` runs).

    python tests/bench/report.py                        # run `pytest -m bench tests/bench`
    python tests/bench/report.py --keep-json run.json   # ... and keep the raw JSON
    python tests/bench/report.py --from-json run.json   # render a JSON from an earlier run
    python tests/bench/report.py -- -k pool             # extra pytest arguments

Every measured figure comes from the run's pytest-benchmark JSON (`stats.median`, or an
`extra_info` value), mapped to the handoff's claims by claims.py; nothing is typed here.
The report is written even when a benchmark fails (its rows say "not measured"); the exit
status is pytest's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import baseline
import flaky
import psutil
from baseline import significant
from claims import (
    ROWS,
    SIZE_UNITS,
    THROUGHPUT,
    TIME_UNITS,
    Measure,
    Quantity,
    Row,
    Throughput,
    parse_figure,
)

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "docs" / "benchmarks.md"
NOT_MEASURED = "not measured"

# ------------------------------------------------------------------ reading a run


def measured(data: Mapping[str, Any], measure: Measure) -> tuple[Quantity | None, str]:
    """The value `measure` points at in the JSON, or None and why there is none."""
    bench = next((b for b in data.get("benchmarks", []) if b.get("name") == measure.bench), None)
    if bench is None:
        return None, f"no benchmark `{measure.bench}` in this run"
    if measure.key is None:
        value, source = bench["stats"]["median"], "its median"
    else:
        value, source = bench.get("extra_info", {}).get(measure.key), f"extra_info[{measure.key!r}]"
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None, f"`{measure.bench}` records no positive {source}"
    if measure.unit == "/s":
        return Quantity(float(value), "rate", measure.noun), ""
    if measure.unit in SIZE_UNITS:
        return Quantity(float(value) * SIZE_UNITS[measure.unit], "size"), ""
    return Quantity(float(value) * TIME_UNITS[measure.unit], "time"), ""


def as_kind(quantity: Quantity, like: Quantity) -> Quantity:
    """`quantity` as a time if `like` is one, as a rate otherwise (1 / the other)."""
    if quantity.kind == like.kind:
        return quantity
    return Quantity(1.0 / quantity.value, like.kind, like.noun)


# ------------------------------------------------------------------ formatting


def format_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{significant(seconds / scale)} {unit}"
    return f"{significant(seconds / 1e-9)} ns"


def format_size(size_bytes: float) -> str:
    for unit in ("MiB", "KiB"):
        if size_bytes >= SIZE_UNITS[unit]:
            return f"{significant(size_bytes / SIZE_UNITS[unit])} {unit}"
    return f"{significant(size_bytes)} bytes"


def format_quantity(quantity: Quantity) -> str:
    if quantity.kind == "time":
        return format_time(quantity.value)
    if quantity.kind == "size":
        return format_size(quantity.value)
    return f"{significant(quantity.value)} {quantity.noun}/s"


def verdict(ours: Quantity, claim: Quantity) -> str:
    """How ours compares, in the claim's own terms: faster or slower (smaller or bigger),
    by what factor."""
    if claim.kind == "size":
        ratio, better, worse = claim.value / ours.value, "smaller", "bigger"
    else:
        ratio = claim.value / ours.value if claim.kind == "time" else ours.value / claim.value
        better, worse = "faster", "slower"
    if ratio >= 1:
        return f"✓ {significant(ratio)}x {better}"
    return f"✗ {significant(1 / ratio)}x {worse}"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ------------------------------------------------------------------ the report


def claim_row(data: Mapping[str, Any], row: Row) -> list[str]:
    ours, why_not = measured(data, row.measure)
    bench = f"{row.what} (`{row.measure.bench}`)"
    quote = f"“{row.quote}”"
    if ours is None:
        return [row.area, quote, bench, NOT_MEASURED, why_not]
    if row.figure is None:
        return [row.area, quote, bench, format_quantity(ours), "no figure claimed"]
    claim = parse_figure(row.figure)
    shown = as_kind(ours, claim)
    text = format_quantity(shown)
    if shown is not ours:
        text += f" (1 / median of {format_quantity(ours)})"
    return [row.area, quote, bench, text, verdict(shown, claim)]


def claims_table(data: Mapping[str, Any], rows: Sequence[Row]) -> Iterator[str]:
    yield "| Area | Handoff claims | Our benchmark | Ours (median) | Ours vs claim |"
    yield "|---|---|---|---|---|"
    for row in rows:
        yield "| " + " | ".join(cell(text) for text in claim_row(data, row)) + " |"


def throughput_table(data: Mapping[str, Any], throughput: Throughput) -> Iterator[str]:
    pipeline, why_pipeline = measured(data, throughput.pipeline)
    ceiling, why_ceiling = measured(data, throughput.ceiling)
    yield "| | events/s | from |"
    yield "|---|---|---|"
    for label, value, why, measure in (
        ("Pipeline: source → processor → sink", pipeline, why_pipeline, throughput.pipeline),
        ("Raw Arrow Flight `DoGet`, same batches, no processing", ceiling, why_ceiling,
         throughput.ceiling),
    ):  # fmt: skip
        shown = significant(value.value) if value is not None else f"{NOT_MEASURED} ({why})"
        source = f"extra_info[{measure.key!r}]" if measure.key else "median"
        yield f"| {label} | {cell(shown)} | `{measure.bench}` {source} |"
    if pipeline is not None and ceiling is not None:
        ratio = f"{pipeline.value / ceiling.value:.1%}"
    else:
        ratio = NOT_MEASURED
    yield f"| Pipeline / ceiling | {ratio} | the two rows above |"


def build_report(
    data: Mapping[str, Any],
    facts: Mapping[str, str],
    *,
    rows: Sequence[Row] = ROWS,
    throughput: Throughput = THROUGHPUT,
    pytest_status: int | None = None,
) -> str:
    measured_rows = sum(measured(data, row.measure)[0] is not None for row in rows)
    lines = [
        "# Benchmarks",
        "",
        "Written by `python tests/bench/report.py` (`make bench`) from one run of",
        "`pytest -m bench tests/bench`: every measured figure is that run's median, or a value",
        "the benchmark recorded in its `extra_info`; the claims are quotes of the flowctl",
        "phase 6 handoff (tests/bench/claims.py maps one to the other). Do not edit by hand.",
        "",
        *(f"- **{name}**: {value}" for name, value in facts.items()),
        f"- **Rows measured**: {measured_rows} of {len(rows)}",
    ]
    if pytest_status:
        lines.append(
            f"- **pytest exited with status {pytest_status}**: a benchmark failed or errored;"
            " its rows say not measured"
        )
    lines += ["", "## The handoff's claims beside this run", "", *claims_table(data, rows)]
    lines += ["", "## End-to-end throughput against the raw Arrow Flight ceiling", ""]
    lines += [*throughput_table(data, throughput), ""]
    return "\n".join(lines)


# ------------------------------------------------------------------ the machine


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def _cpu_model(info: Mapping[str, Any]) -> str:
    brand = info.get("cpu", {}).get("brand_raw")
    if brand:
        return str(brand)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts(data: Mapping[str, Any]) -> dict[str, str]:
    """Header facts: the run's own where its JSON has them, this machine's for the rest."""
    info = data.get("machine_info", {})
    when = datetime.fromisoformat(data["datetime"]) if "datetime" in data else datetime.now()
    commit = data.get("commit_info", {})
    revision = str(commit.get("id", "unknown"))[:10]
    if commit.get("dirty"):
        revision += " with uncommitted changes"
    logical = info.get("cpu", {}).get("count") or os.cpu_count()
    physical = psutil.cpu_count(logical=False)
    ram = psutil.virtual_memory().total / 2**30
    system = " ".join(info.get(k) or "" for k in ("system", "release", "machine")).strip()
    python = f"{info.get('python_implementation', platform.python_implementation())} "
    python += str(info.get("python_version", platform.python_version()))
    return {
        "Date": when.strftime("%Y-%m-%d %H:%M %Z").strip(),
        "Machine": f"{_cpu_model(info)}, {logical} logical cores ({physical} physical), "
        f"{ram:.1f} GiB RAM",
        "OS": f"{_os_name()} ({system or platform.platform()})",
        "Python": python,
        "Commit": revision,
        "Harness": f"pytest-benchmark {data.get('version', '?')}, "
        f"{len(data.get('benchmarks', []))} benchmarks",
    }


# ------------------------------------------------------------------ running


def run_benchmarks(json_path: Path, pytest_args: Sequence[str]) -> int:
    command = [sys.executable, "-m", "pytest", "-q", "-m", "bench", "-p", "no:randomly"]
    paths = [] if any(arg.startswith("tests") for arg in pytest_args) else ["tests/bench"]
    command += [f"--benchmark-json={json_path}", *pytest_args, *paths]
    print("running:", " ".join(command), flush=True)
    return subprocess.call(command, cwd=REPO)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tests/bench/report.py", description=__doc__)
    parser.add_argument("--from-json", type=Path, help="render this JSON, run nothing")
    parser.add_argument("--keep-json", type=Path, help="also keep the run's raw JSON here")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="default docs/benchmarks.md")
    parser.add_argument("pytest_args", nargs="*", help="after --: pytest arguments")
    args = parser.parse_args(argv)
    status: int | None = None
    if args.from_json is not None:
        data = json.loads(args.from_json.read_text())
    else:
        with tempfile.TemporaryDirectory(prefix="flowrun-bench-") as tmp:
            json_path = args.keep_json or Path(tmp) / "benchmarks.json"
            status = run_benchmarks(json_path.resolve(), args.pytest_args)
            if not json_path.exists():
                print(f"pytest wrote no benchmark JSON (status {status})", file=sys.stderr)
                return status or 1
            data = json.loads(json_path.read_text())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    facts = machine_facts(data)
    if status is not None:
        # The machine may be shared: say how busy it was, since medians move with it.
        facts["Load average after the run"] = "{:.2f} / {:.2f} / {:.2f} (1 / 5 / 15 min)".format(
            *os.getloadavg()
        )
    # The committed baseline beside this run, and the pointer to `make flaky`'s file.
    against_baseline = baseline.report_section(data)
    extra = ["", *against_baseline, "", *flaky.link_section(), ""]
    args.output.write_text(build_report(data, facts, pytest_status=status) + "\n".join(extra))
    print("\n".join(against_baseline))
    missing = [row for row in ROWS if measured(data, row.measure)[0] is None]
    print(f"wrote {args.output} ({len(ROWS) - len(missing)} of {len(ROWS)} claims measured)")
    for row in missing:
        print(f"  not measured: {row.quote} <- {measured(data, row.measure)[1]}", file=sys.stderr)
    return status or 0


if __name__ == "__main__":
    raise SystemExit(main())
