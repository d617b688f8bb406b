"""One frame of `flowrun top`, rendered without a terminal: it fits 80 columns, says
everything the issue lists, and keeps the user's selection and sort across frames."""

from __future__ import annotations

import dataclasses
import io
import re

from flowrun.cli.top_format import load_bar, short_bytes, short_count, short_percent
from flowrun.cli.top_frame import Screen, fit_name, move_selection, render_frame
from flowrun.daemon.status_types import ControllerStatus, FlowControlStatus
from flowrun.daemon.top_types import ComponentTop, TopView
from flowrun.spec.model import ControllerMode
from rich.console import Console


def _row(name: str, **values: object) -> ComponentTop:
    defaults: dict[str, object] = {
        "type": "processor",
        "state": "running",
        "pid": 123456,
        "uptime_seconds": 187.0,
        "restarts": 0,
        "inputs": (),
        "in_per_second": 10.0,
        "out_per_second": 228.4,
        "load": 0.13,
        "throttle_rate": 1.0,
        "backpressure": False,
        "lag": None,
        "lag_unit": None,
        "memory_bytes": 151 << 20,
        "cpu_percent": 3.9,
        "health": "healthy",
        "note": "",
    }
    return ComponentTop(name=name, **{**defaults, **values})  # type: ignore[arg-type]


VIEW = TopView(
    pipeline="stellar-ttp",
    profile=None,
    revision="38b0c63cd1df",
    phase="running",
    runner_pid=8357,
    runner_uptime_seconds=3725.0,
    controller=ControllerStatus(ControllerMode.EMBEDDED, "127.0.0.1:39203", True),
    registered=3,
    flow_control=FlowControlStatus(0.8, 0.6, 0.5, backpressure_active=True),
    sampled_at=1_700_000_000.0,
    components=(
        _row("stellar-arrow-source", type="source", in_per_second=None, out_per_second=9.9),
        _row(
            "ttp-arrow-processor",
            inputs=("stellar-arrow-source",),
            load=0.85,
            throttle_rate=0.5,
            backpressure=True,
        ),
        _row(
            "arrow-analytics-sink",
            type="sink",
            state="backoff",
            pid=None,
            restarts=2,
            in_per_second=1234.0,
            out_per_second=None,
            lag=12.0,
            lag_unit="ledgers",
            memory_bytes=None,
            cpu_percent=None,
            note="exited with code 1",
        ),
    ),
)

FRAME_80 = """\
stellar-ttp  rev 38b0c63cd1df  profile -  runner 8357 running 1h02m
controller embedded 127.0.0.1:39203  registered 3/3
policy on at 0.8 off below 0.6 throttle 0.5  backpressure ACTIVE

NAME           STATE     PID    UP RST  IN/s OUT/s LOAD       THR  LAG  MEM  CPU
stellar…source run    123456 3m07s   0     -   9.9 ▍··  13%  1.00    - 151M 3.9%
ttp-arr…cessor run    123456 3m07s   0    10   228 ██▌  85% 0.50!    - 151M 3.9%
arrow-a…s-sink back        - 3m07s   2  1.2k     - ▍··  13%  1.00   12    -    -
"""


def _text(screen: Screen, width: int = 80, unicode: bool = True, view: TopView = VIEW) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(render_frame(view, screen, width=width, unicode=unicode))
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_once_prints_the_whole_pipeline_in_80_columns() -> None:
    text = _text(Screen(interactive=False))
    assert "\n".join(line.rstrip() for line in text.splitlines()) + "\n" == FRAME_80
    assert max(len(line) for line in text.splitlines()) <= 80


def test_the_live_frame_names_the_selected_component_in_full_and_the_keys() -> None:
    screen = Screen()
    lines = _text(screen).splitlines()
    assert screen.selected == "stellar-arrow-source"  # the first row until one is chosen
    move_selection(VIEW, screen, 2)
    lines = [line.rstrip() for line in _text(screen).splitlines()]
    selected = "> arrow-analytics-sink (sink, backoff)  healthy  lag 12 ledgers  exited with co…"
    assert selected in lines  # one line, cut at the terminal's edge
    assert lines[-1] == "q quit  ↑↓ select  r restart  l log  s sort: graph"
    assert all(len(line) <= 80 for line in lines)
    move_selection(VIEW, screen, 5)  # stays on the last row
    assert screen.selected == "arrow-analytics-sink"


def test_sorting_keeps_the_selection_and_a_question_shows_under_the_table() -> None:
    screen = Screen(selected="ttp-arrow-processor")
    screen.next_sort()
    assert screen.sort == "name"
    screen.question = "restart ttp-arrow-processor? y/n"
    lines = [line.rstrip() for line in _text(screen).splitlines()]
    names = [line.split()[0] for line in lines[5:8]]
    assert names == ["arrow-a…s-sink", "stellar…source", "ttp-arr…cessor"]
    assert screen.selected == "ttp-arrow-processor"
    assert "restart ttp-arrow-processor? y/n" in lines


def test_a_wide_terminal_shows_whole_names_and_ascii_without_utf8() -> None:
    text = _text(Screen(interactive=False), width=120, unicode=False)
    assert "stellar-arrow-source run" in text and "###  85%" in text


def test_no_colour_means_no_escape_sequences() -> None:
    console = Console(file=io.StringIO(), width=80, no_color=True, force_terminal=True)
    console.print(render_frame(VIEW, Screen(), width=80))
    codes = set(re.findall(r"\x1b\[([0-9;]*)m", console.file.getvalue()))  # type: ignore[attr-defined]
    # Bold, dim and reverse (the selected row) stay: no colour at all (30-38, 40-48, 90+).
    assert not {
        code for code in codes for part in code.split(";") if part[:1] in "349" and len(part) == 2
    }


def test_the_short_forms_fit_their_columns() -> None:
    assert [short_count(v) for v in (None, 0, 7.46, 42.0, 999.4, 1234.0, 12_345.0, 1.5e6)] == [
        "-",
        "0",
        "7.5",
        "42",
        "999",
        "1.2k",
        "12k",
        "1.5M",
    ]
    assert [short_bytes(v) for v in (None, 512, 812 << 10, 54 << 20, int(1.2 * (1 << 30)))] == [
        "-",
        "512B",
        "812K",
        "54M",
        "1.2G",
    ]
    assert short_percent(3.94) == "3.9%" and short_percent(250.0) == "250%"
    assert load_bar(None, unicode=True) == "-"
    assert load_bar(1.5, unicode=True) == "███ 150%"
    assert load_bar(0.0, unicode=False) == "... 0%".replace("... ", "...   ")
    assert fit_name("stellar-arrow-source", 14) == "stellar…source"
    assert fit_name("short", 14) == "short"


def test_without_a_controller_the_header_neither_alarms_nor_says_backpressure_is_off() -> None:
    disabled = dataclasses.replace(
        VIEW,
        controller=ControllerStatus(ControllerMode.DISABLED, None, False),
        registered=0,
        flow_control=FlowControlStatus(0.8, 0.6, 0.5, backpressure_active=None),
    )
    lines = _text(Screen(interactive=False), view=disabled).splitlines()
    assert lines[1] == "controller disabled  registered 0/3"
    assert lines[2].endswith("backpressure per component")
