"""schemas/pipeline.schema.json is the current output of `flowrun schema`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flowrun.spec.schema import build_schema, schema_json

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "pipeline.schema.json"


def test_committed_schema_is_current() -> None:
    committed = SCHEMA_FILE.read_text() if SCHEMA_FILE.exists() else ""
    assert committed == schema_json(), (
        "schemas/pipeline.schema.json is stale: run make schema and commit the result"
    )


def _refs(schema: Any) -> set[str]:
    if isinstance(schema, dict):
        own = {schema["$ref"]} if "$ref" in schema else set()
        return own.union(*(_refs(value) for value in schema.values()))
    if isinstance(schema, list):
        return set().union(*(_refs(item) for item in schema))
    return set()


def test_every_reference_resolves() -> None:
    schema = build_schema()
    missing = {ref for ref in _refs(schema) if ref.removeprefix("#/$defs/") not in schema["$defs"]}
    assert missing == set()


def test_profiles_are_partial_bodies_without_required_keys() -> None:
    defs = build_schema()["$defs"]
    profile = defs["PartialPipelineBody"]
    assert "profiles" not in profile["properties"]
    assert "required" not in profile and "required" not in defs["PartialComponentSpec"]
    assert defs["ComponentSpec"]["required"] == ["type", "command"]
    assert defs["PipelineBody"]["properties"]["profiles"]["additionalProperties"] == {
        "anyOf": [{"$ref": "#/$defs/PartialPipelineBody"}, {"type": "null"}]
    }


def test_fields_carry_their_reload_class() -> None:
    defs = build_schema()["$defs"]
    assert defs["FlowControlConfig"]["properties"]["activate_at"]["x-reload"] == "live"
    assert defs["ComponentSpec"]["properties"]["command"]["x-reload"] == "component"
    assert defs["ControllerConfig"]["properties"]["endpoint"]["x-reload"] == "pipeline"


def test_schema_is_json_with_a_dialect() -> None:
    schema = json.loads(schema_json())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["patternProperties"] == {"^x-": {}}
