"""A component stopped by a signal (SIGSTOP, Ctrl-Z in a debugging session) is still stopped
cleanly by `flowrun down`: its SIGTERM would stay pending while it is stopped, so the runner
continues it, and it handles the SIGTERM instead of being killed after its stop_grace."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from fixtures.runner_harness import Pipeline, component, write_spec

PROGRAM = """
import pathlib, signal, sys, time
def stop(signum, frame):
    pathlib.Path(sys.argv[1]).write_text("stopped cleanly")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    time.sleep(0.1)
"""


def test_a_stopped_component_handles_its_sigterm_on_down(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    marker = tmp_path / "marker"
    plain = component(
        endpoint=False,
        command=["python", "-c", PROGRAM, str(marker)],
        protocol="none",
        ready="started",
        stop_grace="3s",
    )
    pipeline = Pipeline(write_spec(tmp_path, {"plain": plain}))
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0
    pid = pipeline.component("plain")["pid"]
    os.kill(pid, signal.SIGSTOP)

    down = pipeline.down()

    assert down.returncode == 0, down.stderr
    # Without SIGCONT it stays stopped until the grace ends, and SIGKILL leaves no marker.
    assert marker.read_text() == "stopped cleanly"
