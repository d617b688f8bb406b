"""A component the kernel's out-of-memory killer ends, for real: held to 64 MiB by a memory
cgroup, it asks for 300 MiB. It dies of SIGKILL with nothing in its own log, and the runner
said only "killed by SIGKILL", as if someone had typed `kill -9`."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from fixtures.cgroups import memory_cgroup
from fixtures.runner_harness import Pipeline, component, track_pipelines, write_spec

pipelines = pytest.fixture(track_pipelines, name="pipelines")

HOLDS_TOO_MUCH = (
    "import os, sys, time\n"
    "open(sys.argv[1], 'w').write(str(os.getpid()))  # into the cgroup\n"
    "time.sleep(1)\n"
    "held = bytearray(300 * 1024 * 1024)\n"
    "time.sleep(3600)\n"
)
SLEEPS = "import time\ntime.sleep(3600)\n"


def _pipeline(folder: Path, program: str, *arguments: str) -> Pipeline:
    folder.mkdir()
    entry = component(
        command=["python", "-c", program, *arguments],
        endpoint=False,
        protocol="none",
        ready="started",
        restart={"policy": "never"},
    )
    return Pipeline(write_spec(folder, {"worker": entry}, mode="disabled"))


def _ended(pipeline: Pipeline) -> str:
    ended = pipeline.wait_component("worker", lambda c: c["state"] != "running", 60)
    pipeline.down()
    return str(ended["last_error"])


def test_a_component_the_out_of_memory_killer_ends_is_said_to_be(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    # One test, in turn: the count is the machine's, so an OOM kill in a test running beside
    # the kill -9 would be taken for its cause.
    with memory_cgroup(64 * 1024 * 1024) as procs:
        greedy = _pipeline(tmp_path / "greedy", HOLDS_TOO_MUCH, str(procs))
        pipelines.append(greedy)
        assert greedy.up().returncode == 0
        said = _ended(greedy)
    assert said.startswith(
        "killed by SIGKILL; the kernel's out-of-memory killer ended a process meanwhile"
    ), said
    assert "`dmesg` names the process" in said

    # A kill -9 by hand is not taken for it.
    sleeper = _pipeline(tmp_path / "sleeper", SLEEPS)
    pipelines.append(sleeper)
    assert sleeper.up().returncode == 0
    os.kill(sleeper.component("worker")["pid"], signal.SIGKILL)
    said = _ended(sleeper)
    assert said.startswith("killed by SIGKILL") and "out-of-memory" not in said, said
