"""Rewrite tests/bench/baseline.json on purpose (what `make bench-baseline` runs).

    python tests/bench/record_baseline.py                       # `make bench`, then record it
    python tests/bench/record_baseline.py --from-json run.json  # record an earlier run
    python tests/bench/record_baseline.py -- -k pool            # extra pytest arguments

Keeps the figures of the run (baseline.figures_of), the regression gate's ratios measured
now in this process (gate.py), the machine and the commit; the tier durations recorded by
`make flaky ... RECORD=1` are kept as they were.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import baseline
import gate
import report
from bench_validate import generate_spec


def record(data: dict[str, object], pytest_args: Sequence[str], path: Path) -> None:
    content = baseline.load(path)
    content = baseline.with_figures(content, "figures", baseline.figures_of(data))
    commit = data.get("commit_info", {})
    assert isinstance(commit, dict)
    content.update(
        recorded=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        commit=str(commit.get("id", "unknown"))[:10] + (" (dirty)" if commit.get("dirty") else ""),
        machine=report.machine_facts(data),
        load_average=[round(value, 2) for value in os.getloadavg()],
        pytest_args=list(pytest_args),
        # Sizes of the Stellar benchmarks: a figure only compares with the same sizes.
        environment={k: v for k, v in os.environ.items() if k.startswith("STELLAR_BENCH_")},
        gate=gate.measure_all(generate_spec(gate.SPEC_COMPONENTS)),
    )
    content.setdefault("tiers", {})
    baseline.save(content, path)
    print(
        f"recorded {len(content['figures'])} figures and {len(content['gate'])} gate ratios"
        f" in {path}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tests/bench/record_baseline.py", description=__doc__
    )
    parser.add_argument("--from-json", type=Path, help="record this run, run nothing")
    parser.add_argument("--baseline", type=Path, default=baseline.BASELINE)
    parser.add_argument("pytest_args", nargs="*", help="after --: pytest arguments")
    args = parser.parse_args(argv)
    if args.from_json is not None:
        record(json.loads(args.from_json.read_text()), args.pytest_args, args.baseline)
        return 0
    with tempfile.TemporaryDirectory(prefix="flowrun-baseline-") as folder:
        run = Path(folder) / "run.json"
        status = report.main(["--keep-json", str(run), "--", *args.pytest_args])
        if not run.exists():
            return status or 1
        if status:
            # A failed benchmark has no figures: recording now would drop them silently.
            print(f"pytest exited with {status}: baseline not rewritten", file=sys.stderr)
            return status
        record(json.loads(run.read_text()), args.pytest_args, args.baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
