"""The JSON Schema of a spec, for editors (`# yaml-language-server: $schema=...`).

Pydantic's schema of PipelineSpec, plus what it cannot know: a profile is a *partial*
spec body (every model with no required key), component names follow the rule the
loader enforces, and a duration's default is written as the spec writes it (`10s`), not
as the seconds the model holds. Bounds the flowctl contract checks are in the model's
field schemas (`reloads(bounds=...)`), so the schema and the validator agree.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from flowctl.durations import DURATION_PATTERN, format_duration

from flowrun.spec.graph import COMPONENT_NAME_PATTERN
from flowrun.spec.model import (
    ENDPOINT_PATTERN,
    PIPELINE_NAME_PATTERN,
    QUANTITY_PATTERN,
    PipelineSpec,
)
from flowrun.spec.nodes import EXTENSION_PREFIX

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_DEFS = "#/$defs/"
_PARTIAL = "Partial"
# String patterns the text of a number can match.
_TAKE_NUMBERS = (None, QUANTITY_PATTERN, PIPELINE_NAME_PATTERN)
_ENDPOINT_IN_RANGE = ENDPOINT_PATTERN.replace(
    r"\d{1,5}$", r"([0-5]?\d{1,4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$"
)


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


def _subschemas(schema: Any) -> Iterator[dict[str, Any]]:
    """Every schema object in `schema`, each before those inside it (a caller may replace
    its values, not add keys)."""
    if isinstance(schema, list):
        for item in schema:
            yield from _subschemas(item)
    elif isinstance(schema, dict):
        yield schema
        for value in schema.values():
            yield from _subschemas(value)


def _durations_written(schema: dict[str, Any]) -> None:
    """Every duration property's numeric default rewritten as the string the spec takes."""
    for sub in _subschemas(schema):
        default = sub.get("default")
        if sub.get("pattern") == DURATION_PATTERN and isinstance(default, int | float):
            sub["default"] = format_duration(float(default))


def _as_validated(schema: dict[str, Any]) -> None:
    """What the validator takes where pydantic's schema says less or more: a number where a
    string is expected is its text (`VER: 1.10`, `cpu: 2`), unless the text must match a
    pattern no number does (a duration's unit, an endpoint's host); an endpoint's port is
    at most 65535."""
    for sub in _subschemas(schema):
        pattern = sub.get("pattern")
        if sub.get("type") == "string" and "enum" not in sub and pattern in _TAKE_NUMBERS:
            sub["type"] = ["string", "number"]
        if pattern == ENDPOINT_PATTERN:
            sub["pattern"] = _ENDPOINT_IN_RANGE


def build_schema() -> dict[str, Any]:
    schema = PipelineSpec.model_json_schema(by_alias=True)
    _durations_written(schema)
    _as_validated(schema)
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
