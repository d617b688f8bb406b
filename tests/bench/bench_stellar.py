"""Stellar pipeline benchmarks (pytest-benchmark): run with

    .venv/bin/pytest -m bench -p no:randomly tests/bench/bench_stellar.py

- end-to-end events/s of source -> processor -> sink (three processes, real Flight on
  loopback, the sink's default output: Parquet with fsync), from the sink's own
  checkpoint timestamps after a warm-up, beside the raw ceiling measured in the same run:
  a pyarrow.flight DoGet of the very event batches the processor produces, served from
  memory by a process that does nothing else; their ratio;
- the single-process baseline (stellar_baseline.py): generate -> extract -> the same
  durable write in one process, no Flight; the pipeline's speed-up over it;
- latency from the source producing a ledger to the sink committing its events (p50/p99)
  at a steady pace below saturation: with the defaults (1 s flush, fsync), and tuned for
  latency (0.1 s flush, no fsync);
- CPU per event of each component in the steady state (its CPU time over the measured
  window, divided by the events committed in it), the cores it used, its peak RSS;
- the product as a user runs it: `flowrun up` of specs/stellar-ttp.yaml made unpaced
  (runner, embedded controller, heartbeats and flow control on), events/s in the same
  steady-state window, beside the bare components' rate above.

The pipeline runs STELLAR_BENCH_ROUNDS times (default 3); the figures are those of the
median run (the machine is shared: compare the ratio, taken in the same run, rather than
absolute rates). STELLAR_BENCH_LEDGERS (default 100000, ~2.6 M events: a few seconds of
steady state after the warm-up) sets the size of a run.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pyarrow as pa
import pyarrow.flight as flight
import pytest
from fixtures.runner_harness import Pipeline
from fixtures.shipped_spec import sink_checkpoint, stellar_spec_at_full_speed
from ports import free_port
from process_cpu import cpu_seconds
from stellar_arrow_source.generator import GeneratorConfig, SyntheticLedgers
from stellar_arrow_source.source_config import DEFAULT_BATCH_SIZE
from stellar_baseline import run_baseline
from stellar_local_pipeline import LocalPipeline
from ttp_arrow_processor.extract import extract_events

LEDGERS = int(os.environ.get("STELLAR_BENCH_LEDGERS", "100000"))
ROUNDS = int(os.environ.get("STELLAR_BENCH_ROUNDS", "3"))
BATCH = DEFAULT_BATCH_SIZE  # the source's default, which the pipeline runs with
SEED = 1
Run = TypeVar("Run")

CEILING_SERVER = """
import sys
import pyarrow as pa, pyarrow.flight as flight
table = pa.ipc.open_file(sys.argv[1]).read_all()
class Server(flight.FlightServerBase):
    def do_get(self, context, ticket):
        return flight.RecordBatchStream(table)
server = Server(f"grpc://127.0.0.1:{sys.argv[2]}")
print("ready", flush=True)
server.serve()
"""


@pytest.fixture(scope="module")
def results(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The figures of this module's benchmarks, printed together at the end."""
    figures: dict[str, Any] = {"load_average_at_start": os.getloadavg()}
    yield figures
    figures["load_average_at_end"] = os.getloadavg()
    text = "stellar pipeline figures:\n" + json.dumps(figures, indent=2, default=str)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n" + text)


def event_batches() -> list[pa.RecordBatch]:
    generator = SyntheticLedgers(GeneratorConfig(seed=SEED))
    return [extract_events(b)[0] for b in generator.iter_batches(1, LEDGERS, BATCH)]


def median_run(runs: Sequence[Run], rate: Callable[[Run], float]) -> Run:
    """The run of the median rate (the upper one of an even count), first of equals."""
    rates = sorted(rate(run) for run in runs)
    return next(run for run in runs if rate(run) == rates[len(rates) // 2])


def test_raw_flight_ceiling(benchmark: Any, tmp_path: Path, results: dict[str, Any]) -> None:
    table = pa.Table.from_batches(event_batches())
    path = tmp_path / "events.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", CEILING_SERVER, str(path), str(port)], stdout=subprocess.PIPE
    )
    try:
        assert server.stdout is not None and server.stdout.readline().startswith(b"ready")
        client = flight.FlightClient(f"grpc://127.0.0.1:{port}")
        served = psutil.Process(server.pid)
        reads: list[tuple[int, float, float]] = []  # rows, client and server CPU seconds

        def read_all() -> int:
            client_cpu, server_cpu = time.process_time(), cpu_seconds(served)
            reader = client.do_get(flight.Ticket(b"all"))
            rows = 0
            while True:
                try:
                    rows += reader.read_chunk().data.num_rows
                except StopIteration:
                    break
            reads.append((rows, time.process_time() - client_cpu, cpu_seconds(served) - server_cpu))
            return rows

        rows = benchmark.pedantic(read_all, rounds=5, iterations=1, warmup_rounds=1)
        assert rows == table.num_rows
        seconds = benchmark.stats.stats.median
        results["ceiling_events_per_second"] = round(rows / seconds)
        results["ceiling_megabytes_per_second"] = round(table.nbytes / seconds / 2**20)
        results["events"] = rows
        # What one hop of the events costs each side: the floor of the pipeline's overhead.
        measured = reads[1:]  # the warm-up round is not one
        for side, index in (("client", 1), ("server", 2)):
            per_event = statistics.median(read[index] / read[0] for read in measured)
            results[f"ceiling_{side}_cpu_us_per_event"] = round(per_event * 1e6, 3)
        benchmark.extra_info.update(results)
        client.close()
    finally:
        server.kill()
        server.wait()


def test_single_process_baseline(benchmark: Any, tmp_path: Path, results: dict[str, Any]) -> None:
    runs = []

    def run() -> None:
        output = tmp_path / f"run{len(runs)}"
        runs.append(run_baseline(output, seed=SEED, ledgers=LEDGERS, batch_size=BATCH))

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    median = median_run(runs, lambda run: run.events_per_second)
    results["baseline_events_per_second"] = round(median.events_per_second)
    results["baseline_events_per_second_runs"] = [round(r.events_per_second) for r in runs]
    results["baseline_events"] = median.events
    results["baseline_cpu_us_per_event"] = median.cpu_us_per_event()
    benchmark.extra_info.update(results)


Sample = tuple[float, int, int, dict[str, float]]  # checkpoint time, ledger, events, CPU s


def sample_until(
    pipeline: LocalPipeline, done: Callable[[dict[str, Any]], bool], timeout: float
) -> tuple[list[Sample], dict[str, int]]:
    """Poll the checkpoint and the processes until `done`: (samples, peak RSS)."""
    checkpoint = pipeline.workdir / "out" / "_checkpoint.json"
    samples: list[Sample] = []
    rss: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cpu: dict[str, float] = {}
        for name, process in pipeline.processes.items():
            info = psutil.Process(process.pid)
            rss[name] = max(rss.get(name, 0), info.memory_info().rss)
            cpu[name] = cpu_seconds(info)
        try:
            state = json.loads(checkpoint.read_text())
        except (FileNotFoundError, ValueError):
            state = None
        if state:
            samples.append(
                (state["updated_at"], state["last_ledger"], state["events_written"], cpu)
            )
            if done(state):
                return samples, rss
        time.sleep(0.05)
    raise TimeoutError(f"the pipeline did not finish within {timeout}s")


def steady_state(samples: list[Sample]) -> dict[str, Any]:
    """Rates and CPU per event after a warm-up (the first tenth of the ledgers), so that
    start-up (imports, connections) counts in neither."""
    warm = next(s for s in samples if s[1] >= LEDGERS // 10)
    last = samples[-1]
    seconds, events = last[0] - warm[0], last[2] - warm[2]
    cpu = {name: last[3][name] - warm[3][name] for name in last[3]}
    return {
        "events_per_second": round(events / seconds),
        "ledgers_per_second": round((last[1] - warm[1]) / seconds),
        "cpu_us_per_event": {name: round(value * 1e6 / events, 2) for name, value in cpu.items()},
        "cores_used": {name: round(value / seconds, 2) for name, value in cpu.items()},
        "cpu_seconds": {name: round(value, 2) for name, value in last[3].items()},
        "events": last[2],
    }


def test_pipeline_throughput(benchmark: Any, tmp_path: Path, results: dict[str, Any]) -> None:
    runs: list[dict[str, Any]] = []

    def run() -> None:
        source = {"seed": SEED, "end_ledger": LEDGERS}
        workdir = tmp_path / f"run{len(runs)}"
        with LocalPipeline(workdir, source=source, sink={"output_dir": "out"}) as pipeline:
            pipeline.start_all()
            samples, rss = sample_until(
                pipeline, lambda state: state["last_ledger"] >= LEDGERS, 900
            )
        figures = steady_state(samples)
        figures["peak_rss_mib"] = {name: round(value / 2**20) for name, value in rss.items()}
        runs.append(figures)

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    median = median_run(runs, lambda run: run["events_per_second"])
    results["pipeline_events_per_second"] = median["events_per_second"]
    results["pipeline_events_per_second_runs"] = [run["events_per_second"] for run in runs]
    results["pipeline_ledgers_per_second"] = median["ledgers_per_second"]
    results["pipeline_events"] = median["events"]
    for key in ("cpu_us_per_event", "cores_used", "cpu_seconds", "peak_rss_mib"):
        results[key] = median[key]
    for name, value in median["cpu_us_per_event"].items():  # flat: claims.py reads them
        results[f"cpu_us_per_event_{name}"] = value
    results["pipeline_cpu_us_per_event"] = round(sum(median["cpu_us_per_event"].values()), 2)
    if "baseline_cpu_us_per_event" in results:
        # What running as three processes costs beyond the same work in one: the Flight
        # hops (compare the ceiling's client + server CPU per event) and the rest.
        baseline_cpu = sum(results["baseline_cpu_us_per_event"].values())
        results["baseline_work_cpu_us_per_event"] = round(baseline_cpu, 2)
        extra = results["pipeline_cpu_us_per_event"] - baseline_cpu
        results["pipeline_extra_cpu_us_per_event"] = round(extra, 2)
    if "ceiling_events_per_second" in results:
        # Half the ceiling on every core of this machine leaves this much CPU per event
        # for all the work: below the baseline's work alone, 0.5 cannot be reached.
        budget = (os.cpu_count() or 1) / (0.5 * results["ceiling_events_per_second"])
        results["half_ceiling_cpu_budget_us_per_event"] = round(budget * 1e6, 3)
    for versus in ("ceiling", "baseline"):
        if f"{versus}_events_per_second" in results:
            ratio = results["pipeline_events_per_second"] / results[f"{versus}_events_per_second"]
            results[f"pipeline_to_{versus}_ratio"] = round(ratio, 4)
    benchmark.extra_info.update(results)


def test_shipped_spec_throughput(
    benchmark: Any, tmp_path: Path, results: dict[str, Any], pipelines: list[Pipeline]
) -> None:
    rates: list[int] = []

    def run() -> None:
        pipeline = Pipeline(stellar_spec_at_full_speed(tmp_path / f"run{len(rates)}", LEDGERS))
        pipelines.append(pipeline)
        started = pipeline.up()
        assert started.returncode == 0, started.stdout + started.stderr
        warm = last = sink_checkpoint(pipeline.spec)
        deadline = time.monotonic() + 900
        while last.last_ledger < LEDGERS and time.monotonic() < deadline:
            time.sleep(0.05)
            last = sink_checkpoint(pipeline.spec)
            if warm.last_ledger < LEDGERS // 10:  # the same warm-up as the bare pipeline's
                warm = last
        pipeline.down()
        assert last.last_ledger == LEDGERS, f"the pipeline did not finish: {last}"
        rates.append(
            round((last.events_written - warm.events_written) / (last.updated_at - warm.updated_at))
        )

    benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    results["shipped_spec_events_per_second"] = statistics.median_high(rates)
    results["shipped_spec_events_per_second_runs"] = rates
    if "pipeline_events_per_second" in results:
        ratio = results["shipped_spec_events_per_second"] / results["pipeline_events_per_second"]
        results["shipped_spec_to_pipeline_ratio"] = round(ratio, 4)
    benchmark.extra_info.update(results)


@pytest.mark.parametrize(("flush_seconds", "durable"), [(1.0, True), (0.1, False)])
def test_generation_to_commit_latency(
    benchmark: Any, tmp_path: Path, results: dict[str, Any], flush_seconds: float, durable: bool
) -> None:
    rate, seconds = 200, 15
    last_ledger = rate * seconds

    def run() -> dict[str, Any]:
        source = {"seed": SEED, "end_ledger": last_ledger, "ledgers_per_second": rate}
        sink = {"output_dir": "out", "flush_interval_seconds": flush_seconds, "durable": durable}
        with LocalPipeline(tmp_path, source=source, sink=sink) as pipeline:
            pipeline.start_all()
            sample_until(pipeline, lambda state: state["last_ledger"] >= last_ledger, 300)
            stats = pipeline.action("sink", "get_stats")
        return {
            "p50_seconds": round(stats["latency_p50_seconds"], 4),
            "p99_seconds": round(stats["latency_p99_seconds"], 4),
            "commits": stats["commits"],
        }

    figures = benchmark.pedantic(run, rounds=1, iterations=1)
    fsync = "fsync" if durable else "no_fsync"
    results[f"latency_at_{rate}_ledgers_per_second_flush_{flush_seconds}s_{fsync}"] = figures
    benchmark.extra_info.update(figures)
