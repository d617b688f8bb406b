"""The `transactions` column of a real ledger, read from its `LedgerCloseMeta`.

The meta lists results in application order (`tx_processing`) and envelopes in the
transaction set, in another order; they are joined by the transaction hash
(`stellar_common.xdr.transaction_hash`), so the network passphrase is needed.

Operations carry their type and source; payment, create_account, path payments and
account_merge also their destination, asset and amount as the schema describes (what the
destination receives: path payment strict send and account_merge amounts come from the
operation result, so they are null when the transaction failed; a strict receive's
`source_amount` is not derived from its offers and stays null). Other kinds keep only type
and source: the processor reads the raw `ledger_close_meta` for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stellar_common.xdr import (
    account_id,
    envelopes,
    muxed_base,
    operation_results,
    succeeded,
    transaction_hash,
)
from stellar_sdk import StrKey
from stellar_sdk import xdr as x

from stellar_arrow_source.xdr_values import AssetColumns, asset_columns

Row = dict[str, Any]


def transaction_rows(
    tx_set: x.TransactionSet | x.GeneralizedTransactionSet,
    processing: Sequence[x.TransactionResultMeta | x.TransactionResultMetaV1],
    network: bytes,
) -> list[Row]:
    """One row per transaction, in application order."""
    by_hash = {transaction_hash(e, network): e for e in envelopes(tx_set)}
    rows = []
    for applied in processing:
        pair = applied.result
        tx_hash = pair.transaction_hash.hash
        envelope = by_hash.get(tx_hash)
        if envelope is None:
            raise ValueError(
                f"transaction {tx_hash.hex()} has a result but no envelope in the "
                "transaction set (is the network passphrase the ledger's?)"
            )
        rows.append(_transaction_row(tx_hash, envelope, pair.result))
    return rows


def _transaction_row(
    tx_hash: bytes, envelope: x.TransactionEnvelope, result: x.TransactionResult
) -> Row:
    source, operations, max_fee = _envelope_parts(envelope)
    op_results = operation_results(result)
    return {
        "hash": tx_hash.hex(),
        "source_account": source,
        "successful": succeeded(result),
        "fee_charged": result.fee_charged.int64,
        "max_fee": max_fee,
        "operation_count": len(operations),
        "operations": [
            _operation_row(op, op_results[i] if i < len(op_results) else None)
            for i, op in enumerate(operations)
        ],
    }


def _envelope_parts(envelope: x.TransactionEnvelope) -> tuple[str, Sequence[x.Operation], int]:
    """Source account, operations and the fee the sender bid (a fee bump's outer fee)."""
    if envelope.v1 is not None:
        tx = envelope.v1.tx
        return muxed_base(tx.source_account), tx.operations, tx.fee.uint32
    if envelope.v0 is not None:
        tx0 = envelope.v0.tx
        source = StrKey.encode_ed25519_public_key(tx0.source_account_ed25519.uint256)
        return source, tx0.operations, tx0.fee.uint32
    assert envelope.fee_bump is not None
    bump = envelope.fee_bump.tx
    inner = bump.inner_tx.v1
    assert inner is not None
    return muxed_base(inner.tx.source_account), inner.tx.operations, bump.fee.int64


def _operation_row(op: x.Operation, result: x.OperationResult | None) -> Row:
    body = op.body
    kind = body.type.name.lower()
    row: Row = {
        "type": kind,
        "source_account": muxed_base(op.source_account) if op.source_account else None,
    }
    tr = result.tr if result is not None and result.code == x.OperationResultCode.opINNER else None
    if body.payment_op is not None:
        pay = body.payment_op
        _set(row, muxed_base(pay.destination), asset_columns(pay.asset), pay.amount.int64)
    elif body.create_account_op is not None:
        create = body.create_account_op
        native = asset_columns(x.Asset(x.AssetType.ASSET_TYPE_NATIVE))
        _set(row, account_id(create.destination), native, create.starting_balance.int64)
    elif body.path_payment_strict_receive_op is not None:
        receive = body.path_payment_strict_receive_op
        _set(
            row,
            muxed_base(receive.destination),
            asset_columns(receive.dest_asset),
            receive.dest_amount.int64,
        )
        _set_source(row, asset_columns(receive.send_asset), None)
    elif body.path_payment_strict_send_op is not None:
        send = body.path_payment_strict_send_op
        sent = tr.path_payment_strict_send_result if tr is not None else None
        received = sent.success.last.amount.int64 if sent and sent.success else None
        _set(row, muxed_base(send.destination), asset_columns(send.dest_asset), received)
        _set_source(row, asset_columns(send.send_asset), send.send_amount.int64)
    elif body.destination is not None:  # account_merge
        merged = tr.account_merge_result if tr is not None else None
        balance = merged.source_account_balance if merged is not None else None
        native = asset_columns(x.Asset(x.AssetType.ASSET_TYPE_NATIVE))
        _set(row, muxed_base(body.destination), native, balance.int64 if balance else None)
    return row


def _set(row: Row, destination: str, asset: AssetColumns, amount: int | None) -> None:
    row["destination"] = destination
    row["asset_type"], row["asset_code"], row["asset_issuer"] = asset
    row["amount"] = amount


def _set_source(row: Row, asset: AssetColumns, amount: int | None) -> None:
    row["source_asset_type"], row["source_asset_code"], row["source_asset_issuer"] = asset
    row["source_amount"] = amount
