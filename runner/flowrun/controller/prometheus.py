"""Controller-side Prometheus metrics, built from the state at scrape time.

A collector rather than gauges updated on every heartbeat: nothing costs anything
between scrapes, and every value is what the controller holds at that moment. It is
registered in a CollectorRegistry the caller owns, so several controllers can live in
one process (tests) and the runner decides where the metrics are served.

prometheus-client scrapes on its HTTP server's thread, but the state belongs to the
controller's event loop. So that thread never reads the state: it asks the loop to
publish the metric families (built in one step of the loop, so all of one moment, and
never touched by the loop again) and reads what was published. A scrape sees every
heartbeat the loop took before it, and a heartbeat storm pays nothing for it. When the
loop does not answer in time (it is closing, or stuck), the last families published are
served again rather than none.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from flowrun.controller.pipeline_metrics import summarize
from flowrun.controller.state import ControllerState

PUBLISH_TIMEOUT_SECONDS = 2.0


class ControllerCollector(Collector):
    def __init__(self, state: ControllerState, loop: asyncio.AbstractEventLoop) -> None:
        """`loop`: the event loop that owns `state` (the controller's)."""
        self._state = state
        self._loop = loop
        self._published: tuple[Metric, ...] = ()

    def describe(self) -> Iterator[Metric]:
        # Declaring the names lets a registry refuse a second controller's duplicates.
        yield from self._read()

    def collect(self) -> Iterator[Metric]:
        yield from self._read()

    def _read(self) -> tuple[Metric, ...]:
        """The families as the loop publishes them now, from whichever thread asks."""
        if _running_loop() is self._loop:  # asked on the loop itself: publish in place
            return self._publish()
        published: concurrent.futures.Future[tuple[Metric, ...]] = concurrent.futures.Future()

        def publish_on_the_loop() -> None:
            if published.set_running_or_notify_cancel():  # else the reader gave up waiting
                try:
                    published.set_result(self._publish())
                except Exception as e:
                    published.set_exception(e)

        try:
            self._loop.call_soon_threadsafe(publish_on_the_loop)
            return published.result(timeout=PUBLISH_TIMEOUT_SECONDS)
        except (RuntimeError, TimeoutError):  # the loop is closed, or too busy to answer
            published.cancel()
            return self._published

    def _publish(self) -> tuple[Metric, ...]:
        """On the loop: build every family from the state, and keep them as the last."""
        self._published = tuple(self._gather())
        return self._published

    def _gather(self) -> list[Metric]:
        return [*self._service_gauges(), *self._pipeline_gauges(), *self._counters()]

    def _service_gauges(self) -> list[Metric]:
        load = GaugeMetricFamily(
            "flowctl_service_load_ratio",
            "Load (inflight / max_inflight) each service last reported.",
            labels=["service_id", "service_type"],
        )
        throttle = GaugeMetricFamily(
            "flowctl_throttle_rate",
            "Rate each service is directed to run at (1.0: full speed).",
            labels=["service_id", "service_type"],
        )
        for view in self._state.views():
            labels = [view.service_id, view.service_type]
            load.add_metric(labels, view.load)
            throttle.add_metric(labels, view.throttle_rate)
        return [load, throttle]

    def _pipeline_gauges(self) -> list[Metric]:
        state = self._state
        totals = summarize(state.samples())
        services = GaugeMetricFamily(
            "flowctl_controller_services", "Registered services by health.", labels=["health"]
        )
        services.add_metric(["healthy"], totals.healthy_services)
        services.add_metric(["unhealthy"], totals.total_services - totals.healthy_services)
        return [
            services,
            _gauge(
                "flowctl_backpressure_active",
                "1 while at least one service is overloaded.",
                float(state.decision.active),
            ),
            _gauge(
                "flowctl_controller_overloaded_services",
                "Services whose load is past activate_at (with hysteresis).",
                len(state.decision.overloaded_services()),
            ),
            _gauge(
                "flowctl_controller_pipeline_throughput",
                "Sum of the throughput (items/s) healthy services report.",
                totals.total_throughput,
            ),
            _gauge(
                "flowctl_controller_max_latency_seconds",
                "Highest latency a healthy service reports.",
                totals.max_latency_seconds,
            ),
            _gauge(
                "flowctl_controller_directive_streams",
                "Open WatchDirectives streams.",
                state.hub.subscriber_count(),
            ),
            _gauge(
                "flowctl_controller_policy_revision",
                "Revision of the policy in force.",
                state.revision,
            ),
        ]

    def _counters(self) -> list[Metric]:
        counters = self._state.counters
        return [
            _counter(
                "flowctl_controller_registrations",
                "Registrations accepted.",
                counters.registrations,
            ),
            _counter(
                "flowctl_controller_reregistrations",
                "Registrations that replaced a service of the same id.",
                counters.replacements,
            ),
            _counter("flowctl_controller_heartbeats", "Heartbeats absorbed.", counters.heartbeats),
            _counter(
                "flowctl_controller_unknown_heartbeats",
                "Heartbeats from unregistered services (told to re-register).",
                counters.unknown_heartbeats,
            ),
            _counter(
                "flowctl_controller_metrics_dropped",
                "Heartbeat metric values dropped as invalid or over the size bound.",
                counters.metrics_dropped,
            ),
            _counter(
                "flowctl_controller_unhealthy_transitions",
                "Times a service went silent past heartbeat_ttl.",
                counters.went_unhealthy,
            ),
            _counter(
                "flowctl_controller_policy_updates",
                "Policy updates applied.",
                counters.policy_updates,
            ),
            _counter(
                "flowctl_controller_directives_sent",
                "Directives delivered to WatchDirectives streams.",
                self._state.hub.sent,
            ),
        ]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)
