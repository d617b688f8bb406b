"""Decode jobs in worker processes, in order, with a bounded window of jobs in flight.

XDR decoding is pure Python (0.1-1 s of a core per real ledger), so it runs in a pool of
`workers` processes: the jobs of the next `window` files are submitted ahead and their
batches come back in job order, whatever order the workers finish in. With `workers: 0`
jobs are decoded in the calling thread (tests, measuring one core).

Workers are started with `spawn`: forking a process that runs gRPC threads is unsafe.
A worker that dies (killed, out of memory) breaks the pool: the error names the ledgers.
"""

from __future__ import annotations

import collections
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pyarrow as pa

from stellar_arrow_source.errors import LedgerSourceError
from stellar_arrow_source.ledger_decode import DecodeJob, decode_job

DecodeObserver = Callable[[DecodeJob, pa.RecordBatch, float], None]


class DecodePool:
    """`decoded(jobs)`: the batch of each job, in order; at most `window` jobs in flight."""

    def __init__(self, *, workers: int, window: int, observe: DecodeObserver | None = None) -> None:
        self.workers = workers
        self.window = max(1, window)
        self._observe = observe
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def decoded(self, jobs: Iterable[DecodeJob]) -> Iterator[pa.RecordBatch]:
        if self.workers == 0:
            for job in jobs:
                started = time.perf_counter()
                batch = decode_job(job)
                self._measured(job, batch, time.perf_counter() - started)
                yield batch
            return
        executor = self._pool()
        in_flight: collections.deque[tuple[DecodeJob, Future[pa.RecordBatch], float]]
        in_flight = collections.deque()
        pending = iter(jobs)
        try:
            while True:
                while len(in_flight) < self.window:
                    upcoming = next(pending, None)
                    if upcoming is None:
                        break
                    future = executor.submit(decode_job, upcoming)
                    in_flight.append((upcoming, future, time.perf_counter()))
                if not in_flight:
                    return
                job, future, submitted = in_flight.popleft()
                batch = self._result(job, future)
                self._measured(job, batch, time.perf_counter() - submitted)
                yield batch
        finally:
            for _, future, _ in in_flight:
                future.cancel()

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
                )
            return self._executor

    def _result(self, job: DecodeJob, future: Future[pa.RecordBatch]) -> pa.RecordBatch:
        try:
            return future.result()
        except BrokenProcessPool as e:
            with self._lock:
                self._executor = None  # the next stream starts a new pool
            raise LedgerSourceError(f"{job.what}: a decode worker died ({e})") from None

    def _measured(self, job: DecodeJob, batch: pa.RecordBatch, seconds: float) -> None:
        if self._observe is not None:
            self._observe(job, batch, seconds)
