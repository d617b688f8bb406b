"""`flowrun export --target kubernetes`: the objects, checked against Kubernetes' own schemas.

Every manifest of the shipped spec (each profile) and of every example is validated
strictly (an unknown field is an error) against the schemas of the oldest and the newest
Kubernetes that kubernetes-validate bundles, offline. No cluster is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from flowrun.deploy.kubernetes.names import PIPELINE_LABEL
from flowrun.spec.loader import load_spec
from flowrun.spec.process import ResolvedPorts, component_environ, component_settings
from flowrun.spec.render import render_yaml as render_spec
from kubernetes_export_support import (
    EXAMPLES,
    REPO,
    SHIPPED,
    VERSIONS,
    by_name,
    container,
    env_of,
    export,
    schema_problems,
)

SHIPPED_PROFILES = [None, *yaml.safe_load(SHIPPED.read_text())["spec"]["profiles"]]
CASES = [(SHIPPED, profile) for profile in SHIPPED_PROFILES] + [(p, None) for p in EXAMPLES]


def _case_id(case: tuple[Path, str | None]) -> str:
    path, profile = case
    return f"{path.relative_to(REPO)}:{profile or 'base'}"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_every_exported_object_is_valid_kubernetes(
    case: tuple[Path, str | None], version: str
) -> None:
    path, profile = case
    assert schema_problems(export(path, profile), version) == []


def test_the_examples_are_all_exported() -> None:
    assert {path.name for path in EXAMPLES} >= {"minimal.yaml", "pipeline.yaml"}


@pytest.mark.parametrize("version", VERSIONS)
def test_the_validation_rejects_an_unknown_field(version: str) -> None:
    objects = export(SHIPPED)
    deployment = by_name(objects)[("Deployment", "stellar-ttp-stellar-arrow-source")]
    deployment["spec"]["replica"] = 2  # a typo kubectl would refuse
    (problem,) = schema_problems(objects, version)
    assert "Deployment/stellar-ttp-stellar-arrow-source" in problem
    assert "replica" in problem


def test_the_shipped_spec_exports_these_objects_in_apply_order() -> None:
    listed = [(item["kind"], item["metadata"]["name"]) for item in export(SHIPPED)]
    components = ["stellar-arrow-source", "ttp-arrow-processor", "arrow-analytics-sink"]
    assert listed == [
        ("ConfigMap", "stellar-ttp-spec"),
        ("PersistentVolumeClaim", "stellar-ttp-arrow-analytics-sink-output"),
        ("NetworkPolicy", "stellar-ttp-baseline-network"),
        ("NetworkPolicy", "stellar-ttp-controller-network"),
        *[("NetworkPolicy", f"stellar-ttp-{name}-network") for name in components],
        ("Service", "stellar-ttp-controller"),
        *[("Service", f"stellar-ttp-{name}") for name in components],
        ("Deployment", "stellar-ttp-controller"),
        *[("Deployment", f"stellar-ttp-{name}") for name in components],
    ]


def test_every_object_is_labelled_and_namespaced() -> None:
    for item in export(SHIPPED, namespace="pipelines"):
        metadata = item["metadata"]
        assert metadata["namespace"] == "pipelines"
        assert metadata["labels"][PIPELINE_LABEL] == "stellar-ttp"
        assert metadata["labels"]["app.kubernetes.io/managed-by"] == "flowrun"
        assert metadata["labels"]["app.kubernetes.io/part-of"] == "stellar-ttp"
        for key in ("name", "instance", "component"):
            assert metadata["labels"][f"app.kubernetes.io/{key}"]


def test_the_config_map_holds_the_rendered_spec_mounted_as_a_folder() -> None:
    loaded = load_spec(SHIPPED, "development", environ={})
    objects = by_name(export(SHIPPED, "development"))
    data = objects[("ConfigMap", "stellar-ttp-spec")]["data"]
    assert data["pipeline.yaml"] == render_spec(loaded)
    controller = objects[("Deployment", "stellar-ttp-controller")]
    assert controller["spec"]["replicas"] == 1
    command = container(controller)["command"]
    assert command[:4] == ["flowrun", "controller", "--spec", "/etc/flowrun/pipeline.yaml"]
    (mount,) = container(controller)["volumeMounts"]
    assert mount["mountPath"] == "/etc/flowrun"
    assert "subPath" not in mount  # a subPath mount never sees the ConfigMap's updates
    service = objects[("Service", "stellar-ttp-controller")]
    assert {port["name"] for port in service["spec"]["ports"]} == {"grpc", "metrics"}


def test_components_get_the_local_contract_with_services_as_addresses() -> None:
    loaded = load_spec(SHIPPED, environ={})
    objects = by_name(export(SHIPPED, namespace="ns"))
    for name, spec in loaded.body.components.items():
        env = env_of(objects[("Deployment", f"stellar-ttp-{name}")])
        # As the local runner starts it: its ports of 0 resolved to free ones.
        picked = ResolvedPorts(
            endpoints={other: "127.0.0.1:40001" for other in loaded.body.components},
            health_ports={other: 40002 for other in loaded.body.components},
        )
        local = component_settings(
            name,
            loaded.body,
            controller_endpoint=None,
            spec_dir=Path("/"),
            runner_pid=1,
            ports=picked,
        )
        expected = set(component_environ(local, spec, {})) - {"FLOWRUN_RUNNER_PID"}
        assert set(env) == expected
        assert env["FLOWCTL_ENDPOINT"] == "stellar-ttp-controller.ns.svc:8080"
        assert env["FLOWRUN_ENDPOINT"] == "0.0.0.0:8815"
    processor = env_of(objects[("Deployment", "stellar-ttp-ttp-arrow-processor")])
    assert processor["FLOWRUN_INPUTS"] == (
        '{"stellar-arrow-source": "stellar-ttp-stellar-arrow-source.ns.svc:8815"}'
    )
    policy = processor["FLOWRUN_FLOW_CONTROL"]["configMapKeyRef"]
    assert policy == {"name": "stellar-ttp-spec", "key": "FLOWRUN_FLOW_CONTROL"}


def test_readiness_is_the_health_port_and_liveness_the_flight_port() -> None:
    processor = container(
        by_name(export(SHIPPED))[("Deployment", "stellar-ttp-ttp-arrow-processor")]
    )
    assert processor["readinessProbe"]["httpGet"] == {"path": "/health", "port": "health"}
    # Not /health: it turns degraded when the controller is away, which must restart nothing.
    assert processor["livenessProbe"]["tcpSocket"] == {"port": "flight"}
    assert {p["name"]: p["containerPort"] for p in processor["ports"]} == {
        "flight": 8815,
        "health": 9464,
    }


def test_a_sink_writes_on_its_claim() -> None:
    objects = by_name(export(SHIPPED))
    sink = objects[("Deployment", "stellar-ttp-arrow-analytics-sink")]
    (mount,) = container(sink)["volumeMounts"]
    assert mount["mountPath"] == "/var/lib/flowrun/data/ttp_events"
    (volume,) = sink["spec"]["template"]["spec"]["volumes"]
    claim = volume["persistentVolumeClaim"]["claimName"]
    assert ("PersistentVolumeClaim", claim) in objects
    assert sink["spec"]["strategy"] == {"type": "Recreate"}  # one writer at a time


def _peers(rules: list[dict[str, Any]], key: str) -> list[tuple[str | None, list[int]]]:
    found = []
    for rule in rules:
        ports = [port["port"] for port in rule["ports"]]
        for peer in rule.get(key, [None]):
            name = peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] if peer else None
            found.append((name, ports))
    return found


def test_each_component_reaches_only_its_inputs_and_the_controller() -> None:
    objects = by_name(export(SHIPPED))
    spec = objects[("NetworkPolicy", "stellar-ttp-ttp-arrow-processor-network")]["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert _peers(spec["egress"], "to") == [
        ("stellar-arrow-source", [8815]),
        ("controller", [8080]),
    ]
    assert _peers(spec["ingress"], "from") == [("arrow-analytics-sink", [8815]), (None, [9464])]
    controller = objects[("NetworkPolicy", "stellar-ttp-controller-network")]["spec"]
    assert controller["egress"] == []
    baseline = objects[("NetworkPolicy", "stellar-ttp-baseline-network")]["spec"]
    assert baseline["podSelector"] == {"matchLabels": {PIPELINE_LABEL: "stellar-ttp"}}
    assert baseline["ingress"] == [] and _peers(baseline["egress"], "to") == [(None, [53, 53])]


def test_resources_and_replicas_come_from_the_spec(tmp_path: Path) -> None:
    text = SHIPPED.read_text().replace(
        "      inputs: [stellar-arrow-source]\n",
        "      inputs: [stellar-arrow-source]\n      replicas: 3\n"
        "      resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {memory: 1Gi}}\n",
    )
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(text)
    objects = export(spec)
    deployment = by_name(objects)[("Deployment", "stellar-ttp-ttp-arrow-processor")]
    assert deployment["spec"]["replicas"] == 3
    assert container(deployment)["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"memory": "1Gi"},
    }
    for version in VERSIONS:
        assert schema_problems(objects, version) == []


def test_pods_run_as_a_non_root_user_without_api_access() -> None:
    for item in export(SHIPPED):
        if item["kind"] != "Deployment":
            continue
        pod = item["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        assert container(item)["securityContext"]["allowPrivilegeEscalation"] is False
