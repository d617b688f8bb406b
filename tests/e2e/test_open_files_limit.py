"""A runner under a low open-files limit (a systemd unit's soft 1024, a container's, `ulimit
-n`), with a pipeline of 30 plain programs: each costs the runner about six descriptors.

Before, components past the limit failed one by one with `supervisor error: OSError: [Errno
24] Too many open files` and were never tried again, and the spec watcher failed and was
retried, said every second."""

from __future__ import annotations

import resource
import subprocess
from pathlib import Path

import pytest
from fixtures.runner_harness import (
    FLOWRUN,
    Pipeline,
    clean_environ,
    component,
    pipeline_processes,
    track_pipelines,
    write_spec,
)
from polling import wait_for

pipelines = pytest.fixture(track_pipelines, name="pipelines")

WORKERS = 30
IDLE = "import time\nwhile True:\n    time.sleep(1)"


def _wide_pipeline_up(
    folder: Path, pipelines: list[Pipeline], soft: int, hard: int
) -> tuple[Pipeline, subprocess.CompletedProcess[str]]:
    """The wide pipeline, taken down after the test, started by `up -d` under the limits."""
    pipeline = _wide_pipeline(folder)
    pipelines.append(pipeline)
    return pipeline, _up_with_limit(pipeline, soft, hard)


def _wide_pipeline(folder: Path) -> Pipeline:
    workers = {
        f"worker-{index:02d}": component(
            command=["python", "-c", IDLE],
            endpoint=False,
            protocol="none",
            ready="started",
            restart={"backoff": "200ms", "max_restarts": 1000},
        )
        for index in range(WORKERS)
    }
    return Pipeline(write_spec(folder, workers))


def _up_with_limit(pipeline: Pipeline, soft: int, hard: int) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    result = subprocess.run(
        [*FLOWRUN, "up", "-d", str(pipeline.spec)],
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_environ(),
        preexec_fn=limit,
    )
    info = pipeline.runner_info()
    if info:
        pipeline.runner_pids.add(int(info["pid"]))
    return result


def _open_files_limit(pid: int) -> str:
    line = next(
        line
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines()
        if line.startswith("Max open files")
    )
    return " ".join(line.split()[3:5])


def test_the_runner_raises_its_soft_limit_to_the_hard_one(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline, result = _wide_pipeline_up(tmp_path, pipelines, soft=64, hard=4096)
    assert result.returncode == 0, result.stderr
    status = pipeline.status()
    assert [c["state"] for c in status["components"]] == ["running"] * WORKERS
    assert _open_files_limit(status["runner"]["pid"]) == "4096 4096"
    assert "open files" not in (pipeline.state_dir / "runner.log").read_text()
    pipeline.down()
    assert not pipeline_processes(pipeline.runner_pids)


def test_too_few_files_is_said_at_start_and_each_start_short_of_them_is_retried(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline, result = _wide_pipeline_up(tmp_path, pipelines, soft=64, hard=64)
    assert result.returncode == 1  # not every component runs
    assert "Traceback" not in result.stdout + result.stderr
    runner_log = pipeline.state_dir / "runner.log"
    assert (
        f"warning: this runner may hold 64 open files, and {WORKERS} components need about "
        f"{32 + 6 * WORKERS}: some may fail to start with 'Too many open files'; raise the "
        "hard limit"
    ) in runner_log.read_text()

    def short_one() -> dict[str, object] | None:
        for worker in pipeline.status()["components"]:
            if worker["state"] != "running" and worker["restarts"] >= 1:
                return dict(worker)
        return None

    worker = wait_for(short_one, 60, "a start short of files, retried")
    assert "supervisor error" not in runner_log.read_text()
    assert str(worker["last_error"]).startswith(
        "cannot start: Too many open files: this runner may hold 64 (ulimit -n) and holds "
        "them all; raise the hard limit"
    )
    pipeline.down()
    assert not pipeline_processes(pipeline.runner_pids)
