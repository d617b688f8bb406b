"""No orphans, even when the runner is killed with SIGKILL.

Each component already gets PR_SET_PDEATHSIG, but that reaches only the direct child, not
what it forked. So the runner also starts this watchdog: a tiny separate process (its own
session, stdlib only) that reads `+PGID` / `-PGID` lines from a pipe whose write end only
the runner holds. When the pipe closes (the runner exited, however it exited) it stops
every recorded process group, plus any process whose environment carries the runner's
FLOWRUN_RUNNER_PID (a grandchild that left its group with setsid): SIGTERM, then
SIGKILL after a short grace. It never touches anything else.

Run as `python -m flowrun.supervision.guardian RUNNER_PID GRACE_SECONDS [RUNNER_LOG]`.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

RUNNER_PID_VARIABLE = "FLOWRUN_RUNNER_PID"
GRACE_SECONDS = 2.0
POLL_SECONDS = 0.05


class Guardian:
    """The runner's side: start the watchdog, tell it which groups to look after."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        self.broken = False

    @classmethod
    def start(cls, log_path: Path, grace_seconds: float = GRACE_SECONDS) -> Guardian:
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "flowrun.supervision.guardian",
                    str(os.getpid()),
                    str(grace_seconds),
                    str(log_path),
                ],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                start_new_session=True,
                close_fds=True,
            )
        return cls(process)

    @property
    def pid(self) -> int:
        return self._process.pid

    def track(self, pgid: int) -> None:
        self._send(f"+{pgid}\n")

    def untrack(self, pgid: int) -> None:
        self._send(f"-{pgid}\n")

    def close(self, timeout_seconds: float = 5.0) -> None:
        """Close the pipe: the watchdog sweeps what is left and exits."""
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout_seconds)

    def _send(self, line: str) -> None:
        stdin = self._process.stdin
        if stdin is None or self.broken:
            return
        try:
            stdin.write(line.encode())
            stdin.flush()
        except OSError:
            self.broken = True


def live_pgid(pid: int) -> int | None:
    """The process group of a live (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode(errors="replace")
    except OSError:
        return None
    state, _ppid, pgrp = text[text.rindex(")") + 2 :].split()[:3]
    return None if state in {"Z", "X"} else int(pgrp)


def tagged_processes(runner_pid: int) -> set[int]:
    """Live processes started (directly or not) by that runner, found by their environment."""
    tag = f"{RUNNER_PID_VARIABLE}={runner_pid}".encode()
    found: set[int] = set()
    for name in filter(str.isdigit, os.listdir("/proc")):
        pid = int(name)
        if pid == os.getpid():
            continue
        with contextlib.suppress(OSError), open(f"/proc/{pid}/environ", "rb") as handle:
            if tag in handle.read().split(b"\0"):
                found.add(pid)
    return found


def survivors(groups: set[int], pids: set[int]) -> tuple[set[int], set[int]]:
    live_groups: set[int] = set()
    live_pids: set[int] = set()
    for name in filter(str.isdigit, os.listdir("/proc")):
        pgid = live_pgid(int(name))
        if pgid in groups:
            live_groups.add(pgid)
        if pgid is not None and int(name) in pids:
            live_pids.add(int(name))
    return live_groups, live_pids


def _signal(groups: set[int], pids: set[int], signum: int) -> None:
    for pgid in groups:
        with contextlib.suppress(OSError):
            os.killpg(pgid, signum)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


def sweep(runner_pid: int, groups: set[int], grace_seconds: float) -> tuple[int, int]:
    """Stop everything the runner left; (processes found, processes that needed SIGKILL)."""
    pids = tagged_processes(runner_pid)
    live_groups, live_pids = survivors(groups, pids)
    found = len(live_groups | live_pids)
    _signal(live_groups, live_pids, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while (live_groups or live_pids) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        live_groups, live_pids = survivors(live_groups, live_pids)
    _signal(live_groups, live_pids, signal.SIGKILL)
    return found, len(live_groups | live_pids)


def _runner_alive(runner_pid: int) -> bool:
    return live_pgid(runner_pid) is not None


def watch(runner_pid: int, grace_seconds: float, log_path: Path | None = None) -> None:
    groups: set[int] = set()
    stdin = sys.stdin.buffer.raw if hasattr(sys.stdin.buffer, "raw") else sys.stdin.buffer
    pending = b""
    while True:
        readable, _, _ = select.select([stdin], [], [], 1.0)
        if not readable:
            if _runner_alive(runner_pid):
                continue
            break
        chunk = os.read(stdin.fileno(), 4096)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            _apply(groups, line.decode().strip())
    runner_gone = not _runner_alive(runner_pid)
    found, killed = sweep(runner_pid, groups, grace_seconds)
    if found:
        how = "is gone" if runner_gone else "closed its pipe"
        _say(
            f"guardian: runner pid {runner_pid} {how}; stopped {found} leftover "
            f"process(es), {killed} with SIGKILL",
            log_path,
        )


def _say(line: str, log_path: Path | None) -> None:
    """Into the runner's log as it is at its path now: the one this process was started
    with may have been removed or replaced with its folder since (the runner then records
    itself again there), and this line is the one an operator looks for after a crash."""
    if log_path is not None:
        with contextlib.suppress(OSError):
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(line + "\n")
            return
    print(line, flush=True)


def _apply(groups: set[int], line: str) -> None:
    if line[:1] == "+" and line[1:].isdigit():
        groups.add(int(line[1:]))
    elif line[:1] == "-" and line[1:].isdigit():
        groups.discard(int(line[1:]))


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for the runner is not for us
    grace_seconds = float(argv[1]) if len(argv) > 1 else GRACE_SECONDS
    watch(int(argv[0]), grace_seconds, Path(argv[2]) if len(argv) > 2 else None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
