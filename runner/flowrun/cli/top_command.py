"""`flowrun top SPEC`: every component of the running pipeline, live, in the terminal.

It reads the runner's `GET /top` (the same JSON other tools read, docs/operations.md) each
`--interval`, and draws it full screen with rich (alternate screen: the shell's scrollback
is left as it was). Keys: q quit, up/down select, r restart the selected component (asks
first; through the runner's `POST /restart`, as `flowrun restart` does), l its log tail,
s the next sort order. `--once` prints one frame for scripts, `--json` the JSON itself.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from flowrun.cli.params import SPEC_ARGUMENT
from flowrun.errors import NotRunningError, RunnerError

__all__ = ["COMMANDS"]

FETCH_TIMEOUT_SECONDS = 10.0
RESTART_TIMEOUT_SECONDS = 1800.0
HEADER_AND_FOOTER_LINES = 8


@dataclass
class _Session:
    """The connection to one runner and the state directory its logs are in."""

    info: Any
    state: Any

    def view(self) -> Any:
        from flowrun.daemon import admin
        from flowrun.daemon.top_types import TopView

        answer = admin.call(self.info, "GET", "/top", timeout_seconds=FETCH_TIMEOUT_SECONDS)
        return TopView.from_json(answer)


def _session(spec: Path) -> _Session:
    from flowrun.daemon.state_dir import StateDir

    state = StateDir.for_spec(spec)
    return _Session(state.live_info(spec), state)


@click.command("top")
@SPEC_ARGUMENT
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=1.0,
    show_default=True,
    help="Seconds between refreshes.",
)
@click.option("--once", is_flag=True, help="Print one frame (no full screen) and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON of GET /top once.")
@click.option("--no-color", is_flag=True, help="No colour (also: NO_COLOR=1).")
def top(spec: Path, interval: float, once: bool, as_json: bool, no_color: bool) -> None:
    """Watch the running pipeline live: state, rates, load, throttle, lag, memory, CPU."""
    from rich.console import Console

    from flowrun.supervision.output import colour_wanted

    session = _session(spec)
    session.view()  # the rates need two samples: this one is the first
    no_colour = not colour_wanted(sys.stdout, refused=no_color)
    if once or as_json:
        time.sleep(interval)
        view = session.view()
        if as_json:
            from flowrun.cli.runtime_commands import json_text

            click.echo(json_text(view.to_json()))
            return
        _print_once(view, Console(no_color=no_colour))
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise RunnerError(
            "flowrun top draws on a terminal: run it in one, or use --once (one frame) "
            "or --json for scripts"
        )
    _Live(session, Console(no_color=no_colour, highlight=False), interval).run()


def _print_once(view: Any, console: Any) -> None:
    from flowrun.cli.top_frame import Screen, render_frame

    screen = Screen(interactive=False)
    console.print(render_frame(view, screen, width=console.width, unicode=_unicode(console)))


def _unicode(console: Any) -> bool:
    return str(console.encoding).lower().startswith("utf")


class _Live:
    """The full-screen loop: draw, wait for a key until the next refresh, act on it."""

    def __init__(self, session: _Session, console: Any, interval: float) -> None:
        from flowrun.cli.top_frame import Screen

        self.session = session
        self.console = console
        self.interval = interval
        self.screen = Screen()
        self.view = session.view()
        self._restarting: threading.Thread | None = None

    def run(self) -> None:
        from rich.live import Live

        from flowrun.cli.top_keys import cbreak, read_key

        fd = sys.stdin.fileno()
        with cbreak(fd), Live(console=self.console, screen=True, auto_refresh=False) as live:
            while True:
                self._draw(live)
                deadline = time.monotonic() + self.interval
                while (key := read_key(fd, deadline - time.monotonic())) is not None:
                    if not self._act(key):
                        return
                    self._draw(live)
                self._refresh()

    def _draw(self, live: Any) -> None:
        from flowrun.cli.top_frame import render_frame

        if self.screen.log_of is not None:
            self._read_log()
        frame = render_frame(
            self.view, self.screen, width=self.console.width, unicode=_unicode(self.console)
        )
        live.update(frame, refresh=True)

    def _refresh(self) -> None:
        try:
            self.view = self.session.view()
        except NotRunningError:
            raise
        except RunnerError as e:  # a slow answer: keep the last frame, say why
            self.screen.message = f"refresh failed: {e}"

    def _read_log(self) -> None:
        from flowrun.daemon.logread import tail_lines

        name = self.screen.log_of or ""
        room = max(self.console.height - HEADER_AND_FOOTER_LINES, 1)
        self.screen.log_lines = tail_lines(self.session.state.log_file(name), room)

    def _act(self, key: str) -> bool:
        """Act on one key; False to quit."""
        from flowrun.cli.top_frame import move_selection

        screen = self.screen
        if screen.question:
            if key in ("y", "Y"):
                self._restart(screen.selected or "")
            else:
                screen.message = "restart cancelled"
            screen.question = ""
            return True
        if key in ("q", "Q", "eof"):
            return False
        if key in ("up", "k", "down", "j"):
            move_selection(self.view, screen, -1 if key in ("up", "k") else 1)
        elif key == "s":
            screen.next_sort()
        elif key == "l":
            screen.log_of = None if screen.log_of is not None else screen.selected
        elif key == "escape":
            screen.log_of = None
        elif key == "r" and screen.selected:
            if self._restarting is not None and self._restarting.is_alive():
                screen.message = "a restart is still running"
            else:
                screen.question = f"restart {screen.selected}? y/n"
        return True

    def _restart(self, name: str) -> None:
        """Through the runner's POST /restart, on a thread: the screen keeps refreshing
        while the component stops and gets ready again."""
        self.screen.message = f"restarting {name}..."

        def restart() -> None:
            from flowrun.daemon import admin
            from flowrun.daemon.status_types import RestartReport

            try:
                answer = admin.call(
                    self.session.info,
                    "POST",
                    "/restart",
                    {"components": [name]},
                    timeout_seconds=RESTART_TIMEOUT_SECONDS,
                )
                self.screen.message = "; ".join(RestartReport.from_json(answer).lines())
            except RunnerError as e:
                self.screen.message = f"restart of {name} failed: {e}"

        self._restarting = threading.Thread(target=restart, name="top-restart", daemon=True)
        self._restarting.start()


COMMANDS: list[click.Command] = [top]
