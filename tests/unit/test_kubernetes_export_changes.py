"""What an edit of the spec changes in the exported objects, determinism, and secrets.

Re-applying after an edit changes exactly the objects that differ: a threshold (live
locally) only the ConfigMap, which the controller follows; one component's command
(restarts it alone locally) only that component's Deployment, through its pod template.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flowrun.deploy.errors import ExportError
from flowrun.deploy.kubernetes.manifests import render_yaml
from flowrun.deploy.kubernetes.names import RESTART_HASH_ANNOTATION
from flowrun.spec.loader import load_spec
from kubernetes_export_support import (
    SHIPPED,
    VERSIONS,
    by_name,
    changed,
    container,
    env_of,
    export,
    export_loaded,
    schema_problems,
)

PROCESSOR = ("Deployment", "stellar-ttp-ttp-arrow-processor")


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = SHIPPED.read_text()
    assert text.count(old) == 1, old
    path = tmp_path / "stellar-ttp.yaml"
    path.write_text(text.replace(old, new))
    return path


def _annotation(deployment: dict[str, object]) -> str:
    template = deployment["spec"]["template"]  # type: ignore[index]
    return str(template["metadata"]["annotations"][RESTART_HASH_ANNOTATION])


def test_the_same_spec_gives_the_same_bytes() -> None:
    first = render_yaml(export(SHIPPED, "production"))
    second = render_yaml(export(SHIPPED, "production"))
    assert first == second
    assert first.count("\n---\n") + 1 == len(export(SHIPPED, "production"))


def test_a_threshold_edit_changes_only_the_config_map(tmp_path: Path) -> None:
    edited = _edited(tmp_path, "activate_at: 0.8", "activate_at: 0.7")
    before = export(SHIPPED)
    after = export(edited)
    assert changed(before, after) == {("ConfigMap", "stellar-ttp-spec")}
    config = by_name(after)[("ConfigMap", "stellar-ttp-spec")]["data"]
    assert "activate_at: 0.7" in config["pipeline.yaml"]
    assert '"activate_at": 0.7' in config["FLOWRUN_FLOW_CONTROL"]


def test_one_components_command_edit_rolls_that_component_alone(tmp_path: Path) -> None:
    edited = _edited(
        tmp_path,
        "command: [python, -m, ttp_arrow_processor]",
        "command: [python, -m, ttp_arrow_processor, --verbose]",
    )
    before, after = export(SHIPPED), export(edited)
    # The ConfigMap holds the whole spec, so it shows the edit too; no other workload moves.
    assert changed(before, after) == {PROCESSOR, ("ConfigMap", "stellar-ttp-spec")}
    old, new = by_name(before)[PROCESSOR], by_name(after)[PROCESSOR]
    assert _annotation(old) != _annotation(new)
    assert container(new)["command"][-1] == "--verbose"
    assert {k: v for k, v in old["spec"].items() if k != "template"} == {
        k: v for k, v in new["spec"].items() if k != "template"
    }


def test_a_live_edit_of_a_component_restarts_nothing(tmp_path: Path) -> None:
    edited = _edited(
        tmp_path,
        "      inputs: [stellar-arrow-source]\n",
        "      inputs: [stellar-arrow-source]\n      stop_grace: 3s\n",
    )
    assert changed(export(SHIPPED), export(edited)) == {("ConfigMap", "stellar-ttp-spec")}


def test_replicas_scale_without_a_new_pod_template(tmp_path: Path) -> None:
    edited = _edited(
        tmp_path,
        "      inputs: [stellar-arrow-source]\n",
        "      inputs: [stellar-arrow-source]\n      replicas: 2\n",
    )
    before, after = by_name(export(SHIPPED))[PROCESSOR], by_name(export(edited))[PROCESSOR]
    assert after["spec"]["replicas"] == 2
    assert before["spec"]["template"] == after["spec"]["template"]


SECRET_SPEC = """\
apiVersion: flowctl/v1
kind: Pipeline
metadata: {name: secretive}
spec:
  controller: {endpoint: 127.0.0.1:0, token: '${FLOWCTL_SHARED_TOKEN}'}
  components:
    src:
      type: source
      command: [python, -m, stellar_arrow_source]
      endpoint: 127.0.0.1:0
      env: {API_KEY: '${UPSTREAM_API_KEY}', REGION: eu}
    sink:
      type: sink
      command: [python, -m, arrow_analytics_sink]
      inputs: [src]
      config: {output_dir: /data/out}
"""
SECRETS = {"FLOWCTL_SHARED_TOKEN": "t0ken-value-42", "UPSTREAM_API_KEY": "k3y-value-77"}


def _secret_spec(tmp_path: Path, text: str = SECRET_SPEC) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    return path


def test_secrets_are_references_never_values(tmp_path: Path) -> None:
    objects = export_loaded(load_spec(_secret_spec(tmp_path), environ=SECRETS))
    text = render_yaml(objects)
    for value in SECRETS.values():
        assert value not in text
    found = by_name(objects)
    source = env_of(found[("Deployment", "secretive-src")])
    assert source["API_KEY"] == {"secretKeyRef": {"name": "secretive-secrets", "key": "API_KEY"}}
    token = {"secretKeyRef": {"name": "secretive-controller-token", "key": "token"}}
    assert source["FLOWCTL_TOKEN"] == token
    assert source["REGION"] == "eu"
    controller = container(found[("Deployment", "secretive-controller")])
    assert controller["command"][-2:] == ["--token-env", "FLOWCTL_TOKEN"]
    assert controller["env"] == [{"name": "FLOWCTL_TOKEN", "valueFrom": token}]
    assert "token: '***'" in found[("ConfigMap", "secretive-spec")]["data"]["pipeline.yaml"]
    for version in VERSIONS:
        assert schema_problems(objects, version) == []


@pytest.mark.parametrize(
    ("old", "new", "place"),
    [
        (
            "REGION: eu}",
            "REGION: 'eu-${UPSTREAM_API_KEY}'}",
            "spec.components.src: the variable REGION",
        ),
        (
            "command: [python, -m, stellar_arrow_source]",
            "command: [python, -m, stellar_arrow_source, '${UPSTREAM_API_KEY}']",
            "spec.components.src.command[3]",
        ),
        (
            "{output_dir: /data/out}",
            "{output_dir: /data/out, password: hunter22}",
            "config.password",
        ),
    ],
    ids=["in-a-variable", "in-an-argument", "in-config"],
)
def test_a_secret_elsewhere_is_refused_with_the_key_and_the_fix(
    tmp_path: Path, old: str, new: str, place: str
) -> None:
    loaded = load_spec(_secret_spec(tmp_path, SECRET_SPEC.replace(old, new)), environ=SECRETS)
    with pytest.raises(ExportError) as raised:
        export_loaded(loaded)
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'pipeline.yaml'}: ")
    assert place in message and "env:" in message
    for value in SECRETS.values():
        assert value not in message


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (
            "endpoint: 127.0.0.1:0, token",
            "endpoint: 127.0.0.1:0, tls: {cert_file: c.pem}, token",
            "spec.controller.tls",
        ),
        (
            "config: {output_dir: /data/out}",
            "config: {output_dir: /data/out}\n      replicas: 2",
            "replicas",
        ),
        (
            "    sink:\n",
            "    Src:\n      type: source\n      command: [x]\n    sink:\n",
            "rename one",
        ),
    ],
    ids=["tls", "sink-replicas", "same-names"],
)
def test_what_cannot_run_on_kubernetes_is_refused(
    tmp_path: Path, old: str, new: str, words: str
) -> None:
    loaded = load_spec(_secret_spec(tmp_path, SECRET_SPEC.replace(old, new)), environ=SECRETS)
    with pytest.raises(ExportError, match=words):
        export_loaded(loaded)
