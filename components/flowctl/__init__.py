"""flowctl: the SDK every flowrun component uses (see `flowctl.component` for the API).

Names are imported lazily: the runner imports the generated gRPC stubs of this package
and must not pay for pyarrow and prometheus_client when it does.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowctl.client import ClientStats, ControllerClient, Registration
    from flowctl.commit import CommitError, CommittedFiles
    from flowctl.component import Component
    from flowctl.contract import FlowControlSettings, Policy, PoolSettings
    from flowctl.errors import (
        FlowControlError,
        FlowctlError,
        PoolError,
        SettingsError,
        TicketError,
    )
    from flowctl.exclusive import OutputInUseError
    from flowctl.flow_control import FlowController, FlowSnapshot, Pacer
    from flowctl.health import Check, HealthReport
    from flowctl.monitor import Monitor
    from flowctl.options import ConfigError
    from flowctl.pool import ConnectionPool, PoolStats
    from flowctl.pool_manager import PoolManager
    from flowctl.run import run_component
    from flowctl.settings import ComponentSettings
    from flowctl.tickets import StreamTicket

_EXPORTS = {
    "ClientStats": "flowctl.client",
    "ControllerClient": "flowctl.client",
    "Registration": "flowctl.client",
    "CommitError": "flowctl.commit",
    "CommittedFiles": "flowctl.commit",
    "Component": "flowctl.component",
    "FlowControlSettings": "flowctl.contract",
    "Policy": "flowctl.contract",
    "PoolSettings": "flowctl.contract",
    "FlowControlError": "flowctl.errors",
    "FlowctlError": "flowctl.errors",
    "PoolError": "flowctl.errors",
    "SettingsError": "flowctl.errors",
    "TicketError": "flowctl.errors",
    "OutputInUseError": "flowctl.exclusive",
    "FlowController": "flowctl.flow_control",
    "FlowSnapshot": "flowctl.flow_control",
    "Pacer": "flowctl.flow_control",
    "Check": "flowctl.health",
    "HealthReport": "flowctl.health",
    "Monitor": "flowctl.monitor",
    "ConfigError": "flowctl.options",
    "ConnectionPool": "flowctl.pool",
    "PoolManager": "flowctl.pool_manager",
    "PoolStats": "flowctl.pool",
    "run_component": "flowctl.run",
    "ComponentSettings": "flowctl.settings",
    "StreamTicket": "flowctl.tickets",
}

__all__ = [
    "Check",
    "ClientStats",
    "CommitError",
    "CommittedFiles",
    "Component",
    "ComponentSettings",
    "ConfigError",
    "ConnectionPool",
    "ControllerClient",
    "FlowControlError",
    "FlowControlSettings",
    "FlowController",
    "FlowSnapshot",
    "FlowctlError",
    "HealthReport",
    "Monitor",
    "OutputInUseError",
    "Pacer",
    "Policy",
    "PoolError",
    "PoolManager",
    "PoolSettings",
    "PoolStats",
    "Registration",
    "SettingsError",
    "StreamTicket",
    "TicketError",
    "run_component",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowctl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
