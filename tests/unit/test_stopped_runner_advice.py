"""The advice for a runner that holds its state but does not answer: a stuck one is told
to be killed; a stopped one (SIGSTOP, state T) is not, since SIGTERM stays pending on it,
but told to be continued (`kill -CONT`) or killed with `kill -9`.

A real process stands in for the runner: it takes the state directory's lock, records
itself with an admin address it listens on and never answers, and is stopped by the test,
by its pid, with SIGSTOP; it is continued and ended in a `finally`. `status`, `health`
and `down` run in this process through `flowrun.cli.main.main`, with a short probe
timeout, so their exit codes are the ones a shell sees.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flowrun.cli import inspect_commands, runtime_commands
from flowrun.cli.main import main
from flowrun.daemon.admin import process_stopped, unanswered_advice
from polling import wait_for

pytestmark = pytest.mark.timeout(30)

PROBE_SECONDS = 0.3
# A runner that holds its lock and its admin port, and never answers on it.
SILENT_RUNNER = """
import os, socket, sys, time
from pathlib import Path
from flowrun.daemon.state_dir import RunnerInfo, StateDir

spec = Path(sys.argv[1])
state = StateDir.for_spec(spec)
lock = state.acquire(spec)
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(16)
admin = "127.0.0.1:%d" % server.getsockname()[1]
state.write_info(RunnerInfo(os.getpid(), admin, "token", time.time(), str(spec), None))
print("ready", flush=True)
time.sleep(120)
"""


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLOWRUN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(inspect_commands, "PROBE_TIMEOUT_SECONDS", PROBE_SECONDS)
    monkeypatch.setattr(runtime_commands, "PROBE_TIMEOUT_SECONDS", PROBE_SECONDS)
    path = tmp_path / "pipeline.yaml"
    path.write_text("apiVersion: flowctl/v1\n")  # never read: a runner serves it
    return path


@pytest.fixture
def runner(spec: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", SILENT_RUNNER, str(spec)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        yield process
    finally:
        os.kill(process.pid, signal.SIGCONT)  # by pid: only the process this test started
        process.kill()
        process.wait(timeout=10)


def _flowrun(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str]:
    """Exit code and output (both streams) of `flowrun ARGS`, as main() ends it."""
    monkeypatch.setattr(sys, "argv", ["flowrun", *args])
    with pytest.raises(SystemExit) as ended:
        main()
    out = capsys.readouterr()
    return int(ended.value.code or 0), out.out + out.err


def test_a_runner_that_runs_but_does_not_answer_is_told_to_be_killed(
    spec: Path,
    runner: subprocess.Popen[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not process_stopped(runner.pid)
    code, output = _flowrun(capsys, monkeypatch, "status", str(spec))

    assert code == 1
    assert f"the runner (pid {runner.pid}) does not answer" in output
    assert f"it may be stuck; `flowrun down` cannot reach it, stop it with: kill {runner.pid}" in (
        output
    )
    assert "kill -CONT" not in output


def test_a_stopped_runner_is_told_to_be_continued_or_killed_with_9(
    spec: Path,
    runner: subprocess.Popen[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pid = runner.pid
    os.kill(pid, signal.SIGSTOP)
    wait_for(lambda: process_stopped(pid), 10, "the runner stand-in stopped")

    answers = {
        command: _flowrun(capsys, monkeypatch, command, str(spec))
        for command in ("status", "health", "down")
    }

    assert {command: code for command, (code, _) in answers.items()} == {
        "status": 1,
        "health": 2,  # unhealthy: the runner does not answer
        "down": 1,
    }
    for _, output in answers.values():
        assert f"the runner (pid {pid}) does not answer" in output
        assert "its process is stopped (state T" in output
        assert f"kill -CONT {pid}" in output and f"kill -9 {pid}" in output
        assert "stop it with: kill" not in output  # SIGTERM would stay pending


def test_a_process_that_is_gone_or_running_is_not_stopped() -> None:
    assert not process_stopped(os.getpid())
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=10)
    assert not process_stopped(gone.pid)  # reaped: no such process
    assert unanswered_advice(gone.pid).endswith(f"stop it with: kill {gone.pid}")
