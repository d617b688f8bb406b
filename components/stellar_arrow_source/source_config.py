"""The source's `config`, read and checked once at start (errors name the key: exit 2).

Every backend: backend (synthetic|parquet|datastore|rpc), start_ledger, end_ledger (0:
without end; real backends then follow the tip), ledgers_per_second (0: unpaced),
batch_size. synthetic: seed, genesis_time (ISO 8601, close time of ledger 1),
close_interval_seconds. parquet: parquet_path (relative to the spec's folder).
datastore: datastore_url (a folder, relative to the spec's folder, or a URL fsspec opens:
file://, https://, s3://, gs://), network. rpc: rpc_url, network, rpc_page_size (ledgers
per getLedgers request). Real backends: decode_workers (processes decoding XDR; 0: in
the serving thread), decode_window (objects or pages in flight), max_retries and
retry_cap_seconds (network errors), poll_seconds (the longest wait between two looks for
a ledger not closed yet).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flowctl import options

from stellar_arrow_source.generator import DEFAULT_GENESIS
from stellar_arrow_source.networks import network_passphrase
from stellar_arrow_source.retrying import RetryPolicy

BACKENDS = ("synthetic", "parquet", "datastore", "rpc")
REAL_BACKENDS = ("datastore", "rpc")
# Ledgers per batch at most (~13,500 events of synthetic ledgers). Bigger batches save
# little CPU (2000: ~7% of the generator's, measured) and count more ledgers in flight at
# the processor: at 1000 its load reaches 1.0 of the default max_inflight.
DEFAULT_BATCH_SIZE = 500


def _default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@dataclass(frozen=True)
class RealLedgerConfig:
    """What only the datastore and rpc backends read."""

    network_passphrase: str
    datastore_url: str
    rpc_url: str
    rpc_page_size: int
    decode_workers: int
    decode_window: int
    retry: RetryPolicy
    poll_seconds: float

    @classmethod
    def parse(cls, config: Mapping[str, Any], backend: str) -> RealLedgerConfig:
        workers = options.integer(config, "decode_workers", _default_workers())
        parsed = cls(
            network_passphrase=network_passphrase(config, backend),
            datastore_url=options.text(config, "datastore_url", ""),
            rpc_url=options.text(config, "rpc_url", ""),
            rpc_page_size=options.integer(config, "rpc_page_size", 10, minimum=1),
            decode_workers=workers,
            decode_window=options.integer(config, "decode_window", 2 * max(workers, 1), minimum=1),
            retry=RetryPolicy(
                attempts=options.integer(config, "max_retries", 6, minimum=1),
                cap_seconds=options.number(config, "retry_cap_seconds", 10.0),
            ),
            poll_seconds=options.number(config, "poll_seconds", 2.0, minimum=0.05),
        )
        if backend == "datastore" and not parsed.datastore_url:
            raise options.ConfigError(
                "config.datastore_url is required with backend: datastore "
                "(a folder or a URL: file://, https://, s3://, gs://)"
            )
        if backend == "rpc" and not parsed.rpc_url.startswith(("http://", "https://")):
            raise options.ConfigError(
                f"config.rpc_url={parsed.rpc_url!r}: expected the http(s):// URL of a "
                "Stellar RPC server with backend: rpc"
            )
        if parsed.rpc_page_size > 200:
            raise options.ConfigError(
                f"config.rpc_page_size={parsed.rpc_page_size}: Stellar RPC answers 200 "
                "ledgers per request at most"
            )
        return parsed


@dataclass(frozen=True)
class SourceConfig:
    backend: str
    seed: int
    start_ledger: int
    end_ledger: int
    ledgers_per_second: float
    batch_size: int
    parquet_path: str
    genesis_time: datetime
    close_interval_seconds: float
    real: RealLedgerConfig | None = None

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> SourceConfig:
        genesis = options.text(config, "genesis_time", DEFAULT_GENESIS.isoformat())
        try:
            genesis_time = datetime.fromisoformat(genesis.replace("Z", "+00:00"))
        except ValueError as e:
            raise options.ConfigError(f"config.genesis_time={genesis!r}: not ISO 8601") from e
        backend = options.choice(config, "backend", "synthetic", BACKENDS)
        parsed = cls(
            backend=backend,
            seed=options.integer(config, "seed", 1),
            start_ledger=options.integer(config, "start_ledger", 1, minimum=1),
            end_ledger=options.integer(config, "end_ledger", 0),
            ledgers_per_second=options.number(config, "ledgers_per_second", 0.0),
            batch_size=options.integer(config, "batch_size", DEFAULT_BATCH_SIZE, minimum=1),
            parquet_path=options.text(config, "parquet_path", ""),
            genesis_time=genesis_time,
            close_interval_seconds=options.number(config, "close_interval_seconds", 5.0),
            real=RealLedgerConfig.parse(config, backend) if backend in REAL_BACKENDS else None,
        )
        if parsed.end_ledger and parsed.end_ledger < parsed.start_ledger:
            raise options.ConfigError(
                f"config.end_ledger={parsed.end_ledger} is before start_ledger="
                f"{parsed.start_ledger} (0 means no end)"
            )
        if parsed.backend == "parquet" and not parsed.parquet_path:
            raise options.ConfigError("config.parquet_path is required with backend: parquet")
        return parsed
