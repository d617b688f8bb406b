"""`ready:`, env_file, depends_on and missing programs, through the real CLI and runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.runner_harness import Pipeline, component, read_events, write_spec
from polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PLAIN = Path(__file__).resolve().parents[1] / "fixtures" / "plain_server.py"


def test_a_plain_program_under_the_embedded_controller_is_ready_by_tcp(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    plain = component(command=["python", str(PLAIN)], ready="tcp", start_timeout="10s")
    spec = write_spec(tmp_path, {"plain": plain}, heartbeat_ttl="1s")
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)

    result = pipeline.up()

    assert result.returncode == 0, result.stdout + result.stderr
    # Well past heartbeat_ttl: it never heartbeats, and is not restarted for it.
    later = pipeline.wait_component("plain", lambda c: c["uptime_seconds"] > 3, what="3s up")
    assert later["state"] == "running" and later["restarts"] == 0
    assert later["registered"] is False


def test_without_ready_a_plain_program_times_out_with_the_fix_in_the_message(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    plain = component(
        command=["python", str(PLAIN)], start_timeout="1s", restart={"policy": "never"}
    )
    pipeline = Pipeline(write_spec(tmp_path, {"plain": plain}))
    pipelines.append(pipeline)

    assert pipeline.up().returncode == 1
    error = pipeline.component("plain")["last_error"]
    assert "no registration with the controller; an SDK component registers only once" in error
    assert "a program that does not use the flowctl SDK never registers" in error
    assert "`ready: tcp`" in error


def test_env_file_reaches_the_component_and_depends_on_orders_the_start(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    (tmp_path / "app.env").write_text("GREETING=hello\nDB_PASSWORD=not-for-logs\n")
    dumped, events = tmp_path / "env.json", tmp_path / "events.txt"
    spec = write_spec(
        tmp_path,
        {
            "app": component(
                env_file="app.env",
                depends_on=["db"],
                config={"dump_env": str(dumped), "events_file": str(events)},
            ),
            "db": component(config={"events_file": str(events), "start_delay": 0.5}),
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)

    assert pipeline.up().returncode == 0
    environ = wait_for(
        lambda: json.loads(dumped.read_text()),
        10,
        "app's environment",
        ignoring=(OSError, ValueError),
    )
    assert environ["GREETING"] == "hello" and environ["DB_PASSWORD"] == "not-for-logs"
    order = [(what, name) for what, name, _pid, _when in read_events(events)]
    assert order.index(("ready", "db")) < order.index(("start", "app"))
    rendered = pipeline.flowrun("render", str(spec)).stdout
    assert "not-for-logs" not in rendered and "GREETING: hello" in rendered


def test_up_refuses_to_start_while_a_program_is_missing(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    spec = write_spec(
        tmp_path,
        {
            "a": component(command=["no-such-program-anywhere"]),
            "b": component(command=["./missing.sh"]),
            "c": component(),
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)

    validated = pipeline.flowrun("validate", str(spec))
    result = pipeline.up()

    assert validated.returncode == 0
    assert validated.stderr.count("warning: ") == 2
    assert result.returncode == 1
    assert "command 'no-such-program-anywhere' not found on PATH" in result.stderr
    assert "command './missing.sh' not found" in result.stderr
    assert pipeline.runner_info() is None  # nothing was started


def test_a_script_saved_with_windows_line_endings_is_refused_with_the_fix(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """Run, it died of "setpriv: failed to execute .../run.sh: No such file or directory"
    (exit 127), restarted again and again, about a file that exists: its `#!/bin/sh\r`
    names no program."""
    script = tmp_path / "run.sh"
    script.write_bytes(b"#!/bin/sh\r\nexec sleep 60\r\n")
    script.chmod(0o755)
    spec = write_spec(tmp_path, {"a": component(command=["./run.sh"])})
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)

    result = pipeline.up()

    assert result.returncode == 1
    assert "command './run.sh' cannot run: its first line, `#!/bin/sh`, ends with a " in (
        result.stderr
    )
    assert f"convert the file: sed -i 's/\\r$//' {script}" in result.stderr
    assert pipeline.runner_info() is None
