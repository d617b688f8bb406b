"""Hot reload of a real runner after an edit rejected for an env_file that does not exist
yet: creating the file retries the reload by itself, without touching the spec, whether
the file is named by a component of the spec or by the profile the runner runs with."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fixtures.reload_harness import all_running, edited, pids, reload_state, wait_generation
from fixtures.runner_harness import Pipeline, component, wait_for, write_spec

REJECTION_SECONDS = 30.0


def _rejected(pipeline: Pipeline, missing: str) -> str:
    """The rejection of the edit, once status shows it; it names the missing file."""
    error = str(
        wait_for(lambda: reload_state(pipeline)["last_error"], REJECTION_SECONDS, "the rejection")
    )
    assert f"{missing} does not exist" in error, error
    status = pipeline.status()
    assert status["reload"]["generation"] == 0
    assert status["reload"]["last_outcome"]["status"] == "rejected"
    return error


def _created_alone(pipeline: Pipeline, env_file: Path, text: str) -> dict[str, Any]:
    """Create `env_file` (and its folder) without touching the spec; the status once the
    reload that follows applied."""
    spec_before = (pipeline.spec.read_bytes(), pipeline.spec.stat().st_mtime_ns)
    env_file.parent.mkdir(exist_ok=True)
    env_file.write_text(text)
    status = wait_generation(pipeline, 1, f"the reload that creating {env_file.name} retried")
    assert (pipeline.spec.read_bytes(), pipeline.spec.stat().st_mtime_ns) == spec_before
    return status


def test_creating_a_missing_env_file_of_an_added_component_starts_it(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    dump = tmp_path / "extra-env.json"
    pipeline = Pipeline(write_spec(tmp_path, {"src": component()}, heartbeat_interval="1s"))
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0
    before = pids(pipeline)

    extra = component(env_file="extra.env", config={"dump_env": str(dump)})
    pipeline.spec.write_text(
        edited(pipeline.spec, lambda body: body["components"].update(extra=extra))
    )
    _rejected(pipeline, "extra.env")
    assert pids(pipeline) == before

    status = _created_alone(pipeline, tmp_path / "extra.env", "GENERATION=1\n")
    assert status["reload"]["last_outcome"]["started"] == ["extra"]
    assert status["reload"]["last_error"] is None
    running = all_running(pipeline, {"src", "extra"})
    assert running["src"] == before["src"]
    assert json.loads(dump.read_text())["GENERATION"] == "1"


def test_creating_a_missing_env_file_the_selected_profile_adds_starts_its_component(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    dump = tmp_path / "extra-env.json"
    spec = write_spec(tmp_path, {"src": component()}, heartbeat_interval="1s")
    spec.write_text(edited(spec, lambda body: body.update(profiles={"dev": {}})))
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    result = pipeline.up("--profile", "dev")
    assert result.returncode == 0, result.stdout + result.stderr
    before = pids(pipeline)

    # Only the profile names the file, in a folder that does not exist yet either.
    extra = component(env_file="dev/extra.env", config={"dump_env": str(dump)})
    spec.write_text(
        edited(spec, lambda body: body["profiles"]["dev"].update(components={"extra": extra}))
    )
    _rejected(pipeline, "dev/extra.env")
    assert pids(pipeline) == before

    status = _created_alone(pipeline, tmp_path / "dev" / "extra.env", "GENERATION=dev\n")
    assert status["profile"] == "dev"
    assert status["reload"]["last_outcome"]["started"] == ["extra"]
    running = all_running(pipeline, {"src", "extra"})
    assert running["src"] == before["src"]
    assert json.loads(dump.read_text())["GENERATION"] == "dev"
