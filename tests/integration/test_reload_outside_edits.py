"""Hot reload of a real runner driven from outside, the way tools other than an editor of
the spec change what it reads: a component's env_file, an edit made while the pipeline is
still starting, a save that truncates first and writes a moment later. Each ends in one
outcome, restarting only what changed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fixtures.reload_harness import all_running, edited, pids, wait_generation
from fixtures.runner_harness import Pipeline, alive, component, wait_for, write_spec

OUTCOME_HEADS = ("reload applied", "reload rejected", "nothing to reload", "reload failed")


def _outcomes(pipeline: Pipeline) -> list[str]:
    """The head line of every reload outcome in the runner's log, in order."""
    lines = (pipeline.state_dir / "runner.log").read_text().splitlines()
    return [line for line in lines if line.split(" ", 2)[-1].startswith(OUTCOME_HEADS)]


def test_an_env_file_edit_restarts_its_component_alone(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    dump = tmp_path / "src-env.json"
    env_file = tmp_path / "config" / "src.env"
    env_file.parent.mkdir()
    env_file.write_text("GENERATION=1\n")
    src = component(env_file="config/src.env", config={"dump_env": str(dump)})
    pipeline = Pipeline(
        write_spec(tmp_path, {"src": src, "sink": component("sink", inputs=["src"])})
    )
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0
    before = all_running(pipeline, {"src", "sink"})

    temporary = env_file.with_name(".src.env.swp")  # an editor's save: temp file, rename
    temporary.write_text("GENERATION=2\n")
    os.replace(temporary, env_file)
    status = wait_generation(pipeline, 1, "the env_file edit reloaded")
    assert status["reload"]["last_outcome"]["restarted"] == ["src"]
    after = all_running(pipeline, {"src", "sink"})
    assert after["sink"] == before["sink"] and not alive(before["src"])
    assert json.loads(dump.read_text())["GENERATION"] == "2"

    env_file.write_text("GENERATION=3\n")  # in place, as `echo >` or `sed -i` would
    wait_generation(pipeline, 2, "the second env_file edit reloaded")
    assert json.loads(dump.read_text())["GENERATION"] == "3"
    assert pids(pipeline)["sink"] == before["sink"]


def test_an_edit_while_starting_is_one_reload(tmp_path: Path, pipelines: list[Pipeline]) -> None:
    slow = component(config={"start_delay": 5})
    pipeline = Pipeline(write_spec(tmp_path, {"slow": slow}, heartbeat_interval="1s"))
    pipelines.append(pipeline)
    spec = pipeline.spec
    runner = pipeline.foreground()
    wait_for(lambda: pipeline.runner_info(), 30, "the runner up (its components starting)")
    assert pipeline.component("slow")["state"] == "starting"
    spec.write_text(edited(spec, lambda body: body.update(flow_control={"activate_at": 0.7})))

    status = wait_generation(pipeline, 1, "the edit made while starting applied")
    assert status["flow_control"]["activate_at"] == 0.7
    assert status["reload"]["last_outcome"]["restarted"] == []
    sentinel = edited(spec, lambda body: body.update(flow_control={"activate_at": 0.75}))
    spec.write_text(sentinel)
    wait_generation(pipeline, 2, "the sentinel edit applied")
    outcomes = _outcomes(pipeline)
    assert len(outcomes) == 2 and all("reload applied" in line for line in outcomes), outcomes
    assert runner.poll() is None


def test_a_truncate_then_a_late_write_is_applied_not_rejected(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = Pipeline(write_spec(tmp_path, {"src": component()}, heartbeat_interval="1s"))
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0
    before = pids(pipeline)
    spec = pipeline.spec
    text = edited(spec, lambda body: body.update(flow_control={"activate_at": 0.7}))

    with open(spec, "r+") as handle:  # an editor that empties the file, then writes later
        handle.truncate(0)
        handle.flush()
        time.sleep(0.6)  # several settle windows: the empty file is seen on its own
        handle.write(text)

    status = wait_generation(pipeline, 1, "the complete file applied")
    assert status["flow_control"]["activate_at"] == 0.7
    assert status["reload"]["last_error"] is None
    assert pids(pipeline) == before
    outcomes = _outcomes(pipeline)
    assert len(outcomes) == 1 and "reload applied" in outcomes[0], outcomes


def _git(folder: Path, *args: str) -> None:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run(["git", "-C", str(folder), *identity, *args], check=True, capture_output=True)


def test_command_line_tools_each_reload_once(tmp_path: Path, pipelines: list[Pipeline]) -> None:
    """sed -i (temp file, rename), cp (truncate, write), vim's default save (the spec
    renamed to a backup, a new file written), git checkout and git stash pop."""
    pipeline = Pipeline(write_spec(tmp_path, {"src": component()}, heartbeat_interval="1s"))
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0
    before = pids(pipeline)
    spec = pipeline.spec
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", spec.name)
    _git(tmp_path, "commit", "-qm", "the spec")  # activate_at at its default, 0.8

    def threshold(value: float) -> str:
        return edited(spec, lambda body: body.update(flow_control={"activate_at": value}))

    def vim(text: str) -> None:
        backup = spec.with_name(f"{spec.name}~")
        os.rename(spec, backup)
        spec.write_text(text)
        backup.unlink()

    other = tmp_path / "other.yaml"
    saves: list[tuple[float, Callable[[], object]]] = [
        (0.71, lambda: spec.write_text(threshold(0.71))),
        (0.72, lambda: subprocess.run(["sed", "-i", "s/0.71/0.72/", str(spec)], check=True)),
        (0.73, lambda: (other.write_text(threshold(0.73)), shutil.copy(other, spec))),
        (0.74, lambda: vim(threshold(0.74))),
        (0.8, lambda: _git(tmp_path, "stash", "-q")),
        (0.74, lambda: _git(tmp_path, "stash", "pop", "-q")),
        (0.8, lambda: _git(tmp_path, "checkout", "-q", "--", spec.name)),
    ]
    for generation, (value, save) in enumerate(saves, 1):
        save()
        status = wait_generation(pipeline, generation, f"save {generation} ({value})")
        assert status["flow_control"]["activate_at"] == value, generation
        assert status["reload"]["generation"] == generation
    assert len(_outcomes(pipeline)) == len(saves), _outcomes(pipeline)
    assert pids(pipeline) == before


def test_edits_while_a_component_waits_to_restart(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """A live edit leaves a component in restart backoff alone; fixing it restarts it
    alone, at once."""
    crashing = component(
        config={"exit_after": 0.3, "exit_code": 3},
        restart={"backoff": "30s", "max_backoff": "30s", "max_restarts": 10},
    )
    pipeline = Pipeline(
        write_spec(tmp_path, {"src": component(), "crashing": crashing}, heartbeat_interval="1s")
    )
    pipelines.append(pipeline)
    pipeline.up()
    pipeline.wait_component("crashing", lambda c: c["state"] == "backoff", what="backoff")
    src = pids(pipeline)["src"]
    spec = pipeline.spec

    spec.write_text(edited(spec, lambda body: body.update(flow_control={"activate_at": 0.7})))
    status = wait_generation(pipeline, 1, "the live edit")
    assert status["reload"]["last_outcome"]["restarted"] == []
    assert pipeline.component("crashing")["state"] == "backoff"

    def fixed(body: dict[str, Any]) -> None:
        body["components"]["crashing"]["config"] = {}

    spec.write_text(edited(spec, fixed))
    status = wait_generation(pipeline, 2, "the fix")  # well before the 30 s backoff ends
    assert status["reload"]["last_outcome"]["restarted"] == ["crashing"]
    assert all_running(pipeline, {"src", "crashing"})["src"] == src
