"""`flowrun status --driver kubernetes`: the pipeline's Deployments and their pods.

Read from the objects' status as the cluster reports it: ready of desired replicas, the
Deployment's conditions (Available, Progressing, ReplicaFailure) and its pods' container
restarts. Pods belong to a Deployment by its selector, whatever labels the exporter chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowrun.deploy.kubernetes.apply import selector
from flowrun.deploy.kubernetes.cluster import Cluster
from flowrun.deploy.kubernetes.names import NAME_LABEL
from flowrun.deploy.kubernetes.resources import DEPLOYMENTS, PODS

Objects = list[dict[str, Any]]


@dataclass(frozen=True)
class DeploymentStatus:
    """One row of the table: a Deployment, its replicas, conditions and pods' restarts."""

    name: str
    component: str
    ready: int
    desired: int
    conditions: tuple[str, ...]
    """`Type=Status` of each condition, `(reason)` added when one is not True."""
    restarts: int
    pods: tuple[str, ...]

    @property
    def healthy(self) -> bool:
        return self.ready >= self.desired and "Available=True" in self.conditions


def component_of(deployment: dict[str, Any]) -> str:
    """The component (or `controller`) a Deployment runs, by the exporter's name label."""
    labels = deployment["metadata"].get("labels") or {}
    return str(labels.get(NAME_LABEL) or deployment["metadata"]["name"])


def pods_of(deployment: dict[str, Any], pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pods the Deployment's selector matches (matchLabels; expressions are not used)."""
    wanted = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if not wanted:
        return []
    return [
        pod
        for pod in pods
        if all((pod["metadata"].get("labels") or {}).get(k) == v for k, v in wanted.items())
    ]


def _conditions(deployment: dict[str, Any]) -> tuple[str, ...]:
    shown = []
    for condition in (deployment.get("status") or {}).get("conditions") or []:
        text = f"{condition.get('type')}={condition.get('status')}"
        if condition.get("status") != "True" and condition.get("reason"):
            text += f" ({condition['reason']})"
        shown.append(text)
    return tuple(shown)


def _restarts(pods: list[dict[str, Any]]) -> int:
    return sum(
        int(container.get("restartCount") or 0)
        for pod in pods
        for container in (pod.get("status") or {}).get("containerStatuses") or []
    )


def deployment_status(deployment: dict[str, Any], pods: list[dict[str, Any]]) -> DeploymentStatus:
    mine = pods_of(deployment, pods)
    status = deployment.get("status") or {}
    return DeploymentStatus(
        name=str(deployment["metadata"]["name"]),
        component=component_of(deployment),
        ready=int(status.get("readyReplicas") or 0),
        desired=int((deployment.get("spec") or {}).get("replicas", 1)),
        conditions=_conditions(deployment),
        restarts=_restarts(mine),
        pods=tuple(sorted(str(pod["metadata"]["name"]) for pod in mine)),
    )


def pipeline_workloads(cluster: Cluster, chosen: str) -> tuple[Objects, Objects]:
    """The Deployments and the pods that the label selector `chosen` picks, in the
    cluster's namespace: what `status` and `logs` both start from."""
    deployments = cluster.list(DEPLOYMENTS.collection(cluster.namespace), chosen)
    pods = cluster.list(PODS.collection(cluster.namespace), chosen)
    return deployments, pods


def read_status(cluster: Cluster, *, label: str, pipeline: str) -> list[DeploymentStatus]:
    deployments, pods = pipeline_workloads(cluster, selector(label, pipeline))
    rows = [deployment_status(deployment, pods) for deployment in deployments]
    return sorted(rows, key=lambda row: row.name)


def render_status(rows: list[DeploymentStatus], *, pipeline: str, where: str) -> str:
    if not rows:
        return f"pipeline {pipeline}: no Deployments labelled for it on {where}"
    header = ("COMPONENT", "READY", "RESTARTS", "CONDITIONS")
    table = [header] + [
        (row.component, f"{row.ready}/{row.desired}", str(row.restarts), ", ".join(row.conditions))
        for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    lines = [f"pipeline {pipeline} on {where}"]
    for line in table:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        lines.append("  ".join([*cells, line[-1]]).rstrip())
    return "\n".join(lines)
