"""Whole runs on a machine that is not ASCII and tidy: a spec folder with spaces, unicode,
quotes, `$` and a leading dash; a spec and `.env` saved with a BOM and CRLF; names with
unicode, digits first, uppercase; command arguments, a working directory and environment
values no tool expects; a secret in the user's shell that is not UTF-8; locales that are not
UTF-8; standard streams closed; a reader that leaves a pipe; a folder nested too deep for
the state directory. `validate`, `render`, `up -d`, `status`, `health`, `logs`, `top` and
`down` work or refuse in one line, and no process is left."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from fixtures.runner_harness import (
    FIXTURE,
    FLOWRUN,
    Pipeline,
    alive,
    clean_environ,
    kill_quietly,
    pipeline_processes,
)
from polling import wait_for
from ports import free_port

ODD_FOLDER = '-dir with spaces ünï "q" $HOME \'s'
PIPELINE_NAME = "pïpe 日本語"
SECRET = b"pass\xffword"  # a password in the user's shell whose bytes are not UTF-8
LONG_NAME = "L" + "o" * 61 + "g"  # 63 characters: the longest name the spec allows
ARGUMENTS = ["arg with space", "ünïcode ✓", "--flag=a b", "$HOME", "'q'", ""]
ENV = {
    "NEWLINES": "one\ntwo",
    "SIGNS": "a=b # c ; d",
    "QUOTES": "\"double\" 'single'",
    "NOT_INTERPOLATED": "${HOME}",
    "UNICODE": "ünï 日本",
    "EMPTY": "",
}
PROBE = '''\
"""Writes what it was given to argv[1] as JSON, prints a line, waits for SIGTERM."""
import json, os, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
names = sys.argv[2].split(",")
with open(sys.argv[1], "w", encoding="utf-8") as handle:
    json.dump({"argv": sys.argv[3:], "cwd": os.getcwd(),
               "env": {name: os.environ.get(name) for name in names}}, handle)
said = b"probe says \\xc3\\xbcn\\xc3\\xaf and " + os.environb.get(b"MY_API_KEY", b"")
sys.stdout.buffer.write(said + b"\\n")
sys.stdout.flush()
while True:
    time.sleep(1)
'''


def _spec_text(folder: Path, probe_output: Path) -> str:
    arguments = ", ".join(json.dumps(argument) for argument in ARGUMENTS)
    env = ", ".join(
        f"{name}: {json.dumps(value.replace('$', '$$'))}" for name, value in ENV.items()
    )
    return textwrap.dedent(
        f"""\
        apiVersion: flowctl/v1
        kind: Pipeline
        metadata: {{name: "${{PIPELINE_NAME}}"}}
        spec:
          controller: {{mode: embedded, endpoint: "127.0.0.1:{free_port()}",
                       heartbeat_interval: 200ms, heartbeat_ttl: 2s}}
          monitoring: {{metrics_port: null}}
          components:
            9Lives_UP:
              type: source
              command: [python, {json.dumps(str(FIXTURE))}]
              endpoint: "127.0.0.1:0"
              stop_grace: 5s
            {LONG_NAME}:
              type: sink
              inputs: [9Lives_UP]
              command: [python, {json.dumps(str(folder / "prøbe.py"))},
                        {json.dumps(str(probe_output))}, {json.dumps(",".join(ENV))}, {arguments}]
              working_dir: "work dir ü"
              env: {{{env}}}
              protocol: none
              ready: started
              stop_grace: 5s
        """
    )


def _odd_pipeline(tmp_path: Path) -> tuple[Pipeline, Path]:
    """The spec `pipe line.yaml` (BOM, CRLF) in the odd folder, with its `.env` (BOM, CRLF,
    `export`, comments, quotes) and the probe; the probe's output file."""
    folder = tmp_path / ODD_FOLDER
    (folder / "work dir ü").mkdir(parents=True)
    (folder / "prøbe.py").write_text(PROBE, encoding="utf-8")
    probe_output = tmp_path / "probe ü.json"
    spec = folder / "pipe line.yaml"
    text = _spec_text(folder, probe_output).replace("\n", "\r\n")
    spec.write_bytes(b"\xef\xbb\xbf" + text.encode())
    (folder / ".env").write_bytes(
        b"\xef\xbb\xbf# the name of the pipeline\r\n"
        + f'export PIPELINE_NAME="{PIPELINE_NAME}"  # a comment\r\n'.encode()
    )
    return Pipeline(spec), probe_output


def _environ(**extra: str) -> dict[str, str]:
    env = clean_environ()
    env.update(extra)
    return env


def _flowrun(*args: str, cwd: Path | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FLOWRUN, *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=_environ(**extra),
        cwd=cwd,
        errors="replace",
    )


def _shell(command: str, *, cwd: Path, timeout: float = 30.0, **extra: str) -> int:
    """`command` in sh, in a session of its own: on a timeout, all of it is killed."""
    process = subprocess.Popen(
        ["sh", "-c", command],
        cwd=cwd,
        env=_environ(**extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise


def _up(pipeline: Pipeline, **extra: str) -> subprocess.CompletedProcess[str]:
    up = _flowrun("up", str(pipeline.spec), "-d", **extra)
    info = pipeline.runner_info()
    if info:
        pipeline.runner_pids.add(int(info["pid"]))
    return up


def _component_pids(pipeline: Pipeline) -> list[int]:
    status = _flowrun("status", str(pipeline.spec), "--json")
    assert status.returncode == 0, status.stderr
    data: dict[str, Any] = json.loads(status.stdout)
    return [data["runner"]["pid"], *(c["pid"] for c in data["components"])]


def test_a_whole_run_in_a_folder_and_with_names_no_tidy_tool_expects(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline, probe_output = _odd_pipeline(tmp_path)
    pipelines.append(pipeline)
    relative = str(pipeline.spec.relative_to(tmp_path))  # starts with '-': after `--`

    validated = _flowrun("validate", "--", relative, cwd=tmp_path)
    assert validated.returncode == 0, validated.stderr
    assert f"pipeline {PIPELINE_NAME}, 2 components" in validated.stdout
    rendered = _flowrun("render", "--", relative, cwd=tmp_path)
    assert rendered.returncode == 0 and f"name: {PIPELINE_NAME}" in rendered.stdout

    up = _up(pipeline, MY_API_KEY=os.fsdecode(SECRET))  # subprocess gives the bytes back
    assert up.returncode == 0, up.stderr
    pids = _component_pids(pipeline)
    given = json.loads(wait_for(lambda: probe_output.exists() and probe_output.read_text(), 30))
    assert given["argv"] == ARGUMENTS
    assert given["cwd"] == str(pipeline.spec.parent / "work dir ü")
    assert given["env"] == ENV

    for extra in ({}, {"LC_ALL": "POSIX", "LANG": "C"}, {"PYTHONIOENCODING": "latin-1"}):
        table = _flowrun("status", str(pipeline.spec), **extra)
        assert table.returncode == 0 and "Traceback" not in table.stderr, table.stderr
        assert LONG_NAME in table.stdout and "running" in table.stdout
        top = _flowrun("top", str(pipeline.spec), "--once", "--interval", "0.2", **extra)
        assert top.returncode == 0 and "Traceback" not in top.stderr, top.stderr
    health = _flowrun("health", str(pipeline.spec))
    assert health.returncode == 0, health.stdout

    def probe_logged() -> str | bool:
        log = _flowrun("logs", str(pipeline.spec), LONG_NAME)
        return "probe says ünï" in log.stdout and log.stdout

    assert "probe says ünï and ***" in str(wait_for(probe_logged, 30, "the probe's line"))

    down = _flowrun("down", str(pipeline.spec))
    assert down.returncode == 0, down.stderr
    assert not any(alive(pid) for pid in pids)
    stopped = _flowrun("status", "--", relative, cwd=tmp_path)
    assert stopped.returncode == 3
    suggested = stopped.stderr.rstrip().rsplit("start it with: ", 1)[1]
    assert shlex.split(suggested) == ["flowrun", "up", os.path.join(".", relative)]


def test_logs_follow_ends_when_its_reader_leaves(tmp_path: Path, pipelines: list[Pipeline]) -> None:
    pipeline, _ = _odd_pipeline(tmp_path)
    pipelines.append(pipeline)
    assert _up(pipeline).returncode == 0
    spec = shlex.quote(str(pipeline.spec))
    flowrun = shlex.join(FLOWRUN)
    # Every log, and one quiet component's last line: each was followed until the pipeline
    # stopped (or its next line), long after `head` had left.
    for which in ("", " 9Lives_UP --tail 1"):
        # _shell raises on its timeout: `logs -f` still following a pipe nobody reads.
        assert _shell(f"{flowrun} logs {spec}{which} -f | head -n 1", cwd=tmp_path) == 0


def test_up_with_its_standard_streams_closed(tmp_path: Path, pipelines: list[Pipeline]) -> None:
    pipeline, _ = _odd_pipeline(tmp_path)
    pipelines.append(pipeline)
    spec, flowrun = shlex.quote(str(pipeline.spec)), shlex.join(FLOWRUN)

    assert _shell(f"exec {flowrun} up -d {spec} >&- 2>&- <&-", cwd=tmp_path, timeout=90) == 0
    info = pipeline.runner_info()
    assert info is not None
    pipeline.runner_pids.add(int(info["pid"]))
    # Its output is its log, not a descriptor it closed while setting it up.
    assert os.readlink(f"/proc/{info['pid']}/fd/2") == str(pipeline.state_dir / "runner.log")
    pids = _component_pids(pipeline)
    assert _flowrun("down", str(pipeline.spec)).returncode == 0
    assert not any(alive(pid) for pid in pids)

    foreground = subprocess.Popen(
        ["sh", "-c", f"exec {flowrun} up {spec} >&-"],
        cwd=tmp_path,
        env=_environ(),
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    pipeline.runner_pids.add(foreground.pid)
    try:
        wait_for(
            lambda: (
                foreground.poll() is not None
                or _flowrun("status", str(pipeline.spec)).returncode == 0
            ),
            60,
            "the foreground runner to answer",
        )
        assert foreground.poll() is None, foreground.communicate()[1]
        pids = _component_pids(pipeline)
        foreground.send_signal(signal.SIGINT)
        assert foreground.wait(timeout=60) == 0
    finally:
        kill_quietly(foreground.pid)
        foreground.wait()
    assert not any(alive(pid) for pid in pids)


def test_a_spec_nested_too_deep_for_its_state_is_refused_then_runs_elsewhere(
    tmp_path: Path,
) -> None:
    # 4070 bytes: the spec's path fits in PATH_MAX (4096 with its NUL), and so do the state
    # directory and its lock, but not runner.json.tmp: the runner died of it, a traceback.
    deep = tmp_path
    while len(os.fsencode(deep)) < 3800:
        deep = deep / ("d" * 200)
    deep = deep / ("e" * (4070 - len(os.fsencode(deep)) - 1))
    deep.mkdir(parents=True)
    spec = deep / "s.yaml"
    command = [sys.executable, str(FIXTURE)]
    spec.write_text(
        json.dumps(
            {
                "apiVersion": "flowctl/v1",
                "kind": "Pipeline",
                "metadata": {"name": "deep"},
                "spec": {
                    "controller": {"mode": "disabled"},
                    "monitoring": {"metrics_port": None},
                    "components": {
                        "src": {"type": "source", "command": command, "endpoint": "127.0.0.1:0"}
                    },
                },
            }
        )
    )
    refused = _flowrun("up", "-d", str(spec))
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: the state directory ")
    assert "is too deep" in refused.stderr and "Traceback" not in refused.stderr
    assert not (deep / ".flowrun").exists()

    elsewhere = {"FLOWRUN_STATE_DIR": str(tmp_path / "state")}
    runner_pids: set[int] = set()
    try:
        up = _flowrun("up", "-d", str(spec), **elsewhere)
        assert up.returncode == 0, up.stderr
        runner_pids.add(json.loads((tmp_path / "state" / "runner.json").read_text())["pid"])
        status = _flowrun("status", str(spec), **elsewhere)
        assert status.returncode == 0 and "running" in status.stdout
        assert _flowrun("down", str(spec), **elsewhere).returncode == 0
    finally:
        for process in pipeline_processes(runner_pids):
            kill_quietly(process.pid)
        for pid in runner_pids:
            kill_quietly(pid)
    assert not pipeline_processes(runner_pids)


@pytest.fixture(autouse=True)
def _nothing_left(pipelines: list[Pipeline]) -> Any:
    """After the tracked pipelines' own clean-up: no process of theirs is alive."""
    yield
    for pipeline in pipelines:
        pipeline.cleanup()
        assert not pipeline_processes(pipeline.runner_pids)
