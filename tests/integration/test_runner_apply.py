"""The API hot reload drives, on a real runner with real components in this test's loop:
`Runner.apply` (live policy push, one component restarted alone, one added, one removed)
and `Runner.restart_pipeline` (a change that needs the controller replaced)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from fixtures.runner_harness import alive, component, free_port, write_spec
from flowctl import flow_control_pb2_grpc as fc_grpc
from flowrun.daemon.app import SHUTDOWN, Runner
from flowrun.daemon.state_dir import StateDir
from flowrun.reload.apply import apply_plan, pair_of
from flowrun.reload.outcome import ReloadStatus
from flowrun.reload.plan import build_plan
from flowrun.spec.loader import load_spec
from google.protobuf import empty_pb2
from polling import wait_for_async


async def _policy_activate_at(endpoint: str) -> float:
    async with grpc.aio.insecure_channel(endpoint) as channel:
        policy = await fc_grpc.FlowControlStub(channel).GetPolicy(empty_pb2.Empty(), timeout=10)
    return float(policy.activate_at)


def _edit(spec: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load(spec.read_text())
    change(data["spec"])
    spec.write_text(yaml.safe_dump(data, sort_keys=False))


def _pids(runner: Runner) -> dict[str, int]:
    return {c.name: c.pid for c in runner.status().components}


async def _scenario(spec: Path, dump: Path) -> None:
    runner = Runner(load_spec(spec), state=StateDir.for_spec(spec), console=None)
    task = asyncio.ensure_future(runner.run())
    last: dict[str, int] = {}
    try:
        await wait_for_async(lambda: runner.phase == "running", what="the pipeline started")
        before = _pids(runner)
        endpoint = runner.status().controller.endpoint

        def v2(body: dict[str, Any]) -> None:
            body["flow_control"] = {"activate_at": 0.7, "deactivate_at": 0.5}
            body["components"]["sink"]["env"] = {"GENERATION": "2"}
            body["components"]["extra"] = component("sink", inputs=["src"])

        _edit(spec, v2)
        loaded = load_spec(spec)
        result = await runner.apply(loaded, restart=["sink"])

        assert result.restarted == ["sink"] and result.started == ["extra"] and not result.failed
        after = _pids(runner)
        assert after["src"] == before["src"] and after["sink"] != before["sink"]
        assert not alive(before["sink"]) and alive(after["extra"])
        assert json.loads(dump.read_text())["GENERATION"] == "2"
        assert await _policy_activate_at(endpoint) == pytest.approx(0.7)
        assert runner.status().revision == loaded.revision
        assert runner.status().flow_control.activate_at == 0.7

        _edit(spec, lambda body: body["components"].pop("extra"))
        removed = await runner.apply(load_spec(spec))
        assert removed.stopped == ["extra"] and not removed.restarted
        assert "extra" not in _pids(runner) and not alive(after["extra"])

        new_endpoint = f"127.0.0.1:{free_port()}"
        _edit(spec, lambda body: body["controller"].update(endpoint=new_endpoint))
        await runner.restart_pipeline(load_spec(spec))
        final = runner.status()
        assert final.controller.endpoint == new_endpoint
        assert all(c.state == "running" and c.registered for c in final.components)
        last = _pids(runner)
        assert not set(last.values()) & set(after.values())
    finally:
        runner.request(SHUTDOWN)
        await asyncio.wait_for(task, 60)
    assert last and not any(alive(pid) for pid in last.values())


def test_apply_and_restart_pipeline_on_a_running_runner(tmp_path: Path) -> None:
    dump = tmp_path / "sink-env.json"
    spec = write_spec(
        tmp_path,
        {
            "src": component("source"),
            "sink": component("sink", inputs=["src"], config={"dump_env": str(dump)}),
        },
    )
    asyncio.run(asyncio.wait_for(_scenario(spec, dump), 240))


async def _taken_between_check_and_bind(spec: Path, port: int) -> None:
    """The port is taken after the check (a race the check cannot close): the new pipeline
    fails once every component stopped, and the previous one is started again."""
    runner = Runner(load_spec(spec), state=StateDir.for_spec(spec), console=None)
    task = asyncio.ensure_future(runner.run())
    try:
        await wait_for_async(lambda: runner.phase == "running", what="the pipeline started")
        before, old = _pids(runner), runner.loaded
        metrics_port = runner.status().runner.metrics_port
        _edit(spec, lambda body: body["monitoring"].update(metrics_port=port))
        new = load_spec(spec)
        plan = build_plan(pair_of(old, new))
        assert runner.full_restart_blocker(new) is not None

        runner.full_restart_blocker = lambda loaded: None  # type: ignore[method-assign]
        applied = await apply_plan(runner, old, new, plan)

        assert applied.status is ReloadStatus.ROLLED_BACK
        assert applied.errors[0].startswith("the new pipeline cannot start: cannot serve metrics")
        assert runner.loaded is old and runner.status().runner.metrics_port == metrics_port
        after = _pids(runner)
        assert set(after) == set(before) and not set(after.values()) & set(before.values())
        assert all(c.state == "running" for c in runner.status().components)
    finally:
        runner.request(SHUTDOWN)
        await asyncio.wait_for(task, 60)


def test_a_full_restart_that_fails_after_stopping_restarts_the_previous_pipeline(
    tmp_path: Path,
) -> None:
    spec = write_spec(tmp_path, {"src": component("source")}, metrics=True)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        asyncio.run(asyncio.wait_for(_taken_between_check_and_bind(spec, port), 120))
