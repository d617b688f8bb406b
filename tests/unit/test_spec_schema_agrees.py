"""The JSON Schema editors read and the validator agree: every default the schema shows
is a value the validator takes (and means the model's default), every bound it shows is
one the validator enforces, and every shipped spec is valid by the schema."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from flowrun.errors import SpecError
from flowrun.spec.loader import load_spec
from flowrun.spec.nodes import to_data
from flowrun.spec.positions import compose
from flowrun.spec.schema import build_schema
from jsonschema import Draft202012Validator
from test_spec_shipped import shipped_specs
from test_spec_support import load_text, write

MINIMAL: dict[str, Any] = {
    "apiVersion": "flowctl/v1",
    "kind": "Pipeline",
    "metadata": {"name": "demo"},
    "spec": {
        "controller": {"tls": {"cert_file": "cert.pem"}},
        "components": {"c": {"type": "source", "command": ["python"], "endpoint": "h:1"}},
    },
}
# Where each model of the schema sits in MINIMAL.
PLACES: dict[str, tuple[str, ...]] = {
    "Metadata": ("metadata",),
    "ControllerConfig": ("spec", "controller"),
    "TLSConfig": ("spec", "controller", "tls"),
    "FlowControlConfig": ("spec", "flow_control"),
    "PoolConfig": ("spec", "pool"),
    "MonitoringConfig": ("spec", "monitoring"),
    "ComponentSpec": ("spec", "components", "c"),
    "RestartConfig": ("spec", "components", "c", "restart"),
    "ResourcesConfig": ("spec", "components", "c", "resources"),
    "ResourceAmounts": ("spec", "components", "c", "resources", "requests"),
}
BOUND_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _with(model: str, key: str, value: Any) -> dict[str, Any]:
    document = copy.deepcopy(MINIMAL)
    where = document
    for part in PLACES[model]:
        where = where.setdefault(part, {})
    where[key] = value
    return document


def _yaml(document: dict[str, Any]) -> str:
    return json.dumps(document)  # JSON is YAML: the loader reads it with positions


def _properties() -> list[tuple[str, str, dict[str, Any]]]:
    defs = build_schema()["$defs"]
    return [
        (model, key, schema)
        for model in PLACES
        for key, schema in defs[model]["properties"].items()
    ]


def _defaults() -> list[tuple[str, str, Any]]:
    return [(m, k, s["default"]) for m, k, s in _properties() if s.get("default") is not None]


def _bounds() -> list[tuple[str, str, str, float]]:
    return [(m, k, b, s[b]) for m, k, s in _properties() for b in BOUND_KEYS if b in s]


def test_every_model_of_the_schema_is_placed() -> None:
    defs = build_schema()["$defs"]
    models = {name for name, body in defs.items() if body.get("type") == "object"}
    assert models - {"PipelineBody"} == {*PLACES, *(m for m in models if m.startswith("Partial"))}


@pytest.mark.parametrize(("model", "key", "default"), _defaults(), ids=lambda v: str(v))
def test_every_default_the_schema_shows_is_taken_by_the_validator(
    tmp_path: Path, model: str, key: str, default: Any
) -> None:
    written = load_text(tmp_path, _yaml(_with(model, key, default)))
    implicit = load_text(tmp_path, _yaml(MINIMAL))
    assert written.revision == implicit.revision, f"{model}.{key}: {default!r} is not the default"


def test_durations_show_their_defaults_as_written() -> None:
    defs = build_schema()["$defs"]
    assert defs["ComponentSpec"]["properties"]["stop_grace"]["default"] == "10s"
    assert defs["PoolConfig"]["properties"]["idle_timeout"]["default"] == "5m"
    assert defs["ControllerConfig"]["properties"]["heartbeat_interval"]["default"] == "1s"


def _outside(bound: str, value: float) -> float:
    step = 1 if isinstance(value, int) else 0.01
    return {
        "minimum": value - step,
        "exclusiveMinimum": value,
        "maximum": value + step,
        "exclusiveMaximum": value,
    }[bound]


@pytest.mark.parametrize(("model", "key", "bound", "value"), _bounds(), ids=lambda v: str(v))
def test_every_bound_the_schema_shows_is_enforced_by_the_validator(
    tmp_path: Path, model: str, key: str, bound: str, value: float
) -> None:
    document = _with(model, key, _outside(bound, value))
    schema_errors = list(Draft202012Validator(build_schema()).iter_errors(document))
    assert schema_errors, f"the schema takes {model}.{key} = {_outside(bound, value)}"
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, _yaml(document)), environ={})
    assert any(key in issue.path for issue in caught.value.issues)


def _types(schema: dict[str, Any]) -> set[str]:
    types: set[str] = set()
    for branch in schema.get("anyOf", [schema]):
        written = branch.get("type", [])
        types.update([written] if isinstance(written, str) else written)
    return types


def _numeric() -> list[tuple[str, str, str]]:
    """(model, key, a valid value of it written as text) for every integer and number (a
    string field that takes a number's text, `cpu: 2`, is not one)."""
    return [
        (model, key, str(2 if schema.get("default") is None else schema["default"]))
        for model, key, schema in _properties()
        if _types(schema) & {"integer", "number"} and "string" not in _types(schema)
    ]


def test_every_number_of_the_spec_is_checked_for_quotes() -> None:
    keys = {key for _model, key, _text in _numeric()}
    assert keys >= {"metrics_port", "health_port", "max_inflight", "replicas", "activate_at"}


@pytest.mark.parametrize(("model", "key", "text"), _numeric(), ids=lambda v: str(v))
def test_a_quoted_number_is_refused_by_both_with_the_fix(
    tmp_path: Path, model: str, key: str, text: str
) -> None:
    """`metrics_port: "9464"` passed `flowrun validate` (pydantic's lax mode read the text
    as a number) while editors, by the schema, flagged it. YAML reads it as text."""
    document = _with(model, key, text)
    schema_errors = list(Draft202012Validator(build_schema()).iter_errors(document))
    assert schema_errors, f"the schema takes {model}.{key} = {text!r}"
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, _yaml(document)), environ={})
    [issue] = caught.value.issues
    assert issue.path.endswith(f".{key}") and issue.line == 1 and issue.column > 1
    assert issue.message.endswith(f"got {text!r} (write {text} without quotes)")
    unquoted = load_spec(write(tmp_path, _yaml(_with(model, key, json.loads(text)))), environ={})
    assert unquoted.revision


def test_the_thresholds_carry_the_contracts_bounds() -> None:
    flow = build_schema()["$defs"]["FlowControlConfig"]["properties"]
    assert (flow["activate_at"]["exclusiveMinimum"], flow["activate_at"]["maximum"]) == (0, 1)
    deactivate = flow["deactivate_at"]
    assert (deactivate["exclusiveMinimum"], deactivate["exclusiveMaximum"]) == (0, 1)
    assert (flow["throttle_rate"]["exclusiveMinimum"], flow["throttle_rate"]["maximum"]) == (0, 1)


@pytest.mark.parametrize("path", shipped_specs(), ids=lambda p: p.name)
def test_shipped_specs_are_valid_by_the_schema(path: Path) -> None:
    root, problems = compose(path.read_text())
    assert root is not None and not problems
    errors = list(Draft202012Validator(build_schema()).iter_errors(to_data(root)))
    assert [error.message for error in errors] == []


@pytest.mark.parametrize(
    ("model", "key", "value", "valid"),
    [
        ("ComponentSpec", "env", {"VER": 1.10, "N": 7}, True),  # passed as written
        ("ComponentSpec", "command", ["python", 3], True),
        ("Metadata", "labels", {"tier": 1}, True),
        ("ResourceAmounts", "cpu", 2, True),  # as Kubernetes writes it
        ("ComponentSpec", "stop_grace", "500 ms", True),
        ("ComponentSpec", "stop_grace", "0s", False),  # a duration is greater than zero
        ("ControllerConfig", "heartbeat_interval", "0.0s", False),
        ("ComponentSpec", "stop_grace", 5, False),  # a duration has its unit
        ("ComponentSpec", "endpoint", "localhost:99999", False),
        ("ComponentSpec", "endpoint", "localhost:65535", True),
        ("ComponentSpec", "endpoint", 8080, False),  # the host is part of it
        ("MonitoringConfig", "metrics_port", "9464", False),  # YAML reads text
        ("MonitoringConfig", "metrics_port", True, False),  # pydantic's lax mode read 1
        ("MonitoringConfig", "metrics_port", None, True),
        ("ComponentSpec", "max_inflight", "1e3", False),
        ("PoolConfig", "max_connections", 5.0, True),  # a whole number, in JSON Schema too
        ("PoolConfig", "max_connections", 5.5, False),
        ("FlowControlConfig", "activate_at", "0.9", False),
        ("FlowControlConfig", "activate_at", 1, True),
    ],
    ids=lambda v: str(v),
)
def test_the_schema_takes_what_the_validator_takes(
    tmp_path: Path, model: str, key: str, value: Any, valid: bool
) -> None:
    """Editors flagged `env: {VER: 1.10}` and `cpu: 2`, which flowrun takes, and let
    `0s` and port 99999 pass, which it refuses (docs audit)."""
    document = _with(model, key, value)
    schema_errors = [e.message for e in Draft202012Validator(build_schema()).iter_errors(document)]
    try:
        load_spec(write(tmp_path, _yaml(document)), environ={})
        validator_takes = True
    except SpecError:
        validator_takes = False
    assert (validator_takes, not schema_errors) == (valid, valid), schema_errors
