"""The real-ledger backends as one feed: a reader's decode jobs, decoded by the pool.

`RealLedgers.batches(first, last)` yields StellarLedger batches of consecutive ledgers,
from exactly `first` (rows before it, from the object that holds it, are cut) through
`last` (None: without end). Every ledger is checked to follow the previous one: a gap,
whatever its cause, stops the stream with an error rather than skip ledgers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import pyarrow as pa
from stellar_common.ledger_schema import ledger_range

from stellar_arrow_source.decode_pool import DecodePool
from stellar_arrow_source.errors import LedgerDataError
from stellar_arrow_source.ledger_decode import DecodeJob
from stellar_arrow_source.retrying import Stopped


class JobReader(Protocol):
    """A data store or RPC: the decode jobs covering first..last (None: follow the tip)."""

    def jobs(self, first: int, last: int | None) -> Iterator[DecodeJob]: ...


class RealLedgers:
    def __init__(self, reader: JobReader, pool: DecodePool) -> None:
        self.reader = reader
        self.pool = pool

    def batches(self, first: int, last: int | None) -> Iterator[pa.RecordBatch]:
        expected = first
        try:
            for batch in self.pool.decoded(self.reader.jobs(first, last)):
                low, high = ledger_range(batch)
                if high < expected:
                    continue  # a store object before `first` (cannot happen, but harmless)
                if low > expected:
                    raise LedgerDataError(
                        f"ledger {expected} is missing: the next ledger read is {low}"
                    )
                batch = batch.slice(expected - low)
                if last is not None and high > last:
                    batch = batch.slice(0, last - expected + 1)
                yield batch
                expected = ledger_range(batch)[1] + 1
        except Stopped:
            return  # the component is stopping: the stream ends, no error

    def close(self) -> None:
        self.pool.close()
