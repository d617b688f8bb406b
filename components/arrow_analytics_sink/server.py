"""arrow-analytics-sink: pulls token transfer events and commits them exactly once.

On start the writer recovers (orphan temp files and files past the checkpoint are
removed) and the sink asks its input for events from checkpoint + 1. A reader thread
receives event batches (with their LedgerSpan) into a bounded queue; the commit loop
gathers them (up to max_batch_events, or for flush_interval_seconds after the first, or
until the input's stream is finished),
writes them as one batch and advances the checkpoint. While the output cannot be written
(disk full, read-only) the error is logged, the component reports unhealthy, the same
batch is retried with backoff and, the queue being full, the input is no longer read:
backpressure reaches the source.

Config: output_dir (default data/ttp_events, relative to the spec's folder), formats
([parquet]; add jsonl for JSON Lines), durable (fsync, default true), max_batch_events (100000),
flush_interval_seconds (1; 0: commit what has arrived at once), min_batch_events
(max_batch_events / 2: past it, a commit waits for nothing more),
retry_seconds (1), max_retry_seconds (30), progress_interval_seconds (the monitoring
interval), input_stream ("ttp_events").
Events count as in flight from their arrival to their commit, so max_inflight must hold
a whole batch (2 x max_batch_events leaves room to read the next one during a commit);
below max_batch_events the sink warns at start: each batch would reach the load at which
backpressure turns on.
Actions: get_status, get_stats.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
from flowctl import options
from flowctl.backoff import Backoff
from flowctl.component import Action, Component
from flowctl.exclusive import OutputInUseError
from flowctl.health import Check
from flowctl.resumable import ResumableInput, call_input_action
from flowctl.settings import ComponentSettings
from flowctl.tickets import StreamTicket
from stellar_common.event_schema import EVENT_STREAM, TTP_EVENT_SCHEMA
from stellar_common.spans import LEDGER_SPANS, LedgerSpan

from arrow_analytics_sink.checkpoint import Checkpoint, CheckpointError
from arrow_analytics_sink.metrics import SinkMetrics
from arrow_analytics_sink.output import older_schema_note
from arrow_analytics_sink.progress import ProgressMeter
from arrow_analytics_sink.writer import (
    DEFAULT_FORMATS,
    FORMATS,
    PARQUET,
    EventWriter,
    OutputLostError,
    SinkWriteError,
)

Item = tuple[pa.RecordBatch, LedgerSpan]
INPUT_FINISHED = None
"""Queued when the input's stream is finished: commit what is held, nothing more is coming."""


class ArrowAnalyticsSink(Component):
    input_event_types: ClassVar[tuple[str, ...]] = ("stellar.ttp_event",)

    def __init__(self, settings: ComponentSettings | None = None) -> None:
        super().__init__(settings)
        config = self.config
        output = Path(options.text(config, "output_dir", "data/ttp_events"))
        self.output_dir = output if output.is_absolute() else Path(self.settings.spec_dir) / output
        self.writer = EventWriter(
            self.output_dir,
            formats=options.string_list(config, "formats", DEFAULT_FORMATS, FORMATS),
            durable=options.boolean(config, "durable", True),
        )
        self.max_batch_events = options.integer(config, "max_batch_events", 100_000, minimum=1)
        self.min_batch_events = options.integer(
            config, "min_batch_events", max(self.max_batch_events // 2, 1), minimum=1
        )
        self.flush_seconds = options.number(config, "flush_interval_seconds", 1.0)
        if self.settings.max_inflight < self.max_batch_events:
            # Held events count against max_inflight until committed: below one batch,
            # the events a batch gathers read as overload before it is full.
            self.log.warning(
                "max_inflight %d is below max_batch_events %d: the events held for a commit "
                "read as overload (load >= activate_at) before the batch is full, which "
                "turns backpressure on and commits small batches; "
                "set spec.components.%s.max_inflight to at least %d (2 x max_batch_events)",
                self.settings.max_inflight,
                self.max_batch_events,
                self.settings.component_id,
                2 * self.max_batch_events,
            )
        self.retry_seconds = options.number(config, "retry_seconds", 1.0, minimum=0.01)
        self.max_retry_seconds = options.number(config, "max_retry_seconds", 30.0, minimum=0.01)
        self.progress_seconds = options.number(
            config,
            "progress_interval_seconds",
            self.settings.monitoring_interval_seconds,
            minimum=0.1,
        )
        self.input_stream = options.text(config, "input_stream", EVENT_STREAM)
        self.write_error = ""
        self.measured = SinkMetrics(self.monitor.registry)
        self._queue: queue.Queue[Item | None] = queue.Queue(maxsize=4)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # -- the work loop ---------------------------------------------------------------

    def work(self) -> None:
        checkpoint = self._recover()
        if checkpoint is None:
            return
        start = checkpoint.last_ledger + 1 if checkpoint.last_ledger else 0
        self._threads = [
            threading.Thread(target=self._read, args=(start,), name="sink-read", daemon=True),
            threading.Thread(target=self._report_progress, name="sink-progress", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        while not self.stopping.is_set():
            try:
                first = self._queue.get(timeout=0.25)
            except queue.Empty:
                continue
            if first is INPUT_FINISHED:
                continue
            items = self._gather(first)
            if not self._commit(items):
                return

    def _recover(self) -> Checkpoint | None:
        backoff = Backoff(base_seconds=self.retry_seconds, cap_seconds=self.max_retry_seconds)
        while not self.stopping.is_set():
            try:
                recovery = self.writer.recover()
            except (CheckpointError, OutputInUseError) as e:
                self.log.error("%s", e)
                self.exit_code = 2
                self.stop("output directory unusable")
                return None
            except OSError as e:
                self._failed(f"cannot prepare output directory {self.output_dir}: {e}")
                self.stopping.wait(backoff.next_delay())
                continue
            self._recovered()
            cp = recovery.checkpoint
            self.measured.last_ledger.set(cp.last_ledger)
            self.log.info(
                "output %s: checkpoint at ledger %d (%d events, %d files); renamed %d "
                "committed files into view, removed %d temp and %d uncommitted files",
                self.output_dir,
                cp.last_ledger,
                cp.events_written,
                cp.files_written,
                recovery.committed_files_renamed,
                recovery.temp_files_removed,
                recovery.uncommitted_files_removed,
            )
            # An output an older flowrun began gets files of another schema from now on:
            # said once, at the upgrade, for those who read the folder with other tools.
            note = older_schema_note(self.output_dir) if PARQUET in self.writer.formats else None
            if note:
                self.log.warning("%s", note)
            return cp
        return None

    def _read(self, start: int) -> None:
        upstream = ResumableInput(
            self,
            LEDGER_SPANS,
            stream=self.input_stream,
            schema=TTP_EVENT_SCHEMA,
            retry_foreign_schema=True,
            on_end=lambda: self._enqueue(INPUT_FINISHED),
        )
        pacer = self.flow.pacer()
        for events, span in upstream.chunks(StreamTicket(self.input_stream, start), follow=True):
            if events.num_rows and not self._admit(events.num_rows):
                return
            self._enqueue((events, span))
            pacer.pace(max(events.num_rows, 1))

    def _admit(self, events: int) -> bool:
        """Count the events in flight until committed; False when stopping (the commits
        that would make room have ended)."""
        while not self.flow.acquire(events, timeout=0.25):
            if self.stopping.is_set():
                return False
        return True

    def _enqueue(self, item: Item | None) -> None:
        while not self.stopping.is_set():
            try:
                self._queue.put(item, timeout=0.25)
                return
            except queue.Full:
                continue

    def _gather(self, first: Item) -> list[Item]:
        """Items to commit together: until max_batch_events, flush_interval_seconds after
        the first arrived (so a slow stream does not write a file per ledger), the load
        reaching activate_at or the input's stream finishing; past min_batch_events, only
        what has already arrived."""
        items, events = [first], first[0].num_rows
        deadline = time.monotonic() + self.flush_seconds
        while events < self.max_batch_events and not self._holding_enough():
            remaining = deadline - time.monotonic()
            try:
                # Wait for more only while the batch is small: a fast stream is committed
                # as it comes, so its upstream keeps producing during the commit instead
                # of the sink idling until max_batch_events arrive (~1.5x the throughput).
                if remaining > 0 and events < self.min_batch_events:
                    item = self._queue.get(timeout=remaining)
                else:
                    item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is INPUT_FINISHED:
                break
            items.append(item)
            events += item[0].num_rows
        return items

    def _holding_enough(self) -> bool:
        """Commit now: stopping, or holding so much that the reader waits for room
        (the flush interval must not stall a sink whose max_inflight is small)."""
        flow = self.flow
        return self.stopping.is_set() or flow.load >= flow.thresholds.activate_at

    def _commit(self, items: list[Item]) -> bool:
        """Commit the items as one batch, retrying until it works; False when stopping."""
        table = pa.Table.from_batches([batch for batch, _ in items], schema=TTP_EVENT_SCHEMA)
        span = items[0][1]
        for _, later in items[1:]:
            span = span.merged(later)
        backoff = Backoff(base_seconds=self.retry_seconds, cap_seconds=self.max_retry_seconds)
        before = self.writer.checkpoint  # a retry may find the batch committed already
        while True:
            try:
                after = self.writer.commit(table, span.first_ledger, span.last_ledger)
                break
            except OutputLostError as e:
                self.log.error("%s", e)
                self.exit_code = 1  # restarted (on-failure), it starts the directory over
                self.stop("output directory lost")
                return False
            except SinkWriteError as e:
                self.measured.write_errors.inc()
                self._failed(str(e))
                if self.stopping.wait(backoff.next_delay()):
                    return False
        self._recovered()
        if table.num_rows:
            self.flow.release(table.num_rows, None)
        self.measured.committed(before, after, [span for _, span in items])
        return True

    def _failed(self, message: str) -> None:
        with self._lock:
            first = not self.write_error
            self.write_error = message
        if first:
            self.log.error("%s; unhealthy, retrying (no partial file is left)", message)
        else:
            self.log.warning("still failing: %s", message)

    def _recovered(self) -> None:
        with self._lock:
            was, self.write_error = self.write_error, ""
        if was:
            self.log.info("output writable again: healthy")

    def _report_progress(self) -> None:
        meter = ProgressMeter(
            lambda: self.writer.checkpoint,
            lambda: call_input_action(self, "get_current_ledger"),
            lambda: self.flow.load,
        )
        meter.measure()
        while not self.stopping.wait(self.progress_seconds):
            progress = meter.measure()
            if progress.lag is not None:
                self.measured.lag.set(progress.lag)
            self.log.info("%s", progress.line())

    # -- status ----------------------------------------------------------------------

    def stats(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Events, files and last ledger in the output (they survive restarts)."""
        cp = self.writer.checkpoint
        with self._lock:
            error = self.write_error
        p50, p99 = self.measured.latency_quantiles(0.50, 0.99)
        return {
            "events_written": cp.events_written,
            "files_written": cp.files_written,
            "last_ledger": cp.last_ledger,
            "checkpoint_updated_at": cp.updated_at,
            "output_dir": str(self.output_dir),
            "commits": self.measured.commits,
            "write_error": error,
            "latency_p50_seconds": p50,
            "latency_p99_seconds": p99,
        }

    def actions(self) -> Mapping[str, Action]:
        return {
            "get_status": lambda body: {**self.status(), "stats": self.stats()},
            "get_stats": self.stats,
        }

    def on_stop(self) -> None:
        # The reader and the progress reports end before the process does: a thread still
        # inside an Arrow or gRPC call while the interpreter exits can crash it (SIGSEGV).
        deadline = time.monotonic() + self.stop_timeout_seconds
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        self.writer.close()

    def health_checks(self) -> Iterable[Check]:
        with self._lock:
            error = self.write_error
        if error:
            return [Check("output", "unhealthy", error)]
        return [
            Check("output", "healthy", f"checkpoint at ledger {self.writer.checkpoint.last_ledger}")
        ]

    def metrics(self) -> Mapping[str, float]:
        return {"last_ledger": float(self.writer.checkpoint.last_ledger)}
