"""A live runner whose state directory goes away records itself there again: after
`rm -rf .flowrun` (git clean -fdx) and after a deploy that swaps the spec folder
(`mv pipeline old; mv new pipeline`), `status` and `down` at the spec's path find it, a
second `up` is refused, its logs go on in the new folder, and `down` leaves no process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from fixtures.runner_harness import Pipeline, alive, component, pipeline_processes, write_spec
from polling import wait_for

pytestmark = pytest.mark.timeout(120)

RECORDED_AGAIN_SECONDS = 15.0  # the runner checks every second; slack for a loaded machine
TICKER = "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.1)\n"
# Ignores SIGTERM, so its parent-death signal does not end it before the guardian looks:
# the guardian writes its line only when it finds a process left to stop.
STUBBORN_TICKER = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + TICKER


def _start(
    folder: Path, pipelines: list[Pipeline], ticker_code: str = TICKER
) -> tuple[Pipeline, int]:
    """A pipeline of a fixture component and a program printing a line every 0.1 s."""
    folder.mkdir(exist_ok=True)
    ticker = component(
        endpoint=False,
        command=[sys.executable, "-c", ticker_code],
        protocol="none",
        ready="started",
    )
    spec = write_spec(folder, {"src": component("source"), "ticker": ticker})
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    result = pipeline.up()
    assert result.returncode == 0, result.stderr
    return pipeline, int(pipeline.status()["runner"]["pid"])


def _status_again(pipeline: Pipeline) -> dict[str, Any]:
    def answered() -> dict[str, Any] | None:
        result = pipeline.flowrun("status", str(pipeline.spec), "--json", timeout=30)
        return json.loads(result.stdout) if result.returncode == 0 else None

    found = wait_for(answered, RECORDED_AGAIN_SECONDS, "`flowrun status` to find the runner again")
    return dict(found)


def _logs_go_on(pipeline: Pipeline, removed_or_replaced: str) -> None:
    state = pipeline.spec.parent / ".flowrun" / pipeline.spec.stem
    wait_for(
        lambda: "tick" in (state / "logs" / "ticker.log").read_text(),
        RECORDED_AGAIN_SECONDS,
        "the ticker's log to go on in the new state directory",
        ignoring=(FileNotFoundError,),
    )
    line = f"state directory {state} was {removed_or_replaced}: recorded again there"
    assert line in (state / "runner.log").read_text()


def _down_leaves_nothing(pipeline: Pipeline, pid: int) -> None:
    components = [c["pid"] for c in pipeline.status()["components"]]
    assert len(components) == 2 and all(components)
    down = pipeline.down()
    assert down.returncode == 0, down.stderr
    assert "stopped 2 components" in down.stdout, down.stdout + down.stderr
    wait_for(lambda: not alive(pid), 15, "the runner to exit")
    assert not any(alive(c) for c in components)
    assert pipeline_processes({pid}) == []


def test_a_removed_state_directory_is_recorded_again_and_a_second_up_refused(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline, pid = _start(tmp_path / "pipeline", pipelines)

    shutil.rmtree(pipeline.spec.parent / ".flowrun")  # git clean -fdx

    assert _status_again(pipeline)["runner"]["pid"] == pid
    second = pipeline.up(timeout=60)
    assert second.returncode != 0
    assert "already running" in second.stderr and f"runner pid {pid}" in second.stderr
    _logs_go_on(pipeline, "removed")
    _down_leaves_nothing(pipeline, pid)


def test_a_replaced_spec_folder_finds_the_runner_at_its_path(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    folder = tmp_path / "pipeline"
    pipeline, pid = _start(folder, pipelines)
    new = tmp_path / "new"
    new.mkdir()
    shutil.copy2(pipeline.spec, new / pipeline.spec.name)

    os.rename(folder, tmp_path / "old")  # the deploy: the old folder away, the new one in
    os.rename(new, folder)

    assert _status_again(pipeline)["runner"]["pid"] == pid
    _logs_go_on(pipeline, "removed")  # the new folder came without a .flowrun
    # The runner let go of the old folder's lock: it serves the spec at the path only.
    assert pipeline.flowrun("status", str(tmp_path / "old" / pipeline.spec.name)).returncode != 0
    _down_leaves_nothing(pipeline, pid)


def test_a_swapped_release_symlink_finds_the_runner_through_it(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """A Capistrano-style deploy: the spec is reached through `current -> releases/v1`, and
    the deploy points `current` at v2 (a new symlink renamed over it, as `ln -sfn` does)."""
    releases = tmp_path / "releases"
    (releases / "v1").mkdir(parents=True)
    current = tmp_path / "current"
    current.symlink_to(releases / "v1", target_is_directory=True)
    pipeline, pid = _start(current, pipelines)  # the spec written through the link, into v1
    (releases / "v2").mkdir()
    shutil.copy2(pipeline.spec, releases / "v2" / pipeline.spec.name)

    (tmp_path / "current.new").symlink_to(releases / "v2", target_is_directory=True)
    os.rename(tmp_path / "current.new", current)

    assert _status_again(pipeline)["runner"]["pid"] == pid
    assert (releases / "v2" / ".flowrun" / pipeline.spec.stem / "runner.json").exists()
    second = pipeline.up(timeout=60)
    assert second.returncode != 0 and f"runner pid {pid}" in second.stderr
    _logs_go_on(pipeline, "removed")
    _down_leaves_nothing(pipeline, pid)


def test_the_guardian_of_a_killed_runner_writes_into_the_state_directory_made_again(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """The guardian's line after a runner crash is the one an operator looks for; it was
    written to the runner.log the guardian was started with, removed with its folder."""
    pipeline, pid = _start(tmp_path / "pipeline", pipelines, STUBBORN_TICKER)
    components = [c["pid"] for c in pipeline.status()["components"]]
    shutil.rmtree(pipeline.spec.parent / ".flowrun")
    assert _status_again(pipeline)["runner"]["pid"] == pid

    os.kill(pid, signal.SIGKILL)

    wait_for(lambda: not any(alive(c) for c in components), 30, "the guardian to stop them")
    log = pipeline.spec.parent / ".flowrun" / pipeline.spec.stem / "runner.log"
    wait_for(
        # "is gone", or "closed its pipe" while the killed runner is not reaped yet
        lambda: f"guardian: runner pid {pid} " in log.read_text(),
        10,
        "the guardian's line in the runner.log at the path",
    )
    assert pipeline_processes({pid}) == []
