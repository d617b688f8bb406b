"""stellar-arrow-source: serves StellarLedger batches over Flight DoGet.

A StreamTicket(stream="ledgers", start=N) streams ledgers N, N+1, ... (from start_ledger
when N is smaller) up to end_ledger (0: without end), `batch_size` ledgers per batch at
most, each batch carrying its LedgerSpan. `ledgers_per_second` paces every stream (0: as
fast as the consumer reads); the SDK's flow control throttles on top of that pace.

Backends: `synthetic` (generated), `parquet` (replayed), and real ledgers from a SEP-54
data store (`datastore`) or Stellar RPC (`rpc`), decoded by a pool of worker processes;
with end_ledger 0 the real backends follow the tip. Config keys: source_config.
Actions: get_status, get_current_ledger.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pyarrow as pa
from flowctl.component import Action, Component
from flowctl.errors import TicketError
from flowctl.settings import ComponentSettings
from flowctl.tickets import DEFAULT_STREAM, StreamTicket
from prometheus_client import Counter, Gauge, Histogram
from stellar_common.ledger_schema import LEDGER_STREAM, STELLAR_LEDGER_SCHEMA, ledger_range
from stellar_common.spans import Chunk, LedgerSpan, first_ledger_of

from stellar_arrow_source.generator import GeneratorConfig, SyntheticLedgers
from stellar_arrow_source.pacing import LedgerPace
from stellar_arrow_source.parquet_backend import ParquetLedgers
from stellar_arrow_source.real_backends import open_real_ledgers
from stellar_arrow_source.real_ledgers import RealLedgers
from stellar_arrow_source.source_config import SourceConfig

__all__ = ["SourceConfig", "StellarArrowSource"]


class LedgerBackend(Protocol):
    def ledger_batch(self, first: int, last: int) -> pa.RecordBatch: ...


class StellarArrowSource(Component):
    stream_name: ClassVar[str] = LEDGER_STREAM
    output_event_types: ClassVar[tuple[str, ...]] = ("stellar.ledger",)

    def __init__(self, settings: ComponentSettings | None = None) -> None:
        super().__init__(settings)
        self.source = SourceConfig.parse(self.config)
        self.backend, self.first_ledger, self.last_ledger = self._open_backend()
        self._highest_served = self.first_ledger - 1
        self._ledgers_served = 0
        self._lock = threading.Lock()
        registry = self.monitor.registry
        self.ledgers_served = Counter(
            "stellar_source_ledgers_processed",
            "Ledgers served to downstream streams",
            registry=registry,
        )
        self.transactions_served = Counter(
            "stellar_source_transactions_processed",
            "Transactions in the ledgers served",
            registry=registry,
        )
        self.current_ledger = Gauge(
            "stellar_source_current_ledger", "Highest ledger served so far", registry=registry
        )
        self.batch_seconds = Histogram(
            "stellar_source_batch_seconds",
            "Time to produce one batch of ledgers",
            registry=registry,
        )
        self.current_ledger.set(self._highest_served)

    def _open_backend(self) -> tuple[LedgerBackend | RealLedgers, int, int | None]:
        cfg = self.source
        end = cfg.end_ledger or None
        if cfg.real is not None:
            real = open_real_ledgers(
                cfg.backend, cfg.real, self.settings.spec_dir, self.stopping, self.monitor.registry
            )
            return real, cfg.start_ledger, end
        if cfg.backend == "synthetic":
            generator = SyntheticLedgers(
                GeneratorConfig(
                    seed=cfg.seed,
                    genesis_time=cfg.genesis_time,
                    close_interval_seconds=cfg.close_interval_seconds,
                )
            )
            return generator, cfg.start_ledger, end
        path = Path(cfg.parquet_path)
        if not path.is_absolute():
            path = Path(self.settings.spec_dir) / path
        stored = ParquetLedgers(path)
        first = max(cfg.start_ledger, stored.first_ledger)
        last = min(end, stored.last_ledger) if end else stored.last_ledger
        return stored, first, last

    def schema(self) -> pa.Schema:
        return STELLAR_LEDGER_SCHEMA

    def stream(self, ticket: StreamTicket) -> Iterator[pa.RecordBatch]:
        if ticket.stream not in (LEDGER_STREAM, DEFAULT_STREAM):
            raise TicketError(f"unknown stream {ticket.stream!r}; this source serves 'ledgers'")
        sequence = max(first_ledger_of(ticket), self.first_ledger)
        pace = LedgerPace(self.source.ledgers_per_second, factor=lambda: self.flow.throttle_rate)
        if isinstance(self.backend, RealLedgers):
            yield from self._real_stream(self.backend, sequence, pace)
            return
        while not self.stopping.is_set():
            room = self.source.batch_size
            if self.last_ledger is not None:
                room = min(room, self.last_ledger - sequence + 1)
            if room <= 0:
                return
            count = pace.take(room, self.stopping)
            if count == 0:
                return
            yield self._chunk(sequence, sequence + count - 1)
            sequence += count

    def _real_stream(
        self, real: RealLedgers, sequence: int, pace: LedgerPace
    ) -> Iterator[pa.RecordBatch]:
        """Decoded real ledgers, cut to batch_size and paced like the others."""
        if self.last_ledger is not None and sequence > self.last_ledger:
            return
        produced_at = time.time()
        for decoded in real.batches(sequence, self.last_ledger):
            offset = 0
            while offset < decoded.num_rows:
                room = min(self.source.batch_size, decoded.num_rows - offset)
                count = pace.take(room, self.stopping)
                if count == 0:
                    return
                yield self._served(decoded.slice(offset, count), produced_at)
                offset += count
            produced_at = time.time()

    def _chunk(self, first: int, last: int) -> Chunk:
        generated_at = time.time()
        with self.batch_seconds.time():
            assert not isinstance(self.backend, RealLedgers)
            batch = self.backend.ledger_batch(first, last)
        return self._served(batch, generated_at, first, last)

    def _served(
        self,
        batch: pa.RecordBatch,
        generated_at: float,
        first: int | None = None,
        last: int | None = None,
    ) -> Chunk:
        if first is None or last is None:
            first, last = ledger_range(batch)
        self.ledgers_served.inc(batch.num_rows)
        self.transactions_served.inc(sum(batch.column("transaction_count").to_pylist()))
        with self._lock:
            self._ledgers_served += batch.num_rows
            if last > self._highest_served:
                self._highest_served = last
                self.current_ledger.set(last)
        return Chunk(batch, LedgerSpan(first, last, generated_at))

    def current(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The source's current ledger: the highest served so far, and its range."""
        snapshot = self.flow.snapshot()
        return {
            "current_ledger": self._highest_served,
            "start_ledger": self.first_ledger,
            "end_ledger": self.last_ledger or 0,
            "finished": self.last_ledger is not None and self._highest_served >= self.last_ledger,
            "throttle_rate": snapshot.throttle_rate,
            "backpressure_active": snapshot.backpressure_active,
            "source": self.settings.component_id,
        }

    def actions(self) -> Mapping[str, Action]:
        return {"get_status": self._status, "get_current_ledger": self.current}

    def _status(self, body: dict[str, Any]) -> dict[str, Any]:
        """Component status, with the backend and the ledgers served."""
        cfg = asdict(self.source)
        cfg["genesis_time"] = self.source.genesis_time.isoformat()
        return {
            **self.status(),
            "source": {
                **cfg,
                "current_ledger": self._highest_served,
                "ledgers_served": self._ledgers_served,
            },
        }

    def on_stop(self) -> None:
        if isinstance(self.backend, RealLedgers):
            self.backend.close()

    def metrics(self) -> Mapping[str, float]:
        return {"current_ledger": float(self._highest_served)}
