"""env_file, depends_on, ready and missing programs: each rule with its exact message."""

from __future__ import annotations

from pathlib import Path

import pytest
from flowrun.errors import SpecError
from flowrun.reload.plan import SpecPair, build_plan
from flowrun.spec.graph import topological_order
from flowrun.spec.readiness import ReadyCheck, ReadyKind
from test_spec_support import issues_of, load_text

HEAD = """\
apiVersion: flowctl/v1
kind: Pipeline
metadata: {name: demo}
spec:
  controller: {mode: disabled}
  components:
"""


def spec(*entries: str) -> str:
    return HEAD + "".join(entries)


SRC = "    src: {type: source, command: [python], endpoint: '127.0.0.1:0'}\n"
DB = "    db: {type: source, command: [python]}\n"


def test_env_file_variables_are_merged_under_env_and_secrets_are_masked(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text("MODE=file\nLEVEL=debug\nAPI_TOKEN=s3cr3t-value\n")
    text = spec(
        "    src: {type: source, command: [python], env_file: app.env, env: {MODE: spec}}\n"
    )
    loaded = load_text(tmp_path, text)
    env = loaded.body.components["src"].env
    assert env == {"MODE": "spec", "LEVEL": "debug", "API_TOKEN": "s3cr3t-value"}
    assert "s3cr3t-value" in loaded.secret_values
    assert tmp_path / "app.env" in loaded.sources


def test_a_missing_env_file_is_an_error_at_its_key(tmp_path: Path) -> None:
    text = spec("    src: {type: source, command: [python], env_file: nope.env}\n")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:7:54: spec.components.src.env_file: nope.env does not exist; "
        "create it or fix the path (relative to the spec's folder)"
    ]


def test_an_env_file_that_is_a_directory_says_to_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    text = spec("    src: {type: source, command: [python], env_file: config}\n")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:7:54: spec.components.src.env_file: config is a directory; "
        "name the dotenv file in it (relative to the spec's folder)"
    ]


def test_a_bad_line_of_an_env_file_is_reported_in_that_file(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text("OK=1\nnot a pair\n")
    text = spec("    src: {type: source, command: [python], env_file: app.env}\n")
    assert issues_of(tmp_path, text) == [
        "app.env:2:1: expected KEY=VALUE (a letter or _ first, then letters, digits or _)"
    ]


def test_an_edit_of_the_env_file_restarts_the_component(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text("LEVEL=info\n")
    text = spec("    src: {type: source, command: [python], env_file: app.env}\n", DB)
    before = load_text(tmp_path, text)
    (tmp_path / "app.env").write_text("LEVEL=debug\n")
    after = load_text(tmp_path, text)
    pair = SpecPair(before.spec, after.spec, before.revision, after.revision, tmp_path)
    plan = build_plan(pair)
    assert before.revision != after.revision
    assert plan.restart_names == ["src"] and plan.restart[0].environment == ("LEVEL",)


def test_depends_on_orders_the_start_without_a_data_edge(tmp_path: Path) -> None:
    text = spec("    app: {type: source, command: [python], depends_on: [db]}\n", DB)
    loaded = load_text(tmp_path, text)
    assert topological_order(loaded.body.components) == ["db", "app"]


def test_a_change_of_depends_on_restarts_the_component(tmp_path: Path) -> None:
    before = load_text(tmp_path, spec("    app: {type: source, command: [python]}\n", DB))
    after = load_text(
        tmp_path, spec("    app: {type: source, command: [python], depends_on: [db]}\n", DB)
    )
    plan = build_plan(SpecPair(before.spec, after.spec, "a", "b", tmp_path))
    assert plan.restart_names == ["app"]
    assert [change.path for change in plan.restart[0].fields] == ["spec.components.app.depends_on"]


def test_depends_on_names_a_component(tmp_path: Path) -> None:
    text = spec("    app: {type: source, command: [python], depends_on: [dbb]}\n", DB)
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:7:57: spec.components.app.depends_on[0]: no component named 'dbb' "
        "(did you mean 'db'?)"
    ]


def test_a_cycle_through_depends_on_is_named(tmp_path: Path) -> None:
    text = spec(
        "    a: {type: source, command: [python], depends_on: [b]}\n",
        "    b: {type: source, command: [python], depends_on: [a]}\n",
    )
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:8:55: spec.components.b.depends_on[0]: dependency cycle b -> a -> b "
        "(each depends on the next)"
    ]


def test_a_cycle_through_inputs_and_depends_on_is_named(tmp_path: Path) -> None:
    text = spec(
        SRC,
        "    p: {type: processor, command: [python], inputs: [src], depends_on: [q]}\n",
        "    q: {type: processor, command: [python], inputs: [p]}\n",
    )
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:9:54: spec.components.q.inputs[0]: dependency cycle q -> p -> q "
        "(each reads from or depends on the next)"
    ]


@pytest.mark.parametrize(
    ("written", "held"),
    [
        ("tcp", ReadyCheck(ReadyKind.TCP)),
        ("started", ReadyCheck(ReadyKind.STARTED)),
        ("registered", ReadyCheck(ReadyKind.REGISTERED)),
        ("{http: /healthz}", ReadyCheck(ReadyKind.HTTP, "/healthz")),
    ],
)
def test_ready_is_one_of_four_checks(tmp_path: Path, written: str, held: ReadyCheck) -> None:
    text = spec(
        "    src: {type: source, command: [python], endpoint: '127.0.0.1:0', health_port: 0,"
        f" ready: {written}}}\n"
    )
    assert load_text(tmp_path, text).body.components["src"].ready == held


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("tpc", "must be registered, tcp, started or {http: /health}; got 'tpc'"),
        ("http", "http needs the path it probes: write {http: /health}"),
        ("{http: health}", "the http path must start with '/', like /health; got 'health'"),
    ],
)
def test_a_wrong_ready_says_what_is_accepted(tmp_path: Path, written: str, message: str) -> None:
    text = spec(f"    src: {{type: source, command: [python], health_port: 0, ready: {written}}}\n")
    [issue] = issues_of(tmp_path, text)
    assert issue.endswith(f"spec.components.src.ready: {message}")


def test_ready_probes_need_what_they_probe(tmp_path: Path) -> None:
    text = spec(
        "    a: {type: source, command: [python], ready: tcp}\n",
        "    b: {type: source, command: [python], ready: {http: /health}}\n",
    )
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:7:49: spec.components.a.ready: tcp probes the endpoint: "
        "give the component an endpoint",
        "pipeline.yaml:8:42: spec.components.b.ready: http /health probes the health_port: "
        "give the component one",
    ]


def test_a_missing_program_is_a_warning_and_up_refuses(tmp_path: Path) -> None:
    text = spec(
        "    a: {type: source, command: [no-such-program-here, x]}\n",
        "    b: {type: source, command: [./bin/run.sh]}\n",
        "    c: {type: source, command: [python3, -m, this]}\n",
    )
    loaded = load_text(tmp_path, text, environ={"PATH": str(tmp_path)})
    shown = [str(w).replace(f"{tmp_path}/", "") for w in loaded.warnings]
    assert shown == [
        "pipeline.yaml:7:33: spec.components.a.command[0]: command 'no-such-program-here' "
        "not found on PATH; install it, or give its path in the spec's `command`",
        "pipeline.yaml:8:33: spec.components.b.command[0]: command './bin/run.sh' not found "
        "(bin/run.sh does not exist)",
    ]
    with pytest.raises(SpecError) as refused:
        loaded.require_commands()
    assert refused.value.issues == list(loaded.warnings)


def test_a_program_on_the_components_own_path_is_found(tmp_path: Path) -> None:
    program = tmp_path / "tools" / "serve"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    text = spec(f"    a: {{type: source, command: [serve], env: {{PATH: '{program.parent}'}}}}\n")
    loaded = load_text(tmp_path, text, environ={"PATH": "/nonexistent"})
    assert loaded.warnings == ()
    loaded.require_commands()
