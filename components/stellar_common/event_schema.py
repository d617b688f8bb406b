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

Real ledgers (a ledger row with `ledger_close_meta`) give the events of stellar/go's token
transfer processor (`processors/token_transfer`), with these differences from the above:
- indexes are SEP-35's: `transaction_index` and `operation_index` are 1-based, a fee's
  operation_index is still -1; event_id is `LEDGER:TX:fee` for a fee, `LEDGER:TX:refund`
  for a Soroban fee refund, `LEDGER:TX:OP:N` for the N-th (1-based) event of an operation
  (a path payment has one per offer crossed, and the final one);
- `clawback` joins the event types; a refund is a `fee` with a negative amount;
- `fee`, `burn` and `clawback` have a from_account and no to_account, `mint` a to_account
  and no from_account, `transfer` both; an account, or a claimable balance (B...), a
  liquidity pool (L...), a contract (C...);
- `contract_address` is the asset's Stellar Asset Contract (C...) on the ledger's network,
  or, for a Soroban event, the emitting contract; a SEP-41 token event of a contract that
  is no Stellar Asset Contract has asset_type `contract` and no code or issuer;
- `to_muxed_type` (`id`, `text`, `hash`) and `to_muxed_value`: CAP-67 destination
  multiplexing (the M... account's id, or the transaction memo);
- amount_raw is null when an amount does not fit int64 (a custom token's i128);
  amount_str is always exact; the source_* columns are null (an event moves one asset).
"""

from __future__ import annotations

import pyarrow as pa

from stellar_common.ledger_schema import CLOSE_TIME_TYPE

EVENT_STREAM = "ttp_events"
FEE = "fee"
TRANSFER = "transfer"
MINT = "mint"
BURN = "burn"
CLAWBACK = "clawback"
CONTRACT_TOKEN = "contract"  # asset_type of a SEP-41 token that is no Stellar Asset Contract
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
        pa.field("asset_code", pa.string()),
        pa.field("asset_issuer", pa.string()),
        pa.field("from_account", pa.string()),
        pa.field("to_account", pa.string()),
        pa.field("amount_raw", pa.int64()),
        pa.field("amount_str", pa.string(), nullable=False),
        pa.field("source_asset_type", pa.string()),
        pa.field("source_asset_code", pa.string()),
        pa.field("source_asset_issuer", pa.string()),
        pa.field("source_amount_raw", pa.int64()),
        pa.field("successful", pa.bool_(), nullable=False),
        pa.field("fee_charged", pa.int64(), nullable=False),
        pa.field("contract_address", pa.string()),
        pa.field("to_muxed_type", pa.string()),
        pa.field("to_muxed_value", pa.string()),
    ],
    metadata={"name": "TTPEvent", "version": "2"},
)


def event_id(ledger: int, transaction_index: int, operation_index: int) -> str:
    """The id of an event, as the processor writes it."""
    suffix = "fee" if operation_index == FEE_OPERATION_INDEX else str(operation_index)
    return f"{ledger}:{transaction_index}:{suffix}"


def amount_text(stroops: int) -> str:
    """Stroops as units with 7 decimals; negative only for a fee refund."""
    sign = "-" if stroops < 0 else ""
    units, fraction = divmod(abs(stroops), 10_000_000)
    return f"{sign}{units}.{fraction:07d}"
