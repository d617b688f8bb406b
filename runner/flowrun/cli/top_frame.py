"""One frame of `flowrun top`, drawn with rich from a `TopView` and what the user chose
(selection, sort order, a question or a message, the log tail).

Pure rendering: no terminal, no network. The same frame serves the live screen and
`--once`; it fits 80 columns (the name column takes what the numbers leave, and the
selected component's full name and note are on the line under the table).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from flowrun.cli.top_format import (
    load_bar,
    short_bytes,
    short_count,
    short_percent,
    short_state,
    short_throttle,
)
from flowrun.daemon.status_table import format_duration
from flowrun.daemon.top_types import ComponentTop, TopView

NAME_MIN_WIDTH = 8
# (header, width, right-aligned): the columns after NAME.
COLUMNS = (
    ("STATE", 5, False),
    ("PID", 7, True),
    ("UP", 5, True),
    ("RST", 3, True),
    ("IN/s", 5, True),
    ("OUT/s", 5, True),
    ("LOAD", 8, False),
    ("THR", 5, True),
    ("LAG", 4, True),
    ("MEM", 4, True),
    ("CPU", 4, True),
)
STATE_STYLES = {
    "running": "green",
    "starting": "yellow",
    "backoff": "red",
    "failed": "bold red",
    "stopped": "dim",
}
KEYS_HELP = "q quit  ↑↓ select  r restart  l log  s sort"
KEYS_HELP_ASCII = "q quit  up/down select  r restart  l log  s sort"


def _descending(value: Callable[[ComponentTop], float | None]) -> Callable[[ComponentTop], float]:
    return lambda c: -(value(c) or 0.0)


SORTS: dict[str, Callable[[ComponentTop], object] | None] = {
    "graph": None,
    "name": lambda c: c.name,
    "in/s": _descending(lambda c: c.in_per_second),
    "out/s": _descending(lambda c: c.out_per_second),
    "load": _descending(lambda c: c.load),
    "cpu": _descending(lambda c: c.cpu_percent),
    "mem": _descending(lambda c: c.memory_bytes),
}


@dataclass
class Screen:
    """What the user chose, kept between frames."""

    selected: str | None = None
    """The selected component's name (kept when the order changes)."""
    sort: str = "graph"
    question: str = ""
    message: str = ""
    log_of: str | None = None
    log_lines: list[str] = field(default_factory=list)
    interactive: bool = True

    def next_sort(self) -> None:
        names = list(SORTS)
        self.sort = names[(names.index(self.sort) + 1) % len(names)]


def sorted_rows(view: TopView, sort: str) -> list[ComponentTop]:
    key = SORTS.get(sort)
    rows = list(view.components)
    return rows if key is None else sorted(rows, key=key)  # type: ignore[arg-type]


def _header(view: TopView) -> list[Text]:
    controller, flow = view.controller, view.flow_control
    reach = "" if controller.answers else " UNREACHABLE"
    pressure = Text(flow.backpressure_word, style="bold yellow" if flow.backpressure_active else "")
    return [
        Text.assemble(
            (view.pipeline, "bold"),
            f"  rev {view.revision}  profile {view.profile or '-'}  ",
            f"runner {view.runner_pid} {view.phase} {format_duration(view.runner_uptime_seconds)}",
        ),
        Text(
            f"controller {controller.mode_and_endpoint}{reach}  "
            f"registered {view.registered}/{len(view.components)}"
        ),
        Text.assemble(
            f"policy on at {flow.activate_at:g} off below {flow.deactivate_at:g} "
            f"throttle {flow.throttle_rate:g}  backpressure ",
            pressure,
        ),
    ]


def _load_style(load: float | None, view: TopView) -> str:
    if load is None:
        return ""
    if load >= view.flow_control.activate_at:
        return "red"
    return "yellow" if load >= view.flow_control.deactivate_at else "green"


def fit_name(name: str, width: int) -> str:
    """The name in `width` characters: its start and its end around an ellipsis, which
    tells apart names sharing a prefix (`stellar…source`, `stellar…sink`)."""
    if len(name) <= width:
        return name
    tail = (width - 1) // 2
    return f"{name[: width - 1 - tail]}…{name[len(name) - tail :]}"


def _cells(c: ComponentTop, view: TopView, unicode: bool, name_width: int) -> list[Text]:
    throttle_style = "yellow" if c.backpressure or (c.throttle_rate or 1.0) < 1.0 else ""
    return [
        Text(fit_name(c.name, name_width)),
        Text(short_state(c.state), style=STATE_STYLES.get(c.state, "")),
        Text(str(c.pid) if c.pid is not None else "-"),
        Text(format_duration(c.uptime_seconds)),
        Text(str(c.restarts), style="red" if c.restarts else ""),
        Text(short_count(c.in_per_second)),
        Text(short_count(c.out_per_second)),
        Text(load_bar(c.load, unicode=unicode), style=_load_style(c.load, view)),
        Text(short_throttle(c.throttle_rate, c.backpressure), style=throttle_style),
        Text(short_count(c.lag)),
        Text(short_bytes(c.memory_bytes)),
        Text(short_percent(c.cpu_percent)),
    ]


def _table(
    view: TopView, rows: list[ComponentTop], screen: Screen, width: int, unicode: bool
) -> Table:
    # Every column but the last is followed by one space of padding.
    fixed = sum(w for _, w, _ in COLUMNS) + len(COLUMNS)
    name_width = max(
        NAME_MIN_WIDTH, min(width - fixed, max((len(c.name) for c in rows), default=4))
    )
    table = Table(box=None, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold")
    table.add_column("NAME", width=name_width, no_wrap=True)
    for header, column_width, right in COLUMNS:
        table.add_column(
            header, width=column_width, no_wrap=True, justify="right" if right else "left"
        )
    for c in rows:
        chosen = screen.interactive and c.name == screen.selected
        table.add_row(*_cells(c, view, unicode, name_width), style="reverse" if chosen else None)
    return table


def _selected_line(rows: list[ComponentTop], screen: Screen) -> Text:
    chosen = next((c for c in rows if c.name == screen.selected), None)
    if chosen is None:
        return Text("")
    lag = f"  lag {short_count(chosen.lag)} {chosen.lag_unit or ''}".rstrip() if chosen.lag else ""
    health = f"  {chosen.health}" if chosen.health else ""
    note = f"  {chosen.note}" if chosen.note else ""
    line = f"> {chosen.name} ({chosen.type}, {chosen.state}){health}{lag}{note}"
    return Text(line, no_wrap=True, overflow="ellipsis")


def _footer(screen: Screen, unicode: bool) -> list[Text]:
    lines = []
    if screen.question:
        lines.append(Text(screen.question, style="bold yellow"))
    elif screen.message:
        lines.append(Text(screen.message))
    keys = KEYS_HELP if unicode else KEYS_HELP_ASCII
    lines.append(Text(f"{keys}: {screen.sort}", style="dim"))
    return lines


def render_frame(
    view: TopView, screen: Screen, *, width: int, unicode: bool = True
) -> RenderableType:
    """The whole frame for a terminal `width` columns wide."""
    rows = sorted_rows(view, screen.sort)
    if screen.interactive and rows and screen.selected not in {c.name for c in rows}:
        screen.selected = rows[0].name
    parts: list[RenderableType] = [*_header(view), Text("")]
    if screen.log_of is not None:
        parts.append(Text(f"log of {screen.log_of} (l or Esc: back)", style="bold"))
        parts += [Text(line, no_wrap=True, overflow="ellipsis") for line in screen.log_lines]
    else:
        parts.append(_table(view, rows, screen, width, unicode))
        if screen.interactive:
            parts.append(_selected_line(rows, screen))
    if screen.interactive:
        parts += _footer(screen, unicode)
    return Group(*parts)


def move_selection(view: TopView, screen: Screen, step: int) -> None:
    rows = sorted_rows(view, screen.sort)
    if not rows:
        return
    names = [c.name for c in rows]
    index = names.index(screen.selected) if screen.selected in names else 0
    screen.selected = names[min(max(index + step, 0), len(names) - 1)]
