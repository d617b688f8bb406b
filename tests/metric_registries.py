"""What the code exports to Prometheus, read from real registries built the way the
processes build them: the runner's (a started embedded Controller plus RunnerMetrics on one
registry) and each Stellar component's (constructed from the settings the runner gives it).

Shared by the tests of examples/monitoring and of docs/operations.md.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

from arrow_analytics_sink.server import ArrowAnalyticsSink
from flowctl.component import Component
from flowctl.contract import Policy
from flowrun.controller.server import Controller
from flowrun.daemon.metrics import RunnerMetrics
from flowrun.spec.loader import LoadedSpec
from flowrun.spec.process import component_settings
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from stellar_arrow_source.server import StellarArrowSource
from ttp_arrow_processor.server import TtpArrowProcessor

COMPONENT_CLASSES: dict[str, type[Component]] = {
    "stellar_arrow_source": StellarArrowSource,
    "ttp_arrow_processor": TtpArrowProcessor,
    "arrow_analytics_sink": ArrowAnalyticsSink,
}

# The sample names a family of each type is exposed under (prometheus_client, text format).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}


def sample_names(families: list[Metric]) -> set[str]:
    return {family.name + suffix for family in families for suffix in SUFFIXES[family.type]}


def exposed_names(registry: CollectorRegistry) -> set[str]:
    return sample_names(list(registry.collect()))


def runner_families() -> list[Metric]:
    """The runner process's registry: embedded controller (started, real gRPC) + runner."""

    async def collect() -> list[Metric]:
        registry = CollectorRegistry()
        controller = Controller(Policy(), listen="127.0.0.1:0", registry=registry)
        await controller.start()
        try:
            registry.register(RunnerMetrics(lambda: []))
            return list(registry.collect())
        finally:
            await controller.stop(grace=0)

    return asyncio.run(collect())


def runner_registry() -> set[str]:
    return sample_names(runner_families())


def module_of(command: list[str]) -> str:
    return command[command.index("-m") + 1]


def component_families(loaded: LoadedSpec, spec_dir: Path) -> Iterator[tuple[str, list[Metric]]]:
    body = loaded.body
    for name, spec in body.components.items():
        settings = component_settings(
            name, body, controller_endpoint=None, spec_dir=spec_dir, runner_pid=os.getpid()
        )
        component = COMPONENT_CLASSES[module_of(spec.command)](settings)
        try:
            yield name, list(component.monitor.registry.collect())
        finally:
            component.pools.close()


def component_registries(loaded: LoadedSpec, spec_dir: Path) -> Iterator[tuple[str, set[str]]]:
    for name, families in component_families(loaded, spec_dir):
        yield name, sample_names(families)
