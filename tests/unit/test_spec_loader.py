"""The public API: load_spec's LoadedSpec, the revision, and render_yaml."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml
from flowctl.contract import FlowControlSettings, Policy, PoolSettings
from flowrun.errors import SpecError, SpecFileError
from flowrun.spec.loader import LoadedSpec, load_spec, render_yaml
from test_spec_support import VALID, load_text, write


def test_loaded_spec_fields(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID)
    assert isinstance(loaded, LoadedSpec)
    assert loaded.path == tmp_path / "pipeline.yaml" and loaded.path.is_absolute()
    assert loaded.spec_dir == tmp_path
    assert loaded.profile is None
    assert re.fullmatch(r"[0-9a-f]{12}", loaded.revision)
    assert loaded.sources == (loaded.path,)
    assert loaded.name == "demo"


def test_relative_path_is_kept_in_messages_and_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, VALID.replace("[src]", "[nope]"), "bad.yaml")
    write(tmp_path, VALID, "good.yaml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as caught:
        load_spec("bad.yaml", environ={})
    assert str(caught.value).startswith("bad.yaml:14:16: ")
    assert load_spec("./good.yaml", environ={}).path == tmp_path / "good.yaml"


def test_environ_none_reads_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_NAME", "from-os")
    path = write(tmp_path, VALID.replace("name: demo", "name: ${DEMO_NAME}"))
    assert load_spec(path).spec.metadata.name == "from-os"


def test_revision_ignores_formatting_comments_and_profiles(tmp_path: Path) -> None:
    base = load_text(tmp_path, VALID).revision
    block = "      # comment\n      command:\n        - python\n        - -m\n        - src"
    reformatted = VALID.replace("      command: [python, -m, src]", block)
    assert load_text(tmp_path, reformatted).revision == base
    with_profiles = VALID + "  profiles:\n    other: {pool: {max_connections: 3}}\n"
    assert load_text(tmp_path, with_profiles).revision == base
    defaults_written = VALID.replace("spec:\n", "spec:\n  pool: {max_connections: 10}\n")
    assert load_text(tmp_path, defaults_written).revision == base
    changed = VALID.replace("9001", "9002")
    assert load_text(tmp_path, changed).revision != base


def test_durations_are_seconds(tmp_path: Path) -> None:
    text = VALID.replace("spec:\n", "spec:\n  controller: {heartbeat_interval: 250ms}\n")
    assert load_text(tmp_path, text).body.controller.heartbeat_interval == 0.25


def test_the_spec_is_turned_into_the_contract_policy(tmp_path: Path) -> None:
    assert load_text(tmp_path, VALID).body.policy() == Policy()  # the defaults are the contract's
    text = VALID.replace(
        "spec:\n",
        "spec:\n"
        "  controller: {heartbeat_interval: 500ms, heartbeat_ttl: 3s}\n"
        "  flow_control: {activate_at: 0.9, deactivate_at: 0.5, throttle_rate: 0.3}\n"
        "  pool: {min_connections: 1, max_connections: 4, idle_timeout: 1m,"
        " health_check_interval: 10s, connect_timeout: 2s, max_retries: 0}\n"
        "  monitoring: {interval: 2s}\n",
    )
    assert load_text(tmp_path, text).body.policy() == Policy(
        flow_control=FlowControlSettings(activate_at=0.9, deactivate_at=0.5, throttle_rate=0.3),
        pool=PoolSettings(
            min_connections=1,
            max_connections=4,
            idle_timeout_seconds=60.0,
            health_check_interval_seconds=10.0,
            connect_timeout_seconds=2.0,
            max_retries=0,
        ),
        heartbeat_interval_seconds=0.5,
        heartbeat_ttl_seconds=3.0,
        monitoring_interval_seconds=2.0,
    )


SECRETS = VALID + (
    "      env: {API_TOKEN: t0k, DB_PASSWORD: pw, LEVEL: info}\n"
    "      config: {auth: {secret_key: s}, price: $$5}\n"
)


def test_render_masks_secrets(tmp_path: Path) -> None:
    text = SECRETS.replace("spec:\n", "spec:\n  controller: {token: abc}\n")
    rendered = render_yaml(load_text(tmp_path, text))
    document = yaml.safe_load(rendered)
    sink = document["spec"]["components"]["sink"]
    assert sink["env"] == {"API_TOKEN": "***", "DB_PASSWORD": "***", "LEVEL": "info"}
    assert sink["config"]["auth"] == {"secret_key": "***"}
    assert document["spec"]["controller"]["token"] == "***"
    assert "t0k" not in rendered and "abc" not in rendered
    assert "profiles" not in document["spec"]


def test_render_shows_secrets_when_asked_and_reads_back_the_same(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, SECRETS + "  profiles:\n    p: {}\n", profile="p")
    rendered = render_yaml(loaded, show_secrets=True)
    assert rendered.startswith(
        f"# Effective spec of pipeline.yaml: profile p, revision {loaded.revision}\n"
    )
    again = load_spec(write(tmp_path, rendered, "rendered.yaml"), environ={})
    assert again.revision == loaded.revision
    assert again.body.components["sink"].config["price"] == "$5"


def test_render_keeps_units_and_quotes_strings_that_look_like_numbers(tmp_path: Path) -> None:
    text = VALID + "      env: {PORT: '8080', FLAG: 'true', EMPTY: ''}\n"
    rendered = render_yaml(load_text(tmp_path, text))
    assert "      env:\n        PORT: '8080'\n        FLAG: 'true'\n        EMPTY: ''\n" in rendered
    assert "    idle_timeout: 5m\n" in rendered
    assert "      command: [python, -m, sink]\n" in rendered


def test_a_number_in_a_string_field_is_the_text_written(tmp_path: Path) -> None:
    """docker compose gives `VER: 1.10` as '1.10'; flowrun gave '1.1' (and '1234' for 01234)."""
    text = VALID.replace("      command: [python, -m, sink]\n", "") + (
        "      command: [python, -m, sink, 1.10, 0x1F, +5]\n"
        "      env:\n        VER: 1.10\n        ZIP: 01234\n        BIG: 1e3\n"
        "        FROM_VAR: ${VERSION}\n        PLAIN: 42\n"
        "      config: {ratio: 1.10, count: 007}\n"
    )
    loaded = load_text(tmp_path, text, environ={"VERSION": "2.50"})
    sink = loaded.body.components["sink"]
    assert sink.command == ["python", "-m", "sink", "1.10", "0x1F", "+5"]
    assert sink.env == {
        "VER": "1.10",
        "ZIP": "01234",
        "BIG": "1e3",
        "FROM_VAR": "2.50",
        "PLAIN": "42",
    }
    # config stays numbers, as its JSON has them.
    assert json.dumps(sink.config) == '{"ratio": 1.1, "count": 7}'
    rendered = render_yaml(loaded)
    assert "        VER: '1.10'\n        ZIP: '01234'\n" in rendered
    again = load_spec(write(tmp_path, rendered, "rendered.yaml"), environ={})
    assert again.revision == loaded.revision


def test_spec_model_is_frozen(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID)
    with pytest.raises(ValueError):
        loaded.spec.metadata.name = "other"  # type: ignore[misc]


def test_unreadable_file_is_not_a_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who reads any file")
        with pytest.raises(SpecFileError) as caught:
            load_spec(path, environ={})
        assert str(caught.value) == f"{path}: permission denied; make the spec readable"
    finally:
        path.chmod(0o644)
