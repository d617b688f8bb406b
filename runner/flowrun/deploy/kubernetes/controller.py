"""The controller of an embedded-controller pipeline: one pod and its Service.

It runs `flowrun controller --spec /etc/flowrun/pipeline.yaml`, which reads the policy
from the spec's ConfigMap and follows the file, pushing a new threshold to every
component live, as the local runner does on a reload. One replica, replaced by
stopping the old pod first: two controllers would split the components between them.
A token is given by reference to its Secret (`--token-env`), never written anywhere.
"""

from __future__ import annotations

from typing import Any

from flowctl.settings import FLOWCTL_TOKEN

from flowrun.deploy.kubernetes.environment import controller_port, token_env
from flowrun.deploy.kubernetes.names import (
    CONTROLLER,
    CONTROLLER_METRICS_PORT,
    GRPC_PORT_NAME,
    LISTEN_HOST,
    METRICS_PORT_NAME,
    SPEC_CONFIG,
    SPEC_FILE,
    SPEC_MOUNT,
    Naming,
)
from flowrun.deploy.kubernetes.pods import (
    container_port,
    container_security,
    deployment,
    liveness,
    pod_security,
    readiness_by_tcp,
    service,
    service_port,
)
from flowrun.spec.model import PipelineBody

SPEC_VOLUME = "spec"


def metrics_port(body: PipelineBody) -> int | None:
    """The controller's Prometheus port: the spec's `monitoring.metrics_port` (the
    runner's, whose metrics it serves here), a fixed one for 0, none for null."""
    port = body.monitoring.metrics_port
    return None if port is None else (port or CONTROLLER_METRICS_PORT)


def controller_objects(body: PipelineBody, naming: Naming, image: str) -> list[dict[str, Any]]:
    """[Deployment, Service] of the controller."""
    grpc = controller_port(body)
    metrics = metrics_port(body)
    ports = [(GRPC_PORT_NAME, grpc)] + ([(METRICS_PORT_NAME, metrics)] if metrics else [])
    pod = _pod(body, naming, image, grpc, metrics)
    return [
        deployment(naming, CONTROLLER, CONTROLLER, replicas=1, pod=pod, recreate=True),
        service(naming, CONTROLLER, CONTROLLER, [service_port(n, p) for n, p in ports]),
    ]


def _pod(
    body: PipelineBody, naming: Naming, image: str, grpc: int, metrics: int | None
) -> dict[str, Any]:
    command = [
        "flowrun",
        "controller",
        "--spec",
        f"{SPEC_MOUNT}/{SPEC_FILE}",
        "--listen",
        f"{LISTEN_HOST}:{grpc}",
    ]
    ports = [container_port(GRPC_PORT_NAME, grpc)]
    if metrics is not None:
        command += ["--metrics-listen", f"{LISTEN_HOST}:{metrics}"]
        ports.append(container_port(METRICS_PORT_NAME, metrics))
    container: dict[str, Any] = {
        "name": CONTROLLER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
    }
    if body.controller.token is not None:
        command += ["--token-env", FLOWCTL_TOKEN]
        container["env"] = [token_env(naming)]
    container |= {
        "ports": ports,
        "readinessProbe": readiness_by_tcp(GRPC_PORT_NAME),
        "livenessProbe": liveness(GRPC_PORT_NAME),
        "securityContext": container_security(),
        "volumeMounts": [{"name": SPEC_VOLUME, "mountPath": SPEC_MOUNT, "readOnly": True}],
    }
    config_map = {
        "name": naming.object_name(SPEC_CONFIG),
        "items": [{"key": SPEC_FILE, "path": SPEC_FILE}],
    }
    return {
        "automountServiceAccountToken": False,
        "securityContext": pod_security(),
        "containers": [container],
        "volumes": [{"name": SPEC_VOLUME, "configMap": config_map}],
    }
