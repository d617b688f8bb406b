"""ttp-arrow-processor: ledgers in, token transfer events out, over Flight.

A StreamTicket(stream="ttp_events", start=N) makes the processor ask its input for
ledgers from N and serve, for every ledger batch it receives, one event batch covering
the same LedgerSpan (possibly empty). If the input disconnects mid-stream, the processor
reconnects through the pool and resumes from the ledger after the last one it received:
the downstream stream goes on, without a gap or a repeat.

Config: input_stream (the input's stream name, default "ledgers"); network (of real ledgers,
whose rows carry `ledger_close_meta`: pubnet, testnet, futurenet, standalone, a passphrase,
or auto, the default: the well-known network under which their transactions hash).
Actions: get_status, get_stats, get_current_ledger (asked of the input, so a sink can
measure its lag through the chain without the controller).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pyarrow as pa
from flowctl import options
from flowctl.component import Action, Component
from flowctl.errors import TicketError
from flowctl.resumable import ResumableInput, call_input_action
from flowctl.settings import ComponentSettings
from flowctl.tickets import DEFAULT_STREAM, StreamTicket
from prometheus_client import Counter, Histogram
from stellar_common.event_schema import EVENT_STREAM, TTP_EVENT_SCHEMA
from stellar_common.ledger_schema import LEDGER_STREAM, STELLAR_LEDGER_SCHEMA, empty_batch
from stellar_common.spans import LEDGER_SPANS, Chunk, LedgerSpan, first_ledger_of

from ttp_arrow_processor.extract import ExtractStats, extract_events
from ttp_arrow_processor.labels import BoundedLabels
from ttp_arrow_processor.ledger_reader import AUTO
from ttp_arrow_processor.real_ledgers import RealLedgerExtractor

MAX_OPERATION_TYPE_LABELS = 64
"""Distinct `operation_type` labels of ttp_processor_unknown_operations_total; the rest
count under `other`. Stellar has about 30 operation types, but the values come from the
data, and an upstream of another kind could send any number."""


class TtpArrowProcessor(Component):
    stream_name: ClassVar[str] = EVENT_STREAM
    input_event_types: ClassVar[tuple[str, ...]] = ("stellar.ledger",)
    output_event_types: ClassVar[tuple[str, ...]] = ("stellar.ttp_event",)

    def __init__(self, settings: ComponentSettings | None = None) -> None:
        super().__init__(settings)
        self.input_stream = options.text(self.config, "input_stream", LEDGER_STREAM)
        self.real_ledgers = RealLedgerExtractor(options.text(self.config, "network", AUTO))
        self.totals = ExtractStats()
        self.reconnections = 0
        self.last_ledger = 0
        self._lock = threading.Lock()
        registry = self.monitor.registry
        self.ledgers_processed = Counter(
            "ttp_processor_ledgers_processed", "Ledgers turned into events", registry=registry
        )
        self.events_extracted = Counter(
            "ttp_processor_events_extracted", "Token transfer events extracted", registry=registry
        )
        self.unknown_operations = Counter(
            "ttp_processor_unknown_operations",
            "Operations of a kind that moves no token, skipped",
            ["operation_type"],
            registry=registry,
        )
        self._operation_types = BoundedLabels(MAX_OPERATION_TYPE_LABELS)
        self.malformed_operations = Counter(
            "ttp_processor_malformed_operations",
            "Transfer operations missing a destination, asset or amount, skipped",
            registry=registry,
        )
        self.input_reconnections = Counter(
            "ttp_processor_input_reconnections",
            "Times the input stream was lost and resumed",
            registry=registry,
        )
        self.extract_seconds = Histogram(
            "ttp_processor_extract_seconds",
            "Time to extract the events of one batch",
            registry=registry,
        )

    def schema(self) -> pa.Schema:
        return TTP_EVENT_SCHEMA

    def stream(self, ticket: StreamTicket) -> Iterator[pa.RecordBatch]:
        if ticket.stream not in (EVENT_STREAM, DEFAULT_STREAM):
            raise TicketError(
                f"unknown stream {ticket.stream!r}; this processor serves 'ttp_events'"
            )
        upstream = ResumableInput(
            self,
            LEDGER_SPANS,
            stream=self.input_stream,
            on_disconnect=self._lost_input,
            schema=STELLAR_LEDGER_SCHEMA,
        )
        asked = StreamTicket(self.input_stream, first_ledger_of(ticket))
        for ledgers, span in upstream.chunks(asked):
            rows = max(ledgers.num_rows, 1)
            self.flow.acquire(rows)
            started = time.monotonic()
            try:
                yield Chunk(self._events(ledgers, span), span)
            finally:
                self.flow.release(rows, time.monotonic() - started)

    def _events(self, ledgers: pa.RecordBatch, span: LedgerSpan) -> pa.RecordBatch:
        if ledgers.num_rows == 0:
            return empty_batch(TTP_EVENT_SCHEMA)
        with self.extract_seconds.time():
            events, stats = extract_events(ledgers, self.real_ledgers)
        self.ledgers_processed.inc(stats.ledgers)
        self.events_extracted.inc(stats.events)
        self.malformed_operations.inc(stats.malformed_operations)
        with self._lock:  # streams are served on several threads: one label set
            for operation_type, count in stats.unknown_operations.items():
                label = self._operation_types.of(operation_type)
                self.unknown_operations.labels(operation_type=label).inc(count)
            self.totals.add(stats)
            self.last_ledger = max(self.last_ledger, span.last_ledger)
        return events

    def _lost_input(self, error: BaseException) -> None:
        with self._lock:
            self.reconnections += 1
        self.input_reconnections.inc()

    def stats(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Extraction counters since start: ledgers, events, skipped operations."""
        with self._lock:
            values = self.totals.as_dict()
            values["last_ledger"] = self.last_ledger
            values["input_reconnections"] = self.reconnections
        return values

    def current(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The source's current ledger, asked through this processor's input."""
        answer = call_input_action(self, "get_current_ledger")
        via = answer.get("via", [])
        answer["via"] = [self.settings.component_id, *(via if isinstance(via, list) else [])]
        return answer

    def actions(self) -> Mapping[str, Action]:
        return {
            "get_status": lambda body: {**self.status(), "stats": self.stats()},
            "get_stats": self.stats,
            "get_current_ledger": self.current,
        }

    def metrics(self) -> Mapping[str, float]:
        with self._lock:
            return {"events_extracted": float(self.totals.events)}
