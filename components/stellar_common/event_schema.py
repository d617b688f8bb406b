"""The TTPEvent Arrow schema: one row per token transfer.

Event kinds (`event_type`):
- `fee`: the fee of a transaction, charged whether it succeeded or failed. Its event_id is
  `LEDGER:TX:fee` and its operation_index is -1 (so it sorts before the transaction's
  operations); from_account is the transaction's source, to_account is null (the fee pool).
- `transfer`, `mint`, `burn`: one per successful operation of a transfer kind
  (`operation_type`: payment, path_payment_strict_receive, path_payment_strict_send,
  create_account, account_merge). event_id is `LEDGER:TX:OP` with 0-based transaction
  and operation indexes inside the ledger. A credit asset sent by its issuer is a `mint`,
  one sent to its issuer a `burn`, anything else a `transfer`.

Operations of a failed transaction move nothing, so a failed transaction yields its fee
event only (successful=false). The asset columns describe what to_account received (for a
path payment: the destination asset and amount); source_asset_* and source_amount_raw what
the sender gave up (path payments only). Native XLM has asset_code "XLM" and a null issuer.
amount_raw is int64 stroops; amount_str the same amount in units with 7 decimals.
The processor serves them as the stream `EVENT_STREAM`, which the sink reads.
"""

from __future__ import annotations

import pyarrow as pa

from stellar_common.ledger_schema import CLOSE_TIME_TYPE

EVENT_STREAM = "ttp_events"
FEE = "fee"
TRANSFER = "transfer"
MINT = "mint"
BURN = "burn"
FEE_OPERATION_INDEX = -1

TTP_EVENT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("ledger_sequence", pa.uint32(), nullable=False),
        pa.field("transaction_hash", pa.string(), nullable=False),
        pa.field("transaction_index", pa.uint32(), nullable=False),
        pa.field("operation_index", pa.int32(), nullable=False),
        pa.field("timestamp", CLOSE_TIME_TYPE, nullable=False),
        pa.field("event_type", pa.string(), nullable=False),
        pa.field("operation_type", pa.string()),
        pa.field("asset_type", pa.string(), nullable=False),
        pa.field("asset_code", pa.string(), nullable=False),
        pa.field("asset_issuer", pa.string()),
        pa.field("from_account", pa.string(), nullable=False),
        pa.field("to_account", pa.string()),
        pa.field("amount_raw", pa.int64(), nullable=False),
        pa.field("amount_str", pa.string(), nullable=False),
        pa.field("source_asset_type", pa.string()),
        pa.field("source_asset_code", pa.string()),
        pa.field("source_asset_issuer", pa.string()),
        pa.field("source_amount_raw", pa.int64()),
        pa.field("successful", pa.bool_(), nullable=False),
        pa.field("fee_charged", pa.int64(), nullable=False),
    ],
    metadata={"name": "TTPEvent", "version": "1"},
)


def event_id(ledger: int, transaction_index: int, operation_index: int) -> str:
    """The id of an event, as the processor writes it."""
    suffix = "fee" if operation_index == FEE_OPERATION_INDEX else str(operation_index)
    return f"{ledger}:{transaction_index}:{suffix}"


def amount_text(stroops: int) -> str:
    """Stroops as units with 7 decimals (amounts are never negative on Stellar)."""
    return f"{stroops // 10_000_000}.{stroops % 10_000_000:07d}"
