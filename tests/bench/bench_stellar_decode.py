"""Decoding real Stellar ledgers (pytest-benchmark): run with

    .venv/bin/pytest -m bench -p no:randomly tests/bench/bench_stellar_decode.py

Ledgers decoded per second, from the zstd object (or the raw LedgerCloseMeta for the
protocol-28 stream) to StellarLedger rows, on each fixture:
- per core: decode jobs in this process (`decode_workers: 0`);
- with the worker pool the source uses (DecodePool, `decode_workers` processes, a window
  of 2 x workers jobs in flight, results in order), started before the measure.
The fixtures: pubnet 53312000 (protocol 21, 163 transactions), testnet 997-999
(protocol 20, 3-7 transactions), the 30 protocol-28 load-test ledgers (~1.3 MB each,
~490 Soroban transactions; network "Apply Load").
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fixtures.stellar_ledgers import LOAD_TEST_PASSPHRASE, ROOT, load_test_ledgers
from stellar_arrow_source.datastore_reader import DataStoreReader
from stellar_arrow_source.decode_pool import DecodePool
from stellar_arrow_source.ledger_decode import DecodeJob, decode_job
from stellar_arrow_source.networks import PUBNET_PASSPHRASE, TESTNET_PASSPHRASE
from stellar_arrow_source.retrying import RetryPolicy
from stellar_sdk import xdr

WORKERS = int(os.environ.get("STELLAR_DECODE_WORKERS", str(os.cpu_count() or 1)))
pytestmark = pytest.mark.timeout(600)


def store_jobs(folder: str, passphrase: str, first: int, last: int) -> list[DecodeJob]:
    reader = DataStoreReader(
        str(ROOT / folder), passphrase, retry=RetryPolicy(), stopping=threading.Event()
    )
    return list(reader.jobs(first, last))


def load_test_jobs() -> list[DecodeJob]:
    """One job per ledger of the length-framed XDR stream (fixtures/stellar_ledgers.py)."""
    jobs = []
    for meta in load_test_ledgers():
        decoded = xdr.LedgerCloseMeta.from_xdr_bytes(meta)  # setup: only for the sequence
        version = decoded.v2 or decoded.v1 or decoded.v0
        assert version is not None
        sequence = version.ledger_header.header.ledger_seq.uint32
        jobs.append(DecodeJob(sequence, sequence, "load-test", LOAD_TEST_PASSPHRASE, metas=(meta,)))
    return jobs


@functools.cache
def fixture_jobs() -> dict[str, list[DecodeJob]]:
    return {
        "pubnet_53312000": store_jobs("pubnet-53312000", PUBNET_PASSPHRASE, 53312000, 53312000),
        "testnet_997_999": store_jobs("testnet-testbucket", TESTNET_PASSPHRASE, 997, 999),
        "protocol28_load_test": load_test_jobs(),
    }


@pytest.fixture(scope="module")
def results(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    figures: dict[str, Any] = {"workers": WORKERS, "cpu_count": os.cpu_count()}
    yield figures
    text = "stellar decode figures (ledgers/s):\n" + json.dumps(figures, indent=2)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n" + text)


@pytest.fixture(scope="module")
def pool() -> Iterator[DecodePool]:
    decoder = DecodePool(workers=WORKERS, window=2 * WORKERS)
    try:
        yield decoder
    finally:
        decoder.close()


@pytest.mark.bench
@pytest.mark.parametrize("fixture", ["pubnet_53312000", "testnet_997_999", "protocol28_load_test"])
def test_ledgers_decoded_per_second_per_core(
    benchmark: Any, fixture: str, results: dict[str, Any]
) -> None:
    jobs = fixture_jobs()[fixture]
    ledgers = sum(job.last - job.first + 1 for job in jobs)

    def decode_all() -> int:
        return sum(decode_job(job).num_rows for job in jobs)

    rounds = 3 if fixture == "protocol28_load_test" else 10
    assert benchmark.pedantic(decode_all, rounds=rounds, iterations=1, warmup_rounds=1) == ledgers
    rate = ledgers / benchmark.stats.stats.median
    results[f"{fixture}_per_core"] = round(rate, 2)
    benchmark.extra_info["ledgers_per_second"] = rate


@pytest.mark.bench
@pytest.mark.parametrize("fixture", ["pubnet_53312000", "protocol28_load_test"])
def test_ledgers_decoded_per_second_with_the_pool(
    benchmark: Any, fixture: str, pool: DecodePool, results: dict[str, Any]
) -> None:
    jobs = fixture_jobs()[fixture]
    if len(jobs) < 4 * WORKERS:  # one ledger: decode copies of it, to fill every worker
        jobs = jobs * (8 * WORKERS)
    ledgers = sum(job.last - job.first + 1 for job in jobs)
    list(pool.decoded(jobs[:WORKERS]))  # the workers are up and have imported stellar-sdk

    def decode_all() -> int:
        return sum(batch.num_rows for batch in pool.decoded(jobs))

    assert benchmark.pedantic(decode_all, rounds=3, iterations=1) == ledgers
    rate = ledgers / benchmark.stats.stats.median
    results[f"{fixture}_pool_of_{WORKERS}"] = round(rate, 2)
    benchmark.extra_info["ledgers_per_second"] = rate
