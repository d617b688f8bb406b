"""`flowrun logs --driver kubernetes`: the logs of a component's pods, read from the cluster.

A component is a Deployment (named, or labelled with the component's name); its pods are
the ones its selector matches. With several pods, each line is prefixed with the pod's
name, as the local logs prefix each component's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flowrun.deploy.kubernetes.apply import selector
from flowrun.deploy.kubernetes.cluster import Cluster
from flowrun.deploy.kubernetes.cluster_status import component_of, pipeline_workloads, pods_of
from flowrun.deploy.kubernetes.names import dns_label
from flowrun.errors import ClusterError


def chosen_pods(cluster: Cluster, component: str | None, *, label: str, pipeline: str) -> list[str]:
    """The pods of `component` (every pod of the pipeline when None), sorted."""
    chosen = selector(label, pipeline)
    deployments, pods = pipeline_workloads(cluster, chosen)
    if component is not None:
        deployments = [d for d in deployments if _is_component(d, component)]
        if not deployments:
            raise ClusterError(
                f"no Deployment of component '{component}' in namespace {cluster.namespace} "
                f"with {chosen} (see `flowrun status --driver kubernetes`)"
            )
        pods = [pod for deployment in deployments for pod in pods_of(deployment, pods)]
    names = sorted({str(pod["metadata"]["name"]) for pod in pods})
    if not names:
        raise ClusterError(f"no pods yet for {component or 'pipeline ' + pipeline} ({chosen})")
    return names


def _is_component(deployment: dict[str, Any], component: str) -> bool:
    # Names on the cluster are DNS labels: `Sink_A` of the spec is `sink-a` there.
    return component_of(deployment) in (component, dns_label(component))


def log_lines(
    cluster: Cluster, pods: list[str], *, tail: int | None, since: float | None
) -> Iterator[tuple[str, str]]:
    """(pod, line) of each pod's log, pod after pod."""
    since_seconds = None if since is None else max(1, int(time.time() - since) + 1)
    for pod in pods:
        text = cluster.pod_log(pod, tail=tail, since_seconds=since_seconds)
        for line in text.splitlines():
            yield pod, line
