"""The runner's own Prometheus metrics, served beside the embedded controller's.

prometheus-client calls `collect` on its HTTP server's thread, while the supervised
components belong to the event loop. So the two never share live state: on every change
of a component's state (and after a reload changed the set of components) the loop
publishes an immutable `RunnerSnapshot`, replacing the previous one whole, and a scrape
reads whichever snapshot is current. A single reference assignment is atomic, so a scrape
sees one consistent moment, never half of a change; it never sees less than the last
change before it.

Prometheus reads a counter (and a histogram's buckets, count and sum) as a total that only
falls when the process restarts: it takes any fall for a reset and counts the new value as
all new. So starts are added to running totals (not recomputed from a bounded window of
samples, which stops growing and shrinks), and a component's restarts are counted by the
supervisor across reloads and pipeline-wide restarts alike (Supervisor.start, apply).
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
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
from flowrun.supervision.ports import port_holder, port_in_use
from flowrun.supervision.states import ComponentState

if TYPE_CHECKING:
    from flowrun.supervision.supervised import SupervisedComponent

START_BUCKETS_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class ComponentSample:
    name: str
    state: ComponentState
    restarts: int


@dataclass(frozen=True)
class StartTimes:
    """One component's times from launch to ready, as a cumulative histogram."""

    name: str
    cumulative_counts: tuple[int, ...]
    """Starts within each bound of START_BUCKETS_SECONDS."""
    count: int
    sum_seconds: float

    @classmethod
    def none(cls, name: str) -> StartTimes:
        return cls(name, tuple(0 for _ in START_BUCKETS_SECONDS), 0, 0.0)

    def plus(self, seconds: float) -> StartTimes:
        """These times and one more start, `seconds` long: every total grows or stays."""
        counts = tuple(
            count + (seconds <= bound)
            for count, bound in zip(self.cumulative_counts, START_BUCKETS_SECONDS, strict=True)
        )
        return StartTimes(self.name, counts, self.count + 1, self.sum_seconds + seconds)


@dataclass(frozen=True)
class RunnerSnapshot:
    """Everything a scrape reports, at one moment of the event loop."""

    components: tuple[ComponentSample, ...] = ()
    start_times: tuple[StartTimes, ...] = ()


class RunnerMetrics(Collector):
    """Restarts, states and start times of every component."""

    def __init__(self, components: Callable[[], Iterable[SupervisedComponent]]) -> None:
        self._components = components
        # Owned by the event loop: only `observe` and `publish` touch them.
        self._start_times: dict[str, StartTimes] = {}
        self._snapshot = RunnerSnapshot()
        self.publish()

    @property
    def snapshot(self) -> RunnerSnapshot:
        """The last published snapshot (any thread)."""
        return self._snapshot

    def observe(self, component: SupervisedComponent) -> None:
        """A component changed state (on the loop): count a start that became ready, and
        publish."""
        child = component.child
        if component.state is ComponentState.RUNNING and child is not None and component.ready_at:
            name = component.name
            times = self._start_times.get(name) or StartTimes.none(name)
            self._start_times[name] = times.plus(component.ready_at - child.started_monotonic)
        self.publish()

    def publish(self) -> None:
        """Replace the snapshot with the components as they are now (on the loop)."""
        self._snapshot = RunnerSnapshot(
            components=tuple(
                ComponentSample(c.name, c.state, c.restarts) for c in self._components()
            ),
            start_times=tuple(self._start_times.values()),
        )

    def collect(self) -> Iterator[Metric]:
        snapshot = self._snapshot  # one read: everything below is of the same moment
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
        for sample in snapshot.components:
            restarts.add_metric([sample.name], sample.restarts)
            up.add_metric([sample.name], 1.0 if sample.state is ComponentState.RUNNING else 0.0)
        for state in ComponentState:
            states.add_metric([state.value], sum(c.state is state for c in snapshot.components))
        yield from (restarts, up, states, _start_histogram(snapshot.start_times))


def _start_histogram(start_times: Iterable[StartTimes]) -> Metric:
    histogram = HistogramMetricFamily(
        "flowrun_component_start_seconds", "Time from launch to ready.", labels=["component"]
    )
    for times in start_times:
        buckets = [
            (str(bound), float(count))
            for bound, count in zip(START_BUCKETS_SECONDS, times.cumulative_counts, strict=True)
        ]
        buckets.append(("+Inf", float(times.count)))
        histogram.add_metric([times.name], buckets, sum_value=times.sum_seconds)
    return histogram


class UnwrittenLogMetrics(Collector):
    """What each log file of the state directory could not take (LogWrites), at scrape."""

    def __init__(self, totals: Callable[[], Mapping[str, int]]) -> None:
        self._totals = totals

    def collect(self) -> Iterator[Metric]:
        unwritten = CounterMetricFamily(
            "flowrun_log_unwritten_bytes",
            "Output a log file of the state directory could not take (a full or read-only "
            "disk); the console, if any, still got it.",
            labels=["log"],
        )
        for name, total in sorted(self._totals().items()):
            unwritten.add_metric([name], total)
        yield unwritten


class MetricsEndpoint:
    """The runner's `/metrics`: its registry (controller and runner metrics) served over
    HTTP on `spec.monitoring.metrics_port`, and moved when a full restart changes it."""

    def __init__(
        self,
        registry: CollectorRegistry,
        components: Callable[[], Iterable[SupervisedComponent]],
        events: Callable[[str], None],
        unwritten_log_bytes: Callable[[], Mapping[str, int]] = dict,
    ) -> None:
        self._registry = registry
        self._runner_metrics = RunnerMetrics(components)
        registry.register(self._runner_metrics)
        registry.register(UnwrittenLogMetrics(unwritten_log_bytes))
        self._events = events
        self._server: Any = None
        self.port: int | None = None
        """The port served (None: none)."""

    def component_changed(self, component: SupervisedComponent) -> None:
        """A supervisor listener: the loop publishes a new snapshot."""
        self._runner_metrics.observe(component)

    def components_changed(self) -> None:
        """Components came or went (a reload): publish them."""
        self._runner_metrics.publish()

    def serve(self, port: int | None, host: str = "127.0.0.1") -> None:
        """Serve on `port` (0: any free one, None: none), leaving the port served so far."""
        if port == self.port or (port == 0 and self.port is not None):
            return
        self.close()
        if port is None:
            return
        try:
            self._server, _thread = start_http_server(port, addr=host, registry=self._registry)
        except OSError as e:
            held = f" by {port_holder(port)}" if e.errno == errno.EADDRINUSE else ""
            raise RunnerError(_cannot_serve(host, port, f"{e.strerror}{held}")) from e
        self.port = int(self._server.server_port)
        self._events(f"metrics on http://{host}:{self.port}/metrics")

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        self.port = None


def metrics_port_taken(port: int, host: str = "127.0.0.1") -> str | None:
    """Why metrics cannot be served on `port`, if another program holds it."""
    if not port_in_use(f"{host}:{port}"):
        return None
    return _cannot_serve(host, port, f"Address already in use by {port_holder(port)}")


def _cannot_serve(host: str, port: int, why: str) -> str:
    return (
        f"cannot serve metrics on {host}:{port} (spec.monitoring.metrics_port): {why}; "
        "choose another port, or null to serve none"
    )
