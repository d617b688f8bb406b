"""Deterministic synthetic Stellar ledgers (the source's default backend).

Every value is drawn from a counter-based hash of (seed, sequence, transaction index,
operation index, field) (see `hashing`), so a ledger's content depends only on the seed
and its sequence: any range regenerates identically, alone or inside a bigger range.

Shape of the data, per ledger (by a hash of its sequence):
- 2% have no transaction, 1% have only failed transactions, 0.1% are huge (100
  transactions of 100 operations: 10,000 operations), the rest have 1-16 transactions;
- a transaction has 1 operation (70%) or 2-5, fails with 8% probability, pays
  base_fee x operations (10% pay a surge fee up to 10x);
- operations are payments (50%), path payments strict receive/send (8% each),
  create_account (6%), account_merge (2%), and kinds the TTP processor does not extract
  (manage_data, set_options, change_trust, manage_sell_offer, bump_sequence,
  invoke_host_function, clawback: 26% together);
- 40% of payments are native XLM, the rest credit assets; 3% of credit payments are sent
  by the issuer (a mint), 2% sent to it (a burn);
- ledger N closes at genesis_time + (N - 1) x close_interval_seconds (5 s by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
from stellar_common import vectors as v
from stellar_common.ledger_schema import (
    CLOSE_TIME_TYPE,
    LEDGER_CLOSE_META,
    OPERATION_TYPE,
    STELLAR_LEDGER_SCHEMA,
    TRANSACTION_TYPE,
)
from stellar_common.vectors import UINT64
from stellar_common.vectors import u64 as _u64

from stellar_arrow_source import hashing as h
from stellar_arrow_source.accounts import CREDIT_ASSETS, AssetTable, account_pool, asset_table
from stellar_arrow_source.operations import OperationColumns, operation_columns

DEFAULT_GENESIS = datetime(2024, 1, 1, tzinfo=UTC)
HUGE_LEDGER_TRANSACTIONS = 100
HUGE_LEDGER_OPERATIONS_PER_TRANSACTION = 100

# Field numbers of the counter hash; changing one changes the data of every seed.
_KIND, _TX_COUNT, _LEDGER_HASH = 1, 2, 3
_OP_COUNT, _OP_COUNT_MANY, _FAILED, _TX_SOURCE, _SURGE, _SURGE_FACTOR, _TX_HASH = range(10, 17)


@dataclass(frozen=True)
class GeneratorConfig:
    seed: int = 1
    genesis_time: datetime = DEFAULT_GENESIS
    close_interval_seconds: float = 5.0
    protocol_version: int = 21
    base_fee: int = 100
    account_pool_size: int = 2000


class SyntheticLedgers:
    """Generates StellarLedger record batches for any range of sequences."""

    def __init__(self, config: GeneratorConfig | None = None) -> None:
        self.config = config or GeneratorConfig()
        self._seed_key = h.splitmix64_int(
            self.config.seed * 0x2545F4914F6CDD1D + 0x632BE59BD9B4E019
        )
        pool_size = max(self.config.account_pool_size, len(CREDIT_ASSETS))
        self._accounts = pa.array(account_pool(self.config.seed, pool_size), pa.string())
        self._assets: AssetTable = asset_table()

    def ledger_batch(self, first: int, last: int) -> pa.RecordBatch:
        """Ledgers first..last inclusive, one row each, in order."""
        if first < 1 or last < first:
            raise ValueError(f"bad ledger range {first}..{last}: need 1 <= first <= last")
        sequences = pc.add(v.arange(last - first + 1), _u64(first))
        keys = h.child_keys(pa.repeat(_u64(self._seed_key), len(sequences)), sequences, 0)
        tx_counts, all_failed, huge = _ledger_shapes(keys)
        tx_offsets = v.offsets(tx_counts)
        tx_parent = v.parents(tx_offsets)
        tx_keys = h.child_keys(keys.take(tx_parent), v.positions(tx_offsets, tx_parent), 1)
        op_counts, failed = _transaction_shapes(
            tx_keys, all_failed.take(tx_parent), huge.take(tx_parent)
        )
        op_offsets = v.offsets(op_counts)
        op_parent = v.parents(op_offsets)
        op_keys = h.child_keys(tx_keys.take(op_parent), v.positions(op_offsets, op_parent), 2)
        operations = operation_columns(op_keys, self._accounts, self._assets)
        transactions, fees = self._transactions(tx_keys, op_counts, failed, op_offsets, operations)
        ledgers = _LedgerTotals(
            tx_offsets=tx_offsets,
            failed=v.span_sums(failed, tx_offsets),
            operations=v.differences(op_offsets.take(tx_offsets)),
            fees=v.span_sums(fees, tx_offsets),
        )
        return self._ledgers(sequences, keys, transactions, ledgers)

    def iter_batches(self, first: int, last: int, batch_size: int) -> Iterator[pa.RecordBatch]:
        """Batches of at most batch_size whole ledgers covering first..last."""
        for start in range(first, last + 1, batch_size):
            yield self.ledger_batch(start, min(start + batch_size - 1, last))

    def close_time(self, sequence: int) -> datetime:
        offset = (sequence - 1) * self.config.close_interval_seconds
        return datetime.fromtimestamp(self.config.genesis_time.timestamp() + offset, UTC)

    def _transactions(
        self,
        tx_keys: pa.Array,
        op_counts: pa.Array,
        failed: pa.Array,
        op_offsets: pa.Array,
        operations: OperationColumns,
    ) -> tuple[pa.Array, pa.Array]:
        base_fees = pc.multiply(op_counts, _u64(self.config.base_fee))
        surge = pc.add(h.below(tx_keys, _SURGE_FACTOR, 9), _u64(2))
        multiplier = pc.if_else(h.chance(tx_keys, _SURGE, 10.0), surge, _u64(1))
        fees = pc.multiply(base_fees, multiplier).cast(pa.int64())
        ops = pa.StructArray.from_arrays(operations.arrays(), fields=list(OPERATION_TYPE))
        op_lists = pa.ListArray.from_arrays(
            op_offsets.cast(pa.int32()), ops, type=TRANSACTION_TYPE.field("operations").type
        )
        columns = [
            h.hex_digest(tx_keys, _TX_HASH),
            self._accounts.take(h.below(tx_keys, _TX_SOURCE, len(self._accounts))),
            pc.invert(failed),
            fees,
            pc.multiply(base_fees, _u64(20)).cast(pa.int64()),
            op_counts.cast(pa.uint32()),
            op_lists,
        ]
        return pa.StructArray.from_arrays(columns, fields=list(TRANSACTION_TYPE)), fees

    def _ledgers(
        self,
        sequences: pa.Array,
        keys: pa.Array,
        transactions: pa.Array,
        totals: _LedgerTotals,
    ) -> pa.RecordBatch:
        count = len(sequences)
        tx_counts = v.differences(totals.tx_offsets)
        hashes = h.hex_digest(keys, _LEDGER_HASH)
        first_parent = h.child_keys(
            pa.array([self._seed_key], UINT64), pc.subtract(sequences[:1], _u64(1)), 0
        )
        previous_hashes = pa.concat_arrays([h.hex_digest(first_parent, _LEDGER_HASH), hashes[:-1]])
        columns = [
            sequences.cast(pa.uint32()),
            hashes,
            previous_hashes,
            self._close_times(sequences),
            pa.repeat(pa.scalar(self.config.protocol_version, pa.uint32()), count),
            tx_counts.cast(pa.uint32()),
            pc.subtract(tx_counts, totals.failed).cast(pa.uint32()),
            totals.failed.cast(pa.uint32()),
            totals.operations.cast(pa.uint32()),
            totals.fees,
            pa.repeat(pa.scalar(self.config.base_fee, pa.uint32()), count),
            pa.ListArray.from_arrays(
                totals.tx_offsets.cast(pa.int32()),
                transactions,
                type=STELLAR_LEDGER_SCHEMA.field("transactions").type,
            ),
            pa.nulls(count, STELLAR_LEDGER_SCHEMA.field(LEDGER_CLOSE_META).type),  # not real XDR
        ]
        return pa.RecordBatch.from_arrays(columns, schema=STELLAR_LEDGER_SCHEMA)

    def _close_times(self, sequences: pa.Array) -> pa.Array:
        genesis_us = round(self.config.genesis_time.timestamp() * 1_000_000)
        step_us = round(self.config.close_interval_seconds * 1_000_000)
        steps = pc.subtract(sequences, _u64(1)).cast(pa.int64())
        micros = pc.add(pc.multiply(steps, _i64(step_us)), _i64(genesis_us))
        return micros.cast(CLOSE_TIME_TYPE)


@dataclass(frozen=True)
class _LedgerTotals:
    """Per ledger: where its transactions are, and sums over them."""

    tx_offsets: pa.Array
    failed: pa.Array
    operations: pa.Array
    fees: pa.Array


def _i64(value: int) -> pa.Scalar:
    return pa.scalar(value, pa.int64())


def _ledger_shapes(keys: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Per ledger: its transaction count, whether all fail, whether it is huge."""
    kind = h.below(keys, _KIND, 1000)
    normal_counts = pc.add(h.below(keys, _TX_COUNT, 16), _u64(1))
    empty = pc.less(kind, _u64(20))
    huge = pc.equal(kind, _u64(30))
    counts = pc.if_else(
        empty, _u64(0), pc.if_else(huge, _u64(HUGE_LEDGER_TRANSACTIONS), normal_counts)
    )
    all_failed = pc.and_(pc.invert(empty), pc.less(kind, _u64(30)))
    return counts, all_failed, huge


def _transaction_shapes(
    tx_keys: pa.Array, all_failed: pa.Array, huge: pa.Array
) -> tuple[pa.Array, pa.Array]:
    """Per transaction: its operation count and whether it failed."""
    many = pc.add(h.below(tx_keys, _OP_COUNT_MANY, 4), _u64(2))
    normal = pc.if_else(h.chance(tx_keys, _OP_COUNT, 70.0), _u64(1), many)
    op_counts = pc.if_else(huge, _u64(HUGE_LEDGER_OPERATIONS_PER_TRANSACTION), normal)
    failed = pc.or_(all_failed, h.chance(tx_keys, _FAILED, 8.0))
    return op_counts, failed
