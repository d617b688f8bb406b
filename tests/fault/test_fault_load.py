"""Load: a slow sink under `flowrun up -d` (backpressure reaches the source, memory stays
bounded, nothing is lost), and loads oscillating between the thresholds against a real
controller (hysteresis: no flapping)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from fixtures.fault_stellar import (
    SINK,
    SOURCE,
    RssSamples,
    admin_get,
    assert_exact_output,
    checkpoint_ledger,
    flight_action,
    output_dir,
    pipeline_pids,
    poll_until,
    stellar_spec,
)
from fixtures.runner_harness import Pipeline, wait_for
from flowctl import control_plane_pb2 as cp
from flowctl import control_plane_pb2_grpc as cp_grpc
from flowctl import flow_control_pb2 as fc
from flowctl import flow_control_pb2_grpc as fc_grpc
from flowctl.contract import Policy
from integration._sdk_harness import ControllerThread
from prometheus_client import CollectorRegistry

pytestmark = pytest.mark.timeout(300)
SLOW_SINK = Path(__file__).resolve().parent.parent / "fixtures" / "fault_slow_sink.py"
MiB = 2**20


def test_a_slow_sink_throttles_the_source_with_bounded_memory_and_loses_nothing(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    last = 1000
    spec = stellar_spec(
        tmp_path,
        last_ledger=last,
        ledgers_per_second=200,
        overrides={
            SINK: {
                "command": ["python", str(SLOW_SINK)],
                "max_inflight": 600,  # about two source batches of events
                "config": {"commit_delay_seconds": 0.25},
            }
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    output = output_dir(pipeline)
    up = pipeline.up()
    assert up.returncode == 0, up.stdout + up.stderr
    pids = pipeline_pids(pipeline)
    source = admin_get(pipeline, "/status")["components"][0]
    assert source["name"] == SOURCE
    rss = RssSamples()
    seen = {"backpressure": False, "source_throttled": False, "source_told": False}

    def drained_while_watching() -> bool:
        rss.take(pids)
        status = admin_get(pipeline, "/status")
        by_name = {c["name"]: c for c in status["components"]}
        seen["backpressure"] |= bool(status["flow_control"]["backpressure_active"])
        seen["source_throttled"] |= (by_name[SOURCE]["throttle_rate"] or 1.0) < 1.0
        if not seen["source_told"]:
            told = flight_action(source["endpoint"], "get_current_ledger")
            seen["source_told"] = told["throttle_rate"] < 1.0 and told["backpressure_active"]
        return checkpoint_ledger(output) == last

    poll_until(drained_while_watching, 240, f"ledger {last} committed", interval=0.3)

    assert seen == {"backpressure": True, "source_throttled": True, "source_told": True}
    assert_exact_output(output, last)
    assert [c["restarts"] for c in admin_get(pipeline, "/status")["components"]] == [0, 0, 0]
    for name in pids:
        first, second = rss.halves(name)
        # Bounded: nothing piles up behind the slow sink (gRPC flow control + bounded queues).
        assert rss.peak(name) < 600 * MiB, rss.summary()
        assert second <= first * 1.25 + 40 * MiB, f"{name} grows: {rss.summary()}"
    poll_until(
        lambda: not admin_get(pipeline, "/status")["flow_control"]["backpressure_active"],
        60,
        "backpressure released once the sink is idle",
    )


@pytest.fixture
def controller(registry: CollectorRegistry) -> Iterator[ControllerThread]:
    thread = ControllerThread(
        Policy(heartbeat_interval_seconds=0.2, heartbeat_ttl_seconds=30.0),
        registry=registry,
    )
    thread.start()
    yield thread
    thread.close()


class DirectiveLog:
    """Every directive the controller streams to one service, read on a thread."""

    def __init__(self, channel: grpc.Channel, service_id: str) -> None:
        stub = fc_grpc.FlowControlStub(channel)  # type: ignore[no-untyped-call]
        self._call = stub.WatchDirectives(fc.DirectiveRequest(service_id=service_id))
        self.rates: list[float] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for directive in self._call:
                with self._lock:
                    self.rates.append(directive.throttle_rate)
        except grpc.RpcError:
            return

    def last(self) -> float | None:
        with self._lock:
            return self.rates[-1] if self.rates else None

    def close(self) -> None:
        self._call.cancel()
        self._thread.join(10)


def test_load_oscillating_between_the_thresholds_does_not_flap(
    controller: ControllerThread, registry: CollectorRegistry
) -> None:
    assert controller.controller is not None and controller.controller.address
    with grpc.insecure_channel(controller.controller.address) as channel:
        plane = cp_grpc.ControlPlaneStub(channel)  # type: ignore[no-untyped-call]
        plane.Register(
            cp.ServiceInfo(
                service_id="src", component_id="src", service_type=cp.SERVICE_TYPE_SOURCE
            )
        )
        plane.Register(
            cp.ServiceInfo(
                service_id="snk",
                component_id="snk",
                service_type=cp.SERVICE_TYPE_SINK,
                metadata={"inputs": "src"},
            )
        )

        def beat(load: float) -> None:
            plane.Heartbeat(cp.ServiceHeartbeat(service_id="snk", metrics={"load": load}))

        def sent() -> float:
            return registry.get_sample_value("flowctl_controller_directives_sent_total") or 0.0

        def absorbed() -> float:
            return registry.get_sample_value("flowctl_controller_heartbeats_total") or 0.0

        directives = DirectiveLog(channel, "src")
        try:
            wait_for(lambda: directives.last() == 1.0, 10, "the first directive")
            before, beats_before = sent(), absorbed()
            in_band = [0.61, 0.79, 0.6, 0.7, 0.65, 0.75] * 8  # never < 0.6, never >= 0.8
            cycles = 5
            for _ in range(cycles):
                beat(0.85)  # crosses activate_at: throttle
                wait_for(lambda: directives.last() == 0.5, 10, "the throttle directive")
                for load in in_band:
                    beat(load)
                assert controller.services()["src"].throttle_rate == 0.5
                beat(0.55)  # falls below deactivate_at: release
                wait_for(lambda: directives.last() == 1.0, 10, "the release directive")
                for load in in_band:
                    beat(load)
                assert controller.services()["src"].throttle_rate == 1.0
            # One directive per crossing, none for the heartbeats in the band.
            assert absorbed() - beats_before == cycles * (2 + 2 * len(in_band))
            assert sent() - before == 2 * cycles
            assert directives.rates == [1.0] + [0.5, 1.0] * cycles
        finally:
            directives.close()
