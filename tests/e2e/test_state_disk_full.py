"""The disk under the state directory fills up (a real tmpfs, filled to the last byte) while a
pipeline runs, and is freed again; and `up` on a disk that is full already.

Before, each chunk of a component's output raised out of the runner's log write: lost from
the console too, with a traceback per chunk on the runner's stderr; a line of the runner's
own raised into the step that wrote it; a detached runner said nothing anywhere; `up` on a
full disk ended in a traceback, `up -d` in an empty quote of runner.log."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import textwrap
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fixtures.filesystems import fill, tmpfs
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

LINE_PADDING = 380
CHATTER = textwrap.dedent(
    f"""
    import itertools, time
    for number in itertools.count(1):
        print(f"line {{number:08d}} " + "x" * {LINE_PADDING}, flush=True)
        time.sleep(0.01)
    """
)
CHATTER_LINE = re.compile(rf"line (\d{{8}}) x{{{LINE_PADDING}}}")


def _chatty_pipeline(folder: Path) -> Pipeline:
    """One plain program printing a numbered 400-byte line every 10 ms (40 KB/s)."""
    chatter = component(
        command=["python", "-c", CHATTER],
        endpoint=False,
        protocol="none",
        ready="started",
        restart={"backoff": "200ms"},
    )
    return Pipeline(write_spec(folder, {"chatter": chatter}, metrics=True))


def _refused_names(pipeline: Pipeline) -> set[str]:
    return {Path(log["path"]).name for log in pipeline.status()["runner"]["refused_logs"]}


def _unwritten_bytes(metrics_port: int, log: str) -> float:
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    sample = f'flowrun_log_unwritten_bytes_total{{log="{log}"}} '
    return sum(float(line[len(sample) :]) for line in text.splitlines() if line.startswith(sample))


def _runs(numbers: list[int]) -> list[list[int]]:
    """The line numbers of each process in turn (a restarted one counts from 1 again)."""
    runs: list[list[int]] = []
    for number in numbers:
        if number == 1 or not runs:
            runs.append([])
        runs[-1].append(number)
    return runs


def test_a_full_state_disk_loses_no_console_line_and_stops_no_restart(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = _chatty_pipeline(tmp_path)
    pipelines.append(pipeline)
    console = tmp_path / "console.txt"
    with tmpfs(tmp_path / ".flowrun", "1m") as disk:
        with console.open("wb") as out:
            runner = subprocess.Popen(
                [*FLOWRUN, "up", str(pipeline.spec), "--no-color"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=clean_environ(),
            )
        pipeline.runner_pids.add(runner.pid)
        try:
            wait_for(lambda: pipeline.runner_info() is not None, 30, "the runner recorded")
            first = pipeline.wait_component("chatter", lambda c: c["state"] == "running")
            ballast = fill(disk)
            wait_for(lambda: "chatter.log" in _refused_names(pipeline), 30, "chatter.log refused")

            # A crash while the disk is full: the runner's lines about it (the log's last
            # lines quoted, ~4 KB) are refused too, and it restarts the component all the same.
            os.kill(first["pid"], signal.SIGKILL)
            pipeline.wait_component("chatter", lambda c: c["restarts"] == 1 and c["pid"])
            wait_for(lambda: "runner.log" in _refused_names(pipeline), 30, "runner.log refused")
            status = pipeline.status()
            refused = {Path(log["path"]).name: log for log in status["runner"]["refused_logs"]}
            assert refused["chatter.log"]["error"] == "No space left on device"
            assert refused["chatter.log"]["unwritten_bytes"] > 0
            metrics_port = status["runner"]["metrics_port"]
            assert _unwritten_bytes(metrics_port, "logs/chatter.log") > 0
            table = pipeline.flowrun("status", str(pipeline.spec)).stdout
            assert "not written since" in table and "chatter.log (No space left on device;" in table
            health = pipeline.flowrun("health", str(pipeline.spec))
            assert health.returncode == 1, health.stdout  # degraded
            assert "chatter.log is not written (No space left on device)" in health.stdout

            ballast.unlink()  # writing resumes by itself
            wait_for(lambda: not _refused_names(pipeline), 30, "every log written again")
            assert pipeline.flowrun("health", str(pipeline.spec)).returncode == 0
            assert _unwritten_bytes(metrics_port, "logs/chatter.log") > 0  # a counter never falls
            wait_for(lambda: pipeline.component("chatter")["state"] == "running", 30)
            log_dir = pipeline.state_dir / "logs"
            runner_log = (pipeline.state_dir / "runner.log").read_text()
            component_log = (log_dir / "chatter.log").read_text()
        finally:
            pipeline.down()
            runner.wait(30)
    output = console.read_text()
    assert "Traceback" not in output
    assert re.search(r"chatter: killed by SIGKILL.*; restarting", output)
    assert "cannot write" in output and "chatter.log: No space left on device" in output

    # The console has every line the component printed, each whole and in order.
    printed = [line.split(" | ", 1)[1] for line in output.splitlines() if " | line " in line]
    matches = [CHATTER_LINE.fullmatch(line) for line in printed]
    assert all(matches), "a line was cut on the console"
    runs = _runs([int(match[1]) for match in matches if match])
    assert len(runs) == 2  # the killed process's lines, then its successor's
    for run in runs:
        assert run == list(range(1, len(run) + 1))

    # The log file misses what the full disk refused, and says nothing false: the output
    # after the gap starts on a line of its own, and the runner's log counts the gap.
    assert re.search(r"writing \S+/chatter\.log again: \d+ bytes of output are missing", runner_log)
    lines = component_log.splitlines()
    whole = [CHATTER_LINE.fullmatch(line) for line in lines]
    assert sum(match is None for match in whole) <= 2  # the line the refusal cut, per file
    numbers = [int(match[1]) for match in whole if match]
    assert any(b != a + 1 and b != 1 for a, b in itertools.pairwise(numbers))
    assert not pipeline_processes(pipeline.runner_pids)


@pytest.mark.parametrize("detach", [False, True], ids=["up", "up -d"])
def test_up_on_a_full_state_disk_is_refused_in_one_line(
    tmp_path: Path, pipelines: list[Pipeline], detach: bool
) -> None:
    pipeline = _chatty_pipeline(tmp_path)
    pipelines.append(pipeline)
    with tmpfs(tmp_path / ".flowrun", "1m") as disk:
        fill(disk)
        result = pipeline.flowrun("up", str(pipeline.spec), *(["-d"] if detach else []))
    said: dict[str, Any] = {"out": result.stdout, "err": result.stderr}
    assert result.returncode == 1, said
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.strip() == (
        f"error: cannot use the state directory {pipeline.state_dir} (No space left on "
        "device): free space on its disk, or set FLOWRUN_STATE_DIR to a folder on another"
    )
    assert not pipeline_processes(pipeline.runner_pids)
