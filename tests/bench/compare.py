"""Benchmarks of a git ref beside the working tree, interleaved (`make bench-compare`).

    python tests/bench/compare.py --base main                     # bench_sdk + bench_validate
    python tests/bench/compare.py --base HEAD~3 --bench pool --rounds 5
    python tests/bench/compare.py --base main --head /tmp/other   # another tree than this one

BASE is exported with `git archive` into a temporary folder: unlike `git worktree add` it
changes nothing in the repository (no entry under .git/worktrees to prune if interrupted),
which matters in a checkout others are working in. Both sides run in this virtualenv with
PYTHONPATH set to their own runner/ and components/: those come before the editable install
on sys.path, so each side imports its own code, and no venv is built per comparison (a
minute, against seconds per round). The cost: BASE runs with the working tree's
dependencies, so a comparison across a dependency change needs a venv of its own.

Each round runs BASE then the working tree, or the other way round (alternating, so a
trend in the machine's load favours neither), each side with its own benchmark files. The
table gives the median of each side over the rounds and the change; a change counts as
beyond the noise when it exceeds twice the largest spread between rounds (max - min over
median) of either side. The exit status is 1 when a figure is slower beyond the noise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import baseline
from baseline import Figure

REPO = Path(__file__).resolve().parents[2]
DEFAULT_FILES = ("tests/bench/bench_sdk.py", "tests/bench/bench_validate.py")
NOISE_FACTOR = 2.0
PACKAGES = ("flowrun", "arrow_analytics_sink")  # must come from the side's own tree


@dataclass(frozen=True)
class Row:
    name: str
    base: Sequence[float]
    head: Sequence[float]
    like: Figure  # the figure's unit and direction, from the first round

    @property
    def change(self) -> float:
        """How much slower the working tree is, as a fraction (negative: faster)."""
        base, head = statistics.median(self.base), statistics.median(self.head)
        return baseline.worse_by(base, head, self.like.better)

    @property
    def noise(self) -> float:
        return max(_spread(self.base), _spread(self.head))

    @property
    def beyond_noise(self) -> bool:
        return abs(self.change) > NOISE_FACTOR * self.noise


def _spread(values: Sequence[float]) -> float:
    return (max(values) - min(values)) / statistics.median(values)


def rows_of(
    base: Sequence[Mapping[str, Figure]], head: Sequence[Mapping[str, Figure]]
) -> list[Row]:
    """A row for every figure measured in every round of both sides."""
    names = [name for name in base[0] if all(name in run for run in (*base, *head))]
    return [
        Row(
            name,
            [run[name].value for run in base],
            [run[name].value for run in head],
            base[0][name],
        )
        for name in names
    ]


def verdict(row: Row) -> str:
    if not row.beyond_noise:
        return "within noise"
    return "SLOWER, beyond noise" if row.change > 0 else "faster, beyond noise"


def table(rows: Sequence[Row], base_label: str, head_label: str) -> list[str]:
    lines = [
        f"| Figure | {base_label} (median) | {head_label} (median) | Change (+: slower) "
        "| Noise | Verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        base, head = _shown(row, row.base), _shown(row, row.head)
        lines.append(
            f"| `{row.name}` | {base} | {head} | {row.change:+.1%} "
            f"| ±{row.noise:.1%} | {verdict(row)} |"
        )
    return lines


def _shown(row: Row, values: Sequence[float]) -> str:
    return baseline.format_value(replace(row.like, value=statistics.median(values)))


# ------------------------------------------------------------------ the two trees


def export(ref: str, folder: Path) -> Path:
    """The tree of `ref` under `folder`, by `git archive` (read-only on the repository)."""
    archive = folder / "base.tar"
    with archive.open("wb") as out:
        result = subprocess.run(
            ["git", "archive", "--format=tar", ref],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.PIPE,
            text=False,
            check=False,
        )
    if result.returncode:
        raise SystemExit(f"git archive {ref}: {result.stderr.decode().strip()}")
    tree = folder / "base"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    archive.unlink()
    return tree


def environment(tree: Path) -> dict[str, str]:
    paths = [str(tree / "runner"), str(tree / "components")]
    inherited = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, *filter(None, [inherited])])}


def check_imports(tree: Path) -> None:
    """Refuse to compare when a side would import the other side's code."""
    code = "import importlib; print('\\n'.join(importlib.import_module(n).__file__ for n in "
    code += f"{PACKAGES!r}))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tree,
        env=environment(tree),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for path in out.split():
        if not Path(path).resolve().is_relative_to(tree.resolve()):
            raise SystemExit(f"{tree}: imports {path} from outside its tree; compare refuses")


def run_side(
    tree: Path, json_path: Path, files: Sequence[str], bench: str | None
) -> dict[str, Figure]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-m",
        "bench",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "--benchmark-max-time=0.5",
        f"--benchmark-json={json_path}",
        *files,
    ]
    if bench:
        command += ["-k", bench]
    result = subprocess.run(
        command, cwd=tree, env=environment(tree), capture_output=True, text=True, check=False
    )
    if not json_path.exists():
        raise SystemExit(f"{tree}: pytest wrote no benchmark JSON\n{result.stdout[-2000:]}")
    return baseline.figures_of(json.loads(json_path.read_text()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tests/bench/compare.py", description=__doc__)
    parser.add_argument("--base", required=True, help="a git ref: main, HEAD~2, a commit")
    parser.add_argument("--head", type=Path, default=REPO, help="default: this working tree")
    parser.add_argument("--bench", help="pytest -k expression choosing the benchmarks")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "files",
        nargs="*",
        default=list(DEFAULT_FILES),
        help="benchmark files, relative to each tree",
    )
    args = parser.parse_args(argv)
    if args.rounds < 2:
        parser.error("--rounds must be 2 or more: the noise is measured between rounds")
    with tempfile.TemporaryDirectory(prefix="flowrun-compare-") as name:
        folder = Path(name)
        sides = {"base": export(args.base, folder), "head": args.head.resolve()}
        for tree in sides.values():
            check_imports(tree)
        runs: dict[str, list[dict[str, Figure]]] = {"base": [], "head": []}
        for index in range(args.rounds):
            order = ("base", "head") if index % 2 == 0 else ("head", "base")
            for side in order:
                json_path = folder / f"{side}-{index}.json"
                runs[side].append(run_side(sides[side], json_path, args.files, args.bench))
            print(f"round {index + 1}/{args.rounds} done ({' then '.join(order)})", flush=True)
    rows = rows_of(runs["base"], runs["head"])
    head = "working tree" if args.head.resolve() == REPO else str(args.head)
    print("\n".join(table(rows, args.base, head)))
    slower = [row.name for row in rows if row.beyond_noise and row.change > 0]
    print(
        f"\n{len(slower)} of {len(rows)} figures slower beyond the noise"
        f" ({NOISE_FACTOR:g} x the largest spread between rounds)"
    )
    return 1 if slower else 0


if __name__ == "__main__":
    raise SystemExit(main())
