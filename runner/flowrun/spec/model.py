"""The pipeline spec: what a user writes in `pipeline.yaml`.

Every field says in its schema how a change to it is applied by a hot reload
(`x-reload`): `live` (no process restarts), `component` (that component restarts alone)
or `pipeline` (a full, ordered restart). `flowrun.reload` reads the same marks.

The settings that cross to components (controller heartbeat, flow control, pool,
monitoring interval) take their defaults and rules from `flowctl.contract`: each such
section checks itself with the contract's `check`, whose problems become errors at the
section's own keys, and `PipelineBody.policy()` is the spec turned into the contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal, Self

from flowctl.contract import FlowControlSettings, Policy, PoolSettings, minimum
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.fields import FieldInfo

from flowrun.spec.contract_check import check_by_contract
from flowrun.spec.durations import Duration
from flowrun.spec.numbers import Integer, IntegerOrNull, Number
from flowrun.spec.readiness import READY_DESCRIPTION, Ready

LIVE = "live"
COMPONENT = "component"
PIPELINE = "pipeline"
_RELOAD_TEXT = {
    LIVE: "Reload: applied live, no process restarts.",
    COMPONENT: "Reload: a change restarts this component alone.",
    PIPELINE: "Reload: a change restarts the whole pipeline in order.",
}

ENDPOINT_PATTERN = r"^[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$"
_DEFAULTS = Policy()
_FLOW, _POOL = _DEFAULTS.flow_control, _DEFAULTS.pool


RELOAD_KEY = "x-reload"


def reload_mark(info: FieldInfo) -> str | None:
    """The `x-reload` mark `reloads` gave a model field, if it has one."""
    extra = info.json_schema_extra
    value = extra.get(RELOAD_KEY) if isinstance(extra, dict) else None
    return value if isinstance(value, str) else None


def reloads(
    kind: str, description: str, *, bounds: Mapping[str, float] | None = None, **kwargs: Any
) -> Any:
    """A pydantic Field documenting how a hot reload applies a change to it.

    `bounds` are JSON Schema bounds (`exclusiveMinimum`...) of a value that a check other
    than pydantic's enforces (the flowctl contract): shown to editors, checked once.
    """
    return Field(
        description=f"{description} {_RELOAD_TEXT[kind]}",
        json_schema_extra={RELOAD_KEY: kind, **(bounds or {})},
        **kwargs,
    )


# The contract's ranges (`FlowControlSettings.problems`), for the schema.
_LOAD_THRESHOLD: Mapping[str, float] = {"exclusiveMinimum": 0, "maximum": 1}
_BELOW_ACTIVATE: Mapping[str, float] = {"exclusiveMinimum": 0, "exclusiveMaximum": 1}


class _Strict(BaseModel):
    # Numbers become strings where a string is expected (`command: [sleep, 5]`, `env: {PORT: 8080}`)
    # as in docker compose; booleans do not, so `env: {DEBUG: yes}` is still caught. Text never
    # becomes a number: numeric fields are `Integer` and `Number` (flowrun.spec.numbers).
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class ControllerMode(StrEnum):
    EMBEDDED = "embedded"
    EXTERNAL = "external"
    DISABLED = "disabled"


class ComponentType(StrEnum):
    SOURCE = "source"
    PROCESSOR = "processor"
    SINK = "sink"


class ComponentProtocol(StrEnum):
    """How a component speaks to the controller (docs/flowctl-compat.md)."""

    AUTO = "auto"  # whatever it registers with, if it registers
    FLOWCTL = "flowctl"  # this project's SDK: legacy API + flowrun's flow control stream
    FLOWCTL_V1 = "flowctl-v1"  # flowctl.v1.ControlPlaneService (flowctl-sdk v0.1.x, Go)
    FLOWCTL_LEGACY = "flowctl-legacy"  # flowctl.ControlPlane as older obsrvr components use it
    NONE = "none"  # a plain program: never registers

    @property
    def registers(self) -> bool:
        return self is not ComponentProtocol.NONE


LEGACY_HEARTBEAT_SECONDS = 10.0
"""The older obsrvr client heartbeats every 10 s whatever it is told."""


class RestartPolicy(StrEnum):
    ALWAYS = "always"
    ON_FAILURE = "on-failure"
    NEVER = "never"


# One line, not blank: the name heads `status`, `top` and `ps`, one pipeline per line, and
# a line break in it broke those tables. Any other character, unicode too, is welcome.
_CONTROL = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
PIPELINE_NAME_PATTERN = rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"


class Metadata(_Strict):
    name: str = reloads(
        LIVE,
        "Pipeline name, shown by status and in metrics: one line of text, not blank.",
        min_length=1,
        pattern=PIPELINE_NAME_PATTERN,
    )
    labels: dict[str, str] = reloads(LIVE, "Free-form labels.", default_factory=dict)


class TLSConfig(_Strict):
    cert_file: str = reloads(PIPELINE, "PEM certificate of the controller.")
    key_file: str | None = reloads(PIPELINE, "PEM private key (the controller side).", default=None)
    ca_file: str | None = reloads(
        PIPELINE, "CA bundle clients verify the controller with.", default=None
    )


class ControllerConfig(_Strict):
    mode: ControllerMode = reloads(
        PIPELINE,
        "embedded: the runner hosts the controller; external: connect to endpoint; "
        "disabled: components use local flow control only.",
        default=ControllerMode.EMBEDDED,
    )
    endpoint: str = reloads(
        PIPELINE,
        "host:port of the controller (bound on loopback unless told otherwise). An embedded "
        "controller on port 0 listens on any free port: components are told the real one, "
        "and status shows it.",
        default="127.0.0.1:8080",
        pattern=ENDPOINT_PATTERN,
    )
    heartbeat_interval: Duration = reloads(
        LIVE, "How often components heartbeat.", default=_DEFAULTS.heartbeat_interval_seconds
    )
    heartbeat_ttl: Duration = reloads(
        LIVE,
        "A service silent for longer is unhealthy (and restarted by the runner).",
        default=_DEFAULTS.heartbeat_ttl_seconds,
    )
    token: str | None = reloads(
        PIPELINE, "Shared token every client must present (metadata header).", default=None
    )
    tls: TLSConfig | None = reloads(PIPELINE, "TLS for a controller on another host.", default=None)

    @model_validator(mode="after")
    def _heartbeat_by_contract(self) -> Self:
        # The policy's rules on these two; its other settings are defaults, always valid.
        heartbeat = Policy(
            heartbeat_interval_seconds=self.heartbeat_interval,
            heartbeat_ttl_seconds=self.heartbeat_ttl,
        )
        check_by_contract(self, heartbeat)
        return self


class FlowControlConfig(_Strict):
    activate_at: Number = reloads(
        LIVE,
        "Load (inflight/max_inflight) at which backpressure turns on; in (0, 1].",
        default=_FLOW.activate_at,
        bounds=_LOAD_THRESHOLD,
    )
    deactivate_at: Number = reloads(
        LIVE,
        "Load below which backpressure turns off again (hysteresis); greater than 0 and "
        "below activate_at.",
        default=_FLOW.deactivate_at,
        bounds=_BELOW_ACTIVATE,
    )
    throttle_rate: Number = reloads(
        LIVE,
        "Fraction of full speed upstream services run at under backpressure; in (0, 1].",
        default=_FLOW.throttle_rate,
        bounds=_LOAD_THRESHOLD,
    )

    def settings(self) -> FlowControlSettings:
        return FlowControlSettings(self.activate_at, self.deactivate_at, self.throttle_rate)

    @model_validator(mode="after")
    def _by_contract(self) -> Self:
        check_by_contract(self, self.settings())
        return self


class PoolConfig(_Strict):
    min_connections: Integer = reloads(
        LIVE,
        "Connections kept open per input.",
        default=_POOL.min_connections,
        ge=minimum(PoolSettings, "min_connections"),
    )
    max_connections: Integer = reloads(
        LIVE,
        "Upper bound of connections per input.",
        default=_POOL.max_connections,
        ge=minimum(PoolSettings, "max_connections"),
    )
    idle_timeout: Duration = reloads(
        LIVE,
        "Idle connections above the minimum close after this.",
        default=_POOL.idle_timeout_seconds,
    )
    health_check_interval: Duration = reloads(
        LIVE,
        "How often pooled connections are checked.",
        default=_POOL.health_check_interval_seconds,
    )
    connect_timeout: Duration = reloads(
        LIVE, "Time allowed to open one connection.", default=_POOL.connect_timeout_seconds
    )
    max_retries: Integer = reloads(
        LIVE,
        "Retries of a failed call before it is reported.",
        default=_POOL.max_retries,
        ge=minimum(PoolSettings, "max_retries"),
    )

    def settings(self) -> PoolSettings:
        return PoolSettings(
            min_connections=self.min_connections,
            max_connections=self.max_connections,
            idle_timeout_seconds=self.idle_timeout,
            health_check_interval_seconds=self.health_check_interval,
            connect_timeout_seconds=self.connect_timeout,
            max_retries=self.max_retries,
        )

    @model_validator(mode="after")
    def _by_contract(self) -> Self:
        check_by_contract(self, self.settings())
        return self


class MonitoringConfig(_Strict):
    metrics_port: IntegerOrNull = reloads(
        PIPELINE,
        "Port of the runner's Prometheus endpoint (0: any free port, shown by status; null: none).",
        default=9464,
        ge=0,
        le=65535,
    )
    interval: Duration = reloads(
        LIVE,
        "How often metrics and health reports are refreshed.",
        default=_DEFAULTS.monitoring_interval_seconds,
    )


class RestartConfig(_Strict):
    policy: RestartPolicy = reloads(
        LIVE, "When a stopped process is started again.", default=RestartPolicy.ON_FAILURE
    )
    max_restarts: Integer = reloads(
        LIVE, "Restarts allowed within window before the component fails.", default=5, ge=0
    )
    window: Duration = reloads(LIVE, "The window max_restarts counts over.", default=60.0)
    backoff: Duration = reloads(
        LIVE, "First delay before a restart; doubles each time.", default=1.0
    )
    max_backoff: Duration = reloads(LIVE, "Cap of the restart delay.", default=30.0)


# A Kubernetes quantity (`500m`, `0.5`, `256Mi`, `1G`): checked here, where the spec is read.
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"


class ResourceAmounts(_Strict):
    cpu: str | None = reloads(
        COMPONENT,
        "CPU, as Kubernetes writes it (`500m`, `2`).",
        default=None,
        pattern=QUANTITY_PATTERN,
    )
    memory: str | None = reloads(
        COMPONENT,
        "Memory, as Kubernetes writes it (`256Mi`, `1Gi`).",
        default=None,
        pattern=QUANTITY_PATTERN,
    )


class ResourcesConfig(_Strict):
    requests: ResourceAmounts | None = reloads(
        COMPONENT, "What the scheduler reserves for the component.", default=None
    )
    limits: ResourceAmounts | None = reloads(COMPONENT, "What it may not exceed.", default=None)


class ComponentSpec(_Strict):
    type: ComponentType = reloads(COMPONENT, "source, processor or sink.")
    command: list[str] = reloads(
        COMPONENT,
        "Program and arguments, a list (no shell). python, python3 and python3.X run "
        "flowrun's own interpreter, with the packages of its environment; give a path to "
        "run another.",
        min_length=1,
    )
    endpoint: str | None = reloads(
        COMPONENT,
        "host:port the component serves Arrow Flight on. Port 0: the runner picks a free "
        "port when it first starts the component and keeps it across its restarts; the "
        "component (FLOWRUN_ENDPOINT), its consumers (FLOWRUN_INPUTS) and status get the "
        "real one.",
        default=None,
        pattern=ENDPOINT_PATTERN,
    )
    inputs: list[str] = reloads(
        COMPONENT, "Names of the components this one reads from.", default_factory=list
    )
    env: dict[str, str] = reloads(
        COMPONENT,
        "Extra environment variables (over those of env_file). A number is passed as "
        "written (1.10 stays 1.10). Values of names with TOKEN, SECRET, PASSWORD or KEY are "
        "masked in logs and render.",
        default_factory=dict,
    )
    env_file: str | None = reloads(
        COMPONENT,
        "A dotenv file (KEY=VALUE lines, # comments), relative to the spec's folder, whose "
        "variables the component gets under those of env. Read with the spec: a missing file "
        "is a spec error, and `flowrun up` watches it beside the spec: an edit restarts the "
        "component. Values of secret-looking names are masked like env's.",
        default=None,
        min_length=1,
    )
    depends_on: list[str] = reloads(
        COMPONENT,
        "Components that must be ready before this one starts, without reading from them "
        "(inputs imply it). They stop after this one.",
        default_factory=list,
    )
    config: dict[str, Any] = reloads(
        COMPONENT,
        "Component-specific settings, passed as JSON in FLOWRUN_CONFIG.",
        default_factory=dict,
    )
    max_inflight: Integer = reloads(
        COMPONENT, "Inflight items at which load is 1.0.", default=1000, ge=1
    )
    health_port: IntegerOrNull = reloads(
        COMPONENT,
        "Port of the component's metrics and health endpoint (0: a free port picked by the "
        "runner, kept across restarts, shown by status).",
        default=None,
        ge=0,
        le=65535,
    )
    working_dir: str | None = reloads(
        COMPONENT, "Working directory (relative to the spec's folder).", default=None
    )
    restart: RestartConfig = reloads(LIVE, "Restart policy.", default_factory=RestartConfig)
    stop_grace: Duration = reloads(LIVE, "Time between SIGTERM and SIGKILL on stop.", default=10.0)
    start_timeout: Duration = reloads(LIVE, "Time allowed to become ready.", default=30.0)
    ready: Ready | None = reloads(LIVE, READY_DESCRIPTION, default=None)
    resources: ResourcesConfig | None = reloads(
        COMPONENT,
        "CPU and memory requests and limits of the component's container on Kubernetes "
        "(`flowrun export`); the local runner does not limit processes.",
        default=None,
    )
    replicas: IntegerOrNull = reloads(
        COMPONENT,
        "Pods of the component on Kubernetes (`flowrun export`; default 1); the local runner "
        "runs one process.",
        default=None,
        ge=1,
    )
    protocol: ComponentProtocol = reloads(
        LIVE,
        "How it speaks to the controller: auto (whatever it registers with), flowctl (this "
        "project's SDK), flowctl-v1 (flowctl.v1.ControlPlaneService, as flowctl-sdk v0.1 "
        "components do), flowctl-legacy (flowctl.ControlPlane, as older obsrvr components "
        "do: liveness allows for their fixed 10s heartbeat) or none (a plain program: "
        "ready by tcp or started, never judged by heartbeats). The controller's endpoint "
        "and the component's id and ports are written in the variables every generation "
        "reads (docs/flowctl-compat.md).",
        default=ComponentProtocol.AUTO,
    )

    def liveness_ttl(self, heartbeat_ttl_seconds: float, *, own_pace: bool = False) -> float:
        """How long it may stay silent before it counts as dead while its process runs.
        `own_pace`: it registered as the older obsrvr client does (no id), whatever its
        `protocol` says, so it heartbeats every 10 s whatever it is told."""
        if own_pace or self.protocol is ComponentProtocol.FLOWCTL_LEGACY:
            return max(heartbeat_ttl_seconds, 3 * LEGACY_HEARTBEAT_SECONDS)
        return heartbeat_ttl_seconds


class PipelineBody(_Strict):
    controller: ControllerConfig = Field(default_factory=ControllerConfig)
    flow_control: FlowControlConfig = Field(default_factory=FlowControlConfig)
    pool: PoolConfig = Field(default_factory=PoolConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    components: dict[str, ComponentSpec] = Field(
        description="Components keyed by name (profiles override one by name)."
    )
    profiles: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Partial specs deep-merged over this one when selected with --profile "
        "or FLOWRUN_PROFILE.",
    )

    def paced_by_policy(self) -> list[str]:
        """The components that heartbeat at the interval the runner gives them, so the
        controller judges them by the policy's; an older obsrvr component heartbeats every
        10 s whatever it is told, and is judged by the interval it is seen to keep."""
        return [
            name
            for name, component in self.components.items()
            if component.protocol is not ComponentProtocol.FLOWCTL_LEGACY
        ]

    def policy(self) -> Policy:
        """This spec as the contract's policy: what the controller enforces and pushes."""
        return Policy(
            flow_control=self.flow_control.settings(),
            pool=self.pool.settings(),
            heartbeat_interval_seconds=self.controller.heartbeat_interval,
            heartbeat_ttl_seconds=self.controller.heartbeat_ttl,
            monitoring_interval_seconds=self.monitoring.interval,
        )


class PipelineSpec(_Strict):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, coerce_numbers_to_str=True
    )

    api_version: Literal["flowctl/v1"] = Field(alias="apiVersion")
    kind: Literal["Pipeline"]
    metadata: Metadata
    spec: PipelineBody
