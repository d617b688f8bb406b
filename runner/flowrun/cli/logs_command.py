"""`flowrun logs`: component logs and the runner's own, read back from the state directory.

The runner's log is named `flowrun`, the prefix its lines have in `flowrun up`: its starts,
exits, restarts and reloads. With no name, the runner's log comes first, then each
component's, prefixed.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from flowrun.cli.cluster_options import cluster_logs, driver_options, kubernetes_driver
from flowrun.cli.params import SPEC_ARGUMENT, Since, complete_log_names
from flowrun.cli.runtime_commands import state_of
from flowrun.errors import RunnerError

if TYPE_CHECKING:
    from flowrun.daemon.state_dir import StateDir


def _chosen_files(state: StateDir, spec: Path, name: str | None) -> dict[str, Path]:
    """{name: log file} to show, the runner's first; RunnerError naming what exists."""
    from flowrun.daemon.logread import RUNNER_LOG_NAME, log_files
    from flowrun.daemon.state_dir import shell_path

    files: dict[str, Path] = {}
    if state.runner_log.exists():
        files[RUNNER_LOG_NAME] = state.runner_log
    files.update(log_files(state.logs_dir))  # a component named flowrun wins the name
    if name is not None:
        if name not in files:
            known = ", ".join(files) or "none yet"
            raise RunnerError(
                f"no log for component '{name}' in {state.logs_dir} (logs: {known}; "
                f"the runner's own is '{RUNNER_LOG_NAME}')"
            )
        return {name: files[name]}
    if not files:
        raise RunnerError(f"no logs yet in {state.root}: has `flowrun up {shell_path(spec)}` run?")
    return files


def reader_gone(stream: TextIO) -> bool:
    """True when `stream` is a pipe or socket whose reading end was closed: poll() says
    POLLERR for it before any write fails (what `tail -f` checks)."""
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return False
    poller = select.poll()
    poller.register(fd, 0)  # errors and hang-ups are reported whatever the mask
    return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))


@click.command("logs")
@SPEC_ARGUMENT
@click.argument("component", required=False, shell_complete=complete_log_names)
@click.option(
    "--follow", "-f", is_flag=True, help="Keep printing new lines while the pipeline runs."
)
@click.option(
    "--tail", "-n", "tail", type=click.IntRange(min=0), default=None, help="Only the last N lines."
)
@click.option(
    "--since",
    type=Since(),
    default=None,
    metavar="DURATION|TIME",
    help="Only lines written since then: 10m, 1h, 2024-05-01T12:00:00, 12:00 (to the second "
    "for component logs); 0s: from now on, so with -f only new lines.",
)
@click.option(
    "--no-color",
    is_flag=True,
    help="No colour in the prefixes (also: NO_COLOR=1; FORCE_COLOR=1 colours even a pipe).",
)
@driver_options
def logs(
    spec: Path,
    component: str | None,
    follow: bool,
    tail: int | None,
    since: float | None,
    no_color: bool,
    driver: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
) -> None:
    """Logs of COMPONENT, or of the runner itself when COMPONENT is `flowrun` (its starts,
    exits, restarts, reloads); all of them, prefixed, when none is named. With --driver
    kubernetes: the logs of the component's pods (of every pod when none is named)."""
    cluster = kubernetes_driver(driver, kubeconfig, context, namespace)
    if cluster is not None:
        cluster_logs(cluster, spec, component, tail=tail, since=since, follow=follow)
        return
    from flowrun.daemon.logread import RUNNER_LOG_NAME, lines_since, tail_lines
    from flowrun.daemon.logread import follow as follow_files
    from flowrun.supervision.output import Console, colour_wanted

    state = state_of(spec)
    files = _chosen_files(state, spec, component)
    console = (
        Console(
            sys.stdout,
            colour=colour_wanted(sys.stdout, refused=no_color),
            names=list(files),
            lossless=True,
            runner_lines=False,
        )
        if len(files) > 1
        else None
    )

    def emit(name: str, line: str) -> None:
        if console is not None:
            if console.reader_gone:
                raise BrokenPipeError(errno.EPIPE, "the reader of the output is gone")
            console.lines(name, line)
        else:
            click.echo(line)

    def keep_following() -> bool:
        # `flowrun logs SPEC -f | head` ends with head, as `tail -f | head` does, not at the
        # next line the pipeline writes (with a quiet one: never, while it runs).
        if reader_gone(sys.stdout) or (console is not None and console.reader_gone):
            raise BrokenPipeError(errno.EPIPE, "the reader of the output is gone")
        return bool(state.is_locked())

    def first_lines(name: str, path: Path) -> list[str]:
        if since is None:
            return tail_lines(path, tail)
        stamped = name == RUNNER_LOG_NAME and path == state.runner_log
        shown = lines_since(path, since, stamped=stamped)
        return shown if tail is None else shown[-tail:] if tail else []

    try:
        for name, path in files.items():
            for line in first_lines(name, path):
                emit(name, line)
        if follow:
            for name, line in follow_files(files, keep_going=keep_following):
                emit(name, line)
    except KeyboardInterrupt:
        pass
    finally:
        if console is not None:
            console.close()


COMMANDS: list[click.Command] = [logs]
