"""Putting a pipeline's objects on the cluster, and taking away the ones it no longer has.

Server-side apply, with field manager `flowrun` and `force`: the cluster merges what we
send and owns the rest (replicas an autoscaler set, status), and an unchanged object is
not touched at all, so re-applying after a threshold edit rolls nothing but what the
exporter changed. Pruning lists every kind flowrun applies by the pipeline's label, not
only the kinds exported now, so the last PersistentVolumeClaim of a removed sink goes too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flowrun.deploy.kubernetes.cluster import Cluster
from flowrun.deploy.kubernetes.resources import BY_KIND, RESOURCES, ObjectRef, ref_of, resource_of


@dataclass(frozen=True)
class ApplyReport:
    """What `up` and `down` did, in the order they did it."""

    applied: list[ObjectRef] = field(default_factory=list)
    deleted: list[ObjectRef] = field(default_factory=list)
    kept: list[ObjectRef] = field(default_factory=list)
    """Labelled objects `down` leaves in place (volumes of data)."""

    def lines(self) -> list[str]:
        return [
            *(f"applied {ref}" for ref in self.applied),
            *(f"deleted {ref}" for ref in self.deleted),
            *(f"kept {ref} (data; delete it with kubectl if unwanted)" for ref in self.kept),
        ]


def selector(label: str, pipeline: str) -> str:
    return f"{label}={pipeline}"


def apply_objects(
    cluster: Cluster, objects: Iterable[dict[str, Any]], *, label: str, pipeline: str
) -> ApplyReport:
    """Apply `objects` in order, then delete the pipeline's objects that are not among them."""
    objects = list(objects)
    # Every kind known before anything changes: an unknown one is refused first.
    resources = [resource_of(manifest) for manifest in objects]
    report = ApplyReport()
    for manifest, resource in zip(objects, resources, strict=True):
        ref = ref_of(manifest, cluster.namespace)
        cluster.apply(resource.item(ref.namespace, ref.name), manifest)
        report.applied.append(ref)
    wanted = set(report.applied)
    namespaces = {ref.namespace for ref in wanted} | {cluster.namespace}
    for ref in labelled(cluster, namespaces, label=label, pipeline=pipeline):
        if ref not in wanted:
            _delete(cluster, ref)
            report.deleted.append(ref)
    return report


def delete_pipeline(
    cluster: Cluster, *, label: str, pipeline: str, keep_kinds: frozenset[str]
) -> ApplyReport:
    """Delete every object with the pipeline's label, but those of `keep_kinds`."""
    report = ApplyReport()
    for ref in labelled(cluster, {cluster.namespace}, label=label, pipeline=pipeline):
        if ref.kind in keep_kinds:
            report.kept.append(ref)
        else:
            _delete(cluster, ref)
            report.deleted.append(ref)
    return report


def labelled(
    cluster: Cluster, namespaces: Iterable[str], *, label: str, pipeline: str
) -> list[ObjectRef]:
    """The pipeline's objects on the cluster, dependents first (the reverse apply order)."""
    found: list[ObjectRef] = []
    for resource in reversed(RESOURCES):
        for namespace in sorted(namespaces):
            items = cluster.list(resource.collection(namespace), selector(label, pipeline))
            found += sorted(
                ObjectRef(resource.kind, namespace, str(item["metadata"]["name"])) for item in items
            )
    return found


def _delete(cluster: Cluster, ref: ObjectRef) -> None:
    cluster.delete(BY_KIND[ref.kind].item(ref.namespace, ref.name))
