"""Token transfer events of a real ledger as rows of the TTPEvent schema.

What each column holds for a real ledger is documented in `stellar_common.event_schema`.
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
from stellar_common.event_schema import (
    CONTRACT_TOKEN,
    FEE,
    FEE_OPERATION_INDEX,
    TTP_EVENT_SCHEMA,
    amount_text,
)
from stellar_common.ledger_schema import CREDIT_ALPHANUM4, CREDIT_ALPHANUM12, NATIVE, NATIVE_CODE

from ttp_arrow_processor.events import TokenTransferEvent
from ttp_arrow_processor.strkeys import NATIVE_ASSET

_INT64 = range(-(1 << 63), 1 << 63)


def asset_columns(asset: str | None) -> tuple[str, str | None, str | None]:
    """(asset_type, asset_code, asset_issuer) of `native`, `CODE:ISSUER` or a custom token."""
    if asset is None:
        return CONTRACT_TOKEN, None, None
    if asset == NATIVE_ASSET:
        return NATIVE, NATIVE_CODE, None
    code, _, issuer = asset.partition(":")
    return (CREDIT_ALPHANUM4 if len(code) <= 4 else CREDIT_ALPHANUM12), code, issuer


def event_ids(events: list[TokenTransferEvent]) -> list[str]:
    """`L:T:fee`, `L:T:refund`, `L:T:O:N` (N: the event's 1-based rank in its operation)."""
    ids: list[str] = []
    rank: Counter[tuple[str, int]] = Counter()
    for event in events:
        meta = event.meta
        prefix = f"{meta.ledger_sequence}:{meta.transaction_index}"
        if meta.operation_index is None:
            ids.append(f"{prefix}:{'refund' if event.amount < 0 else 'fee'}")
            continue
        rank[(meta.tx_hash, meta.operation_index)] += 1
        ids.append(f"{prefix}:{meta.operation_index}:{rank[(meta.tx_hash, meta.operation_index)]}")
    return ids


def events_batch(events: list[TokenTransferEvent]) -> pa.RecordBatch:
    columns: dict[str, list[object]] = {field.name: [] for field in TTP_EVENT_SCHEMA}
    columns["event_id"] = list(event_ids(events))
    for event in events:
        meta = event.meta
        asset_type, code, issuer = asset_columns(event.asset)
        row = {
            "ledger_sequence": meta.ledger_sequence,
            "transaction_hash": meta.tx_hash,
            "transaction_index": meta.transaction_index,
            "operation_index": FEE_OPERATION_INDEX
            if meta.operation_index is None
            else meta.operation_index,
            "timestamp": meta.closed_at,
            "event_type": event.kind,
            "operation_type": None if event.kind == FEE else meta.operation_type,
            "asset_type": asset_type,
            "asset_code": code,
            "asset_issuer": issuer,
            "from_account": event.from_address,
            "to_account": event.to_address,
            "amount_raw": event.amount if event.amount in _INT64 else None,
            "amount_str": amount_text(event.amount),
            "source_asset_type": None,
            "source_asset_code": None,
            "source_asset_issuer": None,
            "source_amount_raw": None,
            "successful": meta.successful,
            "fee_charged": meta.fee_charged,
            "contract_address": meta.contract_address,
            "to_muxed_type": meta.to_muxed_info.kind if meta.to_muxed_info else None,
            "to_muxed_value": meta.to_muxed_info.value if meta.to_muxed_info else None,
        }
        for name, value in row.items():
            columns[name].append(value)
    return pa.RecordBatch.from_arrays(
        [pa.array(columns[field.name], field.type) for field in TTP_EVENT_SCHEMA],
        schema=TTP_EVENT_SCHEMA,
    )
