"""What the exported objects share: names, labels, ports and paths in the pod.

Kubernetes names are DNS labels (lower case, digits and `-`, at most 63 characters) and
label values are at most 63 characters too; a pipeline or component name that is not one
already is turned into one here, the same way everywhere, so that a Service name, the DNS
name a consumer is told and a NetworkPolicy's selector always agree.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

PIPELINE_LABEL = "flowrun.io/pipeline"
RESTART_HASH_ANNOTATION = "flowrun.io/restart-hash"
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
ROLE_LABEL = "app.kubernetes.io/component"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "flowrun"

CONTROLLER = "controller"
SPEC_CONFIG = "spec"
CONFIG_ROLE = "config"
NETWORK_ROLE = "network"

# Each pod has its own network, so a port the spec leaves to the runner (0, or none) can
# be the same fixed number in every pod.
FLIGHT_PORT = 8815
HEALTH_PORT = 9464
CONTROLLER_PORT = 8080
CONTROLLER_METRICS_PORT = 9464
FLIGHT_PORT_NAME = "flight"
HEALTH_PORT_NAME = "health"
GRPC_PORT_NAME = "grpc"
METRICS_PORT_NAME = "metrics"
LISTEN_HOST = "0.0.0.0"  # in a pod: reachable from the Service, not only from loopback

SPEC_MOUNT = "/etc/flowrun"
SPEC_FILE = "pipeline.yaml"
WORKSPACE = "/var/lib/flowrun"
"""The spec's folder as components see it (FLOWRUN_SPEC_DIR): relative paths of the spec
(a sink's output_dir, a working_dir) resolve against it. The image creates it, writable."""
CONTAINER_USER = 10001
"""The non-root user of the image (Dockerfile `USER`)."""

_MAX_NAME = 63
_INVALID = re.compile(r"[^a-z0-9-]+")


def default_image() -> str:
    """The image the top-level Dockerfile builds: `flowrun:<version of this package>`."""
    try:
        return f"flowrun:{version('flowrun')}"
    except PackageNotFoundError:  # a source tree that was never installed
        return "flowrun:latest"


DEFAULT_IMAGE = default_image()


def dns_label(text: str) -> str:
    """`text` as a DNS label (RFC 1035: starts with a letter), at most 63 characters;
    a name that had to be cut keeps a hash of the whole so that two long names differ."""
    label = _INVALID.sub("-", text.lower()).strip("-")
    if not label or not label[0].isalpha():
        label = f"x-{label}".rstrip("-")
    if len(label) <= _MAX_NAME:
        return label
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{label[: _MAX_NAME - 9].rstrip('-')}-{digest}"


def label_value(text: str) -> str:
    """`text` as a label value: the pipeline's name in `flowrun.io/pipeline=<name>`."""
    return dns_label(text)


@dataclass(frozen=True)
class Naming:
    """The names of one pipeline's objects in one namespace."""

    pipeline: str
    namespace: str

    @property
    def pipeline_label(self) -> str:
        return label_value(self.pipeline)

    def object_name(self, part: str) -> str:
        """`<pipeline>-<part>`: a component, `controller`, `spec`..."""
        return dns_label(f"{self.pipeline}-{part}")

    def service_address(self, part: str, port: int) -> str:
        """The cluster DNS name of a Service with the port: what a client is told."""
        return f"{self.object_name(part)}.{self.namespace}.svc:{port}"

    def selector(self, part: str) -> dict[str, str]:
        """The labels that pick the pods of one workload (never changed once applied)."""
        return {PIPELINE_LABEL: self.pipeline_label, NAME_LABEL: dns_label(part)}

    def all_pods(self) -> dict[str, str]:
        return {PIPELINE_LABEL: self.pipeline_label}

    def labels(self, part: str, role: str) -> dict[str, str]:
        return {
            NAME_LABEL: dns_label(part),
            INSTANCE_LABEL: self.object_name(part),
            ROLE_LABEL: role,
            PART_OF_LABEL: self.pipeline_label,
            MANAGED_BY_LABEL: MANAGED_BY,
            PIPELINE_LABEL: self.pipeline_label,
        }

    def metadata(self, part: str, role: str, name: str | None = None) -> dict[str, Any]:
        return {
            "name": name or self.object_name(part),
            "namespace": self.namespace,
            "labels": self.labels(part, role),
        }


def port_of(endpoint: str | None) -> int:
    """The port of `host:port`, 0 when there is none."""
    if not endpoint:
        return 0
    text = endpoint.rpartition(":")[2]
    return int(text) if text.isdigit() else 0
