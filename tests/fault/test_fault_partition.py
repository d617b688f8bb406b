"""Network partitions under `flowrun up -d`, through loopback TCP proxies (tests/tcp_proxy.py):
between two components (the processor reads the source through a proxy) and between a
component and the controller (the sink talks to the controller through another). Each is
cut mid-run and healed; the sink's output is still complete and exact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.fault_stellar import (
    PROCESSOR,
    SINK,
    SOURCE,
    assert_exact_output,
    checkpoint_ledger,
    component_status,
    flight_action,
    output_dir,
    pipeline_pids,
    poll_until,
    stellar_spec,
)
from fixtures.runner_harness import Pipeline, free_port
from tcp_proxy import TcpProxy

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def proxies() -> Iterator[list[TcpProxy]]:
    started: list[TcpProxy] = []
    yield started
    for proxy in started:
        proxy.stop()


def _health(endpoint: str) -> dict[str, object]:
    return flight_action(endpoint, "health")


def _mode(endpoint: str) -> str:
    return str(flight_action(endpoint, "get_status")["flow_control_mode"])


def test_partitions_between_components_and_with_the_controller_lose_nothing(
    tmp_path: Path, proxies: list[TcpProxy], pipelines: list[Pipeline]
) -> None:
    # (proxies before pipelines: the pipeline goes down while its links still forward)
    source_endpoint = f"127.0.0.1:{free_port()}"
    controller_endpoint = f"127.0.0.1:{free_port()}"
    data_link = TcpProxy(source_endpoint)  # processor -> source
    control_link = TcpProxy(controller_endpoint)  # sink -> controller
    for proxy in (data_link, control_link):
        proxy.start()
        proxies.append(proxy)
    last = 1500
    spec = stellar_spec(
        tmp_path,
        last_ledger=last,
        # 15 s of ledgers: the partitions take about 8 s, so each lands mid-run.
        ledgers_per_second=100,
        controller_endpoint=controller_endpoint,
        heartbeat_ttl="10s",  # longer than any partition here: the runner restarts nothing
        overrides={
            SOURCE: {"endpoint": source_endpoint},
            # The environment contract, pointed at the proxies (`env:` is applied last).
            PROCESSOR: {"env": {"FLOWRUN_INPUTS": json.dumps({SOURCE: data_link.address})}},
            SINK: {"env": {"FLOWCTL_ENDPOINT": control_link.address}},
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    output = output_dir(pipeline)
    up = pipeline.up()
    assert up.returncode == 0, up.stdout + up.stderr
    processor = component_status(pipeline, PROCESSOR)["endpoint"]
    sink = component_status(pipeline, SINK)["endpoint"]
    pids = pipeline_pids(pipeline)
    poll_until(lambda: checkpoint_ledger(output) >= 200, 120, "ledger 200 committed")
    assert data_link.bytes_forwarded > 0 and control_link.bytes_forwarded > 0

    # 1. processor <-> source: connections reset, reconnects refused until healed.
    data_link.partition()
    poll_until(
        lambda: any("unreachable" in reason for reason in _health(processor)["reasons"]),  # type: ignore[attr-defined]
        30,
        "the processor to report its input unreachable",
    )
    cut_at = checkpoint_ledger(output)
    assert cut_at < last, "the run ended before the partition"
    data_link.heal()
    poll_until(lambda: checkpoint_ledger(output) >= cut_at + 200, 60, "progress after heal")
    assert flight_action(processor, "get_stats")["input_reconnections"] >= 1

    # 2. processor <-> source, silent: bytes dropped, connections left open until healed.
    assert checkpoint_ledger(output) < last, "the run ended before the silent partition"
    reconnections = flight_action(processor, "get_stats")["input_reconnections"]
    data_link.partition(blackhole=True)
    silent_at = checkpoint_ledger(output)
    poll_until(lambda: data_link.active > 0, 30, "the processor's connection held, silent")
    data_link.heal()  # resets the silent connections: the processor resumes
    poll_until(
        lambda: flight_action(processor, "get_stats")["input_reconnections"] > reconnections,
        60,
        "the processor to resume after the silent partition",
    )
    poll_until(lambda: checkpoint_ledger(output) >= silent_at + 100, 60, "progress after heal")

    # 3. sink <-> controller: the sink runs on local flow control, then rejoins.
    control_link.partition()
    poll_until(lambda: _mode(sink) == "local", 30, "the sink on local flow control")
    assert _health(sink)["status"] == "degraded"
    partitioned_at = checkpoint_ledger(output)
    assert partitioned_at < last, "the run ended before the control-plane partition"
    poll_until(lambda: checkpoint_ledger(output) > partitioned_at, 60, "progress while cut off")
    control_link.heal()
    poll_until(lambda: _mode(sink) == "controller", 30, "the sink back on the controller")
    poll_until(
        lambda: component_status(pipeline, SINK)["healthy"], 30, "the controller to see the sink"
    )

    poll_until(lambda: checkpoint_ledger(output) == last, 180, f"ledger {last} committed")
    assert_exact_output(output, last)
    assert [c["restarts"] for c in pipeline.status()["components"]] == [0, 0, 0]
    assert pipeline_pids(pipeline) == pids
