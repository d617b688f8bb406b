"""Hot reload of a real runner (`flowrun up -d`) with real components, driven by real file
edits: live edits restart nothing, a component edit restarts that component alone, added
and removed components start and stop, an invalid edit is rejected and shown, and every
way editors and deployments save is seen."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from fixtures.reload_harness import (
    all_running,
    controller_policy,
    edit,
    edited,
    pids,
    reload_state,
    wait_generation,
)
from fixtures.runner_harness import (
    Pipeline,
    alive,
    component,
    wait_for,
    write_spec,
)


def _started(tmp_path: Path, pipelines: list[Pipeline], **components: dict[str, Any]) -> Pipeline:
    pipeline = Pipeline(write_spec(tmp_path, components, heartbeat_interval="1s"))
    pipelines.append(pipeline)
    result = pipeline.up()
    assert result.returncode == 0, result.stdout + result.stderr
    return pipeline


def test_live_edits_apply_without_restarting_anything(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = _started(
        tmp_path, pipelines, src=component(), sink=component("sink", inputs=["src"])
    )
    before = pids(pipeline)
    revision = pipeline.status()["revision"]

    def live(body: dict[str, Any]) -> None:
        body["flow_control"] = {"activate_at": 0.7, "deactivate_at": 0.4, "throttle_rate": 0.3}
        body["controller"]["heartbeat_interval"] = "500ms"
        body["pool"] = {"min_connections": 1, "max_connections": 3}
        body["components"]["sink"]["restart"] = {"backoff": "250ms"}

    edit(pipeline.spec, live)
    status = wait_generation(pipeline, 1)

    assert status["flow_control"]["activate_at"] == 0.7
    assert status["flow_control"]["deactivate_at"] == 0.4
    assert status["revision"] != revision and status["reload"]["last_error"] is None
    outcome = status["reload"]["last_outcome"]
    assert outcome["status"] == "applied" and outcome["restarted"] == []
    assert "spec.flow_control.activate_at" in outcome["applied_live"]
    policy = controller_policy(status["controller"]["endpoint"])
    assert (policy.activate_at, policy.deactivate_at, policy.throttle_rate) == pytest.approx(
        (0.7, 0.4, 0.3)
    )
    assert policy.heartbeat_interval_seconds == pytest.approx(0.5)
    assert (policy.pool.min_connections, policy.pool.max_connections) == (1, 3)
    assert pids(pipeline) == before


def test_component_edits_restart_add_and_stop_only_what_changed(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    dump = tmp_path / "sink-env.json"
    pipeline = _started(
        tmp_path,
        pipelines,
        src=component(),
        sink=component("sink", inputs=["src"], config={"dump_env": str(dump)}),
        other=component("sink", inputs=["src"]),
    )
    before = all_running(pipeline, {"src", "sink", "other"})

    edit(pipeline.spec, lambda body: body["components"]["sink"].update(env={"GENERATION": "2"}))
    wait_generation(pipeline, 1, "the env edit applied")
    after = all_running(pipeline, {"src", "sink", "other"})
    assert after["sink"] != before["sink"] and not alive(before["sink"])
    assert {name: after[name] for name in ("src", "other")} == {
        name: before[name] for name in ("src", "other")
    }
    assert json.loads(dump.read_text())["GENERATION"] == "2"

    edit(
        pipeline.spec,
        lambda body: body["components"].update(extra=component("sink", inputs=["src"])),
    )
    status = wait_generation(pipeline, 2, "the added component")
    assert status["reload"]["last_outcome"]["started"] == ["extra"]
    with_extra = all_running(pipeline, {"src", "sink", "other", "extra"})
    assert {k: v for k, v in with_extra.items() if k != "extra"} == after

    edit(pipeline.spec, lambda body: body["components"].pop("other"))
    status = wait_generation(pipeline, 3, "the removed component")
    assert status["reload"]["last_outcome"]["stopped"] == ["other"]
    remaining = all_running(pipeline, {"src", "sink", "extra"})
    assert not alive(after["other"])
    assert remaining == {k: v for k, v in with_extra.items() if k != "other"}


def test_an_invalid_edit_is_rejected_and_shown(tmp_path: Path, pipelines: list[Pipeline]) -> None:
    pipeline = _started(tmp_path, pipelines, src=component())
    before = pids(pipeline)
    revision = pipeline.status()["revision"]
    good = pipeline.spec.read_text()

    def invalid(body: dict[str, Any]) -> None:
        body["flow_control"] = {"activate_at": 0.5, "deactivate_at": 0.9}
        body["components"]["src"]["max_inflight"] = "lots"

    pipeline.spec.write_text(edited(pipeline.spec, invalid))
    error = wait_for(
        lambda: reload_state(pipeline)["last_error"], 30, "the rejection shown in status"
    )
    lines = error.splitlines()
    assert len(lines) == 2, error
    assert all(line.startswith(f"{pipeline.spec}:") for line in lines), error
    assert "max_inflight" in error and "deactivate_at" in error
    line, column = lines[0].split(":")[1:3]
    assert line.isdigit() and column.isdigit()
    status = pipeline.status()
    assert status["revision"] == revision and status["reload"]["generation"] == 0
    assert status["reload"]["last_outcome"]["status"] == "rejected"
    assert pids(pipeline) == before and status["components"][0]["state"] == "running"
    health = pipeline.flowrun("health", str(pipeline.spec), "--json")
    assert health.returncode == 1 and "the last reload failed" in health.stdout

    pipeline.spec.write_text(good)  # back to what runs: the rejection no longer applies
    wait_for(lambda: reload_state(pipeline)["last_error"] is None, 30, "the error cleared")
    assert pipeline.status()["reload"]["generation"] == 0


def _in_place(path: Path, text: str) -> None:
    with open(path, "r+") as handle:
        handle.truncate(0)
        handle.write(text)


def _temp_then_rename(path: Path, text: str) -> None:
    temporary = path.with_name(f"{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _delete_and_recreate(path: Path, text: str) -> None:
    path.unlink()
    path.write_text(text)


def test_every_editor_save_pattern_reloads(tmp_path: Path, pipelines: list[Pipeline]) -> None:
    pipeline = _started(tmp_path, pipelines, src=component())
    before = pids(pipeline)
    spec = pipeline.spec
    generation = 0

    def threshold(value: float) -> str:
        return edited(spec, lambda body: body.update(flow_control={"activate_at": value}))

    for value, save in ((0.71, _in_place), (0.72, _temp_then_rename), (0.73, _delete_and_recreate)):
        save(spec, threshold(value))
        generation += 1
        status = wait_generation(pipeline, generation, save.__name__)
        assert status["reload"]["generation"] == generation, save.__name__
        assert status["flow_control"]["activate_at"] == value, save.__name__

    # A touch and a save of the same bytes change nothing; a burst of saves is one reload.
    os.utime(spec)
    _temp_then_rename(spec, spec.read_text())
    for value in (0.74, 0.75, 0.76, 0.77):
        _in_place(spec, threshold(value))
    status = wait_generation(pipeline, generation + 1, "the burst")
    assert status["flow_control"]["activate_at"] == 0.77
    _temp_then_rename(spec, threshold(0.78))  # a sentinel: the burst's reloads are counted
    status = wait_generation(pipeline, generation + 2, "the sentinel")
    assert status["reload"]["generation"] == generation + 2
    assert status["flow_control"]["activate_at"] == 0.78

    # The .env beside the spec is watched too: a ${VAR} of the spec follows it.
    with_variable = spec.read_text().replace(
        "activate_at: 0.78", "activate_at: ${ACTIVATE_AT:-0.79}"
    )
    _temp_then_rename(spec, with_variable)
    assert wait_generation(pipeline, generation + 3)["flow_control"]["activate_at"] == 0.79
    _temp_then_rename(tmp_path / ".env", "ACTIVATE_AT=0.81\n")
    assert wait_generation(pipeline, generation + 4)["flow_control"]["activate_at"] == 0.81
    assert pids(pipeline) == before


def test_a_kubernetes_configmap_swap_reloads(tmp_path: Path, pipelines: list[Pipeline]) -> None:
    written = write_spec(tmp_path, {"src": component()}, heartbeat_interval="1s")
    volume = tmp_path / "config"
    volume.mkdir()
    (volume / "..2024_01").mkdir()
    written.rename(volume / "..2024_01" / "pipeline.yaml")
    (volume / "..data").symlink_to("..2024_01")
    (volume / "pipeline.yaml").symlink_to("..data/pipeline.yaml")
    pipeline = Pipeline(volume / "pipeline.yaml")
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0
    before = pids(pipeline)

    for generation, (stamp, value) in enumerate((("..2024_02", 0.75), ("..2024_03", 0.85)), 1):
        text = edited(
            pipeline.spec, lambda body, v=value: body.update(flow_control={"activate_at": v})
        )
        old = volume / os.readlink(volume / "..data")
        (volume / stamp).mkdir()
        (volume / stamp / "pipeline.yaml").write_text(text)
        (volume / "..data_tmp").symlink_to(stamp)
        os.replace(volume / "..data_tmp", volume / "..data")
        (old / "pipeline.yaml").unlink()
        old.rmdir()
        status = wait_generation(pipeline, generation, f"swap to {stamp}")
        assert status["flow_control"]["activate_at"] == value
    assert pids(pipeline) == before
