"""`flowrun up` as process 1, as in `docker run IMAGE flowrun up SPEC` without `--init`
(played with a PID namespace of its own: `unshare --pid --fork --mount-proc`).

Process 1 is where orphaned processes go, and only it can reap them; the runner reaps its
own children only, so each child a component left behind stayed a zombie for good. With a
terminal (`docker run -it`), Ctrl-C must reach the runner once: process 1 forwards what it
gets, so the runner leads a process group of its own in the terminal's foreground."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import threading
from pathlib import Path

import psutil
import pytest
from fixtures.runner_harness import FLOWRUN, Pipeline, clean_environ, component, write_spec
from polling import wait_for

# A shell that leaves a child behind twice a second: `(sleep 0.1 &)` exits at once, and
# its `sleep` is handed to process 1 to reap.
ORPHANS_MAKER = "while true; do (sleep 0.1 &); sleep 0.5; done"
# A program whose stop takes a second: a second Ctrl-C within it would kill it.
SLOW_TO_STOP = "trap 'sleep 1; exit 0' TERM; while true; do sleep 0.1; done"
NAMESPACE = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"]


def _namespace_processes(init: psutil.Process) -> list[psutil.Process]:
    return [init, *init.children(recursive=True)]


def _in_a_pid_namespace(argv: list[str], output: Path) -> subprocess.Popen[bytes]:
    with output.open("wb") as out:
        return subprocess.Popen(
            # --kill-child: when unshare ends (the test's cleanup kills it), so does the
            # namespace's process 1, and with it every process in there.
            [*NAMESPACE, *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=clean_environ(),
        )


def test_as_process_1_the_orphans_are_reaped_and_docker_stop_stops_cleanly(
    tmp_path: Path,
) -> None:
    _skip_without_pid_namespaces()
    spec = _shell_pipeline(tmp_path, "orphans", ORPHANS_MAKER)
    output = tmp_path / "console.txt"
    unshare = _in_a_pid_namespace([*FLOWRUN, "up", str(spec)], output)
    init: psutil.Process | None = None
    try:
        init = wait_for(
            lambda: next(iter(psutil.Process(unshare.pid).children()), None), 30, "process 1"
        )
        wait_for(lambda: Pipeline(spec).runner_info() is not None, 30, "the runner recorded")
        # About ten orphans (each loop takes three pids), each exited 0.1 s after it was
        # handed over.
        wait_for(lambda: _pids_used(init) >= 40, 30, "ten orphans made")
        zombies = [p for p in _namespace_processes(init) if p.status() == psutil.STATUS_ZOMBIE]
        assert len(zombies) <= 1, f"{len(zombies)} zombies"  # one may be exiting this instant

        init.send_signal(signal.SIGTERM)  # docker stop
        assert unshare.wait(60) == 0, output.read_text()
    finally:
        if unshare.poll() is None:
            unshare.kill()
            unshare.wait(30)
        if init is not None:
            wait_for(lambda: _gone(init), 30, "the namespace gone")  # nothing left running
    text = output.read_text()
    assert "stopping (requested)" in text and "stopped 1 component" in text, text
    assert "Traceback" not in text


def _gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _pids_used(init: psutil.Process) -> int:
    """How many pids the namespace has used: its processes are numbered from 1 up."""
    return max(_namespace_pid(p) for p in _namespace_processes(init) if p.is_running())


def _namespace_pid(process: psutil.Process) -> int:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    raise AssertionError(f"no NSpid for {process.pid}")


def test_ctrl_c_in_the_containers_terminal_is_one_graceful_stop(tmp_path: Path) -> None:
    """`docker run -it`: the terminal's Ctrl-C went to process 1 and the runner alike, and
    process 1 forwarded its own: two interrupts, the second of which kills every component."""
    _skip_without_pid_namespaces()
    spec = _shell_pipeline(tmp_path, "slow", SLOW_TO_STOP)
    unshare, terminal = pty.fork()  # the child: a session of its own, the pty its terminal
    if unshare == 0:  # pragma: no cover - the child: exec, or leave without a trace
        try:
            os.execvpe(NAMESPACE[0], [*NAMESPACE, *FLOWRUN, "up", str(spec)], clean_environ())
        finally:
            os._exit(127)
    console = bytearray()
    reader = threading.Thread(target=_read_until_closed, args=(terminal, console))
    reader.start()
    status: int | None = None
    try:
        wait_for(lambda: b"components ready" in console, 30, "the pipeline ready")
        wait_for(lambda: Pipeline(spec).runner_info() is not None, 30, "the runner recorded")
        os.write(terminal, b"\x03")  # Ctrl-C, typed
        _, status = os.waitpid(unshare, 0)
    finally:
        if status is None:  # not reaped: still ours to kill (--kill-child ends the rest)
            os.kill(unshare, signal.SIGKILL)
            os.waitpid(unshare, 0)
        reader.join(30)  # the terminal reads EIO once nothing holds it
        os.close(terminal)
    text = console.decode(errors="replace")
    assert "stopping (signal)" in text and "stopped 1 component" in text, text
    assert "second interrupt" not in text, text
    assert os.waitstatus_to_exitcode(status) == 0, text


def _read_until_closed(terminal: int, into: bytearray) -> None:
    while True:
        try:
            data = os.read(terminal, 4096)
        except OSError:  # EIO: every process holding the terminal has closed it
            return
        if not data:
            return
        into += data


def _shell_pipeline(folder: Path, name: str, script: str) -> Path:
    """A spec of one shell component, no controller."""
    shell = component(
        command=["sh", "-c", script], endpoint=False, protocol="none", ready="started"
    )
    return write_spec(folder, {name: shell}, mode="disabled")


def _skip_without_pid_namespaces() -> None:
    if subprocess.run([*NAMESPACE, "true"], check=False).returncode != 0:
        pytest.skip("no PID namespace can be made here")
