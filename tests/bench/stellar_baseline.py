"""The single-process baseline of the Stellar pipeline: generate -> extract -> write in
one Python process, with the same libraries and settings as the three components and no
Flight between them.

The writer is the sink's own `EventWriter` (its default formats, fsync on), and events
are committed in batches as big as the sink's (`max_batch_events`), so the baseline pays
for the same durable commits as the pipeline does; only the processes and the two
Flight hops are gone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from arrow_analytics_sink.writer import EventWriter
from stellar_arrow_source.generator import GeneratorConfig, SyntheticLedgers
from stellar_common.event_schema import TTP_EVENT_SCHEMA
from ttp_arrow_processor.extract import extract_events

SINK_MAX_BATCH_EVENTS = 100_000  # arrow-analytics-sink's default max_batch_events


@dataclass(frozen=True)
class BaselineRun:
    events: int
    seconds: float
    stage_seconds: dict[str, float]  # CPU of the process (all its threads) in each stage

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds

    def cpu_us_per_event(self) -> dict[str, float]:
        return {name: round(s * 1e6 / self.events, 2) for name, s in self.stage_seconds.items()}


def run_baseline(output_dir: Path, *, seed: int, ledgers: int, batch_size: int) -> BaselineRun:
    """Ledgers 1..`ledgers` through generate, extract and a durable write, timed whole."""
    generator = SyntheticLedgers(GeneratorConfig(seed=seed))
    writer = EventWriter(output_dir, durable=True)
    writer.recover()
    stage = {"generate": 0.0, "extract": 0.0, "write": 0.0}
    pending: list[pa.RecordBatch] = []
    pending_events, first_pending = 0, 1
    started = time.perf_counter()

    def commit(last_ledger: int) -> None:
        nonlocal pending, pending_events
        clock = time.process_time()
        writer.commit(pa.Table.from_batches(pending, TTP_EVENT_SCHEMA), first_pending, last_ledger)
        stage["write"] += time.process_time() - clock
        pending, pending_events = [], 0

    try:
        for first in range(1, ledgers + 1, batch_size):
            last = min(first + batch_size - 1, ledgers)
            clock = time.process_time()
            ledger_batch = generator.ledger_batch(first, last)
            after_generate = time.process_time()
            events, _ = extract_events(ledger_batch)
            stage["generate"] += after_generate - clock
            stage["extract"] += time.process_time() - after_generate
            if not pending:
                first_pending = first
            pending.append(events)
            pending_events += events.num_rows
            if pending_events >= SINK_MAX_BATCH_EVENTS:
                commit(last)
        if pending:
            commit(ledgers)
        seconds = time.perf_counter() - started
    finally:
        writer.close()
    return BaselineRun(writer.checkpoint.events_written, seconds, stage)
