"""The kinds of object flowrun puts on a cluster, and where each lives in the REST API.

The driver speaks to fixed paths rather than asking the cluster's discovery API: the kinds
are few and stable, and one request less per kind keeps `up` quick. A kind missing here
is refused by name, so an exporter that starts producing a new kind says so at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowrun.errors import ClusterError


@dataclass(frozen=True)
class Resource:
    """One kind: its API group and version, and the plural name of its REST collection."""

    kind: str
    api_version: str
    plural: str

    def collection(self, namespace: str) -> str:
        prefix = "/api/" if "/" not in self.api_version else "/apis/"
        return f"{prefix}{self.api_version}/namespaces/{namespace}/{self.plural}"

    def item(self, namespace: str, name: str) -> str:
        return f"{self.collection(namespace)}/{name}"


# In the order they are applied: what others mount or reach first; pruned in reverse.
RESOURCES: tuple[Resource, ...] = (
    Resource("ServiceAccount", "v1", "serviceaccounts"),
    Resource("Secret", "v1", "secrets"),
    Resource("ConfigMap", "v1", "configmaps"),
    Resource("PersistentVolumeClaim", "v1", "persistentvolumeclaims"),
    Resource("Service", "v1", "services"),
    Resource("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies"),
    Resource("Deployment", "apps/v1", "deployments"),
)
BY_KIND = {resource.kind: resource for resource in RESOURCES}

DEPLOYMENTS = BY_KIND["Deployment"]
PODS = Resource("Pod", "v1", "pods")  # read for status and logs, never applied


def resource_of(manifest: dict[str, Any]) -> Resource:
    kind = str(manifest.get("kind", ""))
    resource = BY_KIND.get(kind)
    if resource is None or manifest.get("apiVersion") != resource.api_version:
        known = ", ".join(f"{r.api_version} {r.kind}" for r in RESOURCES)
        raise ClusterError(
            f"cannot apply {manifest.get('apiVersion')} {kind or '(no kind)'}: flowrun applies "
            f"only {known} (deploy/kubernetes/resources.py)"
        )
    return resource


@dataclass(frozen=True, order=True)
class ObjectRef:
    """One object on the cluster, as `up`, `down` and the prune report name it."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


def ref_of(manifest: dict[str, Any], default_namespace: str) -> ObjectRef:
    metadata = manifest.get("metadata") or {}
    name = metadata.get("name")
    if not name:
        raise ClusterError(f"a {manifest.get('kind')} with no metadata.name cannot be applied")
    return ObjectRef(
        str(manifest["kind"]), str(metadata.get("namespace") or default_namespace), str(name)
    )
