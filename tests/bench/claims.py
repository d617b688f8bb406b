"""The handoff's performance figures, quoted, each beside the benchmark that answers it.

`ROWS` is the whole mapping (claim row -> benchmark name -> where its value is in the
pytest-benchmark JSON); report.py renders it and types no figure. A quote is the line of
reference/flowctl-integration-phase6-handoff.md without its markdown emphasis; `figure`
is the part of the quote holding the number, parsed by `parse_figure`: a time, a rate or
a size (memory, as a benchmark records it in its `extra_info`). The handoff's P99
latencies are left out (we report medians), and so are its memory figures for the
monitoring system (the RSS growth of a process per metric type is lost in what its
allocator keeps).

A `bench` that does not exist yet names the benchmark its owner is expected to write; the
report shows "not measured" for it until a run contains it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TIME_UNITS = {"ns": 1e-9, "μs": 1e-6, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}
TIME_UNITS |= {"second": 1.0, "seconds": 1.0}
# Bytes. The handoff's "KB" and "MB" are taken as binary units, as RSS is reported: the
# difference (2.4 % for MB) is far below the factors compared.
SIZE_UNITS = {"KB": 2**10, "KiB": 2**10, "MB": 2**20, "MiB": 2**20}


@dataclass(frozen=True)
class Quantity:
    """A time per operation (seconds), a rate (per second, of `noun`) or a size (bytes)."""

    value: float
    kind: str  # "time" (seconds), "rate" (per second) or "size" (bytes)
    noun: str = "ops"
    qualifier: str = ""  # "<", "~" or "" as the handoff wrote it


@dataclass(frozen=True)
class Measure:
    """Where a row's value is: `stats.median` (seconds per call) or `extra_info[key]`."""

    bench: str  # pytest-benchmark "name", parameters included: "test_x[100]"
    key: str | None = None
    unit: str = "s"  # of the extra_info value: a TIME_UNITS or SIZE_UNITS key, or "/s"
    noun: str = "ops"  # what a rate counts


@dataclass(frozen=True)
class Row:
    area: str
    quote: str
    figure: str | None  # None: the handoff states no number for it
    what: str  # what our benchmark measures, in words
    measure: Measure


@dataclass(frozen=True)
class Throughput:
    """End-to-end events/s against the raw Arrow Flight ceiling, from one run."""

    pipeline: Measure
    ceiling: Measure


_RATE = re.compile(r"([\d,]+(?:\.\d+)?)\s+([A-Za-z]+)/second")
_TIME = re.compile(r"([<~]?)\s*([\d,]+(?:\.\d+)?)\s*(ns|μs|µs|us|ms|seconds|second|s)(?![A-Za-z])")


_SIZE = re.compile(r"([<~+]?)\s*([\d,]+(?:\.\d+)?)\s*(KB|MB)(?![A-Za-z])")


def parse_figure(figure: str) -> Quantity:
    """'<500 μs/op' -> 5e-4 s; '2,000 calculations/second' -> 2000 calculations/s;
    '<50MB' -> 52428800 bytes."""
    rate = _RATE.search(figure)
    if rate is not None:
        return Quantity(float(rate.group(1).replace(",", "")), "rate", rate.group(2))
    size = _SIZE.search(figure)
    if size is not None:
        amount = float(size.group(2).replace(",", "")) * SIZE_UNITS[size.group(3)]
        return Quantity(amount, "size", qualifier=size.group(1))
    time = _TIME.search(figure)
    if time is None:
        raise ValueError(f"no time, rate or size in {figure!r}")
    seconds = float(time.group(2).replace(",", "")) * TIME_UNITS[time.group(3)]
    return Quantity(seconds, "time", qualifier=time.group(1))


def _m(bench: str, key: str | None = None, unit: str = "s", noun: str = "ops") -> Measure:
    return Measure(bench, key, unit, noun)


_FLOW = "Flow Control Operations: `BenchmarkFlowControlOperations` - <100 ns/op"
_SIGNAL = "Backpressure Signaling: `BenchmarkBackpressureSignaling` - <200 ns/op"
_LARGE = "Large Scale Operations: `BenchmarkLargeScaleOperations` (1000+ services)"
_STARTUP = "Startup Time: <2 seconds for complete system"
_SHUTDOWN = "Shutdown Time: <5 seconds for graceful termination"
_POOL_OPS = "Connection Pool Operations: <10 ms/op (target: <50 ms/op)"
_POOL_MEMORY = "test_pool_memory_50_endpoints_10_connections"
_HEARTBEATS = "test_heartbeats_absorbed_from_1000_services"
_UP = "test_up_until_every_component_is_ready"
_HEARTBEATS_V1 = "test_heartbeats_absorbed_through_v1"
_HEARTBEATS_MIXED = "test_heartbeats_absorbed_with_both_apis_mixed"
_GOAL3 = "Issue 15, goal 3: controller 5,000 heartbeats/second from 1,000 services, both APIs"
_GOAL3_METRICS = "Issue 15, goal 3: pipeline metrics for 1,000 services <10 ms"
_PIPELINE = "test_pipeline_throughput"
_BASELINE = "test_single_process_baseline"
_CEILING = "test_raw_flight_ceiling"
_ISSUE_15 = "No handoff figure (issue 15: the data plane)"
_PER_CORE = "test_ledgers_decoded_per_second_per_core"
_POOLED = "test_ledgers_decoded_per_second_with_the_pool"
_FIXTURES = (
    ("pubnet_53312000", "pubnet 53312000 (protocol 21, 163 transactions)"),
    ("testnet_997_999", "testnet 997-999 (protocol 20, 3-7 transactions each)"),
    ("protocol28_load_test", "30 protocol-28 load-test ledgers (~490 Soroban transactions)"),
)
_POOLED_FIXTURES = ("pubnet_53312000", "protocol28_load_test")


def _stage_rows() -> tuple[Row, ...]:
    """CPU per event of each component, in the median pipeline run; what running as three
    processes costs beyond the baseline's work, beside what one Flight hop costs."""
    stages = tuple(
        Row("Data plane", _ISSUE_15, None, f"{name}: CPU per event committed, steady state",
            _m(_PIPELINE, f"cpu_us_per_event_{name}", "us"))
        for name in ("source", "processor", "sink")
    )  # fmt: skip
    return (
        *stages,
        Row("Data plane", _ISSUE_15, None, "the pipeline's CPU per event beyond the "
            "baseline's (generate + extract + write in one process)",
            _m(_PIPELINE, "pipeline_extra_cpu_us_per_event", "us")),
        Row("Data plane", _ISSUE_15, None, "the work alone: the baseline's CPU per event "
            "(generate + extract + write in one process, no Flight)",
            _m(_PIPELINE, "baseline_work_cpu_us_per_event", "us")),
        Row("Data plane", _ISSUE_15, None, "goal 1's budget: the CPU per event that half the "
            "ceiling leaves for all the work on this machine's cores (below the work alone, "
            "0.5 is out of reach)",
            _m(_PIPELINE, "half_ceiling_cpu_budget_us_per_event", "us")),
        Row("Data plane", _ISSUE_15, None, "one Flight hop of the same events: the reader's "
            "CPU per event (the pipeline has two hops: ledgers, then events)",
            _m(_CEILING, "ceiling_client_cpu_us_per_event", "us")),
        Row("Data plane", _ISSUE_15, None, "the same hop: the server's CPU per event",
            _m(_CEILING, "ceiling_server_cpu_us_per_event", "us")),
    )  # fmt: skip


def _decode_rows() -> tuple[Row, ...]:
    """Real ledgers decoded per second, per fixture: in one process, and with the pool."""
    per_core = tuple(
        Row("Real ledgers", _ISSUE_15, None, f"ledgers decoded per second, one process: {what}",
            _m(f"{_PER_CORE}[{key}]", "ledgers_per_second", "/s", "ledgers"))
        for key, what in _FIXTURES
    )  # fmt: skip
    pooled = tuple(
        Row("Real ledgers", _ISSUE_15, None, f"the same with the source's worker pool: {what}",
            _m(f"{_POOLED}[{key}]", "ledgers_per_second", "/s", "ledgers"))
        for key, what in _FIXTURES if key in _POOLED_FIXTURES
    )  # fmt: skip
    return per_core + pooled


ROWS: tuple[Row, ...] = (
    Row("Flow control", _FLOW, "<100 ns/op", "acquire + release of one in-flight slot",
        _m("test_flow_acquire_release")),
    Row("Flow control", _FLOW, "<100 ns/op", "`with flow.inflight():` (latency measured too)",
        _m("test_flow_inflight_context")),
    Row("Flow control", "Single-threaded: 10,000,000 ops/second", "10,000,000 ops/second",
        "acquire + release, one thread", _m("test_flow_acquire_release")),
    Row("Flow control", "Multi-threaded (8 cores): 35,000,000 ops/second",
        "35,000,000 ops/second", "acquire + release from two threads (this machine has two cores)",
        _m("test_flow_acquire_release_threads", "ops_per_second", "/s", "ops")),
    Row("Backpressure signalling", _SIGNAL, "<200 ns/op",
        "decision for one heartbeat, 1,000-service chain, nothing changes",
        _m("test_backpressure_decision_per_heartbeat_steady")),
    Row("Backpressure signalling", _SIGNAL, "<200 ns/op",
        "decision for one heartbeat that flips the sink of a 1,000-service chain (worst case)",
        _m("test_backpressure_decision_per_heartbeat_flipping")),
    Row("Backpressure signalling", "Signal processing: 5,000,000 signals/second",
        "5,000,000 signals/second", "one heartbeat in process: sanitise, record, decide",
        _m("test_heartbeat_path_in_process")),
    Row("Propagation", "Cross-service coordination: <100ms propagation", "<100ms",
        "sink heartbeat past activate_at until the source's directive stream is throttled "
        "(real gRPC)", _m("test_backpressure_propagation_sink_to_source")),
    Row("Propagation", "Backpressure activation: <100 ms", "<100 ms",
        "same benchmark as above", _m("test_backpressure_propagation_sink_to_source")),
    Row("Pipeline metrics", "Pipeline Metrics: `BenchmarkPipelineMetricsCalculation` - "
        "<500 μs/op", "<500 μs/op", "GetPipelineMetrics computation, 10 services",
        _m("test_pipeline_metrics_computation[10]")),
    Row("Pipeline metrics", "10 services: 2,000 calculations/second",
        "2,000 calculations/second", "pipeline metrics, 10 services",
        _m("test_pipeline_metrics_computation[10]")),
    Row("Pipeline metrics", "100 services: 200 calculations/second",
        "200 calculations/second", "pipeline metrics, 100 services",
        _m("test_pipeline_metrics_computation[100]")),
    Row("Pipeline metrics", "1000 services: 20 calculations/second",
        "20 calculations/second", "pipeline metrics, 1,000 services",
        _m("test_pipeline_metrics_computation[1000]")),
    Row("Health report", "Health Reports: `BenchmarkHealthReportGeneration` - <5ms/op",
        "<5ms/op", "a component's full health report (flow, thresholds, pools)",
        _m("test_health_report")),
    Row("Metrics collection", "Metrics Collection: `BenchmarkMetricsCollection` - <1ms/op",
        "<1ms/op", "one scrape: exposition text of every SDK metric",
        _m("test_metrics_collection")),
    Row("Pool", "Pool lookup: <1μs for existing connections", "<1μs",
        "acquire + release of an existing pooled Flight connection", _m("test_pool_lookup")),
    Row("Pool", "Pool lookup: 1,000,000 lookups/second", "1,000,000 lookups/second",
        "same benchmark as above", _m("test_pool_lookup")),
    Row("Pool", "Connection establishment: ~50ms average", "~50ms",
        "open a new Flight connection into the pool", _m("test_pool_connect")),
    Row("Pool", _POOL_OPS, "<10 ms/op", "same benchmark as above (the Go benchmark timed "
        "connection attempts)", _m("test_pool_connect")),
    Row("Pool", "Statistics collection: 10,000 collections/second",
        "10,000 collections/second", "pool.stats()", _m("test_pool_stats")),
    Row("Pool", "Health checks: 100 checks/second per endpoint", "100 checks/second",
        "pool.health_check() of one idle connection", _m("test_pool_health_check")),
    Row("Pool memory", "Pool overhead: 100KB per endpoint", "100KB", "RSS growth per "
        "endpoint's pool (its thread and bookkeeping; a connection not counted), in a process "
        "holding pools to 50 endpoints", _m(_POOL_MEMORY, "pool_rss_kib_per_endpoint", "KiB")),
    Row("Pool memory", "Per connection: 100KB", "100KB", "RSS growth per Flight connection "
        "(gRPC channel, TCP connection), the same process going from 1 to 10 per endpoint",
        _m(_POOL_MEMORY, "pool_rss_kib_per_connection", "KiB")),
    Row("Pool memory", "Maximum pool (50 endpoints, 10 conn each): ~50MB", "~50MB", "RSS growth "
        "of that process for all 500 connections (the interpreter not counted)",
        _m(_POOL_MEMORY, "pool_rss_mib_50_endpoints_10_connections", "MiB")),
    Row("Controller", "Controller Creation: `BenchmarkControllerCreation` - ~1000 ns/op",
        "~1000 ns/op", "Controller(policy) construction", _m("test_controller_creation")),
    Row("Controller", "Service registration: <1 second", "<1 second",
        "Register round trip over gRPC", _m("test_registration_round_trip")),
    Row("Heartbeats", _LARGE, None,
        "heartbeats absorbed per second from 1,000 services over gRPC, controller in its "
        "own process", _m(_HEARTBEATS, "heartbeats_per_second_median", "/s", "heartbeats")),
    Row("Heartbeats", _LARGE, None, "the same, per core of controller CPU time",
        _m(_HEARTBEATS, "controller_capacity_per_core", "/s", "heartbeats")),
    Row("Heartbeats", _GOAL3, "5,000 heartbeats/second", "legacy `flowctl.ControlPlane.Heartbeat`, "
        "1,000 services, controller in its own process, 2 client processes",
        _m(_HEARTBEATS, "heartbeats_per_second_median", "/s", "heartbeats")),
    Row("Heartbeats", _GOAL3, "5,000 heartbeats/second", "`flowctl.v1.ControlPlaneService."
        "Heartbeat`, the same way", _m(_HEARTBEATS_V1, "heartbeats_per_second_median", "/s",
        "heartbeats")),
    Row("Heartbeats", _GOAL3, "5,000 heartbeats/second", "both APIs mixed, half the services "
        "each", _m(_HEARTBEATS_MIXED, "heartbeats_per_second_median", "/s", "heartbeats")),
    Row("Heartbeats", _GOAL3, None, "the ceiling in the same run: a do-nothing grpc.aio server "
        "of both APIs, same clients (legacy round)",
        _m(_HEARTBEATS, "echo_calls_per_second_median", "/s", "calls")),
    Row("Heartbeats", _GOAL3, None, "the ceiling beside the flowctl.v1 round",
        _m(_HEARTBEATS_V1, "echo_calls_per_second_median", "/s", "calls")),
    Row("Heartbeats", _GOAL3, None, "the ceiling beside the mixed round",
        _m(_HEARTBEATS_MIXED, "echo_calls_per_second_median", "/s", "calls")),
    Row("Heartbeats", _GOAL3, "5,000 heartbeats/second", "flowctl.v1 heartbeats per core of "
        "controller CPU time", _m(_HEARTBEATS_V1, "controller_capacity_per_core", "/s",
        "heartbeats")),
    Row("Heartbeats", _GOAL3, "5,000 heartbeats/second", "mixed heartbeats per core of "
        "controller CPU time", _m(_HEARTBEATS_MIXED, "controller_capacity_per_core", "/s",
        "heartbeats")),
    Row("Pipeline metrics", _GOAL3_METRICS, "<10 ms", "pipeline metrics, 1,000 services",
        _m("test_pipeline_metrics_computation[1000]")),
    Row("Controller memory", "Base controller: 500KB", "500KB", "RSS of `flowrun controller` "
        "started, no service yet (a Python process with gRPC and protobuf loaded)",
        _m(_HEARTBEATS, "controller_base_rss_mib", "MiB")),
    Row("Controller memory", "Per service tracked: +2KB", "+2KB", "what the controller keeps "
        "per service (registry, liveness, backpressure), traced by tracemalloc, 1,000 services",
        _m("test_services_registered_and_heartbeating_in_process", "tracked_kib_per_service",
           "KiB")),
    Row("Controller memory", "Per service tracked: +2KB", "+2KB", "the process's RSS growth per "
        "service (gRPC and allocator included): 1,000 registered (legacy API), after the "
        "heartbeat rounds", _m(_HEARTBEATS, "controller_rss_kib_per_service", "KiB")),
    Row("Controller memory", "Total for large deployment: <50MB", "<50MB", "RSS with those "
        "1,000 services (legacy API)", _m(_HEARTBEATS, "controller_rss_mib", "MiB")),
    Row("Controller memory", "Total for large deployment: <50MB", "<50MB", "the same, 1,000 "
        "services through flowctl.v1", _m(_HEARTBEATS_V1, "controller_rss_mib", "MiB")),
    Row("Startup", _STARTUP, "<2 seconds", "`flowrun up -d` until every component is "
        "ready: 3 Python components registering with the embedded controller",
        _m(f"{_UP}[python-grpc-3]")),
    Row("Startup", _STARTUP, "<2 seconds", "the same, 50 components",
        _m(f"{_UP}[python-grpc-50]")),
    Row("Startup", _STARTUP, "<2 seconds", "50 `sleep` components, no controller (the "
        "runner's own cost)", _m(f"{_UP}[sleep-50]")),
    Row("Shutdown", _SHUTDOWN, "<5 seconds", "`flowrun down` until every process is gone: "
        "3 Python components registered with the embedded controller",
        _m("test_down[python-grpc-3]")),
    Row("Shutdown", _SHUTDOWN, "<5 seconds", "the same, 50 components",
        _m("test_down[python-grpc-50]")),
    Row("Data plane", _ISSUE_15, None, "Stellar pipeline, synthetic, as fast as it goes: "
        "events committed per second (durable Parquet; three processes on two cores)",
        _m(_PIPELINE, "pipeline_events_per_second", "/s", "events")),
    Row("Data plane", _ISSUE_15, None, "the same as a user runs it: `flowrun up` of "
        "specs/stellar-ttp.yaml made unpaced (runner, embedded controller, flow control on)",
        _m("test_shipped_spec_throughput", "shipped_spec_events_per_second", "/s", "events")),
    Row("Data plane", _ISSUE_15, None, "single-process baseline: generate → extract → the "
        "same durable write in one process, no Flight",
        _m(_BASELINE, "baseline_events_per_second", "/s", "events")),
    *_stage_rows(),
    *_decode_rows(),
)  # fmt: skip

THROUGHPUT = Throughput(
    pipeline=Measure(_PIPELINE, "pipeline_events_per_second", "/s", "events"),
    ceiling=Measure(_CEILING, "ceiling_events_per_second", "/s", "events"),
)
