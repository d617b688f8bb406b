"""The environment a component is started with: the contract of `flowctl.settings`.

The runner's own environment is passed on (PATH, HOME...), minus any contract variable
it happens to carry (a runner started from inside a component must not leak its
parent's identity), then the contract with the names earlier flowctl clients read
(`flowctl.generations`: `COMPONENT_ID`, `PORT`, `<NAME>_ENABLE_FLOWCTL`...), then the
component's own `env:` from the spec (with its env_file's variables under it, merged
when the spec was loaded).

A port written 0 (an endpoint's or a health_port) is the one the runner picked for it
(`ResolvedPorts`), both in the component's own settings and in its consumers' inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flowctl import settings as environment_contract
from flowctl.generations import UNPREFIXED, earlier_generations_environ
from flowctl.settings import ComponentSettings

from flowrun.spec.commands import PYTHON_ALIASES
from flowrun.spec.model import ComponentSpec, ControllerMode, PipelineBody

# The runner's own selectors too: a component that runs flowrun must not inherit them; nor
# the service manager's socket and watchdog, the runner's to answer
# (flowrun.daemon.service_manager).
RUNNER_VARIABLES = frozenset(
    {
        "FLOWRUN_STATE_DIR",
        "FLOWRUN_PROFILE",
        "FLOWRUN_WATCH",
        "NOTIFY_SOCKET",
        "WATCHDOG_USEC",
        "WATCHDOG_PID",
    }
)
CONTRACT_VARIABLES = (
    RUNNER_VARIABLES
    | frozenset(UNPREFIXED)
    | frozenset(
        value
        for name, value in vars(environment_contract).items()
        if name.isupper()
        and isinstance(value, str)
        and name.startswith(("ENABLE_", "FLOWCTL_", "FLOWRUN_"))
    )
)
# Output through a pipe is block-buffered by Python: logs would arrive late, in lumps.
DEFAULT_VARIABLES = {"PYTHONUNBUFFERED": "1"}


@dataclass(frozen=True)
class ResolvedPorts:
    """The real ports of components whose spec says port 0, by component name."""

    endpoints: Mapping[str, str] = field(default_factory=dict)
    health_ports: Mapping[str, int] = field(default_factory=dict)

    def endpoint(self, name: str, spec: ComponentSpec) -> str | None:
        return self.endpoints.get(name, spec.endpoint)

    def health_port(self, name: str, spec: ComponentSpec) -> int | None:
        return self.health_ports.get(name, spec.health_port)


AS_WRITTEN = ResolvedPorts()
"""No port resolved: what the spec says (a plan compares specs this way)."""


def component_settings(
    name: str,
    body: PipelineBody,
    *,
    controller_endpoint: str | None,
    spec_dir: Path,
    runner_pid: int,
    ports: ResolvedPorts = AS_WRITTEN,
) -> ComponentSettings:
    spec, controller, policy = body.components[name], body.controller, body.policy()
    return ComponentSettings(
        component_id=name,
        service_id=name,
        component_type=spec.type.value,
        endpoint=ports.endpoint(name, spec) or "127.0.0.1:0",
        inputs=input_endpoints(spec, body, ports),
        config=spec.config,
        max_inflight=spec.max_inflight,
        metrics_port=ports.health_port(name, spec),
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


def input_endpoints(
    spec: ComponentSpec, body: PipelineBody, ports: ResolvedPorts = AS_WRITTEN
) -> dict[str, str]:
    """{input name: its endpoint}; "" for an input whose upstream has no endpoint in the
    spec: the SDK finds it through the controller's discovery (left out, it would not be an
    input at all)."""
    endpoints: dict[str, str] = {}
    for name in spec.inputs:
        upstream = body.components.get(name)
        endpoint = ports.endpoint(name, upstream) if upstream is not None else None
        endpoints[name] = endpoint or ""
    return endpoints


def component_environ(
    settings: ComponentSettings, spec: ComponentSpec, base: Mapping[str, str]
) -> dict[str, str]:
    environ = {key: value for key, value in base.items() if key not in CONTRACT_VARIABLES}
    for key, value in DEFAULT_VARIABLES.items():
        environ.setdefault(key, value)
    environ.update(settings.to_environ())
    environ.update(earlier_generations_environ(settings, _program_names(spec)))
    environ.update(spec.env)
    return environ


def _program_names(spec: ComponentSpec) -> tuple[str, ...]:
    """The program's own name, under which an old component reads its prefixed variables
    (`./bin/stellar-arrow-source` reads STELLAR_ARROW_SOURCE_*), whatever the spec calls it."""
    program = Path(spec.command[0]).name
    return () if program in PYTHON_ALIASES else (program,)
