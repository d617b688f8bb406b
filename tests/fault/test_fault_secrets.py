"""Secrets: values of environment variables whose names look secret (TOKEN, SECRET,
PASSWORD, KEY), given to a component (its `env:`, the runner's own environment) or as the
controller token, never show in `render`, `status`, `health`, `plan`, the runner's log,
the component output the runner writes, or error messages; `render --show-secrets` is the
one way to see them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from fixtures.runner_harness import (
    FIXTURE,
    Pipeline,
    component,
    free_port,
    wait_for,
)

pytestmark = pytest.mark.timeout(240)

SECRETS = {
    "API_TOKEN": "tok-9f3a61c2e8",  # literal in a component's env
    "DB_PASSWORD": "pw-4b7d0e55a1",  # from the .env beside the spec
    "CONTROLLER_TOKEN": "ctl-0c8e2f9d77",  # the controller token, from the .env
    "ROTATED_TOKEN": "rot-5e1f8a3c60",  # what a profile would change API_TOKEN to
    "NEW_PASSWORD": "pw-new-7d2c9b14",  # what a reload changes DB_PASSWORD to
    "CLIENT_SECRET": "cs-2a6b9e03f4",  # in a second component's env
    "SIGNING_KEY": "sk-8c4d1f7a29",  # in the runner's own environment, inherited
}
# Prints the secrets it was given (one split over two writes), then fails: the runner
# writes its output to its log, its console and the error that `status` shows.
TALKER = """
import os, sys, time
print("api token", os.environ["API_TOKEN"], "client secret", os.environ["CLIENT_SECRET"])
print("controller token", os.environ["FLOWCTL_TOKEN"], "signing", os.environ["SIGNING_KEY"])
half = len(os.environ["DB_PASSWORD"]) // 2
sys.stdout.write("password " + os.environ["DB_PASSWORD"][:half]); sys.stdout.flush()
time.sleep(0.3)
print(os.environ["DB_PASSWORD"][half:] + " end", flush=True)
sys.exit(3)
"""


def _write_spec(folder: Path, dump: Path) -> Path:
    source = component(config={"dump_env": str(dump)})
    source["env"] = {"API_TOKEN": SECRETS["API_TOKEN"], "DB_PASSWORD": "${DB_PASSWORD}"}
    talker = component(
        command=[sys.executable, "-c", TALKER],
        endpoint=False,
        restart={"policy": "on-failure", "max_restarts": 0},
    )
    talker["env"] = {
        "API_TOKEN": SECRETS["API_TOKEN"],
        "CLIENT_SECRET": SECRETS["CLIENT_SECRET"],
        "DB_PASSWORD": "${DB_PASSWORD}",
    }
    spec = {
        "apiVersion": "flowctl/v1",
        "kind": "Pipeline",
        "metadata": {"name": "secretive"},
        "spec": {
            "controller": {
                "endpoint": f"127.0.0.1:{free_port()}",
                "token": "${CONTROLLER_TOKEN}",
                "heartbeat_interval": "200ms",
            },
            "monitoring": {"metrics_port": None},
            "components": {"src": source, "talker": talker},
            "profiles": {"rotated": {"components": {"src": {"env": {"API_TOKEN": "${ROTATED}"}}}}},
        },
    }
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    _write_dotenv(folder, SECRETS["DB_PASSWORD"])
    return path


def _write_dotenv(folder: Path, password: str) -> None:
    (folder / ".env").write_text(
        f"DB_PASSWORD={password}\n"
        f"CONTROLLER_TOKEN={SECRETS['CONTROLLER_TOKEN']}\n"
        f"ROTATED={SECRETS['ROTATED_TOKEN']}\n"
    )


def _leaks(texts: dict[str, str]) -> list[str]:
    return [
        f"{name} shows {variable}"
        for name, text in texts.items()
        for variable, value in SECRETS.items()
        if value in text or value[: len(value) // 2 + 1] in text.replace("\n", "")
    ]


def test_secrets_never_show_in_render_status_plan_logs_or_errors(
    tmp_path: Path, pipelines: list[Pipeline], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGNING_KEY", SECRETS["SIGNING_KEY"])
    dump = tmp_path / "src-environment.json"  # the component's own file: not scanned
    spec = _write_spec(tmp_path, dump)
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    texts: dict[str, str] = {}

    def run(name: str, *args: str) -> str:
        result = pipeline.flowrun(*args)
        texts[name] = result.stdout + result.stderr
        return texts[name]

    shown = run("render --show-secrets", "render", str(spec), "--show-secrets")
    assert SECRETS["API_TOKEN"] in shown and SECRETS["CONTROLLER_TOKEN"] in shown
    del texts["render --show-secrets"]  # asked for explicitly: the one place they may be
    run("render", "render", str(spec))
    run("render --profile", "render", str(spec), "--profile", "rotated")
    up = pipeline.up()
    texts["up -d"] = up.stdout + up.stderr
    assert up.returncode == 1 and "not running: talker" in up.stderr  # it failed, as meant
    received = json.loads(dump.read_text())
    assert received["API_TOKEN"] == SECRETS["API_TOKEN"]  # delivered, just never shown
    assert received["DB_PASSWORD"] == SECRETS["DB_PASSWORD"]
    assert received["FLOWCTL_TOKEN"] == SECRETS["CONTROLLER_TOKEN"]
    assert pipeline.component("src")["registered"]  # the token works
    talker = pipeline.wait_component("talker", lambda c: c["state"] == "failed")
    assert "last lines of its log" in talker["last_error"]
    log_dir = pipeline.state_dir / "logs"
    wait_for(lambda: " end" in (log_dir / "talker.log").read_text(), 30, "the talker's output")
    assert "api token *** client secret ***" in (log_dir / "talker.log").read_text()

    run("plan --profile", "plan", str(spec), "--profile", "rotated")
    assert "API_TOKEN" in texts["plan --profile"]  # the change is named, its values are not
    run("plan --profile --json", "plan", str(spec), "--profile", "rotated", "--json")
    generation = pipeline.status()["reload"]["generation"]
    _write_dotenv(tmp_path, SECRETS["NEW_PASSWORD"])  # the watcher reloads: src restarts
    wait_for(
        lambda: pipeline.status()["reload"]["generation"] > generation, 60, "the reload applied"
    )
    run("status", "status", str(spec))
    run("status --json", "status", str(spec), "--json")
    run("health --json", "health", str(spec), "--json")
    run("logs", "logs", str(spec))
    run("logs talker", "logs", str(spec), "talker")
    texts["runner.log"] = (pipeline.state_dir / "runner.log").read_text()
    for path in sorted(log_dir.iterdir()):
        texts[f"logs/{path.name}"] = path.read_text()
    run("down", "down", str(spec))

    assert _leaks(texts) == []


def test_errors_of_an_invalid_spec_do_not_echo_the_secrets_beside_them(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(
        f"""\
apiVersion: flowctl/v1
kind: Pipeline
metadata: {{name: broken}}
spec:
  controller: {{token: {SECRETS["CONTROLLER_TOKEN"]}, heartbeat_interval: soon}}
  components:
    src:
      type: source
      command: [python, x.py]
      max_inflight: lots
      env: {{API_TOKEN: {SECRETS["API_TOKEN"]}, PORT: [80], DB_PASSWORD: {{nested: true}}}}
      config: {{api_key: {SECRETS["CLIENT_SECRET"]}, retries: [1]}}
      envv: {{SIGNING_KEY: {SECRETS["SIGNING_KEY"]}}}
"""
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    texts = {}
    for command in ("validate", "render", "up", "status"):
        result = pipeline.flowrun(command, str(spec), *(["-d"] if command == "up" else []))
        assert result.returncode != 0, command
        texts[command] = result.stdout + result.stderr
    assert "spec.components.src.env.PORT" in texts["validate"]  # the errors are there
    assert "heartbeat_interval" in texts["validate"] and "max_inflight" in texts["validate"]
    assert _leaks(texts) == []


def test_a_secret_variable_interpolated_elsewhere_is_masked_too(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    (tmp_path / ".env").write_text(
        f"DB_PASSWORD={SECRETS['DB_PASSWORD']}\nAPI_TOKEN={SECRETS['API_TOKEN']}\n"
    )
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(
        f"""\
apiVersion: flowctl/v1
kind: Pipeline
metadata: {{name: interpolated}}
spec:
  components:
    src:
      type: source
      command: [python, {FIXTURE}, "--auth=${{API_TOKEN}}"]
      env: {{DATABASE_URL: "postgres://app:${{DB_PASSWORD}}@db/app"}}
"""
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        spec.read_text().replace("type: source", "type: source\n      endpoint: ${API_TOKEN}")
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    rendered = pipeline.flowrun("render", str(spec))
    invalid = pipeline.flowrun("validate", str(bad))
    assert rendered.returncode == 0 and invalid.returncode == 1
    assert _leaks({"render": rendered.stdout, "validate": invalid.stdout + invalid.stderr}) == []


ECHO = "import os, sys; print('argv', sys.argv[1:], 'config', os.environ['FLOWRUN_CONFIG'])"


def test_a_secret_put_in_a_component_s_arguments_or_config_is_masked_in_its_log(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """Only the secret-looking names of a component's environment were masked in its
    output: a secret interpolated into its arguments or config showed (spec audit)."""
    (tmp_path / ".env").write_text(f"API_TOKEN={SECRETS['API_TOKEN']}\n")
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(
        f"""\
apiVersion: flowctl/v1
kind: Pipeline
metadata: {{name: echoed}}
spec:
  controller: {{mode: disabled}}
  components:
    echo:
      type: source
      command: [python, -c, "{ECHO}; import time; time.sleep(60)", "--auth=${{API_TOKEN}}"]
      config: {{api_key_ref: "${{API_TOKEN}}"}}
      protocol: none
      ready: started
"""
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0
    log = pipeline.state_dir / "logs" / "echo.log"
    wait_for(lambda: "config" in log.read_text(), what="the component's line")
    assert "'--auth=***'" in log.read_text() and '"api_key_ref": "***"' in log.read_text()
    assert _leaks({"echo.log": log.read_text()}) == []


def test_a_secret_split_anywhere_across_reads_is_still_masked() -> None:
    """The runner reads a pipe in pieces of any size: cut the output at every byte."""
    from flowrun.secrets import Redactor, secret_values

    secrets = secret_values(
        {"API_TOKEN": SECRETS["API_TOKEN"], "DB_PASSWORD": SECRETS["DB_PASSWORD"], "PORT": "8080"}
    )
    output = f"token={SECRETS['API_TOKEN']} pw={SECRETS['DB_PASSWORD']}pw-4b port 8080\n".encode()
    masked = b"token=*** pw=***pw-4b port 8080\n"
    for first_cut in range(len(output)):
        for second_cut in range(first_cut, len(output), 7):
            redact = Redactor(secrets)
            pieces = [output[:first_cut], output[first_cut:second_cut], output[second_cut:]]
            written = b"".join(redact(piece) for piece in pieces) + redact.flush()
            assert written == masked, (first_cut, second_cut)
