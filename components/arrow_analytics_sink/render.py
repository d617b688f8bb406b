"""The bytes of a batch's data files, rendered on worker threads.

Rendering is most of a commit's work (JSON Lines above all), and pyarrow releases the GIL
in its kernels and in the Parquet writer: the Parquet file and slices of the JSON Lines
text are rendered side by side, and the committing thread writes them in order as they
come. Every job is a leaf (none waits for another), so the pool cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import TypeAlias

import pyarrow as pa
import pyarrow.parquet as pq

from arrow_analytics_sink.jsonl import jsonl_bytes

PARQUET = "parquet"
JSONL = "jsonl"
FORMATS = (PARQUET, JSONL)
# Parquet alone by default: JSON Lines costs about four times what Parquet does per event
# (tests/bench/bench_stellar.py), so a sink writes it only when asked (`formats`).
DEFAULT_FORMATS = (PARQUET,)
JSONL_SLICE_ROWS = 16_384  # the rendered text of a slice stays a few MiB
RENDER_THREADS = 2

# Parquet encoding: dictionaries only where values repeat (a dictionary of mostly
# distinct values is built, then thrown away), statistics only where a reader can prune
# row groups with them (min/max of hashes or accounts prune nothing). Together they
# halve the time to write a file; the data read back is the same.
MOSTLY_DISTINCT_COLUMNS = frozenset(
    {"event_id", "transaction_hash", "amount_raw", "amount_str", "source_amount_raw"}
)
STATISTICS_COLUMNS = (
    "ledger_sequence",
    "transaction_index",
    "operation_index",
    "timestamp",
    "event_type",
    "operation_type",
    "asset_type",
    "asset_code",
    "amount_raw",
    "successful",
    "fee_charged",
)

# zstd (level 1): faster to write than snappy here and 40% smaller; every Parquet reader
# in use (Arrow, Spark, DuckDB, polars, pandas) reads it.
PARQUET_COMPRESSION = "zstd"

Chunk: TypeAlias = pa.Buffer | memoryview


def parquet_bytes(part: pa.Table) -> pa.Buffer:
    names = part.schema.names
    sink = pa.BufferOutputStream()
    pq.write_table(
        part,
        sink,
        compression=PARQUET_COMPRESSION,
        use_dictionary=[name for name in names if name not in MOSTLY_DISTINCT_COLUMNS],
        write_statistics=[name for name in STATISTICS_COLUMNS if name in names],
    )
    return sink.getvalue()


class Rendering:
    """The chunks of one file; iterate to get them in order.

    At most `ahead` chunks are rendered ahead of the one being written, so a big batch
    holds a few slices of text in memory, not all of them.
    """

    def __init__(
        self, pool: ThreadPoolExecutor, jobs: list[Callable[[], Chunk]], ahead: int
    ) -> None:
        self._pool = pool
        self._jobs = jobs
        self._ahead = ahead
        self._futures: list[Future[Chunk]] = []
        self._submit(ahead)

    def __iter__(self) -> Iterator[Chunk]:
        for index in range(len(self._jobs)):
            self._submit(index + 1 + self._ahead)
            yield self._futures[index].result()

    def cancel(self) -> None:
        self._jobs = self._jobs[: len(self._futures)]
        for future in self._futures:
            future.cancel()

    def _submit(self, until: int) -> None:
        while len(self._futures) < min(until, len(self._jobs)):
            self._futures.append(self._pool.submit(self._jobs[len(self._futures)]))


class Renderer:
    def __init__(self, threads: int = RENDER_THREADS) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="sink-render")
        self._threads = threads

    def render(self, part: pa.Table, fmt: str) -> Rendering:
        """Start rendering a file of `part` (every file of a batch starts at once)."""
        if fmt == PARQUET:
            return Rendering(self._pool, [partial(parquet_bytes, part)], 1)
        slices = range(0, part.num_rows, JSONL_SLICE_ROWS)
        jobs: list[Callable[[], Chunk]] = [
            partial(jsonl_bytes, part.slice(start, JSONL_SLICE_ROWS)) for start in slices
        ]
        return Rendering(self._pool, jobs, self._threads)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
