"""Prometheus metrics of one component (DESIGN.md section 7) and its /health endpoint.

Every value is read at scrape time from what the SDK measures (FlowController,
ControllerClient, pools) or observed when it happens (latency, discovery time), on the
component's own CollectorRegistry. `Monitor.serve(port)` exposes `/metrics` (any path
but /health, as prometheus_client does) and `/health` (JSON; 503 when unhealthy).
Components add their own metrics with `registry=component.monitor.registry`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIServer, make_server

from prometheus_client import CollectorRegistry, Histogram, generate_latest, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from flowctl.client import ClientStats
from flowctl.flow_control import FlowController
from flowctl.health import HealthReport
from flowctl.monitor_families import client_families, flow_families, pool_families
from flowctl.pool_manager import PoolManager

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
DISCOVERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
SHUTDOWN_POLL_SECONDS = 0.1
"""How often the HTTP thread looks for a shutdown: stop() waits for that look (the
default, half a second, was most of a component's answer to SIGTERM)."""


class Monitor:
    def __init__(
        self,
        service_id: str,
        service_type: str,
        flow: FlowController,
        *,
        pools: PoolManager | None = None,
        client_stats: Callable[[], ClientStats | None] | None = None,
        health: Callable[[], HealthReport] | None = None,
        inbound_streams: Callable[[], int] | None = None,
        stream_failures: Callable[[], int] | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "flowctl_pipeline_latency_seconds",
            "Time items spend in flight in this component",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.discovery_duration = Histogram(
            "flowctl_service_discovery_duration_seconds",
            "Duration of Discover calls to the controller",
            buckets=DISCOVERY_BUCKETS,
            registry=self.registry,
        )
        self._collector = _SdkCollector(
            service_id,
            service_type,
            flow,
            pools,
            client_stats,
            health,
            inbound_streams,
            stream_failures,
        )
        self.registry.register(self._collector)
        self._health = health
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        flow.latency_observer = self.latency.observe

    def observe_discovery(self, seconds: float) -> None:
        self.discovery_duration.observe(seconds)

    def exposition(self) -> bytes:
        """The metrics text, as a scrape would get it."""
        return generate_latest(self.registry)

    # -- HTTP -------------------------------------------------------------------------

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve /metrics and /health on a daemon thread; return the bound port."""
        self._server = make_server(
            host, port, self._app(), ThreadingWSGIServer, handler_class=_SilentHandler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="flowctl-metrics",
            daemon=True,
        )
        self._thread.start()
        return int(self._server.server_port)

    @property
    def port(self) -> int | None:
        return None if self._server is None else int(self._server.server_port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _app(self) -> Callable[..., Iterable[bytes]]:
        metrics_app = make_wsgi_app(self.registry)

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == "/health":
                return self._health_response(start_response)
            result: Iterable[bytes] = metrics_app(environ, start_response)
            return result

        return app

    def _health_response(self, start_response: Callable[..., Any]) -> list[bytes]:
        if self._health is None:
            body, status = {"status": "healthy", "reasons": [], "checks": []}, "200 OK"
        else:
            report = self._health()
            body = report.to_dict()
            status = "503 Service Unavailable" if report.status == "unhealthy" else "200 OK"
        data = json.dumps(body).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]


class _SdkCollector(Collector):
    """Reads the SDK's live state at every scrape."""

    def __init__(
        self,
        service_id: str,
        service_type: str,
        flow: FlowController,
        pools: PoolManager | None,
        client_stats: Callable[[], ClientStats | None] | None,
        health: Callable[[], HealthReport] | None,
        inbound_streams: Callable[[], int] | None,
        stream_failures: Callable[[], int] | None,
    ) -> None:
        self._labels = (service_id, service_type)
        self._flow = flow
        self._pools = pools
        self._client_stats = client_stats
        self._health = health
        self._inbound = inbound_streams
        self._stream_failures = stream_failures

    def collect(self) -> Iterator[Metric]:
        pool_stats = self._pools.stats() if self._pools is not None else []
        stats = self._client_stats() if self._client_stats is not None else None
        inbound = self._inbound() if self._inbound is not None else 0
        yield from flow_families(self._labels, self._flow.snapshot(), inbound, pool_stats)
        yield from pool_families(pool_stats)
        yield from client_families(stats, pool_stats)
        if self._health is not None:
            status = GaugeMetricFamily(
                "flowctl_health_status",
                "Health of this component: 0 healthy, 1 degraded, 2 unhealthy",
            )
            status.add_metric([], float(self._health().exit_code))
            yield status
        if self._stream_failures is not None:
            yield CounterMetricFamily(
                "flowctl_stream_failures",
                "Streams this component's stream() failed (not a bad ticket, a stop or a "
                "reader that left)",
                value=float(self._stream_failures()),
            )
