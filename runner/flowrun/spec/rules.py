"""Cross-field rules a field's own type cannot express: thresholds, pool bounds, ports.

Like the graph rules they read plain document data, fall back to the model's defaults for
what is not written, and skip what has the wrong type (pydantic reports that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel

from flowrun.spec import graph
from flowrun.spec.durations import parse_duration
from flowrun.spec.messages import Finding
from flowrun.spec.model import ControllerConfig, FlowControlConfig, MonitoringConfig, PoolConfig
from flowrun.spec.nodes import Loc

Rule = Callable[[Any], Iterator[Finding]]


def _section(data: Any, name: str) -> dict[str, Any]:
    spec = data.get("spec") if isinstance(data, dict) else None
    section = spec.get(name) if isinstance(spec, dict) else None
    return section if isinstance(section, dict) else {}


def _number(section: dict[str, Any], key: str, model: type[BaseModel]) -> float | None:
    value = section.get(key, model.model_fields[key].default)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _seconds(section: dict[str, Any], key: str, model: type[BaseModel]) -> float | None:
    if key not in section:
        return float(model.model_fields[key].default)
    try:
        return parse_duration(section[key])
    except ValueError:
        return None


def _show(number: float) -> str:
    return f"{number:g}"


def check_flow_control(data: Any) -> Iterator[Finding]:
    """0 < deactivate_at < activate_at <= 1 and 0 < throttle_rate <= 1."""
    section, model = _section(data, "flow_control"), FlowControlConfig
    loc: Loc = ("spec", "flow_control")
    activate = _number(section, "activate_at", model)
    deactivate = _number(section, "deactivate_at", model)
    throttle = _number(section, "throttle_rate", model)
    if activate is not None and not 0 < activate <= 1:
        yield Finding((*loc, "activate_at"), f"must be in (0, 1], got {_show(activate)}")
    elif deactivate is not None and deactivate <= 0:
        yield Finding((*loc, "deactivate_at"), f"must be greater than 0, got {_show(deactivate)}")
    elif deactivate is not None and activate is not None and deactivate >= activate:
        default = "" if "deactivate_at" in section else " (the default)"
        message = (
            f"must be below activate_at ({_show(activate)}), got {_show(deactivate)}{default}: "
            "backpressure turns on at activate_at and off below deactivate_at"
        )
        yield Finding((*loc, "deactivate_at"), message)
    if throttle is not None and not 0 < throttle <= 1:
        yield Finding((*loc, "throttle_rate"), f"must be in (0, 1], got {_show(throttle)}")


def check_pool(data: Any) -> Iterator[Finding]:
    section = _section(data, "pool")
    low = _number(section, "min_connections", PoolConfig)
    high = _number(section, "max_connections", PoolConfig)
    if low is not None and high is not None and low > high:
        message = f"min_connections ({_show(low)}) must not exceed max_connections ({_show(high)})"
        yield Finding(("spec", "pool", "min_connections"), message)


def check_heartbeat(data: Any) -> Iterator[Finding]:
    section = _section(data, "controller")
    interval = _seconds(section, "heartbeat_interval", ControllerConfig)
    ttl = _seconds(section, "heartbeat_ttl", ControllerConfig)
    if interval is not None and ttl is not None and ttl <= interval:
        message = (
            f"must be longer than heartbeat_interval ({_show(interval)}s), got {_show(ttl)}s: "
            "every service would be unhealthy between two heartbeats"
        )
        yield Finding(("spec", "controller", "heartbeat_ttl"), message)


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


RULES: tuple[Rule, ...] = (
    graph.check_component_map,
    graph.check_inputs,
    graph.check_types,
    graph.check_cycles,
    check_flow_control,
    check_pool,
    check_heartbeat,
    check_ports,
)


def check_rules(data: Any) -> list[Finding]:
    """Every finding of every rule, in rule order."""
    return [finding for rule in RULES for finding in rule(data)]
