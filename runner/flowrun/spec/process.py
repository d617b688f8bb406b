"""The environment a component is started with: the contract of `flowctl.settings`.

The runner's own environment is passed on (PATH, HOME...), minus any contract variable
it happens to carry (a runner started from inside a component must not leak its
parent's identity), then the contract, then the component's own `env:` from the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flowctl import settings as environment_contract
from flowctl.settings import ComponentSettings

from flowrun.spec.model import ComponentSpec, ControllerMode, PipelineBody

# The runner's own selectors too: a component that runs flowrun must not inherit them.
RUNNER_VARIABLES = frozenset({"FLOWRUN_STATE_DIR", "FLOWRUN_PROFILE", "FLOWRUN_WATCH"})
CONTRACT_VARIABLES = RUNNER_VARIABLES | frozenset(
    value
    for name, value in vars(environment_contract).items()
    if name.isupper()
    and isinstance(value, str)
    and name.startswith(("ENABLE_", "FLOWCTL_", "FLOWRUN_"))
)
# Output through a pipe is block-buffered by Python: logs would arrive late, in lumps.
DEFAULT_VARIABLES = {"PYTHONUNBUFFERED": "1"}


def component_settings(
    name: str,
    body: PipelineBody,
    *,
    controller_endpoint: str | None,
    spec_dir: Path,
    runner_pid: int,
) -> ComponentSettings:
    spec, controller, policy = body.components[name], body.controller, body.policy()
    return ComponentSettings(
        component_id=name,
        service_id=name,
        component_type=spec.type.value,
        endpoint=spec.endpoint or "127.0.0.1:0",
        inputs=input_endpoints(spec, body),
        config=spec.config,
        max_inflight=spec.max_inflight,
        metrics_port=spec.health_port,
        monitoring_interval_seconds=policy.monitoring_interval_seconds,
        flowctl_enabled=controller.mode is not ControllerMode.DISABLED,
        flowctl_endpoint=controller_endpoint or controller.endpoint,
        heartbeat_interval_seconds=policy.heartbeat_interval_seconds,
        token=controller.token,
        ca_file=controller.tls.ca_file if controller.tls else None,
        flow_control=policy.flow_control,
        pool=policy.pool,
        spec_dir=str(spec_dir),
        runner_pid=runner_pid,
    )


def input_endpoints(spec: ComponentSpec, body: PipelineBody) -> dict[str, str]:
    """{input name: its endpoint}; an input without an endpoint is found through discovery."""
    endpoints: dict[str, str] = {}
    for name in spec.inputs:
        upstream = body.components.get(name)
        if upstream is not None and upstream.endpoint:
            endpoints[name] = upstream.endpoint
    return endpoints


def component_environ(
    settings: ComponentSettings, spec: ComponentSpec, base: Mapping[str, str]
) -> dict[str, str]:
    environ = {key: value for key, value in base.items() if key not in CONTRACT_VARIABLES}
    for key, value in DEFAULT_VARIABLES.items():
        environ.setdefault(key, value)
    environ.update(settings.to_environ())
    environ.update(spec.env)
    return environ
