"""The environment contract between the runner and a component.

The runner writes these variables (`ComponentSettings.to_environ`); a component reads
them (`ComponentSettings.from_environ`). The FLOWCTL_* names are the public flowctl
project's, so its Go components run under flowrun unchanged; FLOWRUN_* are ours.
The settings a running component may be told again live (flow control, pool, intervals)
are those of `flowctl.contract`, with its defaults and its check.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar, get_type_hints

from flowctl.contract import FlowControlSettings, Policy, PoolSettings, check
from flowctl.durations import format_duration, parse_duration
from flowctl.errors import SettingsError

ENABLE_FLOWCTL = "ENABLE_FLOWCTL"
FLOWCTL_ENDPOINT = "FLOWCTL_ENDPOINT"
FLOWCTL_HEARTBEAT_INTERVAL = "FLOWCTL_HEARTBEAT_INTERVAL"
FLOWCTL_SERVICE_ID = "FLOWCTL_SERVICE_ID"
FLOWCTL_COMPONENT_ID = "FLOWCTL_COMPONENT_ID"
FLOWCTL_TOKEN = "FLOWCTL_TOKEN"
FLOWCTL_CA_FILE = "FLOWCTL_CA_FILE"

FLOWRUN_COMPONENT_TYPE = "FLOWRUN_COMPONENT_TYPE"
FLOWRUN_ENDPOINT = "FLOWRUN_ENDPOINT"
FLOWRUN_INPUTS = "FLOWRUN_INPUTS"
FLOWRUN_CONFIG = "FLOWRUN_CONFIG"
FLOWRUN_MAX_INFLIGHT = "FLOWRUN_MAX_INFLIGHT"
FLOWRUN_METRICS_PORT = "FLOWRUN_METRICS_PORT"
FLOWRUN_MONITORING_INTERVAL = "FLOWRUN_MONITORING_INTERVAL"
FLOWRUN_FLOW_CONTROL = "FLOWRUN_FLOW_CONTROL"
FLOWRUN_POOL = "FLOWRUN_POOL"
FLOWRUN_SPEC_DIR = "FLOWRUN_SPEC_DIR"
FLOWRUN_RUNNER_PID = "FLOWRUN_RUNNER_PID"

_DEFAULTS = Policy()
COMPONENT_TYPES = ("source", "processor", "sink")
_Part = TypeVar("_Part", FlowControlSettings, PoolSettings)


@dataclass(frozen=True)
class ComponentSettings:
    """Everything a component is told by the runner (or by hand, for a lone run)."""

    component_id: str
    service_id: str
    component_type: str = "processor"
    endpoint: str = "127.0.0.1:0"
    inputs: Mapping[str, str] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    max_inflight: int = 1000
    metrics_port: int | None = None
    monitoring_interval_seconds: float = _DEFAULTS.monitoring_interval_seconds
    flowctl_enabled: bool = False
    flowctl_endpoint: str = "127.0.0.1:8080"
    heartbeat_interval_seconds: float = _DEFAULTS.heartbeat_interval_seconds
    token: str | None = None
    ca_file: str | None = None
    flow_control: FlowControlSettings = field(default_factory=FlowControlSettings)
    pool: PoolSettings = field(default_factory=PoolSettings)
    spec_dir: str = "."
    runner_pid: int | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ComponentSettings:
        env = os.environ if environ is None else environ
        component_id = env.get(FLOWCTL_COMPONENT_ID) or env.get(FLOWCTL_SERVICE_ID) or "component"
        return cls(
            component_id=component_id,
            service_id=env.get(FLOWCTL_SERVICE_ID) or component_id,
            component_type=_component_type(env),
            endpoint=_endpoint(FLOWRUN_ENDPOINT, env.get(FLOWRUN_ENDPOINT, "127.0.0.1:0")),
            inputs=_inputs(env),
            config=_json_object(env, FLOWRUN_CONFIG),
            max_inflight=_integer(env, FLOWRUN_MAX_INFLIGHT, 1000),
            metrics_port=_port(env, FLOWRUN_METRICS_PORT),
            monitoring_interval_seconds=_seconds(
                env, FLOWRUN_MONITORING_INTERVAL, _DEFAULTS.monitoring_interval_seconds
            ),
            flowctl_enabled=_flag(env.get(ENABLE_FLOWCTL, "false")),
            flowctl_endpoint=env.get(FLOWCTL_ENDPOINT, "127.0.0.1:8080"),
            heartbeat_interval_seconds=_seconds(
                env, FLOWCTL_HEARTBEAT_INTERVAL, _DEFAULTS.heartbeat_interval_seconds
            ),
            token=env.get(FLOWCTL_TOKEN) or None,
            ca_file=env.get(FLOWCTL_CA_FILE) or None,
            flow_control=_contract_part(env, FLOWRUN_FLOW_CONTROL, FlowControlSettings),
            pool=_contract_part(env, FLOWRUN_POOL, PoolSettings),
            spec_dir=env.get(FLOWRUN_SPEC_DIR, "."),
            runner_pid=_integer(env, FLOWRUN_RUNNER_PID, 0) or None,
        )

    def to_environ(self) -> dict[str, str]:
        env = {
            ENABLE_FLOWCTL: "true" if self.flowctl_enabled else "false",
            FLOWCTL_ENDPOINT: self.flowctl_endpoint,
            FLOWCTL_HEARTBEAT_INTERVAL: format_duration(self.heartbeat_interval_seconds),
            FLOWCTL_SERVICE_ID: self.service_id,
            FLOWCTL_COMPONENT_ID: self.component_id,
            FLOWRUN_COMPONENT_TYPE: self.component_type,
            FLOWRUN_ENDPOINT: self.endpoint,
            FLOWRUN_INPUTS: json.dumps(dict(self.inputs)),
            FLOWRUN_CONFIG: json.dumps(dict(self.config)),
            FLOWRUN_MAX_INFLIGHT: str(self.max_inflight),
            FLOWRUN_MONITORING_INTERVAL: format_duration(self.monitoring_interval_seconds),
            FLOWRUN_FLOW_CONTROL: json.dumps(asdict(self.flow_control)),
            FLOWRUN_POOL: json.dumps(asdict(self.pool)),
            FLOWRUN_SPEC_DIR: self.spec_dir,
        }
        if self.metrics_port is not None:
            env[FLOWRUN_METRICS_PORT] = str(self.metrics_port)
        if self.token:
            env[FLOWCTL_TOKEN] = self.token
        if self.ca_file:
            env[FLOWCTL_CA_FILE] = self.ca_file
        if self.runner_pid is not None:
            env[FLOWRUN_RUNNER_PID] = str(self.runner_pid)
        return env


def _component_type(env: Mapping[str, str]) -> str:
    kind = env.get(FLOWRUN_COMPONENT_TYPE, "processor")
    if kind not in COMPONENT_TYPES:
        raise SettingsError(
            f"{FLOWRUN_COMPONENT_TYPE}={kind!r}: expected one of {', '.join(COMPONENT_TYPES)}"
        )
    return kind


def _endpoint(name: str, text: str) -> str:
    """host:port (port 0: a free one), or a Flight URI such as grpc+tls://host:port."""
    if "://" in text:
        return text
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise SettingsError(f"{name}={text!r}: expected host:port, e.g. 127.0.0.1:8815")
    return text


def _inputs(env: Mapping[str, str]) -> dict[str, Any]:
    """Input name -> its endpoint; an empty one is found through the controller."""
    inputs = _json_object(env, FLOWRUN_INPUTS)
    for name, endpoint in inputs.items():
        if not isinstance(endpoint, str):
            raise SettingsError(f"{FLOWRUN_INPUTS}: {name} must be a host:port string")
        if endpoint:
            _endpoint(f"{FLOWRUN_INPUTS}: {name}", endpoint)
    return inputs


def _port(env: Mapping[str, str], name: str) -> int | None:
    text = env.get(name)
    if not text:
        return None
    port = _integer(env, name, 0)
    if not 0 <= port <= 65535:
        raise SettingsError(f"{name}={text!r}: expected a port, 0 to 65535 (0: a free one)")
    return port


def _json_object(env: Mapping[str, str], name: str) -> dict[str, Any]:
    text = env.get(name)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise SettingsError(f"{name} is not valid JSON: {e}") from e
    if not isinstance(value, dict):
        raise SettingsError(f"{name} must be a JSON object, got {type(value).__name__}")
    return value


def _contract_part(env: Mapping[str, str], name: str, part: type[_Part]) -> _Part:
    """A contract part from its JSON object: defaults for what is left out, then checked."""
    values = _json_object(env, name)
    types = get_type_hints(part)
    known = [item.name for item in fields(part)]
    for key, value in values.items():
        if key not in types:
            raise SettingsError(f"{name}: unknown key {key!r} (known keys: {', '.join(known)})")
        wanted = (int,) if types[key] is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, wanted):
            kind = "a whole number" if types[key] is int else "a number"
            raise SettingsError(f"{name}: {key} must be {kind}, got {value!r}")
    try:
        return check(part(**values))
    except SettingsError as e:
        raise SettingsError(f"{name}: {e}", e.problems) from e


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        return parse_duration(text, unit_required=False)
    except SettingsError as e:
        raise SettingsError(f"{name}: {e}") from e


def _flag(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes"}


def _integer(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if not text:
        return default
    try:
        return int(text)
    except ValueError as e:
        raise SettingsError(f"{name}={text!r}: expected an integer") from e
