"""Ledger batch -> token transfer event batch, vectorised with pyarrow.compute.

The nested `transactions` / `operations` lists are flattened once; every event column is
then computed for the whole batch by array kernels, never row by row. Events come out in
ledger order, then transaction order, the fee first, then the operations in order
(see `ttp_arrow_processor.schema` for what each event means).

Operations of a kind that is not a transfer (manage_data, clawback, a type this processor
has never heard of...) are counted by type and skipped; a transfer operation missing its
destination or amount is counted as malformed and skipped. Neither stops the stream.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from stellar_arrow_source.schema import NATIVE, NATIVE_CODE, TRANSFER_OPERATION_TYPES

from ttp_arrow_processor.schema import (
    BURN,
    FEE,
    FEE_OPERATION_INDEX,
    MINT,
    TRANSFER,
    TTP_EVENT_SCHEMA,
)

_KNOWN_TYPES = pa.array(TRANSFER_OPERATION_TYPES, pa.string())
_STROOPS = pa.scalar(10_000_000, pa.int64())


@dataclass
class ExtractStats:
    """What one extraction saw; `add` accumulates batches."""

    ledgers: int = 0
    transactions: int = 0
    failed_transactions: int = 0
    operations: int = 0
    events: int = 0
    fee_events: int = 0
    transfer_events: int = 0
    skipped_failed_operations: int = 0
    malformed_operations: int = 0
    unknown_operations: Counter[str] = field(default_factory=Counter)

    def add(self, other: ExtractStats) -> None:
        for name in self.__dataclass_fields__:
            if name != "unknown_operations":
                setattr(self, name, getattr(self, name) + getattr(other, name))
        self.unknown_operations.update(other.unknown_operations)

    def as_dict(self) -> dict[str, object]:
        values: dict[str, object] = {
            name: getattr(self, name) for name in self.__dataclass_fields__
        }
        values["unknown_operations"] = dict(self.unknown_operations)
        values["unknown_operations_total"] = sum(self.unknown_operations.values())
        return values


def _positions(lists: pa.Array, parents: pa.Array) -> pa.Array:
    """For each flattened child of `lists`, its 0-based position inside its list."""
    offsets = lists.offsets
    starts = pc.subtract(offsets, offsets[0]).take(parents)
    return pc.subtract(pa.array(range(len(parents)), pa.int32()), starts)


def _amount_strings(amounts: pa.Array) -> pa.Array:
    units = pc.divide(amounts, _STROOPS).cast(pa.string())
    fraction = pc.utf8_lpad(pc.modulo(amounts, _STROOPS).cast(pa.string()), width=7, padding="0")
    return pc.binary_join_element_wise(units, fraction, ".")


def _event_ids(ledgers: pa.Array, transactions: pa.Array, operations: pa.Array) -> pa.Array:
    is_fee = pc.equal(operations, pa.scalar(FEE_OPERATION_INDEX, pa.int32()))
    op_text = pc.if_else(is_fee, pa.scalar(FEE), operations.cast(pa.string()))
    return pc.binary_join_element_wise(
        ledgers.cast(pa.string()), transactions.cast(pa.string()), op_text, ":"
    )


def _fee_events(ledgers: pa.RecordBatch, txs: pa.StructArray, tx_ledger: pa.Array) -> pa.Table:
    n = len(txs)
    null_text = pa.nulls(n, pa.string())
    return pa.table(
        {
            "ledger_sequence": ledgers.column("sequence").take(tx_ledger),
            "transaction_hash": txs.field("hash"),
            "transaction_index": _positions(ledgers.column("transactions"), tx_ledger),
            "operation_index": pa.array([FEE_OPERATION_INDEX] * n, pa.int32()),
            "timestamp": ledgers.column("close_time").take(tx_ledger),
            "event_type": pa.array([FEE] * n, pa.string()),
            "operation_type": null_text,
            "asset_type": pa.array([NATIVE] * n, pa.string()),
            "asset_code": pa.array([NATIVE_CODE] * n, pa.string()),
            "asset_issuer": null_text,
            "from_account": txs.field("source_account"),
            "to_account": null_text,
            "amount_raw": txs.field("fee_charged"),
            "source_asset_type": null_text,
            "source_asset_code": null_text,
            "source_asset_issuer": null_text,
            "source_amount_raw": pa.nulls(n, pa.int64()),
            "successful": txs.field("successful"),
            "fee_charged": txs.field("fee_charged"),
        }
    )


def _transfer_types(ops: pa.StructArray, sender: pa.Array) -> pa.Array:
    issuer = ops.field("asset_issuer")
    mint = pc.fill_null(pc.equal(sender, issuer), False)
    burn = pc.fill_null(pc.equal(ops.field("destination"), issuer), False)
    return pc.if_else(mint, pa.scalar(MINT), pc.if_else(burn, pa.scalar(BURN), pa.scalar(TRANSFER)))


def _operation_events(
    fee_events: pa.Table, txs: pa.StructArray, keep: pa.Array, op_tx: pa.Array
) -> pa.Table:
    ops_lists = txs.field("operations")
    ops = ops_lists.flatten()
    sender = pc.coalesce(ops.field("source_account"), txs.field("source_account").take(op_tx))
    columns = {
        "ledger_sequence": fee_events.column("ledger_sequence").take(op_tx),
        "transaction_hash": txs.field("hash").take(op_tx),
        "transaction_index": fee_events.column("transaction_index").take(op_tx),
        "operation_index": _positions(ops_lists, op_tx),
        "timestamp": fee_events.column("timestamp").take(op_tx),
        "event_type": _transfer_types(ops, sender),
        "operation_type": ops.field("type"),
        "asset_type": ops.field("asset_type"),
        "asset_code": ops.field("asset_code"),
        "asset_issuer": ops.field("asset_issuer"),
        "from_account": sender,
        "to_account": ops.field("destination"),
        "amount_raw": ops.field("amount"),
        "source_asset_type": ops.field("source_asset_type"),
        "source_asset_code": ops.field("source_asset_code"),
        "source_asset_issuer": ops.field("source_asset_issuer"),
        "source_amount_raw": ops.field("source_amount"),
        "successful": txs.field("successful").take(op_tx),
        "fee_charged": txs.field("fee_charged").take(op_tx),
    }
    return pa.table(columns).filter(keep)


def extract_events(ledgers: pa.RecordBatch) -> tuple[pa.RecordBatch, ExtractStats]:
    """All token transfer events of a batch of whole ledgers, and what was seen."""
    tx_lists = ledgers.column("transactions")
    txs = tx_lists.flatten()
    tx_ledger = pc.list_parent_indices(tx_lists)
    ops_lists = txs.field("operations")
    op_tx = pc.list_parent_indices(ops_lists)
    ops = ops_lists.flatten()
    op_types = ops.field("type")

    known = pc.is_in(op_types, value_set=_KNOWN_TYPES)
    succeeded = txs.field("successful").take(op_tx)
    complete = pc.and_(pc.is_valid(ops.field("destination")), pc.is_valid(ops.field("amount")))
    complete = pc.and_(complete, pc.is_valid(ops.field("asset_code")))
    keep = pc.and_(pc.and_(known, succeeded), complete)

    fees = _fee_events(ledgers, txs, tx_ledger)
    transfers = _operation_events(fees, txs, keep, op_tx)
    events = pa.concat_tables([fees, transfers])
    order = pc.sort_indices(
        events,
        [
            ("ledger_sequence", "ascending"),
            ("transaction_index", "ascending"),
            ("operation_index", "ascending"),
        ],
    )
    events = events.take(order)
    stats = _stats(ledgers, txs, op_types, known, succeeded, keep, len(fees), len(transfers))
    return _finish(events), stats


def _finish(events: pa.Table) -> pa.RecordBatch:
    ids = _event_ids(
        events.column("ledger_sequence"),
        events.column("transaction_index"),
        events.column("operation_index"),
    )
    amounts = _amount_strings(events.column("amount_raw"))
    computed = {"event_id": ids, "amount_str": amounts}
    table = pa.table(
        {
            name: computed[name] if name in computed else events.column(name)
            for name in TTP_EVENT_SCHEMA.names
        }
    ).cast(TTP_EVENT_SCHEMA)
    arrays = [column.combine_chunks() for column in table.columns]
    return pa.RecordBatch.from_arrays(arrays, schema=TTP_EVENT_SCHEMA)


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
