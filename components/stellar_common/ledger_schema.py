"""The StellarLedger Arrow schema: one row per closed ledger.

Ledger-level columns keep the public project's names (sequence, hash, previous_hash,
close_time, protocol_version, the transaction and operation counts, total_fees,
base_fee). What the token-transfer processor needs from inside a ledger travels in one
nested column, `transactions`: a list, in application order, of transaction structs, each
with its own list of operation structs.

Operations of every kind share one flat struct (a tagged union by `type`): a field that
does not apply to a kind is null. The asset fields describe what the destination receives;
the `source_asset_*` fields and `source_amount` what the sender gave up, filled only for
path payments. Amounts are int64 stroops (1 XLM = 10,000,000 stroops). For
`account_merge`, `amount` is the merged balance (in the real network it comes from the
operation result). Hashes are lowercase hex; accounts are G... strkeys.

`ledger_close_meta` is the raw XDR of the ledger's `LedgerCloseMeta` (the value as it is
inside the data store's `LedgerCloseMetaBatch`, or RPC's `metadataXdr` decoded from base64),
null for synthetic ledgers. The other columns are read from it for real ledgers.

Batches of this schema are always whole ledgers (a ledger is a row), in ascending
sequence order with no gap. The source serves them as the stream `LEDGER_STREAM`.
"""

from __future__ import annotations

import pyarrow as pa

LEDGER_STREAM = "ledgers"

NATIVE = "native"
CREDIT_ALPHANUM4 = "credit_alphanum4"
CREDIT_ALPHANUM12 = "credit_alphanum12"
NATIVE_CODE = "XLM"
STROOPS_PER_UNIT = 10_000_000

PAYMENT = "payment"
PATH_PAYMENT_STRICT_RECEIVE = "path_payment_strict_receive"
PATH_PAYMENT_STRICT_SEND = "path_payment_strict_send"
CREATE_ACCOUNT = "create_account"
ACCOUNT_MERGE = "account_merge"
TRANSFER_OPERATION_TYPES = (
    PAYMENT,
    PATH_PAYMENT_STRICT_RECEIVE,
    PATH_PAYMENT_STRICT_SEND,
    CREATE_ACCOUNT,
    ACCOUNT_MERGE,
)

CLOSE_TIME_TYPE = pa.timestamp("us", tz="UTC")
LEDGER_CLOSE_META = "ledger_close_meta"

OPERATION_TYPE = pa.struct(
    [
        pa.field("type", pa.string(), nullable=False),
        pa.field("source_account", pa.string()),  # null: the transaction's source
        pa.field("destination", pa.string()),
        pa.field("asset_type", pa.string()),
        pa.field("asset_code", pa.string()),
        pa.field("asset_issuer", pa.string()),
        pa.field("amount", pa.int64()),
        pa.field("source_asset_type", pa.string()),
        pa.field("source_asset_code", pa.string()),
        pa.field("source_asset_issuer", pa.string()),
        pa.field("source_amount", pa.int64()),
    ]
)

TRANSACTION_TYPE = pa.struct(
    [
        pa.field("hash", pa.string(), nullable=False),
        pa.field("source_account", pa.string(), nullable=False),
        pa.field("successful", pa.bool_(), nullable=False),
        pa.field("fee_charged", pa.int64(), nullable=False),
        pa.field("max_fee", pa.int64(), nullable=False),
        pa.field("operation_count", pa.uint32(), nullable=False),
        pa.field("operations", pa.list_(pa.field("item", OPERATION_TYPE, nullable=False))),
    ]
)

STELLAR_LEDGER_SCHEMA = pa.schema(
    [
        pa.field("sequence", pa.uint32(), nullable=False),
        pa.field("hash", pa.string(), nullable=False),
        pa.field("previous_hash", pa.string(), nullable=False),
        pa.field("close_time", CLOSE_TIME_TYPE, nullable=False),
        pa.field("protocol_version", pa.uint32(), nullable=False),
        pa.field("transaction_count", pa.uint32(), nullable=False),
        pa.field("successful_transaction_count", pa.uint32(), nullable=False),
        pa.field("failed_transaction_count", pa.uint32(), nullable=False),
        pa.field("operation_count", pa.uint32(), nullable=False),
        pa.field("total_fees", pa.int64(), nullable=False),
        pa.field("base_fee", pa.uint32(), nullable=False),
        pa.field("transactions", pa.list_(pa.field("item", TRANSACTION_TYPE, nullable=False))),
        # The raw XDR of the ledger's `LedgerCloseMeta` (as inside its LedgerCloseMetaBatch),
        # for processors that read the real ledger; null for synthetic ledgers.
        pa.field(LEDGER_CLOSE_META, pa.binary()),
    ],
    metadata={"name": "StellarLedger", "version": "2"},
)


def ledger_range(batch: pa.RecordBatch) -> tuple[int, int]:
    """First and last sequence of a non-empty ledger batch (rows are in order)."""
    sequences = batch.column("sequence")
    return int(sequences[0].as_py()), int(sequences[len(sequences) - 1].as_py())


def empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    """A record batch of `schema` with no row."""
    return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema)
