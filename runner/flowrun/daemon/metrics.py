"""The runner's own Prometheus metrics, served beside the embedded controller's.

Read from the supervisor at scrape time (a collector), so nothing is counted twice and
every value is what the supervisor holds at that moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from flowrun.errors import RunnerError
from flowrun.supervision.states import ComponentState

if TYPE_CHECKING:
    from flowrun.supervision.supervised import SupervisedComponent

START_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class RunnerMetrics(Collector):
    """Restarts, states and start times of every component."""

    def __init__(self, components: Callable[[], list[SupervisedComponent]]) -> None:
        self._components = components
        self._start_seconds: dict[str, list[float]] = {}

    def observe(self, component: SupervisedComponent) -> None:
        if (
            component.state is ComponentState.RUNNING
            and component.child is not None
            and component.ready_at
        ):
            samples = self._start_seconds.setdefault(component.name, [])
            samples.append(component.ready_at - component.child.started_monotonic)
            del samples[:-1000]

    def collect(self) -> Iterator[Metric]:
        components = list(self._components())
        restarts = CounterMetricFamily(
            "flowrun_component_restarts",
            "Restarts of each component by the runner.",
            labels=["component"],
        )
        up = GaugeMetricFamily(
            "flowrun_component_up",
            "1 while the component is running and ready.",
            labels=["component"],
        )
        states = GaugeMetricFamily(
            "flowrun_components", "Components in each state.", labels=["state"]
        )
        for component in components:
            restarts.add_metric([component.name], component.restarts)
            up.add_metric(
                [component.name], 1.0 if component.state is ComponentState.RUNNING else 0.0
            )
        for state in ComponentState:
            states.add_metric([state.value], sum(c.state is state for c in components))
        yield from (restarts, up, states, self._start_histogram())

    def _start_histogram(self) -> Metric:
        histogram = HistogramMetricFamily(
            "flowrun_component_start_seconds", "Time from launch to ready.", labels=["component"]
        )
        for name, samples in list(self._start_seconds.items()):
            buckets = [
                (str(bound), float(sum(s <= bound for s in samples))) for bound in START_BUCKETS
            ]
            buckets.append(("+Inf", float(len(samples))))
            histogram.add_metric([name], buckets, sum_value=sum(samples))
        return histogram


def serve_metrics(
    registry: CollectorRegistry, port: int, host: str = "127.0.0.1"
) -> tuple[Any, int]:
    """Serve the registry over HTTP: (the server, to shut down; the port bound, 0 picks one)."""
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as e:
        raise RunnerError(
            f"cannot serve metrics on {host}:{port} (spec.monitoring.metrics_port): {e.strerror}; "
            "choose another port, or null to serve none"
        ) from e
    return server, int(server.server_port)
