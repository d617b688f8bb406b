"""The operations commands end to end, each from a separate `flowrun` process: up (-d and
in the foreground), status, health, down, logs; a second up; a stale state directory."""

from __future__ import annotations

import json
import os
import pty
import queue
import signal
import subprocess
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fixtures.runner_harness import (
    FLOWRUN,
    Pipeline,
    alive,
    clean_environ,
    component,
    pipeline_processes,
    wait_for,
    write_spec,
)

STATUS_KEYS = {
    "pipeline",
    "profile",
    "revision",
    "controller",
    "flow_control",
    "components",
    "reload",
}
COMPONENT_KEYS = {
    "name", "type", "state", "pid", "restarts", "registered", "healthy", "load", "throttle_rate",
    "uptime_seconds",
}  # fmt: skip


def _two_components(tmp_path: Path) -> Pipeline:
    spec = write_spec(
        tmp_path,
        {"src": component(), "sink": component("sink", inputs=["src"], endpoint=False)},
        metrics=True,
    )
    return Pipeline(spec)


def _lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_line(lines: queue.Queue[str], needle: str, seen: list[str], timeout: float = 60) -> None:
    def found() -> bool:
        while not lines.empty():
            seen.append(lines.get())
        return any(needle in line for line in seen)

    wait_for(found, timeout=timeout, what=f"a line with {needle!r}")


def test_detached_pipeline_is_operated_from_other_processes(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = _two_components(tmp_path)
    pipelines.append(pipeline)

    up = pipeline.up()
    assert up.returncode == 0, up.stderr
    assert "NAME" in up.stdout and "src" in up.stdout and "running" in up.stdout

    table = pipeline.flowrun("status", str(pipeline.spec))
    assert table.returncode == 0
    assert "pipeline test-pipeline" in table.stdout and "RESTARTS" in table.stdout
    status = pipeline.status()
    assert set(status) >= STATUS_KEYS
    assert status["controller"]["mode"] == "embedded" and status["controller"]["endpoint"]
    assert set(status["flow_control"]) >= {
        "activate_at",
        "deactivate_at",
        "throttle_rate",
        "backpressure_active",
    }
    assert status["reload"]["generation"] == 0 and status["reload"]["last_error"] is None
    assert len(status["revision"]) == 12
    for entry in status["components"]:
        assert set(entry) >= COMPONENT_KEYS
        assert entry["state"] == "running" and entry["registered"] and entry["healthy"]
        assert entry["load"] == pytest.approx(0.1) and entry["throttle_rate"] == 1.0

    health = pipeline.flowrun("health", str(pipeline.spec), "--json")
    assert health.returncode == 0 and json.loads(health.stdout)["status"] == "healthy"
    metrics_url = f"http://127.0.0.1:{status['runner']['metrics_port']}/metrics"
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        metrics = response.read().decode()
    assert 'flowrun_component_up{component="src"} 1.0' in metrics
    assert 'flowrun_component_restarts_total{component="sink"} 0.0' in metrics
    assert "flowctl_service_load_ratio" in metrics  # the embedded controller's, same endpoint

    runner_json = pipeline.state_dir / "runner.json"
    assert runner_json.stat().st_mode & 0o777 == 0o600  # it holds the admin token
    admin = json.loads(runner_json.read_text())["admin"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://{admin}/status", timeout=10)
    assert refused.value.code == 401

    pids = [status["runner"]["pid"], *(c["pid"] for c in status["components"])]
    down = pipeline.down()
    assert down.returncode == 0 and "stopped 2 components" in down.stdout
    assert not any(alive(pid) for pid in pids)
    after = pipeline.flowrun("status", str(pipeline.spec))
    assert after.returncode == 3 and "no runner is serving" in after.stderr
    stopped = pipeline.flowrun("status", str(pipeline.spec), "--json")
    assert stopped.returncode == 3 and json.loads(stopped.stdout)["state"] == "stopped"
    gone = pipeline.flowrun("health", str(pipeline.spec))
    assert gone.returncode == 3 and "stopped" in gone.stdout


def test_logs_are_kept_in_files_and_read_back(tmp_path: Path, pipelines: list[Pipeline]) -> None:
    pipeline = _two_components(tmp_path)
    pipelines.append(pipeline)
    pipeline.up()
    src_log = pipeline.state_dir / "logs" / "src.log"
    assert "component src pid" in src_log.read_text()

    last = pipeline.flowrun("logs", str(pipeline.spec), "src", "--tail", "1")
    assert last.returncode == 0
    assert last.stdout.splitlines() == src_log.read_text().splitlines()[-1:]
    every = pipeline.flowrun("logs", str(pipeline.spec)).stdout.splitlines()
    assert any(line.startswith("src     | component src") for line in every)
    assert any(line.startswith("sink    | component sink") for line in every)
    assert any(line.startswith("flowrun | ") and "runner pid" in line for line in every)
    runner = pipeline.flowrun("logs", str(pipeline.spec), "flowrun")
    assert runner.returncode == 0 and "pipeline: 2/2 components ready" in runner.stdout
    unknown = pipeline.flowrun("logs", str(pipeline.spec), "nope")
    assert unknown.returncode == 1 and "no log for component 'nope'" in unknown.stderr


def test_logs_follow_ends_when_the_pipeline_goes_down(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = _two_components(tmp_path)
    pipelines.append(pipeline)
    pipeline.up()
    follower = subprocess.Popen(
        [*pipeline.argv(), "logs", str(pipeline.spec), "src", "-f", "--tail", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines, seen = _lines_of(follower), []
        _wait_line(lines, "component src pid", seen)  # the tail: it is following now
        assert pipeline.down().returncode == 0
        _wait_line(lines, "stopping on SIGTERM", seen)  # written after -f started
        assert follower.wait(timeout=30) == 0
    finally:
        follower.kill()


def test_a_second_up_of_the_same_spec_is_refused(tmp_path: Path, pipelines: list[Pipeline]) -> None:
    pipeline = _two_components(tmp_path)
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0
    runner_pid = pipeline.runner_info()["pid"]  # type: ignore[index]

    again = pipeline.up()
    foreground = pipeline.flowrun("up", str(pipeline.spec), timeout=60)

    for refused in (again, foreground):
        assert refused.returncode == 1
        assert f"is already running (runner pid {runner_pid}" in refused.stderr
        assert "flowrun down" in refused.stderr
    assert pipeline.runner_info()["pid"] == runner_pid  # type: ignore[index]
    assert all(c["state"] == "running" for c in pipeline.status()["components"])


def test_a_stale_state_directory_is_reported_cleaned_and_not_trusted(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = _two_components(tmp_path)
    pipelines.append(pipeline)
    pipeline.up()
    runner_pid = pipeline.status()["runner"]["pid"]
    os.kill(runner_pid, signal.SIGKILL)
    wait_for(
        lambda: not pipeline_processes({runner_pid}), timeout=15, what="the guardian cleaned up"
    )

    status = pipeline.flowrun("status", str(pipeline.spec))

    assert status.returncode == 3
    assert f"stale state in {pipeline.state_dir}: runner pid {runner_pid}" in status.stderr
    assert "is gone" in status.stderr
    assert pipeline.runner_info() is None
    assert (pipeline.state_dir / "logs" / "src.log").exists()  # logs are kept
    again = pipeline.up()
    assert again.returncode == 0, again.stderr
    assert pipeline.runner_info()["pid"] != runner_pid  # type: ignore[index]


def test_foreground_up_prefixes_output_and_stops_on_ctrl_c(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = _two_components(tmp_path)
    pipelines.append(pipeline)
    process = pipeline.foreground()
    lines, seen = _lines_of(process), []
    try:
        _wait_line(lines, "pipeline: 2/2 components ready", seen)
        pids = [c["pid"] for c in pipeline.status()["components"]]

        process.send_signal(signal.SIGINT)

        assert process.wait(timeout=60) == 0
        _wait_line(lines, "stopped 2 components", seen)
    finally:
        process.kill()
    assert any(line.startswith("src     | component src pid") for line in seen)
    assert any(line.startswith("flowrun | src: ready in") for line in seen)
    assert not any("\x1b[" in line for line in seen)  # no colour when not on a terminal
    assert not any(alive(pid) for pid in pids)


def test_the_terminal_closing_is_no_reload_and_the_pipeline_runs_on(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """An SSH session dropped, a terminal window closed: the kernel sends the foreground
    runner SIGHUP, which was taken for a reload request ("nothing to reload (SIGHUP)")."""
    pipeline = _two_components(tmp_path)
    pipelines.append(pipeline)
    runner, terminal = pty.fork()  # `up` in a terminal of its own, as typed in one
    if runner == 0:  # pragma: no cover - the child: exec, or leave without a trace
        try:
            os.execvpe(FLOWRUN[0], [*FLOWRUN, "up", str(pipeline.spec)], clean_environ())
        finally:
            os._exit(127)
    pipeline.runner_pids.add(runner)
    log = pipeline.state_dir / "runner.log"
    reaped = False
    try:
        wait_for(lambda: "components ready" in _text(log), 30, "the pipeline ready")
        os.close(terminal)  # the terminal goes away
        wait_for(lambda: "the terminal closed (SIGHUP)" in _text(log), 15, "the hangup said")
        assert "nothing to reload" not in _text(log)
        assert {c["state"] for c in pipeline.status()["components"]} == {"running"}
        os.kill(runner, signal.SIGHUP)  # a reload asked by hand is one still
        wait_for(lambda: "nothing to reload (SIGHUP)" in _text(log), 15, "the reload")
        assert pipeline.down().returncode == 0
        assert os.waitstatus_to_exitcode(os.waitpid(runner, 0)[1]) == 0
        reaped = True
    finally:
        if not reaped:  # still ours: not reaped, its pid is nobody else's
            os.kill(runner, signal.SIGKILL)
            os.waitpid(runner, 0)
    assert "the pipeline runs on without it; `flowrun down " in _text(log)


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def test_a_runner_that_does_not_answer_is_reported_not_trusted(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = _two_components(tmp_path)
    pipelines.append(pipeline)
    pipeline.up()
    runner_pid = pipeline.status()["runner"]["pid"]
    os.kill(runner_pid, signal.SIGSTOP)
    try:
        # Both wait out the CLI's probe timeout: at once, not one after the other.
        with ThreadPoolExecutor(2) as clis:
            asked = clis.submit(pipeline.flowrun, "status", str(pipeline.spec))
            downed = clis.submit(pipeline.flowrun, "down", str(pipeline.spec))
            status, down = asked.result(), downed.result()
    finally:
        os.kill(runner_pid, signal.SIGCONT)

    for result in (status, down):
        assert result.returncode == 1
        assert f"the runner (pid {runner_pid}) does not answer" in result.stderr
        assert f"kill {runner_pid}" in result.stderr
    assert pipeline.runner_info() is not None  # alive and holding its lock: not stale
    assert pipeline.status()["runner"]["pid"] == runner_pid
