"""The Kubernetes driver of `up`, `down`, `status` and `logs`: the same spec, on a cluster.

`up` exports the spec's objects (manifests.build_objects, as `flowrun export` writes them)
into the chosen namespace and applies them; the other commands find the pipeline's objects
by its label (`flowrun.io/pipeline=<name as a label value>`). Each call opens one
connection and closes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flowrun.deploy.kubernetes.apply import ApplyReport, apply_objects, delete_pipeline
from flowrun.deploy.kubernetes.cluster import Cluster, ClusterChoice
from flowrun.deploy.kubernetes.cluster_logs import chosen_pods, log_lines
from flowrun.deploy.kubernetes.cluster_status import DeploymentStatus, read_status, render_status
from flowrun.deploy.kubernetes.names import PIPELINE_LABEL, label_value
from flowrun.spec.loader import LoadedSpec

KEPT_ON_DOWN = frozenset({"PersistentVolumeClaim"})  # a sink's output outlives `down`


@dataclass(frozen=True)
class KubernetesDriver:
    choice: ClusterChoice
    image: str | None = None

    @contextmanager
    def _cluster(self) -> Iterator[Cluster]:
        cluster = Cluster.connect(self.choice)
        try:
            yield cluster
        finally:
            cluster.close()

    def up(self, loaded: LoadedSpec) -> ApplyReport:
        from flowrun.deploy.kubernetes.manifests import ExportOptions, build_objects

        with self._cluster() as cluster:
            options = ExportOptions(namespace=cluster.namespace)
            if self.image is not None:
                options = ExportOptions(image=self.image, namespace=cluster.namespace)
            objects = build_objects(loaded, options)
            return apply_objects(
                cluster, objects, label=PIPELINE_LABEL, pipeline=label_value(loaded.name)
            )

    def down(self, pipeline: str) -> ApplyReport:
        with self._cluster() as cluster:
            return delete_pipeline(
                cluster,
                label=PIPELINE_LABEL,
                pipeline=label_value(pipeline),
                keep_kinds=KEPT_ON_DOWN,
            )

    def status(self, pipeline: str) -> tuple[list[DeploymentStatus], str]:
        """The rows, and the table printed from them."""
        with self._cluster() as cluster:
            rows = read_status(cluster, label=PIPELINE_LABEL, pipeline=label_value(pipeline))
            return rows, render_status(rows, pipeline=pipeline, where=cluster.where)

    def logs(
        self, pipeline: str, component: str | None, *, tail: int | None, since: float | None
    ) -> Iterator[tuple[str, str]]:
        """(pod, line) of the component's pods, or of every pod of the pipeline."""
        with self._cluster() as cluster:
            pods = chosen_pods(
                cluster, component, label=PIPELINE_LABEL, pipeline=label_value(pipeline)
            )
            yield from log_lines(cluster, pods, tail=tail, since=since)
