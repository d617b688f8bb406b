"""`python -m flowrun.runtime SPEC [--profile P]`: the detached runner `up -d` starts.

Its output goes to the state directory's runner.log (the parent arranged that); an error
is written there too, where `up -d` reads it back.
"""

from __future__ import annotations

import argparse
import sys

from flowrun.errors import FlowrunError
from flowrun.runtime.launch import run_runner
from flowrun.runtime.state import StateDir
from flowrun.spec.loader import load_spec


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m flowrun.runtime")
    parser.add_argument("spec")
    parser.add_argument("--profile", default=None)
    arguments = parser.parse_args(argv)
    try:
        loaded = load_spec(arguments.spec, arguments.profile)
        run_runner(loaded, StateDir.for_spec(loaded.path), foreground=False)
    except FlowrunError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
