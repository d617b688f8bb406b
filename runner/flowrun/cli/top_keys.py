"""Keys from the terminal for `flowrun top`: cbreak mode (no echo, a key at a time), read
with a timeout so the frame refreshes on time when nobody types.

Arrow keys arrive as escape sequences (`ESC [ A`); they become "up" and "down". Works
over SSH: it is the terminal's own byte stream, nothing platform-specific beyond termios.
"""

from __future__ import annotations

import contextlib
import os
import select
import termios
import tty
from collections.abc import Iterator

ESCAPE = "\x1b"
ARROWS = {"A": "up", "B": "down", "C": "right", "D": "left"}
SEQUENCE_WAIT_SECONDS = 0.05


@contextlib.contextmanager
def cbreak(fd: int) -> Iterator[None]:
    """Keys one at a time without echo; the terminal restored on the way out."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _ready(fd: int, timeout_seconds: float) -> bool:
    return bool(select.select([fd], [], [], max(timeout_seconds, 0.0))[0])


def read_key(fd: int, timeout_seconds: float) -> str | None:
    """One key ("q", "up", "escape"...), or None when none came within the timeout."""
    if not _ready(fd, timeout_seconds):
        return None
    first = os.read(fd, 1).decode(errors="replace")
    if first == "":
        return "eof"
    if first != ESCAPE:
        return first
    if not _ready(fd, SEQUENCE_WAIT_SECONDS):
        return "escape"
    rest = os.read(fd, 8).decode(errors="replace")
    if rest[:1] in ("[", "O") and rest[1:2] in ARROWS:
        return ARROWS[rest[1:2]]
    return "escape"
