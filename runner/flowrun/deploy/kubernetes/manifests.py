"""A pipeline's Kubernetes objects: what `flowrun export` writes and `up --driver
kubernetes` applies.

`build_objects` returns plain dicts in apply order: the spec's ConfigMap, the sinks'
volume claims, the NetworkPolicies (before any pod exists, so none runs unrestricted), the
Services, then the Deployments (the controller first, the components upstream first).
The same spec gives the same objects, and `render_yaml` the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from flowrun.deploy.errors import ExportError
from flowrun.deploy.kubernetes.controller import controller_objects
from flowrun.deploy.kubernetes.environment import (
    ContainerEnvironment,
    refuse_secret,
    refuse_secret_config,
)
from flowrun.deploy.kubernetes.names import DEFAULT_IMAGE, PIPELINE_LABEL, Naming
from flowrun.deploy.kubernetes.network import (
    baseline_policy,
    component_policy,
    controller_policy,
)
from flowrun.deploy.kubernetes.spec_config import spec_config_map
from flowrun.deploy.kubernetes.workloads import (
    component_deployment,
    component_service,
    output_claim,
    output_dir,
)
from flowrun.spec.graph import topological_order
from flowrun.spec.loader import LoadedSpec
from flowrun.spec.model import ComponentType, ControllerMode

__all__ = ["DEFAULT_IMAGE", "PIPELINE_LABEL", "ExportOptions", "build_objects", "render_yaml"]


@dataclass(frozen=True)
class ExportOptions:
    image: str = DEFAULT_IMAGE
    """The image every pod runs: the top-level Dockerfile builds `flowrun:<version>`."""
    namespace: str = "default"


def build_objects(loaded: LoadedSpec, options: ExportOptions) -> list[dict[str, Any]]:
    """Every object, in a stable order (apply order: namespace-scoped config first), each a
    plain dict with apiVersion, kind, metadata (name, namespace, labels incl.
    `flowrun.io/pipeline=<name>`)."""
    naming = Naming(loaded.name, options.namespace)
    _refuse_what_cannot_run(loaded, naming)
    body = loaded.body
    environment = ContainerEnvironment(loaded, naming)
    order = _component_order(loaded)
    embedded = body.controller.mode is ControllerMode.EMBEDDED
    claims = [output_claim(naming, name) for name in order if output_dir(body.components[name])]
    policies = [baseline_policy(naming)]
    policies += [controller_policy(body, naming)] if embedded else []
    policies += [component_policy(name, body, naming, environment.ports) for name in order]
    controller = controller_objects(body, naming, options.image) if embedded else []
    services = [controller[1]] if controller else []
    services += _present(component_service(naming, n, environment.ports[n]) for n in order)
    deployments = [controller[0]] if controller else []
    deployments += [
        component_deployment(naming, name, body.components[name], environment, options.image)
        for name in order
    ]
    objects = [spec_config_map(loaded, naming), *claims, *policies, *services, *deployments]
    _refuse_duplicates(loaded, objects)
    return objects


def _component_order(loaded: LoadedSpec) -> list[str]:
    components = loaded.body.components
    return [name for name in topological_order(components) if name in components]


def _present(items: Iterable[dict[str, Any] | None]) -> list[dict[str, Any]]:
    return [item for item in items if item is not None]


def _refuse_what_cannot_run(loaded: LoadedSpec, naming: Naming) -> None:
    body, file = loaded.body, loaded.path
    if body.controller.tls is not None:
        raise ExportError(
            f"{file}: spec.controller.tls: TLS files are not exported to Kubernetes; remove "
            "tls (in a profile for the cluster) and keep the controller inside the cluster, "
            "where the NetworkPolicies let only the pipeline's pods reach it"
        )
    for name, spec in body.components.items():
        if spec.type is ComponentType.SINK and (spec.replicas or 1) > 1:
            raise ExportError(
                f"{file}: spec.components.{name}.replicas: a sink's output folder and its "
                "checkpoint have one writer; set replicas to 1 (or leave it out)"
            )
        refuse_secret_config(loaded, name, naming)
        for index, word in enumerate(spec.command):
            where = f"spec.components.{name}.command[{index}]"
            refuse_secret(loaded, where, "the argument", word, naming)


def _refuse_duplicates(loaded: LoadedSpec, objects: list[dict[str, Any]]) -> None:
    seen: set[tuple[str, str]] = set()
    for item in objects:
        key = (item["kind"], item["metadata"]["name"])
        if key in seen:
            raise ExportError(
                f"{loaded.path}: spec.components: two objects would both be the {key[0]} "
                f"{key[1]!r} (a component named like the controller, or names that differ "
                "only in case or punctuation); rename one of the components"
            )
        seen.add(key)


# libyaml's emitter where PyYAML has it: ten times the pure-Python one on a large pipeline.
_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _ManifestDumper(_BaseDumper):  # type: ignore[misc]
    """Multi-line strings (the rendered spec) as literal blocks, as people write them."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_ManifestDumper.add_representer(str, _represent_str)


def render_yaml(objects: list[dict[str, Any]]) -> str:
    """Multi-document YAML, one object per document; the same objects give the same bytes."""
    documents = [
        yaml.dump(item, Dumper=_ManifestDumper, sort_keys=False, width=100, allow_unicode=True)
        for item in objects
    ]
    return "".join(f"---\n{document}" for document in documents)
