"""`flowrun validate`, `render` and `schema` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flowrun.cli.main import main
from flowrun.spec.schema import schema_json
from test_spec_support import VALID, write
from test_spec_yaml import billion_laughs

FLOWRUN = Path(sys.executable).parent / "flowrun"


def run(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """The CLI in this process, through the same main() as the console script."""
    monkeypatch.setattr(sys, "argv", ["flowrun", *args])
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Cli:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLOWRUN_PROFILE", raising=False)
    return lambda *args: run(list(args), monkeypatch, capsys)


PROFILED = VALID + "  profiles:\n    small: {pool: {max_connections: 2, min_connections: 1}}\n"


def test_validate_ok_prints_one_summary_line(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path, PROFILED, "demo.yaml")
    code, out, err = cli("validate", "demo.yaml")
    assert code == 0 and err == ""
    assert out.startswith("OK demo.yaml: pipeline demo, 2 components, profile (none), revision ")
    assert out.count("\n") == 1


def test_validate_defaults_to_pipeline_yaml(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("validate")
    assert (code, err) == (
        1,
        "error: pipeline.yaml: no such file; pass the spec's path as the first argument, "
        "e.g. specs/stellar-ttp.yaml\n",
    )
    write(tmp_path, VALID)
    code, out, _ = cli("validate")
    assert code == 0 and out.startswith("OK pipeline.yaml: pipeline demo")


def test_validate_profile_from_option_and_environment(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, PROFILED)
    assert ", profile small, " in cli("validate", "--profile", "small")[1]
    monkeypatch.setenv("FLOWRUN_PROFILE", "small")
    assert ", profile small, " in cli("validate")[1]


def test_validate_invalid_prints_every_issue_one_per_line(cli: Cli, tmp_path: Path) -> None:
    text = VALID.replace("inputs: [src]", "inputs: [nowhere]").replace("type: source", "type: x")
    write(tmp_path, text)
    code, out, err = cli("validate", "pipeline.yaml")
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "pipeline.yaml:8:13: spec.components.src.type: must be one of source, processor, sink, "
        "got 'x'",
        "pipeline.yaml:14:16: spec.components.sink.inputs[0]: no component named 'nowhere'",
    ]


def test_validate_all_profiles_checks_the_spec_alone_whatever_flowrun_profile_says(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With FLOWRUN_PROFILE set it checked that profile twice and the spec alone never
    (spec audit)."""
    write(tmp_path, PROFILED)
    monkeypatch.setenv("FLOWRUN_PROFILE", "small")
    code, out, _ = cli("validate", "--all-profiles")
    assert code == 0
    assert [line.split(",")[2] for line in out.splitlines()] == [
        " profile (none)",
        " profile small",
    ]


def test_validate_all_profiles(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path, PROFILED + "    bad: {pool: {min_connections: 20}}\n")
    code, out, err = cli("validate", "--all-profiles")
    assert code == 1
    assert [line.split(",")[2] for line in out.splitlines()] == [
        " profile (none)",
        " profile small",
    ]
    assert err == (
        "pipeline.yaml:17:35: spec.pool.min_connections: min_connections (20) must not "
        "exceed max_connections (10) (from profile 'bad')\n"
    )


def test_validate_all_profiles_checks_each_profile_when_the_spec_alone_is_invalid(
    cli: Cli, tmp_path: Path
) -> None:
    """It stopped at the spec alone: a CI run showed one problem per run (spec audit)."""
    text = PROFILED.replace("  profiles:\n", "  pool: {min_connections: 20}\n  profiles:\n")
    write(tmp_path, text + "    bad: {flow_control: {activate_at: 2}}\n")
    code, out, err = cli("validate", "--all-profiles")
    assert code == 1
    assert [line.split(",")[2] for line in out.splitlines()] == [" profile small"]
    assert err.splitlines() == [
        "pipeline.yaml:15:27: spec.pool.min_connections: min_connections (20) must not "
        "exceed max_connections (10)",
        "pipeline.yaml:18:39: spec.flow_control.activate_at: must be in (0, 1], got 2 "
        "(from profile 'bad')",
    ]


def test_render_masks_unless_asked(cli: Cli, tmp_path: Path) -> None:
    write(tmp_path, VALID + "      env: {SERVICE_KEY: hunter2}\n")
    code, out, _ = cli("render")
    assert code == 0 and "SERVICE_KEY: '***'" in out and "hunter2" not in out
    assert "SERVICE_KEY: hunter2" in cli("render", "--show-secrets")[1]


def test_schema_prints_the_json_schema(cli: Cli) -> None:
    code, out, _ = cli("schema")
    assert code == 0 and out == schema_json()
    assert json.loads(out)["title"] == "flowrun pipeline spec"


def _bad_file(tmp_path: Path, case: str) -> str:
    if case == "missing":
        return "missing.yaml"
    if case == "directory":
        (tmp_path / "folder").mkdir()
        return "folder"
    contents = {
        "empty": b"",
        "binary": bytes(range(256)) * 16,
        "bomb": billion_laughs().encode(),
        "huge": b"# " + b"x" * (10 * 1024 * 1024) + b"\n",
    }
    (tmp_path / f"{case}.yaml").write_bytes(contents[case])
    return f"{case}.yaml"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "missing",
            "error: missing.yaml: no such file; pass the spec's path as the first argument, e.g. "
            "specs/stellar-ttp.yaml",
        ),
        (
            "directory",
            "error: folder: is a directory; give the spec file inside it, e.g. "
            "folder/pipeline.yaml",
        ),
        (
            "empty",
            "empty.yaml:1:1: the spec is empty; a pipeline spec starts with 'apiVersion: "
            "flowctl/v1'",
        ),
        (
            "binary",
            "error: binary.yaml: not a text file (byte 0x00 at offset 0); a spec file is UTF-8 "
            "YAML text",
        ),
        (
            "bomb",
            "bomb.yaml:6:4: f: aliases expand this document beyond 250000 nodes; refusing "
            "it (a YAML bomb?)",
        ),
        (
            "huge",
            "error: huge.yaml: too large for a spec file (10.0 MiB; the limit is 2 MiB); is this "
            "the right file?",
        ),
    ],
)
def test_bad_files_get_one_clear_line_and_exit_1(tmp_path: Path, case: str, message: str) -> None:
    name = _bad_file(tmp_path, case)
    result = subprocess.run(
        [str(FLOWRUN), "validate", name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (1, "", message + "\n")
