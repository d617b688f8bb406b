"""Secrets interpolated from secret-looking variables (TOKEN, SECRET, PASSWORD, KEY) are
masked wherever they were put: `render` (unless --show-secrets) and the errors of an
invalid spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from flowrun.secrets import mask_text
from flowrun.spec.loader import render_yaml
from test_spec_cli import run
from test_spec_support import VALID, issues_of, load_text, write

TOKEN = "tok-9f3a61c2e8"
PASSWORD = "p4$s-w0rd-77"  # a `$`, which render writes `$$`


def _with_sink_command(*arguments: str) -> str:
    return VALID.replace("[python, -m, sink]", f"[python, -m, sink, {', '.join(arguments)}]")


ENVIRON = {
    "API_TOKEN": TOKEN,
    "DB_PASSWORD": PASSWORD,
    "PIN_KEY": "20481632",  # digits: a plain scalar reads it back as a number
    "DB_HOST": "db.internal.example",
    "UNUSED_SECRET": "never-interpolated",
}
INTERPOLATED = _with_sink_command('"--auth=${API_TOKEN}"') + (
    '      env: {DATABASE_URL: "postgres://app:${DB_PASSWORD}@${DB_HOST}/app"}\n'
    "      config:\n"
    '        note: "reads with ${API_TOKEN}"\n'
    "        pin: ${PIN_KEY}\n"
    '        tries: ["${DB_PASSWORD}", 3]\n'
)
SECRETS = (TOKEN, PASSWORD, PASSWORD.replace("$", "$$"), "20481632")


def _shows_a_secret(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_interpolated_secret_values_are_recorded(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, INTERPOLATED, environ=ENVIRON)
    assert loaded.secret_values == {TOKEN, PASSWORD, "20481632"}
    sink = loaded.body.components["sink"]
    assert sink.command[-1] == f"--auth={TOKEN}"  # masking is for showing, not for running
    assert sink.config["pin"] == 20481632


def test_render_masks_interpolated_secrets_in_env_command_and_config(tmp_path: Path) -> None:
    rendered = render_yaml(load_text(tmp_path, INTERPOLATED, environ=ENVIRON))
    assert _shows_a_secret(rendered) == []
    sink = yaml.safe_load(rendered)["spec"]["components"]["sink"]
    assert sink["command"] == ["python", "-m", "sink", "--auth=***"]
    assert sink["env"] == {"DATABASE_URL": "postgres://app:***@db.internal.example/app"}
    assert sink["config"] == {"note": "reads with ***", "pin": "***", "tries": ["***", 3]}


def test_render_show_secrets_shows_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path, INTERPOLATED)
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    code, masked, _ = run(["render", str(spec)], monkeypatch, capsys)
    assert code == 0 and _shows_a_secret(masked) == []
    code, shown, _ = run(["render", str(spec), "--show-secrets"], monkeypatch, capsys)
    assert code == 0
    assert f"--auth={TOKEN}" in shown
    assert f"postgres://app:{PASSWORD.replace('$', '$$')}@db.internal.example/app" in shown


def test_a_non_secret_variable_and_a_tiny_secret_are_not_masked(tmp_path: Path) -> None:
    text = _with_sink_command('"--host=${DB_HOST}"', '"--pin=${SHORT_KEY}"')
    environ = {"DB_HOST": "db.internal.example", "SHORT_KEY": "abc"}
    loaded = load_text(tmp_path, text, environ=environ)
    assert loaded.secret_values == frozenset()
    sink = yaml.safe_load(render_yaml(loaded))["spec"]["components"]["sink"]
    assert sink["command"][-2:] == ["--host=db.internal.example", "--pin=abc"]


def test_a_secret_given_as_a_default_is_masked(tmp_path: Path) -> None:
    text = _with_sink_command('"--auth=${API_TOKEN:-fallback-token}"')
    rendered = render_yaml(load_text(tmp_path, text, environ={}))
    assert "fallback-token" not in rendered and "--auth=***" in rendered


def test_an_invalid_value_from_a_secret_variable_is_not_echoed(tmp_path: Path) -> None:
    text = VALID.replace("127.0.0.1:9001", "${API_TOKEN}").replace(
        "inputs: [src]", 'inputs: [src, "${API_TOKEN}"]'
    ) + (
        "      max_inflight: ${DB_PASSWORD}\n"
        "  controller:\n"
        '    endpoint: "the-long-host-name.example.org:${DB_PASSWORD}"\n'
    )
    issues = issues_of(tmp_path, text, environ=ENVIRON)
    assert _shows_a_secret("\n".join(issues)) == []
    assert PASSWORD[:4] not in "\n".join(issues)  # not even the part a long value is cut to
    assert issues == [
        "pipeline.yaml:10:17: spec.components.src.endpoint: "
        "expected host:port (like 127.0.0.1:8815), got '***'",
        "pipeline.yaml:14:21: spec.components.sink.inputs[1]: no component named '***'",
        "pipeline.yaml:15:21: spec.components.sink.max_inflight: expected an integer, got '***'",
        "pipeline.yaml:17:15: spec.controller.endpoint: "
        "expected host:port (like 127.0.0.1:8815), got 'the-long-host-name.example.org:***'",
    ]


def test_the_same_text_without_secrets_names_the_bad_value(tmp_path: Path) -> None:
    """The masking above hides only the secret: other values are still quoted."""
    text = VALID.replace("127.0.0.1:9001", "${DB_HOST}")
    assert issues_of(tmp_path, text, environ=ENVIRON) == [
        "pipeline.yaml:10:17: spec.components.src.endpoint: "
        "expected host:port (like 127.0.0.1:8815), got 'db.internal.example'",
    ]


def test_mask_text_masks_a_secret_containing_another_whole() -> None:
    assert mask_text("a=long-secret b=secret", ["secret", "long-secret"]) == "a=*** b=***"
    assert mask_text("nothing here", []) == "nothing here"
