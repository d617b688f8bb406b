"""The JSON Schema of a spec, for editors (`# yaml-language-server: $schema=...`).

Pydantic's schema of PipelineSpec, plus what it cannot know: a profile is a *partial*
spec body (every model with no required key), and component names follow the rule the
loader enforces.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from flowrun.spec.graph import COMPONENT_NAME_PATTERN
from flowrun.spec.model import PipelineSpec
from flowrun.spec.nodes import EXTENSION_PREFIX

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_DEFS = "#/$defs/"
_PARTIAL = "Partial"


def _partial(schema: Any, names: set[str]) -> Any:
    """`schema` with no `required` and every $ref to a model in `names` made partial."""
    if isinstance(schema, list):
        return [_partial(item, names) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: _partial(value, names) for key, value in schema.items() if key != "required"}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.removeprefix(_DEFS) in names:
        result["$ref"] = _DEFS + _PARTIAL + ref.removeprefix(_DEFS)
    return result


def build_schema() -> dict[str, Any]:
    schema = PipelineSpec.model_json_schema(by_alias=True)
    defs: dict[str, Any] = schema["$defs"]
    models = {name for name, body in defs.items() if body.get("type") == "object"}
    for name in sorted(models):
        defs[_PARTIAL + name] = _partial(copy.deepcopy(defs[name]), models)
    profile = defs[_PARTIAL + "PipelineBody"]
    del profile["properties"]["profiles"]
    profile["title"] = "Profile"
    profile["description"] = "Overrides deep-merged over `spec` when this profile is selected."
    body = defs["PipelineBody"]["properties"]
    body["profiles"]["additionalProperties"] = {
        "anyOf": [{"$ref": _DEFS + _PARTIAL + "PipelineBody"}, {"type": "null"}]
    }
    for components in (body["components"], profile["properties"]["components"]):
        components["propertyNames"] = {"pattern": COMPONENT_NAME_PATTERN}
    del defs[_PARTIAL + "Metadata"]
    for extensible in (schema, defs["PipelineBody"]):
        extensible["patternProperties"] = {f"^{EXTENSION_PREFIX}": {}}
    return {
        "$schema": SCHEMA_DIALECT,
        **schema,
        "title": "flowrun pipeline spec",
    }


def schema_json() -> str:
    """The schema as committed in schemas/pipeline.schema.json (stable, newline-terminated)."""
    return json.dumps(build_schema(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"
