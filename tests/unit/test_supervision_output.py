"""Component output: the shared console (prefixes, colour, a slow terminal costs dropped
lines and never a blocked caller), one component's OutputStream (lines, secrets, tail,
rate limit) and the rotated log file."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flowrun.supervision.output import (
    CONSOLE_QUEUE_ITEMS,
    MAX_PENDING_LINE,
    RATE_BURST_BYTES,
    RECENT_BYTES,
    Console,
    EventLog,
    OutputStream,
    RotatingLogFile,
    colour_wanted,
    json_line,
)

pytestmark = pytest.mark.timeout(10)


class GatedTerminal(io.StringIO):
    """A terminal nobody reads: a write blocks until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = threading.Event()
        self.gate = threading.Event()

    def write(self, text: str) -> int:
        self.writing.set()
        self.gate.wait(5)
        return super().write(text)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class FakeTransport(asyncio.ReadTransport):
    def __init__(self) -> None:
        super().__init__()
        self.paused = 0
        self.resumed = 0

    def pause_reading(self) -> None:
        self.paused += 1

    def resume_reading(self) -> None:
        self.resumed += 1

    def is_closing(self) -> bool:
        return False


def printed(console: Console, stream: io.StringIO) -> list[str]:
    console.close()
    return stream.getvalue().splitlines()


def lossless_console(names: list[str], *, colour: bool = False) -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    return Console(stream, colour=colour, names=names, lossless=True), stream


def test_every_line_gets_its_components_prefix_aligned_on_the_longest_name() -> None:
    console, stream = lossless_console(["src", "processor"])

    console.lines("src", "hello\nworld")
    console.lines("processor", "batch 1")
    console.lines("stranger", "hi")
    console.event("src: ready")

    assert printed(console, stream) == [
        "src       | hello",
        "src       | world",
        "processor | batch 1",
        "stranger  | hi",
        "flowrun   | src: ready",
    ]


def test_colour_gives_each_component_its_own_and_the_runner_bold() -> None:
    console, stream = lossless_console(["src", "sink"], colour=True)

    console.lines("src", "a")
    console.lines("sink", "b")
    console.event("c")

    assert printed(console, stream) == [
        "\x1b[36msrc     | \x1b[0ma",
        "\x1b[33msink    | \x1b[0mb",
        "\x1b[1mflowrun | \x1b[0mc",
    ]


def test_new_names_after_a_reload_realign_the_prefixes() -> None:
    console, stream = lossless_console(["src"])
    console.set_names(["src", "a-much-longer-name"])

    console.lines("src", "x")

    assert printed(console, stream) == ["src                | x"]


@pytest.mark.parametrize(
    ("environ", "stream", "wanted"),
    [
        ({}, Terminal(), True),
        ({}, io.StringIO(), False),
        ({"NO_COLOR": "1"}, Terminal(), False),
        ({"FORCE_COLOR": "1"}, io.StringIO(), True),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, Terminal(), False),
        ({"FORCE_COLOR": "0"}, io.StringIO(), False),
        ({"NO_COLOR": ""}, Terminal(), True),
    ],
)
def test_colour_follows_the_terminal_no_color_and_force_color(
    environ: dict[str, str], stream: io.StringIO, wanted: bool
) -> None:
    assert colour_wanted(stream, environ) is wanted


def test_no_color_refuses_colour_whatever_the_environment() -> None:
    assert colour_wanted(Terminal(), {"FORCE_COLOR": "1"}, refused=True) is False


def test_the_json_console_prints_one_object_per_line() -> None:
    stream = io.StringIO()
    console = Console(stream, colour=True, names=["src"], lossless=True, log_format="json")
    console.lines("src", "first\nsecond")
    console.event("src: ready in 0.5s")

    records = [json.loads(line) for line in printed(console, stream)]
    assert [(r["component"], r["stream"], r["message"]) for r in records] == [
        ("src", "output", "first"),
        ("src", "output", "second"),
        ("flowrun", "event", "src: ready in 0.5s"),
    ]
    assert all(list(r) == ["time", "component", "stream", "message"] for r in records)
    assert records[0]["time"].endswith("Z") and "\x1b[" not in stream.getvalue()


def test_a_json_line_has_the_utc_time_to_the_millisecond() -> None:
    record = json.loads(json_line("src", "output", "x", epoch=1_700_000_000.25))
    assert record["time"] == "2023-11-14T22:13:20.250Z"


def test_a_blocked_terminal_drops_lines_says_how_many_and_never_blocks_the_caller() -> None:
    terminal = GatedTerminal()
    console = Console(terminal, colour=False, names=["src"])
    console.lines("src", "first")
    assert terminal.writing.wait(2)  # the writer thread is now stuck in the terminal

    began = time.monotonic()
    for index in range(CONSOLE_QUEUE_ITEMS + 25):
        console.lines("src", f"line {index}")
    assert time.monotonic() - began < 0.25  # the queue filled; the rest were dropped at once

    terminal.gate.set()
    last_kept = f"src     | line {CONSOLE_QUEUE_ITEMS - 1}\n"
    deadline = time.monotonic() + 2
    while last_kept not in terminal.getvalue():
        assert time.monotonic() < deadline, "the console did not catch up"
        time.sleep(0.001)
    console.lines("src", "after")

    lines = printed(console, terminal)
    assert lines[0] == "src     | first" and lines[-3] == last_kept.rstrip("\n")
    assert lines[-2] == (
        "flowrun | 25 lines of src dropped: the console is too slow (all are in its log file)"
    )
    assert lines[-1] == "src     | after"


def test_a_terminal_that_fails_does_not_stop_the_console() -> None:
    class Flaky(io.StringIO):
        failures = 1

        def write(self, text: str) -> int:
            if self.failures:
                self.failures -= 1
                raise OSError("terminal gone")
            return super().write(text)

    stream = Flaky()
    console = Console(stream, colour=False, names=["src"], lossless=True)
    console.lines("src", "lost")
    console.lines("src", "kept")

    assert printed(console, stream) == ["src     | kept"]


def output_stream(tmp_path: Path, console: Console | None = None) -> OutputStream:
    return OutputStream("src", RotatingLogFile(tmp_path / "src.log"), console)


def test_output_reaches_the_console_in_whole_lines_and_the_file_byte_for_byte(
    tmp_path: Path,
) -> None:
    stream = io.StringIO()
    console = Console(stream, colour=False, names=["src"], lossless=True, runner_lines=False)
    output = output_stream(tmp_path, console)

    output.feed(b"par")
    output.feed(b"tial\nsecond\nthi")
    output.feed(b"x" * (MAX_PENDING_LINE + 1))  # a line this long is printed, not held
    output.feed(b"\nlast words")
    output.close()  # the process ended: what is pending is printed too

    long_line = "thi" + "x" * (MAX_PENDING_LINE + 1)
    assert printed(console, stream) == [
        "src | partial",
        "src | second",
        f"src | {long_line}",
        "src | last words",
    ]
    written = (tmp_path / "src.log").read_bytes()
    assert written == b"partial\nsecond\nthi" + b"x" * (MAX_PENDING_LINE + 1) + b"\nlast words"


def test_secret_values_are_masked_even_when_split_across_reads(tmp_path: Path) -> None:
    stream = io.StringIO()
    console = Console(stream, colour=False, names=["src"], lossless=True, runner_lines=False)
    output = output_stream(tmp_path, console)
    output.redact.use(["hunter2-secret"])

    output.feed(b"login password=hunter2-")
    output.feed(b"secret ok\n")
    output.close()

    assert printed(console, stream) == ["src | login password=*** ok"]
    assert (tmp_path / "src.log").read_text() == "login password=*** ok\n"
    assert output.tail_text() == "login password=*** ok"


def test_the_tail_is_the_last_lines_within_a_bounded_memory(tmp_path: Path) -> None:
    output = output_stream(tmp_path)
    assert output.tail_text() == ""

    output.feed(b"".join(f"line {index}\n".encode() for index in range(15)))

    assert output.tail_text() == "\n".join(f"line {index}" for index in range(5, 15))
    assert output.tail_text(lines=2) == "line 13\nline 14"
    output.feed(b"y" * (3 * RECENT_BYTES))
    assert len(output.tail_text()) == RECENT_BYTES
    output.close()


def test_a_flood_pauses_the_pipe_for_a_moment_then_resumes_it(tmp_path: Path) -> None:
    async def scenario() -> tuple[FakeTransport, int]:
        output = OutputStream("src", RotatingLogFile(tmp_path / "src.log"), None, rate=100_000_000)
        transport = FakeTransport()
        output.attach(transport)
        output.feed(b"z" * (RATE_BURST_BYTES + 10_000))  # 10 kB over: 0.1 ms at this rate
        assert transport.paused == 1 and transport.resumed == 0
        deadline = asyncio.get_running_loop().time() + 1
        while not transport.resumed:
            assert asyncio.get_running_loop().time() < deadline, "never resumed"
            await asyncio.sleep(0.001)
        output.close()
        return transport, output.throttled_times

    transport, throttled_times = asyncio.run(scenario())
    assert (transport.paused, transport.resumed, throttled_times) == (1, 1, 1)


def test_the_log_file_rotates_by_size_and_keeps_the_given_backups(tmp_path: Path) -> None:
    log = RotatingLogFile(tmp_path / "src.log", max_bytes=10, backups=2)
    for letter in "abcd":
        log.write(f"{letter * 7}\n".encode())
    log.close()

    kept = {path.name: path.read_text() for path in sorted(tmp_path.glob("src.log*"))}
    index = kept.pop("src.log.idx")
    assert kept == {"src.log": "ddddddd\n", "src.log.1": "ccccccc\n", "src.log.2": "bbbbbbb\n"}
    assert index.split()[1::2] == ["0"]  # the index restarted with the current file


def test_a_rotation_that_cannot_happen_goes_on_in_the_open_file(tmp_path: Path) -> None:
    """The state directory gone for a moment (a deploy swapping the spec folder): the
    rotation fails, and the output must go on, not raise into the pipe reader (which would
    stop reading and block the component). Once the folder is back, it rotates."""
    folder = tmp_path / "logs"
    folder.mkdir()
    log = RotatingLogFile(folder / "src.log", max_bytes=10, backups=2)
    log.write(b"aaaaaaa\n")
    moved = tmp_path / "moved"
    folder.rename(moved)

    log.write(b"bbbbbbb\n")  # past max_bytes, and nowhere to rotate to: no error

    folder.mkdir()
    log.write(b"ccccccc\n")
    log.write(b"ddddddd\n")
    log.close()
    assert (moved / "src.log").read_text() == "aaaaaaa\nbbbbbbb\n"
    kept = {path.name: path.read_text() for path in folder.glob("src.log*")}
    assert kept.pop("src.log.idx")
    assert kept == {"src.log": "ddddddd\n", "src.log.1": "ccccccc\n"}


def test_the_runners_own_log_rotates_by_size_and_keeps_the_given_backups(tmp_path: Path) -> None:
    """It grew without bound: months of a component crashing now and then, each restart
    quoting the end of its log."""
    events = EventLog(tmp_path / "runner.log", None, max_bytes=64, backups=2)
    for letter in "abcd":
        events(letter * 7)  # 32 bytes with the time stamp: two to a file
    events.close()

    kept = {path.name: path.read_text().splitlines() for path in tmp_path.glob("runner.log*")}
    assert set(kept) == {"runner.log", "runner.log.1"}
    assert [line[24:] for line in kept["runner.log.1"]] == ["aaaaaaa", "bbbbbbb"]
    assert [line[24:] for line in kept["runner.log"]] == ["ccccccc", "ddddddd"]


ROTATING_DETACHED_RUNNER = """
import os, sys
from pathlib import Path
from flowrun.supervision.output import EventLog

log = Path(sys.argv[1])
handle = open(log, "ab", buffering=0)
os.dup2(handle.fileno(), 1)  # what detach.py does: the runner's stdout is its log
os.dup2(handle.fileno(), 2)
events = EventLog(log, None, max_bytes=100, backups=3)
for number in range(6):
    events(f"line {number}")
print("a traceback", flush=True)
"""


def test_a_detached_runners_own_output_follows_the_rotation(tmp_path: Path) -> None:
    log = tmp_path / "runner.log"
    subprocess.run(
        [sys.executable, "-c", ROTATING_DETACHED_RUNNER, str(log)], check=True, timeout=30
    )
    assert log.read_text().splitlines()[-1] == "a traceback"
    assert "a traceback" not in log.with_name("runner.log.1").read_text()
