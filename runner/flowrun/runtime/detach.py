"""`flowrun up -d`: start the runner in the background and report how the start went.

The runner is started as `python -m flowrun.runtime SPEC` in a session of its own (so
closing the terminal does not stop it), with its output appended to the state
directory's runner.log. This process polls its admin endpoint, prints each component's
progress as it changes, and returns the final status once the start has settled: every
component ready, failed, retrying or waiting for an input that is not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from flowrun.errors import FlowrunError, RunnerError
from flowrun.runtime import admin
from flowrun.runtime.logread import tail_lines
from flowrun.runtime.progress import change_lines
from flowrun.runtime.state import StateDir
from flowrun.spec.loader import LoadedSpec
from flowrun.spec.model import PipelineBody

POLL_SECONDS = 0.05
SLACK_SECONDS = 15.0


def settle_timeout(body: PipelineBody) -> float:
    """Long enough for the slowest chain of start timeouts, with some slack."""
    depth: dict[str, float] = {}

    def chain(name: str) -> float:
        if name not in depth:
            spec = body.components[name]
            depth[name] = spec.start_timeout + max(
                (chain(i) for i in spec.inputs if i in body.components), default=0.0
            )
        return depth[name]

    return max((chain(name) for name in body.components), default=0.0) + SLACK_SECONDS


def start_detached(
    loaded: LoadedSpec, state: StateDir, say: Callable[[str], None]
) -> dict[str, Any]:
    """Start the runner detached; the status once its start settled (RunnerError if it died)."""
    state.ensure()
    if state.is_locked():
        raise state.already_running(loaded.path)
    stale = state.read_info()
    if stale is not None:
        state.remove_info()
        say(f"removed the stale record of runner pid {stale.pid}, which is gone")
    argv = [sys.executable, "-m", "flowrun.runtime", str(loaded.path)]
    if loaded.profile:
        argv += ["--profile", loaded.profile]
    with open(state.runner_log, "ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    say(f"runner pid {process.pid} started; log: {state.runner_log}")
    return _wait_until_settled(process, state, settle_timeout(loaded.spec.spec), say)


def _wait_until_settled(
    process: subprocess.Popen[bytes],
    state: StateDir,
    timeout_seconds: float,
    say: Callable[[str], None],
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_seconds
    seen: dict[str, tuple[str, str]] = {}
    while True:
        code = process.poll()
        if code is not None:
            raise RunnerError(_died_message(state, code))
        status = _status_of(process.pid, state)
        if status is not None:
            for line in change_lines(seen, status["components"]):
                say(f"  {line}")
            if status["runner"]["phase"] != "starting":
                return status
        if time.monotonic() > deadline:
            raise RunnerError(
                f"the pipeline did not settle within {timeout_seconds:g}s; the runner "
                f"(pid {process.pid}) keeps running: see `flowrun status` and `flowrun logs`, "
                "stop it with `flowrun down`"
            )
        time.sleep(POLL_SECONDS)


def _status_of(pid: int, state: StateDir) -> dict[str, Any] | None:
    info = state.read_info()
    if info is None or info.pid != pid:
        return None
    try:
        status: dict[str, Any] = admin.call(info, "GET", "/status", timeout_seconds=5.0)
    except FlowrunError:
        return None
    return status


def _died_message(state: StateDir, code: int) -> str:
    lines = tail_lines(state.runner_log, 15)
    starts = [index for index, line in enumerate(lines) if line.startswith("error: ")]
    if starts:
        error = "\n".join(lines[starts[-1] :]).removeprefix("error: ")
        return f"the runner stopped before it was ready: {error}"
    shown = "\n".join(f"    {line}" for line in lines)
    return (
        f"the runner exited with code {code} before it was ready; "
        f"last lines of {state.runner_log}:\n{shown}"
    )


def wait_until_gone(pid: int, timeout_seconds: float) -> bool:
    """True once the process has exited (or is a zombie nobody reaped)."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(POLL_SECONDS)
    return not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False
