"""A component's container environment: the local runner's contract, pointed at Services.

The variables are those `flowrun up` gives a process (`component_settings` and
`component_environ` of `flowrun.spec.process`, called, not copied), with three
differences a cluster needs:

- addresses: the component listens on all of its pod's interfaces, its inputs are the
  upstream Services' DNS names and the controller is its Service's DNS name;
- the policy (flow control, pool, heartbeat and monitoring intervals) is read from the
  spec's ConfigMap (`configMapKeyRef`), so that a threshold edit changes the ConfigMap and
  no Deployment: running pods get it live from the controller, a pod started later reads
  the current values, as a component restarted by the local runner does;
- secrets are references to Secrets, never values: the controller token and every `env:`
  entry with a secret-looking name. A secret anywhere else cannot be exported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flowctl.settings import (
    FLOWCTL_HEARTBEAT_INTERVAL,
    FLOWCTL_TOKEN,
    FLOWRUN_FLOW_CONTROL,
    FLOWRUN_MONITORING_INTERVAL,
    FLOWRUN_POOL,
    ComponentSettings,
)

from flowrun.deploy.errors import ExportError
from flowrun.deploy.kubernetes.names import (
    CONTROLLER,
    CONTROLLER_PORT,
    FLIGHT_PORT,
    HEALTH_PORT,
    LISTEN_HOST,
    SPEC_CONFIG,
    WORKSPACE,
    Naming,
    port_of,
)
from flowrun.secrets import is_secret_name, mask_text
from flowrun.spec.loader import LoadedSpec
from flowrun.spec.model import ComponentProtocol, ComponentSpec, ControllerMode, PipelineBody
from flowrun.spec.process import ResolvedPorts, component_environ, component_settings

POLICY_VARIABLES = (
    FLOWRUN_FLOW_CONTROL,
    FLOWRUN_POOL,
    FLOWCTL_HEARTBEAT_INTERVAL,
    FLOWRUN_MONITORING_INTERVAL,
)
"""The variables of the live policy: also keys of the spec's ConfigMap."""
TOKEN_KEY = "token"
Env = list[dict[str, Any]]


@dataclass(frozen=True)
class PodPorts:
    """A component's ports inside its pod (None: it has none)."""

    flight: int | None
    health: int | None


def pod_ports(spec: ComponentSpec) -> PodPorts:
    """The spec's ports, a fixed one where the spec leaves the choice to the runner. A plain
    program (protocol none) without an endpoint serves no Flight."""
    has_flight = spec.endpoint is not None or spec.protocol is not ComponentProtocol.NONE
    flight = (port_of(spec.endpoint) or FLIGHT_PORT) if has_flight else None
    if spec.health_port is None:
        return PodPorts(flight, None)
    health = spec.health_port or (HEALTH_PORT if flight != HEALTH_PORT else HEALTH_PORT + 1)
    return PodPorts(flight, health)


def controller_port(body: PipelineBody) -> int:
    return port_of(body.controller.endpoint) or CONTROLLER_PORT


def controller_address(body: PipelineBody, naming: Naming) -> str | None:
    """What components are told: the Service of an embedded controller, else the spec's."""
    if body.controller.mode is ControllerMode.EMBEDDED:
        return naming.service_address(CONTROLLER, controller_port(body))
    return None


def policy_environ(body: PipelineBody) -> dict[str, str]:
    """The policy's variables, written by the contract itself (`to_environ`)."""
    policy = body.policy()
    settings = ComponentSettings(
        component_id="",
        service_id="",
        flow_control=policy.flow_control,
        pool=policy.pool,
        heartbeat_interval_seconds=policy.heartbeat_interval_seconds,
        monitoring_interval_seconds=policy.monitoring_interval_seconds,
    )
    written = settings.to_environ()
    return {name: written[name] for name in POLICY_VARIABLES}


def secrets_name(naming: Naming) -> str:
    """The Secret the user creates with the values of secret-looking `env:` entries."""
    return naming.object_name("secrets")


def token_secret_name(naming: Naming) -> str:
    """The Secret holding the controller token under the key `token`."""
    return naming.object_name("controller-token")


def token_env(naming: Naming, variable: str = FLOWCTL_TOKEN) -> dict[str, Any]:
    reference = {"name": token_secret_name(naming), "key": TOKEN_KEY}
    return {"name": variable, "valueFrom": {"secretKeyRef": reference}}


def escaped(value: str) -> str:
    """`value` as the kubelet reads it back: it expands `$(NAME)` in env values and in
    commands, and reads `$$` as `$`."""
    return value.replace("$", "$$")


class ContainerEnvironment:
    """The `env` of each component's container; what they share is worked out once."""

    def __init__(self, loaded: LoadedSpec, naming: Naming) -> None:
        self._loaded, self._naming = loaded, naming
        body = loaded.body
        self.ports = {name: pod_ports(spec) for name, spec in body.components.items()}
        self._resolved = ResolvedPorts(
            endpoints={
                name: naming.service_address(name, port.flight)
                for name, port in self.ports.items()
                if port.flight is not None
            },
            health_ports={n: p.health for n, p in self.ports.items() if p.health is not None},
        )
        self._policy = policy_environ(body)
        self._controller = controller_address(body, naming)

    def env(self, name: str) -> Env:
        """The `env` of component `name`'s container."""
        body = self._loaded.body
        settings = component_settings(
            name,
            body,
            controller_endpoint=self._controller,
            spec_dir=Path(WORKSPACE),
            runner_pid=0,
            ports=self._resolved,
        )
        own = self.ports[name].flight
        # Its own address is where it listens (all interfaces of its pod); no runner
        # watches it (the pod's lifetime is the kubelet's); the token comes from a Secret.
        settings = replace(
            settings,
            endpoint=f"{LISTEN_HOST}:{own}" if own is not None else settings.endpoint,
            runner_pid=None,
            token=None,
        )
        environ = component_environ(settings, body.components[name], base={})
        env = [self._entry(name, key, value) for key, value in environ.items()]
        controller = body.controller
        if controller.token is not None and controller.mode is not ControllerMode.DISABLED:
            env.append(token_env(self._naming))
        return env

    def _entry(self, component: str, key: str, value: str) -> dict[str, Any]:
        naming = self._naming
        if key in self._loaded.body.components[component].env and is_secret_name(key):
            reference = {"name": secrets_name(naming), "key": key}
            return {"name": key, "valueFrom": {"secretKeyRef": reference}}
        policy_variable = _policy_variable(key, value, self._policy)
        if policy_variable is not None:
            reference = {"name": naming.object_name(SPEC_CONFIG), "key": policy_variable}
            return {"name": key, "valueFrom": {"configMapKeyRef": reference}}
        place = f"spec.components.{component}"
        refuse_secret(self._loaded, place, f"the variable {key}", value, naming)
        return {"name": key, "value": escaped(value)}


def _policy_variable(key: str, value: str, policy: Mapping[str, str]) -> str | None:
    """The policy variable `key` carries (also under an earlier client's prefix:
    `SOURCE_FLOWCTL_HEARTBEAT_INTERVAL`), unless the spec's env set another value."""
    for variable, written in policy.items():
        if (key == variable or key.endswith(f"_{variable}")) and value == written:
            return variable
    return None


def refuse_secret(loaded: LoadedSpec, place: str, what: str, value: str, naming: Naming) -> None:
    """ExportError if `value` holds a secret of the spec (a value of a secret-looking
    variable it interpolated): a manifest is stored and shown in the clear."""
    if mask_text(value, loaded.secret_values) == value:
        return
    raise ExportError(
        f"{loaded.path}: {place}: {what} holds a secret (the value of a TOKEN, SECRET, "
        "PASSWORD or KEY variable); manifests never hold secrets: give it to the component "
        f"in env: under a secret-looking name, which is exported as a reference to the "
        f"Secret {secrets_name(naming)} (create it with kubectl create secret generic)"
    )


def refuse_secret_config(loaded: LoadedSpec, component: str, naming: Naming) -> None:
    """ExportError for a `config` entry under a secret-looking name: it would be written
    in the clear in FLOWRUN_CONFIG."""
    for path in _secret_keys(loaded.body.components[component].config, ()):
        place = ".".join(("spec.components", component, "config", *path))
        raise ExportError(
            f"{loaded.path}: {place}: a secret-looking config entry would be written in the "
            "manifest in the clear; pass it in env: instead (exported as a reference to the "
            f"Secret {secrets_name(naming)}) and have the component read it from there"
        )


def _secret_keys(value: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    if not isinstance(value, dict):
        return []
    found: list[tuple[str, ...]] = []
    for key, item in value.items():
        if is_secret_name(str(key)) and item is not None:
            found.append((*path, str(key)))
        found += _secret_keys(item, (*path, str(key)))
    return found
