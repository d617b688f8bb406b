"""`flowrun export` as a user runs it, and the image the manifests default to."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from flowrun.cli.main import main
from flowrun.deploy.kubernetes.manifests import ExportOptions, build_objects, render_yaml
from flowrun.deploy.kubernetes.names import DEFAULT_IMAGE
from flowrun.spec.loader import load_spec
from kubernetes_export_support import REPO, SHIPPED, by_name, container, export


def run(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """The CLI in this process, through the same main() as the console script."""
    monkeypatch.setattr(sys, "argv", ["flowrun", *args])
    monkeypatch.delenv("FLOWRUN_PROFILE", raising=False)
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_export_prints_the_manifests(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["export", str(SHIPPED), "--target", "kubernetes", "-p", "local", "-n", "ttp"]
    code, out, err = run([*args, "--image", "registry.example/flowrun:1"], monkeypatch, capsys)
    assert (code, err) == (0, "")
    options = ExportOptions(image="registry.example/flowrun:1", namespace="ttp")
    assert out == render_yaml(build_objects(load_spec(SHIPPED, "local"), options))


def test_export_writes_one_file_in_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "manifests"
    args = ["export", str(SHIPPED), "--target", "kubernetes", "-o", str(folder)]
    for _ in range(2):  # the second export replaces the first whole
        code, out, err = run(args, monkeypatch, capsys)
        assert code == 0 and out == ""
        assert err == f"wrote 15 objects to {folder / 'stellar-ttp.yaml'}\n"
    assert [path.name for path in folder.iterdir()] == ["stellar-ttp.yaml"]
    assert (folder / "stellar-ttp.yaml").read_text() == render_yaml(export(SHIPPED))


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["-n", "Not_A_Namespace"], "is not a namespace name"),
        (["--target", "nomad"], "'nomad' is not 'kubernetes'"),
        (["--image", "two words"], "is not an image reference"),
    ],
)
def test_bad_options_are_usage_errors(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    expected: str,
) -> None:
    base = ["export", str(SHIPPED)] + ([] if "--target" in extra else ["--target", "kubernetes"])
    code, out, err = run([*base, *extra], monkeypatch, capsys)
    assert code == 2 and out == ""
    assert expected in err


def test_a_spec_that_cannot_be_exported_is_a_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SHIPPED.read_text().replace(
        "    heartbeat_ttl: 5s\n", "    heartbeat_ttl: 5s\n    tls: {cert_file: c.pem}\n"
    )
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(text)
    code, out, err = run(["export", str(spec), "--target", "kubernetes"], monkeypatch, capsys)
    assert code == 1 and out == ""
    assert err.startswith(f"error: {spec}: spec.controller.tls: ")
    assert "Traceback" not in err


def test_an_invalid_spec_reads_file_line_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(SHIPPED.read_text().replace("activate_at: 0.8", "activate_at: 1.8"))
    code, out, err = run(["export", str(spec), "--target", "kubernetes"], monkeypatch, capsys)
    assert code == 1 and out == ""
    assert re.match(rf"{re.escape(str(spec))}:\d+:\d+: spec.flow_control.activate_at: ", err)


def test_the_manifests_default_to_the_image_of_the_dockerfile() -> None:
    deployments = [item for item in export(SHIPPED) if item["kind"] == "Deployment"]
    assert {container(item)["image"] for item in deployments} == {DEFAULT_IMAGE}
    assert re.fullmatch(r"flowrun:\d+\.\d+\.\d+\S*", DEFAULT_IMAGE)
    controller = by_name(export(SHIPPED))[("Deployment", "stellar-ttp-controller")]
    assert container(controller)["command"][0] == "flowrun"


def test_the_dockerfile_installs_the_project_for_a_non_root_user() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    instructions = [line.split(None, 1) for line in dockerfile.splitlines() if line[:1].isupper()]
    assert ["FROM", "python:3.11-slim"] in instructions
    assert any(word == "RUN" and "pip install ." in rest for word, rest in instructions)
    (user,) = [rest for word, rest in instructions if word == "USER"]
    assert user.split(":")[0] not in {"root", "0"}
    # The pods run as this uid (runAsNonRoot needs a number to check).
    pod = by_name(export(SHIPPED))[("Deployment", "stellar-ttp-controller")]
    assert pod["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(
        user.split(":")[0]
    )
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert {"**", "!runner/", "!components/", "!pyproject.toml"} <= set(ignored)
