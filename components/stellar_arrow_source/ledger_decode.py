"""Raw ledgers to StellarLedger rows: the work of one decode job, in a worker process.

A job is one data-store object (zstd-compressed XDR `LedgerCloseMetaBatch`) or a run of
`LedgerCloseMeta` values (RPC's base64 `metadataXdr`, decoded). Each meta is decoded with
stellar-sdk's XDR classes; its raw bytes are kept as they were inside the batch (the
`ledger_close_meta` column), cut at the positions the XDR reader passed, never re-encoded.

Anything that does not decode (truncated zstd, corrupt XDR, a sequence other than the one
the object's key or the request promised) raises LedgerDataError naming the ledgers and
where they came from. The job never returns fewer ledgers than it was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import zstandard
from stellar_common.ledger_schema import LEDGER_CLOSE_META, STELLAR_LEDGER_SCHEMA
from stellar_common.xdr import meta_body, network_id
from stellar_sdk import xdr as x
from xdrlib3 import Unpacker

from stellar_arrow_source.errors import LedgerDataError
from stellar_arrow_source.ledger_transactions import transaction_rows


@dataclass(frozen=True)
class DecodeJob:
    """Ledgers first..last, from `origin` (a key in a store, or an RPC URL: for errors).

    `compressed` holds a zstd LedgerCloseMetaBatch; else `metas` holds the raw XDR of
    each LedgerCloseMeta, in order."""

    first: int
    last: int
    origin: str
    network_passphrase: str
    compressed: bytes | None = None
    metas: tuple[bytes, ...] = ()

    @property
    def what(self) -> str:
        span = (
            f"ledger {self.first}"
            if self.first == self.last
            else (f"ledgers {self.first}-{self.last}")
        )
        return f"{span} ({self.origin})"


def decode_job(job: DecodeJob) -> pa.RecordBatch:
    """The StellarLedger rows of every ledger of the job, in order."""
    try:
        if job.compressed is not None:
            metas = split_batch(decompress(job.compressed), job)
        else:
            metas = [(raw, x.LedgerCloseMeta.from_xdr_bytes(raw)) for raw in job.metas]
        rows = [ledger_row(meta, raw, job.network_passphrase) for raw, meta in metas]
    except LedgerDataError:
        raise
    except Exception as e:  # the XDR and zstd readers raise many kinds; all mean "corrupt"
        raise LedgerDataError(f"{job.what}: cannot decode: {e}") from None
    _check_sequences([row["sequence"] for row in rows], job)
    return pa.RecordBatch.from_pylist(rows, schema=STELLAR_LEDGER_SCHEMA)


def _check_sequences(sequences: list[int], job: DecodeJob) -> None:
    """Consecutive ledgers inside the job's range; all of it for RPC, where the request
    named them. (A store's first object may start after its key's first ledger: there is
    no ledger 0 or 1 meta.)"""
    consecutive = bool(sequences) and sequences == list(range(sequences[0], sequences[-1] + 1))
    inside = consecutive and job.first <= sequences[0] and sequences[-1] <= job.last
    whole = inside and (job.compressed is not None or sequences[0] == job.first)
    if not (whole and sequences[-1] == job.last):
        shown = ", ".join(map(str, sequences[:3])) + (" ..." if len(sequences) > 3 else "")
        raise LedgerDataError(f"{job.what}: holds ledgers [{shown}], not {job.first}-{job.last}")


def decompress(data: bytes) -> bytes:
    """One whole zstd frame; a truncated one is an error (not a shorter output)."""
    reader = zstandard.ZstdDecompressor().decompressobj()
    out = reader.decompress(data)
    if not reader.eof:
        raise ValueError("truncated zstd data (the frame does not end)")
    return out


def split_batch(raw: bytes, job: DecodeJob) -> list[tuple[bytes, x.LedgerCloseMeta]]:
    """Each LedgerCloseMeta of a LedgerCloseMetaBatch, with its own bytes."""
    reader = Unpacker(raw)
    start = reader.unpack_uint()
    end = reader.unpack_uint()
    if not job.first <= start <= end == job.last:
        raise LedgerDataError(
            f"{job.what}: the batch says ledgers {start}-{end}, its key {job.first}-{job.last}"
        )
    count = reader.unpack_uint()
    metas = []
    for _ in range(count):
        begin = reader.get_position()
        meta = x.LedgerCloseMeta.unpack(reader)
        metas.append((raw[begin : reader.get_position()], meta))
    reader.done()  # raises when bytes are left over
    return metas


def ledger_row(meta: x.LedgerCloseMeta, raw: bytes, passphrase: str) -> dict[str, Any]:
    """The StellarLedger row of one ledger; `raw` is its LedgerCloseMeta XDR."""
    version = meta_body(meta)
    entry = version.ledger_header
    header = entry.header
    processing: Sequence[x.TransactionResultMeta | x.TransactionResultMetaV1] = (
        version.tx_processing
    )
    transactions = transaction_rows(version.tx_set, processing, network_id(passphrase))
    failed = sum(1 for tx in transactions if not tx["successful"])
    return {
        "sequence": header.ledger_seq.uint32,
        "hash": entry.hash.hash.hex(),
        "previous_hash": header.previous_ledger_hash.hash.hex(),
        "close_time": datetime.fromtimestamp(header.scp_value.close_time.time_point.uint64, UTC),
        "protocol_version": header.ledger_version.uint32,
        "transaction_count": len(transactions),
        "successful_transaction_count": len(transactions) - failed,
        "failed_transaction_count": failed,
        "operation_count": sum(tx["operation_count"] for tx in transactions),
        "total_fees": sum(tx["fee_charged"] for tx in transactions),
        "base_fee": header.base_fee.uint32,
        "transactions": transactions,
        LEDGER_CLOSE_META: raw,
    }
