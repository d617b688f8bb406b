"""The Stellar pipeline through the flowrun CLI: `flowrun up -d`, ledgers 1-2,000, and the
sink's Parquet output checked event by event against the generator, with and without
components killed -9 mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from arrow_analytics_sink.output import read_jsonl_events, read_parquet_events
from polling import wait_for
from ports import free_port
from stellar_arrow_source.generator import GeneratorConfig, SyntheticLedgers
from ttp_arrow_processor.extract import extract_events

FLOWRUN = [sys.executable, "-c", "from flowrun.cli.main import main; main()"]
CLI_POLL_SECONDS = 0.2  # between two polls that each run the flowrun CLI
SEED, LAST_LEDGER = 42, 2000
SOURCE, PROCESSOR, SINK = "stellar-arrow-source", "ttp-arrow-processor", "arrow-analytics-sink"

SPEC = """\
apiVersion: flowctl/v1
kind: Pipeline
metadata: {{name: stellar-e2e}}
spec:
  controller: {{mode: embedded, endpoint: "127.0.0.1:{controller}", heartbeat_interval: 500ms}}
  monitoring: {{metrics_port: null, interval: 1s}}
  components:
    {source}:
      type: source
      command: [python, -m, stellar_arrow_source]
      endpoint: "127.0.0.1:{source_port}"
      max_inflight: 100000
      config: {{seed: {seed}, end_ledger: {last}, batch_size: 10, ledgers_per_second: {rate}}}
      restart: {{backoff: 200ms}}
    {processor}:
      type: processor
      command: [python, -m, ttp_arrow_processor]
      endpoint: "127.0.0.1:{processor_port}"
      inputs: [{source}]
      max_inflight: 100000
      restart: {{backoff: 200ms}}
    {sink}:
      type: sink
      command: [python, -m, arrow_analytics_sink]
      endpoint: "127.0.0.1:{sink_port}"
      inputs: [{processor}]
      max_inflight: {sink_max_inflight}
      config: {{output_dir: out, flush_interval_seconds: 0.5, formats: [parquet, jsonl]}}
      restart: {{backoff: 200ms}}
"""


def write_spec(
    directory: Path,
    *,
    ledgers_per_second: float,
    last_ledger: int = LAST_LEDGER,
    sink_max_inflight: int = 1_000_000,
) -> Path:
    spec = directory / "pipeline.yaml"
    spec.write_text(
        SPEC.format(
            controller=free_port(),
            source=SOURCE,
            processor=PROCESSOR,
            sink=SINK,
            source_port=free_port(),
            processor_port=free_port(),
            sink_port=free_port(),
            seed=SEED,
            last=last_ledger,
            rate=ledgers_per_second,
            sink_max_inflight=sink_max_inflight,
        )
    )
    return spec


def flowrun(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FLOWRUN, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    started: list[Path] = []

    def up(ledgers_per_second: float, **options: int) -> Path:
        spec = write_spec(tmp_path, ledgers_per_second=ledgers_per_second, **options)
        started.append(spec)
        result = flowrun("up", "-d", str(spec))
        assert result.returncode == 0, result.stdout + result.stderr
        return spec

    yield up
    for spec in started:
        flowrun("down", str(spec), timeout=300)


def last_ledger(spec: Path) -> int:
    try:
        return int(
            json.loads((spec.parent / "out" / "_checkpoint.json").read_text())["last_ledger"]
        )
    except FileNotFoundError:
        return 0


def component_status(spec: Path, name: str) -> dict[str, Any]:
    result = flowrun("status", str(spec), "--json")
    assert result.returncode == 0, result.stderr
    (found,) = [c for c in json.loads(result.stdout)["components"] if c["name"] == name]
    return dict(found)


def expected_events() -> pa.Table:
    ledgers = SyntheticLedgers(GeneratorConfig(seed=SEED)).ledger_batch(1, LAST_LEDGER)
    return pa.Table.from_batches([extract_events(ledgers)[0]])


def assert_exact_output(output: Path) -> None:
    events = read_parquet_events(output)
    ids = events.column("event_id").to_pylist()
    assert len(ids) == len(set(ids)), "an event_id was written twice"
    expected = expected_events()
    assert events.num_rows == expected.num_rows
    for column in expected.schema.names:  # column by column: a failure names the column
        assert events.column(column).equals(expected.column(column)), column
    assert sorted(row["event_id"] for row in read_jsonl_events(output)) == sorted(ids)


def kill_and_wait_for_restart(spec: Path, name: str) -> None:
    before = component_status(spec, name)
    assert before["state"] == "running" and before["pid"]
    os.kill(before["pid"], signal.SIGKILL)

    def restarted() -> bool:
        now = component_status(spec, name)
        return now["state"] == "running" and now["pid"] not in (None, before["pid"])

    wait_for(restarted, 60, f"{name} to be restarted by the runner", CLI_POLL_SECONDS)


def test_ledgers_1_to_2000_reach_the_sink_exactly(running: Callable[..., Path]) -> None:
    spec = running(0)
    wait_for(lambda: last_ledger(spec) == LAST_LEDGER, 300, "the checkpoint to reach 2000")
    # The first progress line comes one monitoring interval after the sink starts: a fast
    # machine can commit the whole range before it.
    wait_for(
        lambda: "progress: ledger" in flowrun("logs", str(spec), SINK).stdout,
        30,
        "the sink's progress line in its log",
        CLI_POLL_SECONDS,
    )
    assert_exact_output(spec.parent / "out")


def test_killing_the_processor_twice_and_the_sink_once_changes_nothing(
    running: Callable[..., Path],
) -> None:
    spec = running(100)  # 20 s of ledgers: the kills land mid-run, even on a loaded machine
    for victim, at in [(PROCESSOR, 300), (PROCESSOR, 800), (SINK, 1300)]:
        wait_for(lambda at=at: last_ledger(spec) >= at, 300, f"the checkpoint to reach {at}")
        assert last_ledger(spec) < LAST_LEDGER, "the run ended before the kill"
        kill_and_wait_for_restart(spec, victim)
    wait_for(lambda: last_ledger(spec) == LAST_LEDGER, 300, "the checkpoint to reach 2000")
    assert component_status(spec, PROCESSOR)["restarts"] == 2
    assert component_status(spec, SINK)["restarts"] == 1
    assert_exact_output(spec.parent / "out")


def test_an_overloaded_sink_throttles_the_source_through_the_controller(
    running: Callable[..., Path],
) -> None:
    # The sink holds ~0.5 s of events until it commits: far more than 20 in flight.
    spec = running(50, last_ledger=0, sink_max_inflight=20)
    wait_for(
        lambda: component_status(spec, SOURCE)["throttle_rate"] < 1.0,
        120,
        "the controller to throttle the source",
        CLI_POLL_SECONDS,
    )
    wait_for(
        lambda: "backpressure ON" in flowrun("logs", str(spec), SINK).stdout,
        120,
        "the sink's progress line to report the backpressure",
        CLI_POLL_SECONDS,
    )
