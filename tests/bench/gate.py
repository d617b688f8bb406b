"""The regression gate's measurements: flowrun's work as a ratio of a reference done in the
same process at nearly the same moment, so a busy machine slows both sides alike.

- `render_jsonl`, `render_parquet`: the sink's JSON Lines and Parquet rendering of a table
  of ~20,000 synthetic events, against pyarrow's own `pq.write_table` of the same table;
- `heartbeat`: ControllerState.heartbeat of a legacy heartbeat (100 services registered),
  against building the same protobuf message;
- `validate_500`: load_spec of a 500-component spec, against parsing its YAML alone.

Each side is timed `repeats` times, alternating, and the fastest of each is kept: the
minimum is the figure least moved by other processes. tests/unit/test_regression_gate.py
checks each ratio against the one recorded in baseline.json (`make bench-baseline`).
"""

from __future__ import annotations

import gc
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from arrow_analytics_sink.jsonl import jsonl_bytes
from arrow_analytics_sink.render import parquet_bytes
from flowctl import control_plane_pb2 as cp
from flowctl.contract import Policy
from flowrun.controller.state import ControllerState
from flowrun.spec.loader import load_spec
from stellar_arrow_source.generator import GeneratorConfig, SyntheticLedgers
from ttp_arrow_processor.extract import extract_events

LEDGERS = 800  # ~22,000 events: a few milliseconds per rendering
HEARTBEAT_SERVICES = 100
HEARTBEATS_PER_SAMPLE = 2_000
SPEC_COMPONENTS = 500
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the loader flowrun uses


def fastest(action: Callable[[], object], reference: Callable[[], object], repeats: int) -> float:
    """min(time of action) / min(time of reference), the two timed in turn after a call of
    each to warm caches, with the cyclic collector paused: a collection landing in one side
    only would move the ratio more than a regression does."""
    action(), reference()
    best_action = best_reference = float("inf")
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            best_reference = min(best_reference, _seconds(reference))
            best_action = min(best_action, _seconds(action))
    finally:
        if enabled:
            gc.enable()
    return best_action / best_reference


def _seconds(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def event_table() -> pa.Table:
    generator = SyntheticLedgers(GeneratorConfig(seed=1))
    return pa.Table.from_batches(
        [extract_events(batch)[0] for batch in generator.iter_batches(1, LEDGERS, 100)]
    )


def _pyarrow_parquet(table: pa.Table) -> None:
    pq.write_table(table, pa.BufferOutputStream())


def rendering_ratios(repeats: int = 7) -> dict[str, float]:
    table = event_table()
    reference = lambda: _pyarrow_parquet(table)  # noqa: E731
    return {
        "render_jsonl": fastest(lambda: jsonl_bytes(table), reference, repeats),
        "render_parquet": fastest(lambda: parquet_bytes(table), reference, repeats),
    }


def _heartbeat_message(index: int) -> cp.ServiceHeartbeat:
    metrics = {"inflight": float(index % 95), "throughput": 12.0, "latency_seconds": 0.01}
    return cp.ServiceHeartbeat(service_id=f"svc{index}-1", metrics=metrics)


def heartbeat_ratio(repeats: int = 7) -> float:
    state = ControllerState(Policy(heartbeat_ttl_seconds=600.0))
    for index in range(HEARTBEAT_SERVICES):
        inputs = {"inputs": f"svc{index - 1}"} if index else {}
        info = cp.ServiceInfo(
            service_id=f"svc{index}-1",
            component_id=f"svc{index}",
            service_type=2,
            max_inflight=100,
            metadata=inputs,
        )
        state.register(info)
    messages = [_heartbeat_message(i % HEARTBEAT_SERVICES) for i in range(HEARTBEATS_PER_SAMPLE)]

    def absorb() -> None:
        for message in messages:
            state.heartbeat(message)

    def build() -> None:
        for index in range(HEARTBEATS_PER_SAMPLE):
            _heartbeat_message(index % HEARTBEAT_SERVICES)

    return fastest(absorb, build, repeats)


def validation_ratio(spec_text: str, repeats: int = 5) -> float:
    with tempfile.TemporaryDirectory(prefix="flowrun-gate-") as folder:
        path = Path(folder) / "generated.yaml"
        path.write_text(spec_text)
        return fastest(
            lambda: load_spec(path, "production", {}),
            lambda: yaml.load(spec_text, Loader=_YAML_LOADER),
            repeats,
        )


def measure_all(spec_text: str) -> dict[str, float]:
    """Every ratio of the gate, rounded as baseline.json records them."""
    ratios = {**rendering_ratios(), "heartbeat": heartbeat_ratio()}
    ratios["validate_500"] = validation_ratio(spec_text)
    return {name: round(value, 3) for name, value in ratios.items()}
