"""Faults and bad input: kill -9 of a component and of the runner, components that ignore
SIGTERM, exit at once, flood stdout, fork, or find their port taken."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml
from fixtures.runner_harness import (
    Pipeline,
    alive,
    component,
    pipeline_processes,
    wait_for,
    write_spec,
)


@pytest.fixture
def held_port() -> Iterator[socket.socket]:
    """A port some other program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


def _descendants(pids: list[int]) -> set[int]:
    found = set(pids)
    for pid in pids:
        try:
            found.update(child.pid for child in psutil.Process(pid).children(recursive=True))
        except psutil.NoSuchProcess:
            continue
    return found


def test_kill_9_of_a_component_restarts_it(tmp_path: Path, pipelines: list[Pipeline]) -> None:
    spec = write_spec(tmp_path, {"src": component(), "sink": component("sink", inputs=["src"])})
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    pipeline.up()
    victim = pipeline.component("src")["pid"]

    os.kill(victim, signal.SIGKILL)

    restarted = pipeline.wait_component(
        "src", lambda c: c["state"] == "running" and c["pid"] != victim, timeout=30
    )
    assert restarted["restarts"] == 1
    assert restarted["last_error"].startswith("killed by SIGKILL")  # kept: the last exit
    assert pipeline.component("sink")["restarts"] == 0


def test_kill_9_of_the_runner_leaves_no_process_behind(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    spec = write_spec(
        tmp_path,
        {
            "forker": component(config={"fork_children": 2, "setsid_child": True}),
            "stubborn": component("sink", inputs=["forker"], config={"ignore_sigterm": True}),
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    pipeline.up()
    status = pipeline.status()
    runner_pid = status["runner"]["pid"]
    component_pids = [c["pid"] for c in status["components"]]
    everything = _descendants(component_pids)
    assert len(everything) >= 5  # two components, two children, one that left the group
    assert {p.pid for p in pipeline_processes({runner_pid})} >= everything

    os.kill(runner_pid, signal.SIGKILL)

    wait_for(
        lambda: not any(alive(pid) for pid in everything),
        timeout=15,
        what=f"every process of the pipeline gone: {sorted(p for p in everything if alive(p))}",
    )
    assert not pipeline_processes({runner_pid})


def test_down_stops_downstream_first_and_kills_what_ignores_sigterm(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    spec = write_spec(
        tmp_path,
        {
            "upstream": component(),
            "middle": component(
                "processor", inputs=["upstream"], config={"ignore_sigterm": True}, stop_grace="1s"
            ),
            "downstream": component("sink", inputs=["middle"]),
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    pipeline.up()
    pids = [c["pid"] for c in pipeline.status()["components"]]

    result = pipeline.down()

    assert result.returncode == 0, result.stderr
    assert (
        "stopped 3 components" in result.stdout
        and "killed after stop_grace: middle" in result.stdout
    )
    assert not any(alive(pid) for pid in pids)
    log = (pipeline.state_dir / "runner.log").read_text()
    order = [
        log.index(f"{name}: {how}")
        for name, how in (
            ("downstream", "stopped"),
            ("middle", "did not stop within stop_grace 1s"),
            ("middle", "killed"),
            ("upstream", "stopped"),
        )
    ]
    assert order == sorted(order)
    assert not (pipeline.state_dir / "runner.json").exists()


def test_bad_components_get_clear_messages_and_the_rest_runs_on(
    tmp_path: Path, pipelines: list[Pipeline], held_port: socket.socket
) -> None:
    # (A missing program is refused before anything starts: test_runner_spec_fields.py.)
    taken = held_port.getsockname()[1]
    no_retry = {"policy": "on-failure", "max_restarts": 0}
    spec = write_spec(
        tmp_path,
        {
            "ok": component(),
            "lost": component(working_dir="no/such/dir"),
            "quitter": component(
                config={"exit_after": 0, "exit_code": 2},
                restart={"policy": "on-failure", "max_restarts": 1, "backoff": "100ms"},
            ),
            "flooder": component(config={"flood": True}),
            "forker": component(
                config={"fork_children": 2, "children_ignore_sigterm": True}, stop_grace="1s"
            ),
            "squatter": component(endpoint=False, restart=no_retry)
            | {"endpoint": f"127.0.0.1:{taken}"},
            "stubborn": component(config={"ignore_sigterm": True}, stop_grace="1s"),
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)

    result = pipeline.up()

    assert result.returncode == 1  # not everything runs, and up -d says so
    assert "not running:" in result.stderr
    ok_pid = pipeline.component("ok")["pid"]
    lost = pipeline.wait_component("lost", lambda c: c["state"] == "failed")
    assert (
        f"component 'lost': working_dir {tmp_path}/no/such/dir does not exist" in lost["last_error"]
    )
    quitter = pipeline.wait_component("quitter", lambda c: c["state"] == "failed")
    assert "exited with code 2 before it was ready" in quitter["last_error"]
    assert "exiting at once" in quitter["last_error"]
    squatter = pipeline.wait_component("squatter", lambda c: c["state"] == "failed")
    assert (
        f"endpoint 127.0.0.1:{taken} is already in use by pid {os.getpid()}"
        in squatter["last_error"]
    )
    flood_log = pipeline.state_dir / "logs" / "flooder.log"
    wait_for(
        lambda: flood_log.with_name("flooder.log.1").exists(), timeout=60, what="flood log rotated"
    )
    assert flood_log.stat().st_size <= 10 * 1024 * 1024
    forker_pid = pipeline.component("forker")["pid"]
    forker_family = _descendants([forker_pid])
    assert len(forker_family) == 3

    for name in ("ok", "flooder", "forker", "stubborn"):
        assert pipeline.component(name)["state"] == "running", name
    assert pipeline.component("ok")["pid"] == ok_pid
    down = pipeline.down()
    assert down.returncode == 0
    assert "stubborn" in down.stdout and "forker" in down.stdout  # both needed SIGKILL
    assert not any(alive(pid) for pid in forker_family)
    assert not pipeline_processes(pipeline.runner_pids)


def test_a_taken_controller_port_is_reported_and_nothing_is_left(
    tmp_path: Path, pipelines: list[Pipeline], held_port: socket.socket
) -> None:
    spec = write_spec(tmp_path, {"src": component()})
    text = spec.read_text()
    start = text.index("endpoint: 127.0.0.1:") + len("endpoint: 127.0.0.1:")
    end = text.index("\n", start)
    spec.write_text(text[:start] + str(held_port.getsockname()[1]) + text[end:])
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)

    result = pipeline.up()

    assert result.returncode == 1
    assert "cannot start the embedded controller" in result.stderr
    assert f"already in use by pid {os.getpid()}" in result.stderr
    assert "change the endpoint (127.0.0.1:0: a free port" in result.stderr
    assert pipeline.runner_info() is None
    assert not (pipeline.state_dir / "logs" / "src.log").exists()


def test_a_taken_metrics_port_names_its_holder_and_nothing_is_left(
    tmp_path: Path, pipelines: list[Pipeline], held_port: socket.socket
) -> None:
    spec = write_spec(tmp_path, {"src": component()}, metrics=True)
    body = yaml.safe_load(spec.read_text())
    body["spec"]["monitoring"]["metrics_port"] = held_port.getsockname()[1]
    spec.write_text(yaml.safe_dump(body))
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)

    result = pipeline.up()

    assert result.returncode == 1
    assert "(spec.monitoring.metrics_port): Address already in use by pid" in result.stderr
    assert f"pid {os.getpid()}" in result.stderr
    assert pipeline.runner_info() is None
    assert not pipeline_processes(pipeline.runner_pids)


def test_a_flood_into_a_terminal_nobody_reads_stalls_neither_runner_nor_shutdown(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    spec = write_spec(tmp_path, {"flooder": component(config={"flood": True}), "ok": component()})
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    runner = pipeline.foreground()  # its stdout is a pipe this test never reads
    try:
        wait_for(pipeline.runner_info, timeout=60, what="runner.json written")
        running = pipeline.wait_component("ok", lambda c: c["state"] == "running", timeout=60)
        flood_log = pipeline.state_dir / "logs" / "flooder.log"
        wait_for(lambda: flood_log.stat().st_size > 1024 * 1024, timeout=60, what="1 MiB flooded")
        assert pipeline.component("ok")["pid"] == running["pid"]  # the runner still answers

        runner.send_signal(signal.SIGINT)

        assert runner.wait(timeout=60) == 0
    finally:
        runner.kill()
    assert not alive(running["pid"])
