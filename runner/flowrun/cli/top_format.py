"""The short forms `flowrun top` prints numbers in: every cell fits a narrow column, so
the whole table holds in an 80-column terminal."""

from __future__ import annotations

DASH = "-"
BAR_CELLS = 3
STATE_SHORT = {
    "starting": "start",
    "running": "run",
    "backoff": "back",
    "failed": "FAIL",
    "stopped": "stop",
}


def short_count(value: float | None) -> str:
    """At most 5 characters: `0`, `7.5`, `42`, `999`, `1.2k`, `12k`, `1.2M`."""
    if value is None:
        return DASH
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            scaled = value / size
            return f"{scaled:.1f}{unit}" if scaled < 10 else f"{scaled:.0f}{unit}"
    if value == 0:
        return "0"
    return f"{value:.1f}" if abs(value) < 10 else f"{value:.0f}"


def short_bytes(value: int | None) -> str:
    """`812K`, `54M`, `1.2G`: resident memory in at most 4 characters."""
    if value is None:
        return DASH
    for size, unit in ((1 << 40, "T"), (1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")):
        if value >= size:
            scaled = value / size
            return f"{scaled:.1f}{unit}" if scaled < 9.95 else f"{min(scaled, 999):.0f}{unit}"
    return f"{value}B" if value < 1000 else "1K"


def short_percent(value: float | None) -> str:
    """`3.5%`, `42%`, `250%` (several cores): at most 4 characters up to 999%."""
    if value is None:
        return DASH
    return f"{value:.1f}%" if value < 10 else f"{value:.0f}%"


def short_state(state: str) -> str:
    return STATE_SHORT.get(state, state[:5])


def load_bar(load: float | None, *, unicode: bool) -> str:
    """`█▌· 63%`: a bar of BAR_CELLS cells and the percent (ASCII `##. 63%` without
    a UTF-8 terminal); `-` for none."""
    if load is None:
        return DASH
    clamped = min(max(load, 0.0), 1.0)
    eighths = round(clamped * BAR_CELLS * 8)
    if unicode:
        full, part = divmod(eighths, 8)
        partial = " ▏▎▍▌▋▊▉"[part] if part else ""
        bar = ("█" * full + partial).ljust(BAR_CELLS, "·")[:BAR_CELLS]
    else:
        bar = ("#" * round(clamped * BAR_CELLS)).ljust(BAR_CELLS, ".")
    return f"{bar} {min(load, 9.99) * 100:3.0f}%"


def short_throttle(rate: float | None, backpressure: bool | None) -> str:
    """`1.00`, or `0.50!` when backpressure slows the component down."""
    if rate is None and backpressure is None:
        return DASH
    text = DASH if rate is None else f"{rate:.2f}"
    return f"{text}!" if backpressure else text
