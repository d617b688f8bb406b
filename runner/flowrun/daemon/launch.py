"""Running the runner: in the foreground of this terminal, or as a detached process,
watching its spec for edits unless told not to."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import warnings
from collections.abc import Mapping

from flowrun.daemon.app import Runner
from flowrun.daemon.pid1 import init_if_process_1
from flowrun.daemon.state_dir import StateDir
from flowrun.spec.loader import LoadedSpec
from flowrun.supervision.open_files import raise_open_files_limit
from flowrun.supervision.output import Console, colour_wanted

# Set to 0/false/no/off to reload only on SIGHUP and `flowrun reload` (deployments that
# want an edit to apply only when they say so); `flowrun up --no-watch` sets it.
WATCH_VARIABLE = "FLOWRUN_WATCH"


def watch_wanted(environ: Mapping[str, str]) -> bool:
    """Whether a runner started with this environment reloads on edits of its spec."""
    return environ.get(WATCH_VARIABLE, "").strip().lower() not in {"0", "false", "no", "off"}


def _watch_children_with_pidfd() -> None:
    """Python 3.11 waits for each child on a thread of its own; a pidfd costs no thread.
    (3.12 does this by itself and deprecates child watchers.)"""
    if sys.version_info >= (3, 12) or not hasattr(asyncio, "PidfdChildWatcher"):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with contextlib.suppress(OSError, NotImplementedError):
            watcher = asyncio.PidfdChildWatcher()
            asyncio.get_event_loop_policy().set_child_watcher(watcher)


def run_runner(
    loaded: LoadedSpec,
    state: StateDir,
    *,
    foreground: bool,
    no_color: bool = False,
    log_format: str = "text",
) -> None:
    """Run the pipeline until it is told to stop; errors are FlowrunErrors for the CLI.
    In the foreground every line goes to this terminal too, as text (`name | line`,
    coloured unless `no_color`) or as JSON objects (`log_format="json"`)."""
    console = None
    if foreground:
        init_if_process_1()  # before any thread starts: it forks
        console = Console(
            sys.stdout,
            colour=log_format == "text" and colour_wanted(sys.stdout, refused=no_color),
            names=list(loaded.body.components),
            log_format=log_format,
        )
    _watch_children_with_pidfd()
    raise_open_files_limit()

    async def main() -> None:
        runner = Runner(
            loaded, state=state, console=console, watch_spec_file=watch_wanted(os.environ)
        )
        await runner.run()

    try:
        asyncio.run(main())
    finally:
        if console is not None:
            console.close()
