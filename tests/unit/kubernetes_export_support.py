"""Helpers of the Kubernetes export tests (this module holds no tests of its own)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import yaml
from flowrun.deploy.kubernetes.manifests import ExportOptions, build_objects, render_yaml
from flowrun.spec.loader import LoadedSpec, load_spec

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "specs" / "stellar-ttp.yaml"
EXAMPLES = sorted(
    path
    for path in (REPO / "examples").rglob("*.yaml")
    if "apiVersion: flowctl/v1" in path.read_text(encoding="utf-8")
)
# The oldest and newest Kubernetes whose schemas kubernetes-validate bundles.
VERSIONS = (
    kubernetes_validate.utils.all_versions()[0],
    kubernetes_validate.utils.latest_version(),
)
Objects = list[dict[str, Any]]


def export(path: Path, profile: str | None = None, **options: str) -> Objects:
    return build_objects(load_spec(path, profile, environ={}), ExportOptions(**options))


def export_loaded(loaded: LoadedSpec, **options: str) -> Objects:
    return build_objects(loaded, ExportOptions(**options))


def schema_problems(objects: Objects, version: str) -> list[str]:
    """Every object checked strictly (unknown fields are errors) against `version`'s
    schemas, as written (read back from the YAML): one message per invalid object."""
    problems = []
    for document in yaml.safe_load_all(render_yaml(objects)):
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            name = f"{document['kind']}/{document['metadata']['name']}"
            problems.append(f"{name}: {error.message} at {list(error.path)}")
    return problems


def by_name(objects: Objects) -> dict[tuple[str, str], dict[str, Any]]:
    return {(item["kind"], item["metadata"]["name"]): item for item in objects}


def changed(before: Objects, after: Objects) -> set[tuple[str, str]]:
    """(kind, name) of every object added, removed or different."""
    old, new = by_name(before), by_name(after)
    return {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(only)


def env_of(deployment: dict[str, Any]) -> dict[str, Any]:
    """{name: value, or the valueFrom reference}."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(deployment)["env"]}
