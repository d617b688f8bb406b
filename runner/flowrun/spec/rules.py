"""Rules across the whole document that no one model can check: the graph and the ports.

They read plain document data, fall back to the model's defaults for what is not
written, and skip what has the wrong type (pydantic reports that). The rules of the
settings components are told (thresholds, pool bounds, heartbeat) are the flowctl
contract's, which the spec model's sections apply to themselves.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator
from typing import Any

from flowrun.spec import graph
from flowrun.spec.messages import Finding
from flowrun.spec.model import ControllerConfig, MonitoringConfig
from flowrun.spec.nodes import Loc

Rule = Callable[[Any], Iterator[Finding]]


def _section(data: Any, name: str) -> dict[str, Any]:
    spec = data.get("spec") if isinstance(data, dict) else None
    section = spec.get(name) if isinstance(spec, dict) else None
    return section if isinstance(section, dict) else {}


def _endpoint_port(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    _, _, port = value.rpartition(":")
    return int(port) if port.isdigit() else None


def _ports(data: Any) -> Iterator[tuple[Loc, int]]:
    controller = _section(data, "controller")
    if controller.get("mode", "embedded") == "embedded":
        endpoint = controller.get("endpoint", ControllerConfig.model_fields["endpoint"].default)
        if (port := _endpoint_port(endpoint)) is not None:
            yield ("spec", "controller", "endpoint"), port
    default_metrics = MonitoringConfig.model_fields["metrics_port"].default
    metrics = _section(data, "monitoring").get("metrics_port", default_metrics)
    if isinstance(metrics, int) and not isinstance(metrics, bool):
        yield ("spec", "monitoring", "metrics_port"), metrics
    for name, component in graph.components_of(data).items():
        where = (*graph.COMPONENTS, name)
        if (port := _endpoint_port(component.get("endpoint"))) is not None:
            yield (*where, "endpoint"), port
        health = component.get("health_port")
        if isinstance(health, int) and not isinstance(health, bool):
            yield (*where, "health_port"), health


def check_ready(data: Any) -> Iterator[Finding]:
    """A readiness probe needs what it probes: tcp an endpoint, http a health_port."""
    for name, component in graph.components_of(data).items():
        ready = component.get("ready")
        where = (*graph.COMPONENTS, name, "ready")
        if ready == "tcp" and not component.get("endpoint"):
            yield Finding(where, "tcp probes the endpoint: give the component an endpoint")
        path = ready.get("http") if isinstance(ready, dict) else None
        valid_path = isinstance(path, str) and path.startswith("/")
        if valid_path and component.get("health_port") is None:
            yield Finding(where, f"http {path} probes the health_port: give the component one")


def check_ports(data: Any) -> Iterator[Finding]:
    """Every port the runner and its components listen on is distinct (0: any free port)."""
    owners: dict[int, Loc] = {}
    for loc, port in _ports(data):
        if port > 65535:
            if loc[-1] == "endpoint":
                yield Finding(loc, f"port {port} is out of range (1-65535)")
            continue
        if port == 0:
            continue
        if port in owners:
            owner = ".".join(str(part) for part in owners[port])
            yield Finding(loc, f"port {port} is already used by {owner}")
        else:
            owners[port] = loc


def check_env(data: Any) -> Iterator[Finding]:
    """What an environment can hold: a name with no `=` and neither holds a NUL (the
    launch failed on them, with no place in the spec)."""
    for name, component in graph.components_of(data).items():
        env = component.get("env")
        for key, value in env.items() if isinstance(env, dict) else ():
            where: Loc = (*graph.COMPONENTS, name, "env", key)
            if not isinstance(key, str) or not key or "=" in key or "\0" in key:
                message = f"invalid variable name {key!r}: a name has no '=' and is not empty"
                yield Finding(where, message, at_key=True)
            elif isinstance(value, str) and "\0" in value:
                yield Finding(where, "a variable's value cannot hold a NUL character")


_PATH_KEYS = ("working_dir", "env_file")


def check_nul(data: Any) -> Iterator[Finding]:
    """A command argument or a path holds no NUL: the kernel takes either as a C string.
    Written in YAML as `"\\0"`, it passed validation and then failed every launch with
    `ValueError: embedded null byte`, with no place in the spec."""
    for name, component in graph.components_of(data).items():
        where: Loc = (*graph.COMPONENTS, name)
        for index, argument in enumerate(graph.inputs_of(component, "command")):
            if isinstance(argument, str) and "\0" in argument:
                yield Finding((*where, "command", index), _NUL.format(what="a command argument"))
        for key in _PATH_KEYS:
            value = component.get(key)
            if isinstance(value, str) and "\0" in value:
                yield Finding((*where, key), _NUL.format(what="a path"))


_NUL = "{what} cannot hold a NUL character (\\0): remove it"


def check_config(data: Any) -> Iterator[Finding]:
    """config reaches a component as JSON, which has no infinity or NaN (Python writes
    `Infinity`, which Go, JavaScript and jq refuse)."""
    for name, component in graph.components_of(data).items():
        for where, value in _leaves(component.get("config"), (*graph.COMPONENTS, name, "config")):
            if isinstance(value, float) and not math.isfinite(value):
                message = f"{value} is not a JSON number: quote it ('{value}') to pass the text"
                yield Finding(where, message)


MAX_VARIABLE_BYTES = 128 * 1024
"""Linux's MAX_ARG_STRLEN: the most one argument, or one `NAME=value` of an environment,
may take, its NUL included; a longer one fails the launch with E2BIG, `Argument list too
long`."""


def check_sizes(data: Any) -> Iterator[Finding]:
    """config reaches a component as JSON in one variable (FLOWRUN_CONFIG), as each of `env`
    does: past the system's limit the launch failed, with `Argument list too long: setpriv`
    for a spec whose command has one argument. A watch-list of 4,000 accounts is 260 KiB."""
    for name, component in graph.components_of(data).items():
        where: Loc = (*graph.COMPONENTS, name)
        config = component.get("config")
        if isinstance(config, dict):
            size = variable_bytes("FLOWRUN_CONFIG", json.dumps(config, default=str))
            if size > MAX_VARIABLE_BYTES:
                yield Finding(
                    (*where, "config"),
                    f"config is {size // 1024} KiB as JSON, and a component is given it in one "
                    f"environment variable (FLOWRUN_CONFIG), which Linux limits to "
                    f"{MAX_VARIABLE_BYTES // 1024} KiB: put the bulk in a file beside the spec "
                    "and give its path in config (the component finds the spec's folder in "
                    "FLOWRUN_SPEC_DIR)",
                    at_key=True,
                )
        for index, argument in enumerate(graph.inputs_of(component, "command")):
            size = len(os.fsencode(argument)) + 1 if isinstance(argument, str) else 0
            if size > MAX_VARIABLE_BYTES:
                yield Finding(
                    (*where, "command", index),
                    f"this argument is {size // 1024} KiB, and Linux takes at most "
                    f"{MAX_VARIABLE_BYTES // 1024} KiB in one: put it in a file and give its path",
                )
        env = component.get("env")
        for key, value in env.items() if isinstance(env, dict) else ():
            if isinstance(key, str) and isinstance(value, str):
                size = variable_bytes(key, value)
                if size > MAX_VARIABLE_BYTES:
                    yield Finding(
                        (*where, "env", key),
                        f"{key} is {size // 1024} KiB, and Linux takes at most "
                        f"{MAX_VARIABLE_BYTES // 1024} KiB in one environment variable: put "
                        "the value in a file and give its path",
                    )


def variable_bytes(name: str, value: str) -> int:
    """What `NAME=value` takes in an environment, its NUL included."""
    return len(os.fsencode(f"{name}={value}")) + 1


def _leaves(value: Any, loc: Loc) -> Iterator[tuple[Loc, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*loc, index))
    else:
        yield loc, value


RULES: tuple[Rule, ...] = (
    graph.check_component_map,
    graph.check_inputs,
    graph.check_types,
    graph.check_cycles,
    check_ready,
    check_ports,
    check_env,
    check_nul,
    check_config,
    check_sizes,
)


def check_rules(data: Any) -> list[Finding]:
    """Every finding of every rule, in rule order."""
    return [finding for rule in RULES for finding in rule(data)]
