"""The operations commands where no runner is needed: exit codes that tell verdicts from
errors, one message for a directory given as SPEC, `status --json` of a stopped pipeline,
`ps` with nothing running, shell completion of component names, `--since` moments."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete
from flowrun.cli.main import cli, main
from flowrun.cli.params import Since, _moment

SPEC = """\
apiVersion: flowctl/v1
kind: Pipeline
metadata: {name: demo}
spec:
  components:
    src: {type: source, command: [python, -c, pass]}
    sink: {type: sink, command: [python, -c, pass], inputs: [src]}
"""


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in ("FLOWRUN_STATE_DIR", "FLOWRUN_PROFILE", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("FLOWRUN_HOME", str(tmp_path / "home"))


def run(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["flowrun", *args])
    with pytest.raises(SystemExit) as ended:
        main()
    return int(ended.value.code or 0)


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(SPEC)
    return path


def test_health_tells_a_stopped_pipeline_from_its_own_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], spec: Path
) -> None:
    assert run(monkeypatch, "health", str(spec)) == 3
    assert capsys.readouterr().out.startswith(f"{spec}: stopped")
    assert run(monkeypatch, "health", str(spec.parent / "missing.yaml")) == 4
    assert "missing.yaml: no such file" in capsys.readouterr().err
    assert run(monkeypatch, "health", str(spec), "--bogus") == 4
    assert "No such option '--bogus'" in capsys.readouterr().err
    assert run(monkeypatch, "health", str(spec.parent)) == 4
    assert "is a directory" in capsys.readouterr().err
    assert run(monkeypatch, "health", "--help") == 0
    assert "3  stopped" in capsys.readouterr().out


@pytest.mark.parametrize(
    "command",
    ["validate", "render", "up", "down", "status", "health", "logs", "plan", "reload", "restart"],
)
def test_a_directory_as_spec_gets_one_message_in_every_command(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: str,
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    assert run(monkeypatch, command, str(folder)) in (1, 4)
    assert capsys.readouterr().err.splitlines() == [
        f"error: {folder}: is a directory; give the spec file inside it, "
        f"e.g. {folder / 'pipeline.yaml'}"
    ]


def test_status_json_of_a_stopped_pipeline_is_json_on_stdout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], spec: Path
) -> None:
    assert run(monkeypatch, "status", str(spec), "--json") == 3
    printed = capsys.readouterr()
    data = json.loads(printed.out)
    assert printed.err == ""
    assert data["state"] == "stopped" and data["pipeline"] == "demo"
    assert "no runner is serving" in data["reason"]
    assert [(c["name"], c["state"]) for c in data["components"]] == [
        ("src", "stopped"),
        ("sink", "stopped"),
    ]
    assert run(monkeypatch, "status", str(spec)) == 3
    assert capsys.readouterr().err.startswith("stopped: no runner is serving")


def test_ps_with_nothing_running(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, "ps", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert run(monkeypatch, "ps") == 0
    assert capsys.readouterr().err == "no pipeline is running\n"


def test_component_names_are_completed_from_the_spec(spec: Path) -> None:
    completion = ShellComplete(cli, {}, "flowrun", "_FLOWRUN_COMPLETE")

    def names(args: list[str], incomplete: str) -> list[str]:
        return [item.value for item in completion.get_completions(args, incomplete)]

    assert names(["logs", str(spec)], "") == ["src", "sink", "flowrun"]
    assert names(["restart", str(spec)], "s") == ["src", "sink"]
    assert names(["restart", str(spec), "src"], "si") == ["sink"]
    assert names(["logs", str(spec.parent / "missing.yaml")], "") == ["flowrun"]


def test_since_takes_a_duration_a_date_and_time_or_a_time_of_today() -> None:
    now = datetime.datetime(2024, 5, 1, 15, 30).timestamp()
    assert _moment("10m", now=now) == now - 600
    assert _moment("2024-05-01T12:00:00", now=now) == datetime.datetime(2024, 5, 1, 12).timestamp()
    assert (
        _moment("2024-05-01 12:00:00+00:00", now=now)
        == datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC).timestamp()
    )
    assert _moment("12:15", now=now) == datetime.datetime(2024, 5, 1, 12, 15).timestamp()
    assert _moment("yesterday", now=now) is None
    with pytest.raises(Exception, match="neither a duration"):
        Since().convert("yesterday", None, None)


@pytest.mark.parametrize("text", ["0s", "0ms", "0m", "0.0s", "0 s"])
def test_since_a_zero_duration_is_now(text: str) -> None:
    """`logs -f --since 0s`: only what is written from now on (`docker logs --since 0s`)."""
    now = datetime.datetime(2024, 5, 1, 15, 30).timestamp()
    assert _moment(text, now=now) == now


def test_since_a_bare_zero_is_refused_with_the_form_to_write() -> None:
    # A bare number is a Unix time to docker and an hour to ISO 8601: neither is guessed.
    with pytest.raises(Exception, match="0s for now"):
        Since().convert("0", None, None)
