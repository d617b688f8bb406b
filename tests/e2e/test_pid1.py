"""`flowrun up` as process 1, as in `docker run IMAGE flowrun up SPEC` without `--init`
(played with a PID namespace of its own: `unshare --pid --fork --mount-proc`).

Process 1 is where orphaned processes go, and only it can reap them; the runner reaps its
own children only, so each child a component left behind stayed a zombie for good."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import psutil
import pytest
from fixtures.runner_harness import FLOWRUN, Pipeline, clean_environ, component, write_spec
from polling import wait_for

# A shell that leaves a child behind twice a second: `(sleep 0.1 &)` exits at once, and
# its `sleep` is handed to process 1 to reap.
ORPHANS_MAKER = "while true; do (sleep 0.1 &); sleep 0.5; done"


def _namespace_processes(init: psutil.Process) -> list[psutil.Process]:
    return [init, *init.children(recursive=True)]


def _in_a_pid_namespace(argv: list[str], output: Path) -> subprocess.Popen[bytes]:
    with output.open("wb") as out:
        return subprocess.Popen(
            # --kill-child: when unshare ends (the test's cleanup kills it), so does the
            # namespace's process 1, and with it every process in there.
            ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=clean_environ(),
        )


def test_as_process_1_the_orphans_are_reaped_and_docker_stop_stops_cleanly(
    tmp_path: Path,
) -> None:
    probe = subprocess.run(
        ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "true"], check=False
    )
    if probe.returncode != 0:
        pytest.skip("no PID namespace can be made here")
    spec = write_spec(
        tmp_path,
        {
            "orphans": component(
                command=["sh", "-c", ORPHANS_MAKER],
                endpoint=False,
                protocol="none",
                ready="started",
            )
        },
        mode="disabled",
    )
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
