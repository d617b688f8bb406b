"""A component on Kubernetes: its Deployment, its Service and a sink's output volume.

The container runs the spec's `command` in the image, with the environment of
`environment.ContainerEnvironment`. Readiness is the component's own `/health` (on its
health port; the Flight port where it has none): a component that says it is unhealthy
leaves its Service. Liveness is a TCP probe of the Flight port, never `/health`, which
turns degraded or unhealthy when the controller is away: a controller down must not
restart every pod of the pipeline.
"""

from __future__ import annotations

import posixpath
from typing import Any

from flowrun.deploy.kubernetes.environment import ContainerEnvironment, PodPorts, escaped
from flowrun.deploy.kubernetes.names import (
    FLIGHT_PORT_NAME,
    HEALTH_PORT_NAME,
    RESTART_HASH_ANNOTATION,
    WORKSPACE,
    Naming,
    dns_label,
)
from flowrun.deploy.kubernetes.pods import (
    container_port,
    container_security,
    deployment,
    http_probe,
    liveness,
    pod_security,
    readiness_by_tcp,
    service,
    service_port,
)
from flowrun.deploy.kubernetes.restart_hash import restart_hash
from flowrun.spec.model import ComponentSpec, ComponentType

HEALTH_PATH = "/health"
OUTPUT_VOLUME = "output"
OUTPUT_SIZE = "10Gi"
DEFAULT_OUTPUT = "data"
"""Where a sink without `config.output_dir` writes, relative to the spec's folder: its
default is the component's own, under data/ for the shipped sinks."""


def output_dir(spec: ComponentSpec) -> str | None:
    """The folder a sink writes in the pod (absolute), None for any other component."""
    if spec.type is not ComponentType.SINK:
        return None
    written = spec.config.get("output_dir")
    relative = written if isinstance(written, str) and written else DEFAULT_OUTPUT
    return posixpath.normpath(posixpath.join(WORKSPACE, relative))


def output_claim_name(naming: Naming, name: str) -> str:
    return naming.object_name(f"{name}-output")


def output_claim(naming: Naming, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": naming.metadata(name, "output", output_claim_name(naming, name)),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": OUTPUT_SIZE}},
        },
    }


def component_service(naming: Naming, name: str, ports: PodPorts) -> dict[str, Any] | None:
    """Its Service (Flight for consumers, health for Prometheus); None without a port."""
    named = _named_ports(ports)
    if not named:
        return None
    role = "component"
    return service(naming, name, role, [service_port(n, p) for n, p in named])


def component_deployment(
    naming: Naming, name: str, spec: ComponentSpec, environment: ContainerEnvironment, image: str
) -> dict[str, Any]:
    ports = environment.ports[name]
    container: dict[str, Any] = {
        "name": dns_label(name),
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": [escaped(word) for word in spec.command],
        "workingDir": posixpath.normpath(posixpath.join(WORKSPACE, spec.working_dir or ".")),
        "env": environment.env(name),
    }
    named = _named_ports(ports)
    if named:
        container["ports"] = [container_port(n, p) for n, p in named]
    container |= _probes(ports)
    if spec.resources is not None:
        container["resources"] = spec.resources.model_dump(mode="json", exclude_none=True)
    container["securityContext"] = container_security()
    pod: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "securityContext": pod_security(),
        "containers": [container],
    }
    folder = output_dir(spec)
    if folder is not None:
        container["volumeMounts"] = [{"name": OUTPUT_VOLUME, "mountPath": folder}]
        claim = {"claimName": output_claim_name(naming, name)}
        pod["volumes"] = [{"name": OUTPUT_VOLUME, "persistentVolumeClaim": claim}]
    return deployment(
        naming,
        name,
        spec.type.value,
        replicas=spec.replicas or 1,
        pod=pod,
        annotations={RESTART_HASH_ANNOTATION: restart_hash(spec)},
        recreate=folder is not None,
    )


def _named_ports(ports: PodPorts) -> list[tuple[str, int]]:
    named = [(FLIGHT_PORT_NAME, ports.flight), (HEALTH_PORT_NAME, ports.health)]
    return [(name, port) for name, port in named if port is not None]


def _probes(ports: PodPorts) -> dict[str, Any]:
    probes: dict[str, Any] = {}
    if ports.health is not None:
        probes["readinessProbe"] = http_probe(HEALTH_PORT_NAME, HEALTH_PATH)
    elif ports.flight is not None:
        probes["readinessProbe"] = readiness_by_tcp(FLIGHT_PORT_NAME)
    if ports.flight is not None:
        probes["livenessProbe"] = liveness(FLIGHT_PORT_NAME)
    return probes
