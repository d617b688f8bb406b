"""`python -m stellar_arrow_source`: run the source component (settings from the runner's
environment), or `python -m stellar_arrow_source capture DIR --start N --end M [--seed S]`
to store synthetic ledgers as Parquet for the parquet backend."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flowctl.run import run_component

from stellar_arrow_source.generator import GeneratorConfig, SyntheticLedgers
from stellar_arrow_source.parquet_backend import write_ledgers
from stellar_arrow_source.server import StellarArrowSource


def capture(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m stellar_arrow_source capture")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--start", type=int, required=True)
    parser.add_argument("--end", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args(argv)
    if not 1 <= args.start <= args.end:
        parser.error("need 1 <= --start <= --end")
    generator = SyntheticLedgers(GeneratorConfig(seed=args.seed))
    files = write_ledgers(
        args.directory, generator.iter_batches(args.start, args.end, args.batch_size)
    )
    print(f"wrote ledgers {args.start}-{args.end} to {len(files)} files in {args.directory}")
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "capture":
        return capture(sys.argv[2:])
    return run_component(StellarArrowSource)


if __name__ == "__main__":
    raise SystemExit(main())
