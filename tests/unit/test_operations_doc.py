"""docs/operations.md names every metric the code exports and every spec field's reload class."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flowrun.spec.loader import load_spec
from flowrun.spec.model import PipelineSpec
from metric_registries import component_families, runner_families
from prometheus_client.metrics_core import Metric

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "operations.md").read_text()


def documented_name(family: Metric) -> str:
    """The name a user queries: counters are exposed with _total."""
    return family.name + ("_total" if family.type == "counter" else "")


def test_every_exported_metric_is_documented(tmp_path: Path) -> None:
    families = runner_families()
    loaded = load_spec(REPO / "specs" / "stellar-ttp.yaml")
    for _name, component in component_families(loaded, tmp_path):
        families.extend(component)
    names = {documented_name(family) for family in families}
    assert len(names) >= 13
    missing = sorted(name for name in names if f"`{name}`" not in DOC)
    assert missing == []


def reload_marks(schema: dict[str, Any]) -> dict[str, str]:
    """{dotted path: x-reload} of every marked field; components appear as NAME."""
    defs = schema.get("$defs", {})

    def model_of(field: dict[str, Any]) -> dict[str, Any] | None:
        refs = [field.get("$ref")] + [a.get("$ref") for a in field.get("anyOf", [])]
        items = field.get("additionalProperties")
        if isinstance(items, dict):
            refs.append(items.get("$ref"))
        ref = next((r for r in refs if r), None)
        return defs[ref.split("/")[-1]] if ref else None

    def walk(model: dict[str, Any], prefix: str) -> dict[str, str]:
        marks = {}
        for name, field in model.get("properties", {}).items():
            if "x-reload" in field:
                marks[prefix + name] = field["x-reload"]
            elif (inner := model_of(field)) is not None:
                keyed = isinstance(field.get("additionalProperties"), dict)
                marks |= walk(inner, f"{prefix}{name}.{'NAME.' if keyed else ''}")
        return marks

    return walk(schema, "")


@pytest.mark.parametrize("kind", ["live", "component", "pipeline"])
def test_every_field_is_in_the_reload_table_of_its_kind(kind: str) -> None:
    table = DOC[DOC.index("## What reloads live") :]
    marks = reload_marks(PipelineSpec.model_json_schema(by_alias=True))
    assert len(marks) >= 30, "the model marks its fields with x-reload"
    rows = [line.split("|")[1:3] for line in table.splitlines() if line.startswith("| `")]
    expected = {"live": "live", "component": "restarts alone", "pipeline": "full"}[kind]
    for path, mark in marks.items():
        if mark != kind:
            continue
        section, _, name = path.rpartition(".")
        assert any(
            f"`{section}." in fields and re.search(rf"[`.]{name}`", fields) and expected in effect
            for fields, effect in rows
        ), f"{path} ({kind}) is not in the reload table's row for {expected!r}"
