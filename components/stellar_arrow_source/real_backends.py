"""Build the datastore or rpc backend from the config, with its decode pool and metrics."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
from prometheus_client import CollectorRegistry, Counter, Histogram

from stellar_arrow_source.datastore_reader import DataStoreReader
from stellar_arrow_source.decode_pool import DecodePool
from stellar_arrow_source.ledger_decode import DecodeJob
from stellar_arrow_source.real_ledgers import JobReader, RealLedgers
from stellar_arrow_source.rpc_reader import RpcReader
from stellar_arrow_source.source_config import RealLedgerConfig

_DECODE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def store_url(url: str, spec_dir: str) -> str:
    """A folder relative to the spec's folder, made absolute; URLs as they are."""
    if "://" in url:
        return url
    path = Path(url).expanduser()
    return str(path if path.is_absolute() else Path(spec_dir) / path)


def open_real_ledgers(
    backend: str,
    cfg: RealLedgerConfig,
    spec_dir: str,
    stopping: threading.Event,
    registry: CollectorRegistry,
) -> RealLedgers:
    reader: JobReader
    if backend == "datastore":
        reader = DataStoreReader(
            store_url(cfg.datastore_url, spec_dir),
            cfg.network_passphrase,
            retry=cfg.retry,
            stopping=stopping,
            prefetch=cfg.decode_window,
            poll_seconds=cfg.poll_seconds,
        )
    else:
        reader = RpcReader(
            cfg.rpc_url,
            cfg.network_passphrase,
            retry=cfg.retry,
            stopping=stopping,
            page_size=cfg.rpc_page_size,
            poll_seconds=cfg.poll_seconds,
        )
    decode_seconds = Histogram(
        "stellar_source_decode_seconds",
        "Time from submitting an object (or RPC page) to the decode pool to its ledgers",
        registry=registry,
        buckets=_DECODE_BUCKETS,
    )
    decoded = Counter(
        "stellar_source_ledgers_decoded", "Real ledgers decoded from XDR", registry=registry
    )

    def observe(job: DecodeJob, batch: pa.RecordBatch, seconds: float) -> None:
        decode_seconds.observe(seconds)
        decoded.inc(batch.num_rows)

    pool = DecodePool(workers=cfg.decode_workers, window=cfg.decode_window, observe=observe)
    return RealLedgers(reader, pool)
