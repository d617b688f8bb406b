"""What every pod of a pipeline shares: who it runs as, how it is probed, its Deployment.

Pods run as the image's non-root user, without privilege escalation or capabilities, and
without a service account token (no component talks to the Kubernetes API).
"""

from __future__ import annotations

from typing import Any

from flowrun.deploy.kubernetes.names import CONTAINER_USER, Naming

READINESS_PERIOD_SECONDS = 5
LIVENESS_PERIOD_SECONDS = 10
# A minute without an answer before the kubelet restarts the container: a slow start or
# a long pause of the process is not a death.
LIVENESS_FAILURES = 6


def pod_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": CONTAINER_USER,
        "runAsGroup": CONTAINER_USER,
        # Volumes (a sink's output) are writable by that user.
        "fsGroup": CONTAINER_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def http_probe(port_name: str, path: str) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port_name},
        "periodSeconds": READINESS_PERIOD_SECONDS,
        "failureThreshold": 3,
    }


def tcp_probe(port_name: str, *, period_seconds: int, failures: int) -> dict[str, Any]:
    return {
        "tcpSocket": {"port": port_name},
        "periodSeconds": period_seconds,
        "failureThreshold": failures,
    }


def liveness(port_name: str) -> dict[str, Any]:
    return tcp_probe(port_name, period_seconds=LIVENESS_PERIOD_SECONDS, failures=LIVENESS_FAILURES)


def readiness_by_tcp(port_name: str) -> dict[str, Any]:
    return tcp_probe(port_name, period_seconds=READINESS_PERIOD_SECONDS, failures=3)


def container_port(name: str, port: int) -> dict[str, Any]:
    return {"name": name, "containerPort": port, "protocol": "TCP"}


def service_port(name: str, port: int) -> dict[str, Any]:
    return {"name": name, "port": port, "targetPort": name, "protocol": "TCP"}


def deployment(
    naming: Naming,
    part: str,
    role: str,
    *,
    replicas: int,
    pod: dict[str, Any],
    annotations: dict[str, str] | None = None,
    recreate: bool = False,
) -> dict[str, Any]:
    """A Deployment of `pod` (a pod spec). `recreate`: the old pod stops before the new one
    starts (one writer of a volume, one controller holding the registry)."""
    template_metadata: dict[str, Any] = {"labels": naming.labels(part, role)}
    if annotations:
        template_metadata["annotations"] = annotations
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": naming.selector(part)},
    }
    if recreate:
        spec["strategy"] = {"type": "Recreate"}
    spec["template"] = {"metadata": template_metadata, "spec": pod}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": naming.metadata(part, role),
        "spec": spec,
    }


def service(naming: Naming, part: str, role: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": naming.metadata(part, role),
        "spec": {"type": "ClusterIP", "selector": naming.selector(part), "ports": ports},
    }
