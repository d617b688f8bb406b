"""`flowrun top` in a real terminal: tmux (80x24, its own server socket) runs it on a live
SDK pipeline; the pane is read back with `capture-pane`. The numbers change between
frames, a component killed with kill -9 shows its restart, and `q` quits.

Each test runs its own tmux server (`tmux -L <unique name>`) and kills it at the end, so
nothing is left behind, and parallel workers never share one.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.reload_harness import edit
from fixtures.runner_harness import FLOWRUN, Pipeline, clean_environ
from polling import wait_for

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sdk"
NAMES = ("ids", "squares", "files")
TMUX_TIMEOUT_SECONDS = 10.0


class Tmux:
    """One tmux server of our own, one session in it."""

    def __init__(self) -> None:
        self.socket = f"flowrun-top-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.session = "top"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-u", "-f", "/dev/null", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=TMUX_TIMEOUT_SECONDS,
            check=check,
            env=clean_environ(),
        )

    def start(self, command: list[str]) -> None:
        self.run(
            "new-session", "-d", "-s", self.session, "-x", "80", "-y", "24", shlex.join(command)
        )

    def capture(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session).stdout

    def alive(self) -> bool:
        return self.run("has-session", "-t", self.session, check=False).returncode == 0

    @property
    def socket_path(self) -> Path:
        folder = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        return folder / self.socket

    def kill_server(self) -> None:
        """The server and its socket file: tmux leaves the file behind."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.run("kill-server", check=False)
        self.socket_path.unlink(missing_ok=True)


@pytest.fixture(name="tmux")
def tmux_server() -> Iterator[Tmux]:
    tmux = Tmux()
    yield tmux
    tmux.kill_server()


def _rows(frame: str) -> dict[str, list[str]]:
    """The cells of each component's row in a frame (names are short: never cut)."""
    rows = {}
    for line in frame.splitlines():
        cells = line.split()
        if cells and cells[0] in NAMES and len(cells) >= 12:
            rows[cells[0]] = cells
    return rows if len(rows) == len(NAMES) else {}


def _sdk_pipeline(tmp_path: Path, pipelines: list[Pipeline]) -> Pipeline:
    folder = tmp_path / "sdk"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("data", ".flowrun"))
    spec = folder / "pipeline.yaml"

    def change(body: dict[str, object]) -> None:
        components = body["components"]
        assert isinstance(components, dict)
        components["ids"]["config"].update(rate=300, count=0)
        for entry in components.values():
            entry["health_port"] = 0  # the SDK's /metrics: the counters top reads

    edit(spec, change)
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    started = pipeline.up()
    assert started.returncode == 0, started.stdout + started.stderr
    return pipeline


def test_top_live_in_tmux(tmp_path: Path, pipelines: list[Pipeline], tmux: Tmux) -> None:
    pipeline = _sdk_pipeline(tmp_path, pipelines)
    tmux.start([*FLOWRUN, "top", str(pipeline.spec), "--interval", "0.5"])

    def flowing() -> dict[str, list[str]] | None:
        rows = _rows(tmux.capture())
        # IN/s is the 6th cell: a number once two samples of the counters are known.
        return rows if rows and rows["files"][5] not in ("-", "0") else None

    first = wait_for(flowing, 60, "top to show the sink's rows per second")
    assert first["ids"][5] == "-" and first["ids"][1] == "run"  # a source reads nothing
    second = wait_for(
        lambda: (rows := flowing()) and rows != first and rows, 30, "a frame with new numbers"
    )
    assert second["files"][3] != first["files"][3] or second["files"][5] != first["files"][5]

    victim = pipeline.component("squares")["pid"]
    os.kill(victim, signal.SIGKILL)
    restarted = wait_for(
        lambda: (rows := _rows(tmux.capture())) and rows["squares"][4] != "0" and rows,
        60,
        f"top to show squares restarted after kill -9 of {victim}",
    )
    assert restarted["squares"][4] == "1"
    wait_for(
        lambda: (rows := _rows(tmux.capture())) and rows["squares"][2] != str(victim),
        60,
        "the new pid of squares",
    )

    tmux.run("send-keys", "-t", tmux.session, "q")
    wait_for(lambda: not tmux.alive(), 15, "flowrun top to exit on q")
