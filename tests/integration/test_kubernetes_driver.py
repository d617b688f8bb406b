"""`flowrun up/down/status/logs --driver kubernetes`, the real CLI against a fake API server.

No cluster: tests/fixtures/fake_kube_api.py serves the REST calls on a loopback port and
records them, and a kubeconfig in tmp_path points at it. What is checked is what was sent:
server-side apply of every object with field manager `flowrun`, the prune of exactly a
removed component's objects, status read from conditions, a pod's log, and the one-line
errors of a cluster that is unreachable, forbidding, or not configured at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.fake_kube_api import FakeKubeApi
from fixtures.runner_harness import component, write_spec
from ports import free_port

pytestmark = pytest.mark.timeout(120)
FLOWRUN = str(Path(sys.executable).parent / "flowrun")
WAIT = 60.0
NAMESPACE = "team"
PIPELINE_LABEL = "flowrun.io/pipeline"
NAME_LABEL = "app.kubernetes.io/name"
DEPLOYMENTS = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments"


@pytest.fixture
def api() -> Iterator[FakeKubeApi]:
    with FakeKubeApi() as server:
        yield server


@pytest.fixture
def environment(tmp_path: Path, api: FakeKubeApi) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig", namespace=NAMESPACE)
    return {**_clean_environment(home), "KUBECONFIG": str(kubeconfig)}


def _clean_environment(home: Path) -> dict[str, str]:
    """No kubeconfig or in-cluster account of the machine running the tests leaks in."""
    hidden = {"KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"}
    return {**{k: v for k, v in os.environ.items() if k not in hidden}, "HOME": str(home)}


def flowrun(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLOWRUN, *args], capture_output=True, text=True, timeout=WAIT, env=env, check=False
    )


def spec_of(folder: Path, *names: str) -> Path:
    """source -> processor -> sink, keeping only `names` (a sink without its processor reads
    the source)."""
    wanted = names or ("source", "processor", "sink")
    entries: dict[str, dict[str, Any]] = {"source": component("source")}
    if "processor" in wanted:
        entries["processor"] = component("processor", inputs=["source"])
    if "sink" in wanted:
        upstream = "processor" if "processor" in wanted else "source"
        entries["sink"] = component("sink", inputs=[upstream])
    return write_spec(folder, entries)


def applied(api: FakeKubeApi) -> dict[str, dict[str, Any]]:
    """{request path: object sent} of every apply so far, the latest per path."""
    return {request.path: request.body for request in api.sent("PATCH")}


def test_up_applies_every_object_server_side_as_flowrun(
    tmp_path: Path, api: FakeKubeApi, environment: dict[str, str]
) -> None:
    spec = spec_of(tmp_path)
    done = flowrun(environment, "up", str(spec), "--driver", "kubernetes")
    assert done.returncode == 0, done.stderr
    patches = api.sent("PATCH")
    kinds = {request.body["kind"] for request in patches}
    assert {"ConfigMap", "Deployment", "Service"} <= kinds
    for request in patches:
        assert request.query == {"fieldManager": "flowrun", "force": "true"}
        assert request.content_type == "application/apply-patch+yaml"
        metadata = request.body["metadata"]
        assert request.path.endswith(
            f"/namespaces/{NAMESPACE}/{_plural(request)}/{metadata['name']}"
        )
        assert metadata["labels"][PIPELINE_LABEL] == "test-pipeline"
    components = {
        request.body["metadata"]["labels"].get(NAME_LABEL)
        for request in patches
        if request.body["kind"] == "Deployment"
    }
    assert components == {"controller", "source", "processor", "sink"}
    assert f"{len(patches)} objects applied, 0 pruned" in done.stdout


def test_a_second_up_prunes_exactly_the_removed_components_objects(
    tmp_path: Path, api: FakeKubeApi, environment: dict[str, str]
) -> None:
    spec = spec_of(tmp_path)
    assert flowrun(environment, "up", str(spec), "--driver", "kubernetes").returncode == 0
    first = applied(api)
    spec_of(tmp_path, "source", "sink")  # the processor is gone; the sink reads the source
    api.requests.clear()
    done = flowrun(environment, "up", str(spec), "--driver", "kubernetes")
    assert done.returncode == 0, done.stderr

    second = applied(api)
    gone = set(first) - set(second)
    assert gone, "removing a component removes objects"
    assert {first[path]["metadata"]["labels"].get(NAME_LABEL) for path in gone} == {"processor"}
    assert {request.path for request in api.sent("DELETE")} == gone
    lists = api.sent("GET")
    assert lists and all(
        r.query["labelSelector"] == f"{PIPELINE_LABEL}=test-pipeline" for r in lists
    )
    assert f"{len(gone)} pruned" in done.stdout


def test_status_reads_deployments_conditions_and_pods_restarts(
    tmp_path: Path, api: FakeKubeApi, environment: dict[str, str]
) -> None:
    spec = spec_of(tmp_path, "source", "sink")
    assert flowrun(environment, "up", str(spec), "--driver", "kubernetes").returncode == 0
    deployments = {
        body["metadata"]["labels"][NAME_LABEL]: body
        for body in applied(api).values()
        if body["kind"] == "Deployment"
    }
    source, sink = deployments["source"], deployments["sink"]
    api.set_status(DEPLOYMENTS, source["metadata"]["name"], _deployment_status(ready=1))
    api.set_status(DEPLOYMENTS, sink["metadata"]["name"], _deployment_status(ready=0))
    api.add_pod(NAMESPACE, "source-abc", _pod_labels(source), restarts=0, log="")
    api.add_pod(NAMESPACE, "sink-def", _pod_labels(sink), restarts=3, log="")

    done = flowrun(environment, "status", str(spec), "--driver", "kubernetes")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[2:]}
    assert "1/1" in rows["source"] and "Available=True" in rows["source"]
    assert "0/1" in rows["sink"] and "Available=False (MinimumReplicasUnavailable)" in rows["sink"]
    assert rows["sink"].split()[2] == "3"  # restarts of its pod

    as_json = flowrun(environment, "status", str(spec), "--driver", "kubernetes", "--json")
    by_component = {row["component"]: row for row in yaml.safe_load(as_json.stdout)["deployments"]}
    assert by_component["sink"]["pods"] == ["sink-def"] and by_component["sink"]["restarts"] == 3


def test_logs_read_a_components_pod(
    tmp_path: Path, api: FakeKubeApi, environment: dict[str, str]
) -> None:
    spec = spec_of(tmp_path, "source", "sink")
    assert flowrun(environment, "up", str(spec), "--driver", "kubernetes").returncode == 0
    sink = next(
        body
        for body in applied(api).values()
        if body["kind"] == "Deployment" and body["metadata"]["labels"][NAME_LABEL] == "sink"
    )
    api.add_pod(NAMESPACE, "sink-def", _pod_labels(sink), restarts=0, log="one\ntwo\nthree\n")

    done = flowrun(environment, "logs", str(spec), "sink", "--driver", "kubernetes", "--tail", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["two", "three"]
    (request,) = [r for r in api.sent("GET") if r.path.endswith("/log")]
    assert request.path == f"/api/v1/namespaces/{NAMESPACE}/pods/sink-def/log"
    assert request.query["tailLines"] == "2"

    missing = flowrun(environment, "logs", str(spec), "nobody", "--driver", "kubernetes")
    assert missing.returncode == 1 and "no Deployment of component 'nobody'" in missing.stderr


def test_down_deletes_the_pipelines_objects_but_its_volumes(
    tmp_path: Path, api: FakeKubeApi, environment: dict[str, str]
) -> None:
    spec = spec_of(tmp_path)
    assert flowrun(environment, "up", str(spec), "--driver", "kubernetes").returncode == 0
    first = applied(api)
    done = flowrun(environment, "down", str(spec), "--driver", "kubernetes")
    assert done.returncode == 0, done.stderr
    deleted = {request.path for request in api.sent("DELETE")}
    volumes = {path for path, body in first.items() if body["kind"] == "PersistentVolumeClaim"}
    assert deleted == set(first) - volumes


def test_an_unreachable_cluster_is_one_clear_error(tmp_path: Path, api: FakeKubeApi) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config = api.kubeconfig(tmp_path / "kubeconfig")
    text = config.read_text().replace(api.url, f"http://127.0.0.1:{free_port()}")
    config.write_text(text)
    spec = spec_of(tmp_path)
    env = _clean_environment(home)
    for command in ("up", "status", "down", "logs"):
        done = flowrun(
            env, command, str(spec), "--driver", "kubernetes", "--kubeconfig", str(config)
        )
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("error: cannot reach the cluster of context 'fake'")
        assert "Traceback" not in done.stderr


def test_no_kubeconfig_and_a_forbidding_cluster_are_one_clear_error(
    tmp_path: Path, api: FakeKubeApi, environment: dict[str, str]
) -> None:
    spec = spec_of(tmp_path)
    home = tmp_path / "home"
    nothing = flowrun(_clean_environment(home), "status", str(spec), "--driver", "kubernetes")
    assert nothing.returncode == 1
    assert "no kubeconfig" in nothing.stderr and "Traceback" not in nothing.stderr

    unknown = flowrun(environment, "status", str(spec), "--driver", "kubernetes", "--context", "x")
    assert unknown.returncode == 1 and "x" in unknown.stderr and "Traceback" not in unknown.stderr

    api.forbidden = True
    refused = flowrun(environment, "up", str(spec), "--driver", "kubernetes")
    assert refused.returncode == 1
    assert "403" in refused.stderr and "RBAC" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_cluster_options_without_the_kubernetes_driver_are_refused(
    tmp_path: Path, environment: dict[str, str]
) -> None:
    spec = spec_of(tmp_path)
    done = flowrun(environment, "status", str(spec), "--context", "fake")
    assert done.returncode == 2 and "--driver kubernetes only" in done.stderr


def _plural(request: Any) -> str:
    return {
        "ConfigMap": "configmaps",
        "Deployment": "deployments",
        "Service": "services",
        "NetworkPolicy": "networkpolicies",
        "PersistentVolumeClaim": "persistentvolumeclaims",
        "Secret": "secrets",
        "ServiceAccount": "serviceaccounts",
    }[request.body["kind"]]


def _deployment_status(*, ready: int) -> dict[str, Any]:
    available = "True" if ready else "False"
    condition = {"type": "Available", "status": available}
    if not ready:
        condition["reason"] = "MinimumReplicasUnavailable"
    return {
        "replicas": 1,
        "readyReplicas": ready,
        "conditions": [condition, {"type": "Progressing", "status": "True"}],
    }


def _pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return dict(deployment["spec"]["selector"]["matchLabels"])
