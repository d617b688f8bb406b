"""Ledger batch -> token transfer event batch, vectorised with pyarrow.compute.

The nested `transactions` / `operations` lists are flattened once; every event column is
then computed for the whole batch by array kernels, never row by row. Events come out in
ledger order, then transaction order, the fee first, then the operations in order
(see `stellar_common.event_schema` for what each event means).

Operations of a kind that is not a transfer (manage_data, clawback, a type this processor
has never heard of...) are counted by type and skipped; a transfer operation missing its
destination or amount is counted as malformed and skipped. Neither stops the stream.
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pyarrow.compute as pc
from stellar_common import vectors as v
from stellar_common.event_schema import (
    BURN,
    FEE,
    FEE_OPERATION_INDEX,
    MINT,
    TRANSFER,
    TTP_EVENT_SCHEMA,
)
from stellar_common.ledger_schema import (
    LEDGER_CLOSE_META,
    NATIVE,
    NATIVE_CODE,
    TRANSFER_OPERATION_TYPES,
)

from ttp_arrow_processor.extract_stats import ExtractStats
from ttp_arrow_processor.real_ledgers import RealLedgerExtractor

__all__ = ["ExtractStats", "extract_events"]

_KNOWN_TYPES = pa.array(TRANSFER_OPERATION_TYPES, pa.string())
_STROOPS = pa.scalar(10_000_000, pa.int64())


def _text(value: str) -> pa.Scalar:
    # Typed scalars: pyarrow infers the type of a bare Python value at a cost of ~0.1 ms
    # per call (it probes for optional modules), which adds up over a batch's kernels.
    return pa.scalar(value, pa.string())


_FALSE = pa.scalar(False, pa.bool_())
_ONE = pa.scalar(1, v.UINT64)
_FEE = _text(FEE)
_EVENT_TYPES = pa.array([TRANSFER, MINT, BURN, FEE], pa.string())
_TRANSFER_INDEX, _MINT_INDEX, _BURN_INDEX, _FEE_TYPE_INDEX = (
    pa.scalar(index, pa.int8()) for index in range(4)
)
_NATIVE, _NATIVE_CODE = _text(NATIVE), _text(NATIVE_CODE)
_FEE_INDEX = pa.scalar(FEE_OPERATION_INDEX, pa.int32())
_ZERO = pa.scalar(0, v.UINT64)
_NULL_INDEX = pa.scalar(None, v.UINT64)
_DOT, _COLON = _text("."), _text(":")
_REAL_LEDGER_ONLY = ("contract_address", "to_muxed_type", "to_muxed_value")


def _offsets(lists: pa.Array) -> pa.Array:
    """A list array's offsets as uint64 from 0 (a sliced array's do not start at 0)."""
    offsets = lists.offsets
    return pc.subtract(offsets, offsets[0]).cast(v.UINT64)


def _amount_strings(amounts: pa.Array) -> pa.Array:
    units = pc.divide(amounts, _STROOPS).cast(pa.string())
    fraction = pc.utf8_lpad(pc.modulo(amounts, _STROOPS).cast(pa.string()), width=7, padding="0")
    return pc.binary_join_element_wise(units, fraction, _DOT)


def _event_ids(ledgers: pa.Array, transactions: pa.Array, operations: pa.Array) -> pa.Array:
    is_fee = pc.equal(operations, _FEE_INDEX)
    op_text = pc.if_else(is_fee, _FEE, operations.cast(pa.string()))
    return pc.binary_join_element_wise(
        ledgers.cast(pa.string()), transactions.cast(pa.string()), op_text, _COLON
    )


def _event_types(op: pa.Array, sender: pa.Array, receiver: pa.Array, issuer: pa.Array) -> pa.Array:
    # Decided as an index into the four names, then gathered: one string copy, not three.
    mint = pc.fill_null(pc.equal(sender, issuer), _FALSE)
    burn = pc.fill_null(pc.equal(receiver, issuer), _FALSE)
    kind = pc.if_else(mint, _MINT_INDEX, pc.if_else(burn, _BURN_INDEX, _TRANSFER_INDEX))
    return _EVENT_TYPES.take(pc.if_else(pc.is_null(op), _FEE_TYPE_INDEX, kind))


def _event_order(op_offsets: pa.Array, keep: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Per event, in output order: its transaction and its operation (null for a fee).

    A transaction's events are its fee, then its kept operations: with the count of
    each transaction's events as list offsets, every event finds its transaction and
    its rank among the kept operations without a sort.
    """
    kept_before = v.offsets(v.span_sums(keep, op_offsets))
    event_offsets = pc.add(kept_before, v.arange(len(kept_before)))
    tx = v.parents(event_offsets)
    slot = v.positions(event_offsets, tx)  # 0: the fee
    rank = pc.subtract(pc.add(kept_before.take(tx), slot), _ONE)
    rank = pc.if_else(pc.equal(slot, _ZERO), _NULL_INDEX, rank)
    return tx, pc.indices_nonzero(keep).take(rank)


def _gather(
    ledgers: pa.RecordBatch, txs: pa.StructArray, ops: pa.StructArray, keep: pa.Array
) -> dict[str, pa.Array]:
    """Every event column but event_id and amount_str."""
    tx_offsets = _offsets(ledgers.column("transactions"))
    op_offsets = _offsets(txs.field("operations"))
    tx, op = _event_order(op_offsets, keep)
    ledger = v.parents(tx_offsets).take(tx)
    sender = pc.coalesce(ops.field("source_account").take(op), txs.field("source_account").take(tx))
    receiver = ops.field("destination").take(op)
    issuer = ops.field("asset_issuer").take(op)
    fee = txs.field("fee_charged").take(tx)
    op_index = pc.subtract(op, op_offsets.take(tx)).cast(pa.int32())
    return {
        "ledger_sequence": ledgers.column("sequence").take(ledger),
        "transaction_hash": txs.field("hash").take(tx),
        "transaction_index": pc.subtract(tx, tx_offsets.take(ledger)),
        "operation_index": pc.fill_null(op_index, _FEE_INDEX),
        "timestamp": ledgers.column("close_time").take(ledger),
        "event_type": _event_types(op, sender, receiver, issuer),
        "operation_type": ops.field("type").take(op),
        "asset_type": pc.fill_null(ops.field("asset_type").take(op), _NATIVE),
        "asset_code": pc.fill_null(ops.field("asset_code").take(op), _NATIVE_CODE),
        "asset_issuer": issuer,
        "from_account": sender,
        "to_account": receiver,
        "amount_raw": pc.coalesce(ops.field("amount").take(op), fee),
        "source_asset_type": ops.field("source_asset_type").take(op),
        "source_asset_code": ops.field("source_asset_code").take(op),
        "source_asset_issuer": ops.field("source_asset_issuer").take(op),
        "source_amount_raw": ops.field("source_amount").take(op),
        "successful": txs.field("successful").take(tx),
        "fee_charged": fee,
    }


def extract_events(
    ledgers: pa.RecordBatch, real: RealLedgerExtractor | None = None
) -> tuple[pa.RecordBatch, ExtractStats]:
    """All token transfer events of a batch of whole ledgers, and what was seen.

    Rows with `ledger_close_meta` are read by `real` (stellar/go's events, from the XDR),
    the others vectorised from their `transactions` column; each run of rows keeps its
    place, so the events stay in ledger order.
    """
    if LEDGER_CLOSE_META not in ledgers.schema.names:
        return extract_synthetic_events(ledgers)
    is_real = pc.is_valid(ledgers.column(LEDGER_CLOSE_META)).to_pylist()
    if not any(is_real):
        return extract_synthetic_events(ledgers)
    extractor = real or RealLedgerExtractor()
    batches: list[pa.RecordBatch] = []
    stats = ExtractStats()
    for start, stop, run_is_real in _runs(is_real):
        rows = ledgers.slice(start, stop - start)
        events, seen = extractor.extract(rows) if run_is_real else extract_synthetic_events(rows)
        batches.append(events)
        stats.add(seen)
    return pa.concat_batches(batches), stats


def _runs(flags: list[bool]) -> list[tuple[int, int, bool]]:
    """Maximal runs of equal flags as (start, stop, flag)."""
    runs: list[tuple[int, int, bool]] = []
    start = 0
    for position in range(1, len(flags) + 1):
        if position == len(flags) or flags[position] != flags[start]:
            runs.append((start, position, flags[start]))
            start = position
    return runs


def extract_synthetic_events(ledgers: pa.RecordBatch) -> tuple[pa.RecordBatch, ExtractStats]:
    """The events of synthetic ledgers, computed from the `transactions` column."""
    txs = ledgers.column("transactions").flatten()
    ops_lists = txs.field("operations")
    ops = ops_lists.flatten()
    op_types = ops.field("type")
    known = pc.is_in(op_types, value_set=_KNOWN_TYPES)
    succeeded = txs.field("successful").take(pc.list_parent_indices(ops_lists))
    complete = pc.and_(pc.is_valid(ops.field("destination")), pc.is_valid(ops.field("amount")))
    complete = pc.and_(complete, pc.is_valid(ops.field("asset_code")))
    keep = pc.and_(pc.and_(known, succeeded), complete)
    columns = _gather(ledgers, txs, ops, keep)
    columns["event_id"] = _event_ids(
        columns["ledger_sequence"], columns["transaction_index"], columns["operation_index"]
    )
    columns["amount_str"] = _amount_strings(columns["amount_raw"])
    for name in _REAL_LEDGER_ONLY:  # stellar/go's contract address and muxed info
        columns[name] = pa.nulls(len(columns["event_id"]), pa.string())
    events = pa.RecordBatch.from_arrays(
        [columns[field.name].cast(field.type) for field in TTP_EVENT_SCHEMA],
        schema=TTP_EVENT_SCHEMA,
    )
    transfers = pc.sum(keep).as_py() or 0
    stats = _stats(ledgers, txs, op_types, known, succeeded, keep, len(txs), transfers)
    return events, stats


def _stats(
    ledgers: pa.RecordBatch,
    txs: pa.StructArray,
    op_types: pa.Array,
    known: pa.Array,
    succeeded: pa.Array,
    keep: pa.Array,
    fee_events: int,
    transfer_events: int,
) -> ExtractStats:
    unknown = pc.value_counts(op_types.filter(pc.invert(known)))
    known_in_failed = pc.and_(known, pc.invert(succeeded))
    known_complete_in_success = pc.sum(pc.and_(known, succeeded)).as_py() or 0
    return ExtractStats(
        ledgers=ledgers.num_rows,
        transactions=len(txs),
        failed_transactions=len(txs) - (pc.sum(txs.field("successful")).as_py() or 0),
        operations=len(op_types),
        events=fee_events + transfer_events,
        fee_events=fee_events,
        transfer_events=transfer_events,
        skipped_failed_operations=pc.sum(known_in_failed).as_py() or 0,
        malformed_operations=known_complete_in_success - (pc.sum(keep).as_py() or 0),
        unknown_operations=Counter(
            {item["values"]: item["counts"] for item in unknown.to_pylist()}
        ),
    )
