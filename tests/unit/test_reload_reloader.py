"""The Reloader against a fake running pipeline (no runner, no process): a reload waits
for the end of start-up, applies a valid edit, rejects an invalid one and keeps its error
in the history until the file is back, and answers plans."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml
from flowrun.reload.outcome import ReloadStatus
from flowrun.reload.reloader import Reloader
from flowrun.spec.loader import LoadedSpec, load_spec
from flowrun.supervision.supervisor import ApplyResult

SPEC: dict[str, Any] = {
    "apiVersion": "flowctl/v1",
    "kind": "Pipeline",
    "metadata": {"name": "reloader-test"},
    "spec": {
        "controller": {"endpoint": "127.0.0.1:7001"},
        "flow_control": {"activate_at": 0.8, "deactivate_at": 0.6},
        "components": {
            "src": {"type": "source", "command": ["python", "c.py"], "endpoint": "127.0.0.1:7002"},
            "sink": {"type": "sink", "command": ["python", "c.py"], "inputs": ["src"]},
        },
    },
}
YIELDS = 50  # loop turns a reload gets to show it does not go on before start-up ends


class FakePipeline:
    """A RunningPipeline that records what it is asked to do."""

    def __init__(self, loaded: LoadedSpec) -> None:
        self.loaded = loaded
        self.started = asyncio.Event()
        self.events: list[str] = []
        self.applied: list[tuple[str, list[str]]] = []

    def event(self, text: str) -> None:
        self.events.append(text)

    async def apply(self, loaded: LoadedSpec, *, restart: Collection[str] = ()) -> ApplyResult:
        self.applied.append((loaded.revision, list(restart)))
        self.loaded = loaded
        return ApplyResult(reconfigured=list(loaded.body.components))

    def full_restart_blocker(self, loaded: LoadedSpec) -> str | None:
        raise AssertionError("no test here needs a full restart")

    async def restart_pipeline(self, loaded: LoadedSpec) -> None:
        raise AssertionError("no test here needs a full restart")

    def components_not_running(self) -> list[str]:
        return []


def _write(path: Path, activate_at: float | str) -> None:
    data = yaml.safe_load(yaml.safe_dump(SPEC))
    data["spec"]["flow_control"]["activate_at"] = activate_at
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _pipeline(tmp_path: Path) -> tuple[Path, FakePipeline, Reloader]:
    path = tmp_path / "pipeline.yaml"
    _write(path, 0.8)
    pipeline = FakePipeline(load_spec(path, environ={}))
    return path, pipeline, Reloader(pipeline, watch_files=False, environ={})


def test_a_reload_waits_for_the_end_of_start_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        path, pipeline, reloader = _pipeline(tmp_path)
        first = pipeline.loaded.revision
        _write(path, 0.7)
        reload = asyncio.ensure_future(reloader.reload("SIGHUP"))
        for _ in range(YIELDS):
            await asyncio.sleep(0)
        assert not reload.done() and pipeline.applied == []

        pipeline.started.set()
        outcome = await asyncio.wait_for(reload, 30)
        assert outcome.status is ReloadStatus.APPLIED and outcome.ok
        assert outcome.applied_live == ("spec.flow_control.activate_at",)
        assert pipeline.applied == [(outcome.revision, [])]
        assert (outcome.previous_revision, outcome.generation) == (first, 1)
        assert reloader.history.generation == 1 and reloader.history.last_outcome == outcome
        assert pipeline.events[0].startswith("reload applied (SIGHUP): revision ")
        assert pipeline.events[1] == "reload: applied live: spec.flow_control.activate_at"

    asyncio.run(scenario())


def test_an_invalid_edit_is_rejected_and_shown_until_the_file_is_back(tmp_path: Path) -> None:
    async def scenario() -> None:
        path, pipeline, reloader = _pipeline(tmp_path)
        pipeline.started.set()
        _write(path, "high")
        rejected = await reloader.reload("flowrun reload")
        assert rejected.status is ReloadStatus.REJECTED and not rejected.ok
        assert rejected.errors and "spec.flow_control.activate_at" in rejected.errors[0]
        assert rejected.errors[0].startswith(f"{path}:")
        assert pipeline.applied == [] and reloader.history.last_error == rejected.errors[0]

        plan = await reloader.plan()
        assert not plan.valid and plan.errors == rejected.errors

        _write(path, 0.8)
        unchanged = await reloader.reload("flowrun reload")
        assert unchanged.status is ReloadStatus.UNCHANGED and unchanged.ok
        assert reloader.history.last_error is None and reloader.history.generation == 0

    asyncio.run(scenario())


def test_a_plan_changes_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        path, pipeline, reloader = _pipeline(tmp_path)
        _write(path, 0.9)
        answer = await reloader.plan()
        assert answer.valid and answer.plan is not None and not answer.plan.empty
        assert [item.change.path for item in answer.plan.live] == ["spec.flow_control.activate_at"]
        assert answer.revision == pipeline.loaded.revision and pipeline.applied == []
        assert reloader.history.generation == 0

    asyncio.run(scenario())


def test_a_runner_that_does_not_watch_says_how_to_reload(tmp_path: Path) -> None:
    async def scenario() -> None:
        path, pipeline, reloader = _pipeline(tmp_path)
        await asyncio.wait_for(reloader.watch(), 10)
        assert pipeline.events == [
            f"not watching {path} (FLOWRUN_WATCH): reload with `flowrun reload` or SIGHUP"
        ]

    asyncio.run(scenario())
