"""A Runner as built, before it runs (no process, no port): it starts in the starting
phase with its own Reloader, its admin routes answer typed values as JSON, and a reload
asked for during start-up waits for it to end."""

from __future__ import annotations

import asyncio
from pathlib import Path

from flowrun.daemon.admin import Request
from flowrun.daemon.app import Runner
from flowrun.daemon.routes import AdminRoutes
from flowrun.daemon.state_dir import StateDir
from flowrun.daemon.status_types import RunnerPhase
from flowrun.spec.loader import load_spec

SPEC = """\
apiVersion: flowctl/v1
kind: Pipeline
metadata: {name: built}
spec:
  controller: {mode: disabled}
  monitoring: {metrics_port: null}
  components:
    src: {type: source, command: [python, c.py], endpoint: "127.0.0.1:7002"}
"""
YIELDS = 50


def _runner(tmp_path: Path) -> Runner:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(SPEC)
    return Runner(load_spec(spec, environ={}), state=StateDir(tmp_path / "state"), console=None)


def test_a_built_runner_is_starting_and_reports_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        runner = _runner(tmp_path)
        assert runner.phase is RunnerPhase.STARTING and not runner.started.is_set()
        status = runner.status()
        assert status.runner.phase is RunnerPhase.STARTING and status.components == ()
        assert status.reload == runner.reloader.history
        routes = AdminRoutes(runner)
        answer = await routes.status(Request("GET", "/status", None))
        assert answer.status == 200 and answer.body["runner"]["phase"] == "starting"
        assert answer.body["pipeline"] == "built" and answer.body["components"] == []
        health = await routes.health(Request("GET", "/health", None))
        assert health.body["status"] == "healthy" and health.body["exit_code"] == 0

    asyncio.run(scenario())


def test_plans_answer_at_once_and_reloads_wait_for_start_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        runner = _runner(tmp_path)
        routes = AdminRoutes(runner)
        plan = await routes.plan(Request("POST", "/plan", {}))
        assert plan.body["valid"] is True and plan.body["plan"]["empty"] is True
        assert plan.body["profile_in_force"] is None

        reload = asyncio.ensure_future(routes.reload(Request("POST", "/reload", None)))
        for _ in range(YIELDS):
            await asyncio.sleep(0)
        assert not reload.done()  # the pipeline has not started: the reload waits
        reload.cancel()

    asyncio.run(scenario())
