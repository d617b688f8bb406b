"""`flowrun plan`, `flowrun reload` and SIGHUP on a real runner that does not watch its
spec (`up --no-watch`), so each reload happens exactly when the test asks for it; a
reload whose restarted component never gets ready is rolled back; a controller move is a
full restart, in order."""

from __future__ import annotations

import json
import os
import signal
import socket
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fixtures.reload_harness import (
    all_running,
    edit,
    pids,
    reload_state,
    up_without_watching,
    wait_generation,
)
from fixtures.runner_harness import (
    Pipeline,
    component,
    free_port,
    read_events,
    write_spec,
)


def _pipeline(tmp_path: Path, pipelines: list[Pipeline], **components: dict[str, Any]) -> Pipeline:
    pipeline = Pipeline(write_spec(tmp_path, components, heartbeat_interval="1s"))
    pipelines.append(pipeline)
    up_without_watching(pipeline)
    return pipeline


def test_plan_sighup_and_reload(tmp_path: Path, pipelines: list[Pipeline]) -> None:
    pipeline = _pipeline(
        tmp_path, pipelines, src=component(), sink=component("sink", inputs=["src"])
    )
    spec = str(pipeline.spec)
    before = all_running(pipeline, {"src", "sink"})

    def threshold_and_env(body: dict[str, Any]) -> None:
        body["flow_control"] = {"activate_at": 0.7}
        body["components"]["sink"]["env"] = {"LEVEL": "debug"}

    edit(pipeline.spec, threshold_and_env)
    plan = pipeline.flowrun("plan", spec)
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    assert lines[0].startswith("revision ") and len(lines) == 5, plan.stdout
    assert lines[1:] == [
        "applied live, no process restarts:",
        "  spec.flow_control.activate_at: 0.8 -> 0.7  "
        "[controller policy, pushed to every component]",
        "restarted alone (dependents reconnect and resume):",
        '  sink: spec.components.sink.env.LEVEL: (unset) -> "debug"',
    ]
    as_json = json.loads(pipeline.flowrun("plan", spec, "--json").stdout)
    assert as_json["valid"] and [r["name"] for r in as_json["plan"]["restart"]] == ["sink"]
    assert reload_state(pipeline)["generation"] == 0 and pids(pipeline) == before  # a plan only

    runner_pid = int(pipeline.status()["runner"]["pid"])
    os.kill(runner_pid, signal.SIGHUP)
    status = wait_generation(pipeline, 1, "the SIGHUP reload")
    assert status["reload"]["last_outcome"]["trigger"] == "SIGHUP"
    assert status["flow_control"]["activate_at"] == 0.7
    after = all_running(pipeline, {"src", "sink"})
    assert after["src"] == before["src"] and after["sink"] != before["sink"]

    edit(pipeline.spec, lambda body: body["components"].update(extra=component()))
    reloaded = pipeline.flowrun("reload", spec)
    assert reloaded.returncode == 0, reloaded.stdout + reloaded.stderr
    first, *rest = reloaded.stdout.splitlines()
    assert first.startswith("reload applied (flowrun reload): revision ")
    assert "(generation 2)" in first and rest == ["  started: extra"]
    assert pipeline.status()["revision"] == first.split(" -> ")[1].split()[0]

    again = json.loads(pipeline.flowrun("reload", spec, "--json").stdout)
    assert again["ok"] and again["status"] == "unchanged" and again["generation"] == 2

    edit(pipeline.spec, lambda body: body.update(flow_control={"activate_at": 2}))
    rejected_plan = pipeline.flowrun("plan", spec)
    assert rejected_plan.returncode == 1 and f"{pipeline.spec}:" in rejected_plan.stderr
    rejected = pipeline.flowrun("reload", spec)
    assert rejected.returncode == 1
    assert rejected.stdout.startswith("reload rejected (flowrun reload)")
    issue = rejected.stdout.splitlines()[1]
    assert issue.startswith(f"{pipeline.spec}:") and "spec.flow_control.activate_at" in issue
    assert reload_state(pipeline)["last_error"] == issue

    pipeline.down()
    gone = pipeline.flowrun("reload", spec)
    assert gone.returncode == 1 and "no runner is serving" in gone.stderr


def test_a_restart_that_never_gets_ready_is_rolled_back(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    dump = tmp_path / "sink-env.json"
    pipeline = _pipeline(
        tmp_path,
        pipelines,
        src=component(),
        sink=component("sink", inputs=["src"], config={"dump_env": str(dump)}),
    )
    before = all_running(pipeline, {"src", "sink"})

    def broken(body: dict[str, Any]) -> None:
        body["flow_control"] = {"activate_at": 0.7}
        body["components"]["sink"]["config"] = {"dump_env": str(dump), "exit_after": 0}
        body["components"]["sink"]["config"]["exit_code"] = 3

    edit(pipeline.spec, broken)
    result = pipeline.flowrun("reload", str(pipeline.spec))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("reload rolled back in part (flowrun reload)")
    assert "  rolled back to their previous definition: sink" in result.stdout
    assert (
        "  sink: rolled back to its previous definition; its new one did not become ready: "
        "exited with code 3 before it was ready; last lines of its log:" in result.stdout
    )
    assert "exiting at once" in result.stdout  # the broken sink's own last words

    after = all_running(pipeline, {"src", "sink"})
    assert after["src"] == before["src"] and after["sink"] != before["sink"]
    assert "exit_after" not in json.loads(json.loads(dump.read_text())["FLOWRUN_CONFIG"])
    status = pipeline.status()
    assert status["flow_control"]["activate_at"] == 0.7  # the rest of the edit stays applied
    assert status["reload"]["generation"] == 1
    assert status["reload"]["last_outcome"]["rolled_back"] == ["sink"]
    assert status["reload"]["last_error"].startswith("sink: rolled back to its previous definition")


def test_a_controller_move_is_a_full_ordered_restart(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    events = tmp_path / "events.txt"
    config = {"events_file": str(events)}
    pipeline = _pipeline(
        tmp_path,
        pipelines,
        src=component(config=config),
        proc=component("processor", inputs=["src"], config=config),
        sink=component("sink", inputs=["proc"], config=config),
    )
    before = all_running(pipeline, {"src", "proc", "sink"})
    endpoint = f"127.0.0.1:{free_port()}"
    metrics_port = free_port()

    def move(body: dict[str, Any]) -> None:
        body["controller"]["endpoint"] = endpoint
        body["monitoring"]["metrics_port"] = metrics_port

    edit(pipeline.spec, move)

    plan = pipeline.flowrun("plan", str(pipeline.spec))
    assert plan.returncode == 0 and "full restart, in order" in plan.stdout
    assert "spec.controller.endpoint" in plan.stdout
    reloaded = pipeline.flowrun("reload", str(pipeline.spec))
    assert reloaded.returncode == 0, reloaded.stdout + reloaded.stderr
    assert "  full restart: spec.controller.endpoint changed; " in reloaded.stdout

    after = all_running(pipeline, {"src", "proc", "sink"})
    assert not set(after.values()) & set(before.values())
    assert pipeline.status()["controller"]["endpoint"] == endpoint
    assert pipeline.status()["runner"]["metrics_port"] == metrics_port
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as page:
        assert b"flowrun_component_up" in page.read()
    stops = [(name, when) for what, name, pid, when in read_events(events) if what == "stop"]
    starts = [
        (name, when)
        for what, name, pid, when in read_events(events)
        if what == "start" and pid in after.values()
    ]
    assert [name for name, _ in stops] == ["sink", "proc", "src"]  # downstream first
    assert [name for name, _ in starts] == ["src", "proc", "sink"]  # upstream first
    assert max(when for _, when in stops) < min(when for _, when in starts)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("controller", "endpoint", "127.0.0.1:{port}", "cannot start the embedded controller"),
        ("monitoring", "metrics_port", "{port}", "cannot serve metrics on 127.0.0.1:{port}"),
    ],
)
def test_a_full_restart_onto_a_taken_port_is_rejected_before_anything_stops(
    tmp_path: Path, pipelines: list[Pipeline], section: str, key: str, value: str, message: str
) -> None:
    """A taken metrics port stopped every component, failed, and left them stopped; a taken
    controller port stopped and restarted them all. Both are refused before anything stops."""
    pipeline = _pipeline(tmp_path, pipelines, src=component())
    status = pipeline.status()
    endpoint, revision = status["controller"]["endpoint"], status["revision"]
    before = all_running(pipeline, {"src"})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        text = value.format(port=port)
        written = int(text) if text.isdigit() else text  # a port is a number, not "52529"
        edit(pipeline.spec, lambda body: body.setdefault(section, {}).update({key: written}))
        result = pipeline.flowrun("reload", str(pipeline.spec))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith(
        f"reload rejected (flowrun reload): the pipeline keeps running revision {revision}"
    )
    assert message.format(port=port) in result.stdout and f"by pid {os.getpid()}" in result.stdout
    assert all_running(pipeline, {"src"}) == before
    status = pipeline.status()
    assert status["controller"]["endpoint"] == endpoint and status["reload"]["generation"] == 0
