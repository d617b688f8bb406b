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

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from stellar_arrow_source import hashing as h
from stellar_arrow_source.accounts import AssetTable, account_pool, asset_table
from stellar_arrow_source.operations import OperationColumns, operation_columns
from stellar_arrow_source.schema import (
    CLOSE_TIME_TYPE,
    OPERATION_TYPE,
    STELLAR_LEDGER_SCHEMA,
    TRANSACTION_TYPE,
)

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
        accounts = account_pool(self.config.seed, self.config.account_pool_size)
        self._accounts = pa.array(accounts, pa.string())
        self._assets: AssetTable = asset_table(accounts[:8])

    def ledger_batch(self, first: int, last: int) -> pa.RecordBatch:
        """Ledgers first..last inclusive, one row each, in order."""
        if first < 1 or last < first:
            raise ValueError(f"bad ledger range {first}..{last}: need 1 <= first <= last")
        sequences = pa.array(range(first, last + 1), pa.uint64())
        keys = h.child_keys(pa.array([self._seed_key] * len(sequences), pa.uint64()), sequences, 0)
        tx_counts, all_failed, huge = self._ledger_shapes(keys)
        tx_offsets = _offsets(tx_counts)
        tx_parent = _parents(tx_offsets)
        tx_keys = h.child_keys(keys.take(tx_parent), _position_in_parent(tx_offsets, tx_parent), 1)
        op_counts, failed = self._transaction_shapes(
            tx_keys, all_failed.take(tx_parent), huge.take(tx_parent)
        )
        op_offsets = _offsets(op_counts)
        op_parent = _parents(op_offsets)
        op_keys = h.child_keys(
            tx_keys.take(op_parent), _position_in_parent(op_offsets, op_parent), 2
        )
        operations = operation_columns(op_keys, self._accounts, self._assets)
        transactions, fees = self._transactions(tx_keys, op_counts, failed, op_offsets, operations)
        return self._ledgers(sequences, keys, tx_offsets, transactions, op_counts, failed, fees)

    def iter_batches(self, first: int, last: int, batch_size: int) -> Iterator[pa.RecordBatch]:
        """Batches of at most batch_size whole ledgers covering first..last."""
        for start in range(first, last + 1, batch_size):
            yield self.ledger_batch(start, min(start + batch_size - 1, last))

    def close_time(self, sequence: int) -> datetime:
        offset = (sequence - 1) * self.config.close_interval_seconds
        return datetime.fromtimestamp(self.config.genesis_time.timestamp() + offset, UTC)

    def _ledger_shapes(self, keys: pa.Array) -> tuple[list[int], pa.Array, pa.Array]:
        kind = h.below(keys, _KIND, 1000).to_pylist()
        normal_counts = h.below(keys, _TX_COUNT, 16).to_pylist()
        counts = [
            0 if k < 20 else HUGE_LEDGER_TRANSACTIONS if k == 30 else 1 + c
            for k, c in zip(kind, normal_counts, strict=True)
        ]
        all_failed = pa.array([20 <= k < 30 for k in kind], pa.bool_())
        huge = pa.array([k == 30 for k in kind], pa.bool_())
        return counts, all_failed, huge

    def _transaction_shapes(
        self, tx_keys: pa.Array, all_failed: pa.Array, huge: pa.Array
    ) -> tuple[list[int], list[bool]]:
        single = h.chance(tx_keys, _OP_COUNT, 70.0).to_pylist()
        many = h.below(tx_keys, _OP_COUNT_MANY, 4).to_pylist()
        big = huge.to_pylist()
        op_counts = [
            HUGE_LEDGER_OPERATIONS_PER_TRANSACTION if b else 1 if s else 2 + m
            for s, m, b in zip(single, many, big, strict=True)
        ]
        failed = pc.or_(all_failed, h.chance(tx_keys, _FAILED, 8.0)).to_pylist()
        return op_counts, failed

    def _transactions(
        self,
        tx_keys: pa.Array,
        op_counts: list[int],
        failed: list[bool],
        op_offsets: list[int],
        operations: OperationColumns,
    ) -> tuple[pa.Array, list[int]]:
        base = self.config.base_fee
        surge = h.chance(tx_keys, _SURGE, 10.0).to_pylist()
        factor = h.below(tx_keys, _SURGE_FACTOR, 9).to_pylist()
        fees = [
            base * n * (2 + f if s else 1) for n, s, f in zip(op_counts, surge, factor, strict=True)
        ]
        ops = pa.StructArray.from_arrays(operations.arrays(), fields=list(OPERATION_TYPE))
        op_lists = pa.ListArray.from_arrays(
            pa.array(op_offsets, pa.int32()), ops, type=TRANSACTION_TYPE.field("operations").type
        )
        columns = [
            h.hex_digest(tx_keys, _TX_HASH),
            self._accounts.take(h.below(tx_keys, _TX_SOURCE, len(self._accounts))),
            pc.invert(pa.array(failed, pa.bool_())),
            pa.array(fees, pa.int64()),
            pa.array([base * n * 20 for n in op_counts], pa.int64()),
            pa.array(op_counts, pa.uint32()),
            op_lists,
        ]
        return pa.StructArray.from_arrays(columns, fields=list(TRANSACTION_TYPE)), fees

    def _ledgers(
        self,
        sequences: pa.Array,
        keys: pa.Array,
        tx_offsets: list[int],
        transactions: pa.Array,
        op_counts: list[int],
        failed: list[bool],
        fees: list[int],
    ) -> pa.RecordBatch:
        spans = list(itertools.pairwise(tx_offsets))
        failed_counts = [sum(failed[a:b]) for a, b in spans]
        tx_counts = [b - a for a, b in spans]
        hashes = h.hex_digest(keys, _LEDGER_HASH)
        first_parent = h.child_keys(
            pa.array([self._seed_key], pa.uint64()),
            pc.subtract(sequences[:1], pa.scalar(1, pa.uint64())),
            0,
        )
        previous_hashes = pa.concat_arrays([h.hex_digest(first_parent, _LEDGER_HASH), hashes[:-1]])
        columns = [
            sequences.cast(pa.uint32()),
            hashes,
            previous_hashes,
            self._close_times(sequences),
            pa.array([self.config.protocol_version] * len(sequences), pa.uint32()),
            pa.array(tx_counts, pa.uint32()),
            pa.array([n - f for n, f in zip(tx_counts, failed_counts, strict=True)], pa.uint32()),
            pa.array(failed_counts, pa.uint32()),
            pa.array([sum(op_counts[a:b]) for a, b in spans], pa.uint32()),
            pa.array([sum(fees[a:b]) for a, b in spans], pa.int64()),
            pa.array([self.config.base_fee] * len(sequences), pa.uint32()),
            pa.ListArray.from_arrays(
                pa.array(tx_offsets, pa.int32()),
                transactions,
                type=STELLAR_LEDGER_SCHEMA.field("transactions").type,
            ),
        ]
        return pa.RecordBatch.from_arrays(columns, schema=STELLAR_LEDGER_SCHEMA)

    def _close_times(self, sequences: pa.Array) -> pa.Array:
        genesis_us = round(self.config.genesis_time.timestamp() * 1_000_000)
        step_us = round(self.config.close_interval_seconds * 1_000_000)
        micros = [genesis_us + (s - 1) * step_us for s in sequences.to_pylist()]
        return pa.array(micros, pa.int64()).cast(CLOSE_TIME_TYPE)


def _offsets(counts: list[int]) -> list[int]:
    offsets = [0]
    for count in counts:
        offsets.append(offsets[-1] + count)
    return offsets


def _parents(offsets: list[int]) -> pa.Array:
    """For each child, the index of its parent (a vectorised 'repeat')."""
    children = pa.nulls(offsets[-1], pa.null())
    lists = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), children)
    return pc.list_parent_indices(lists)


def _position_in_parent(offsets: list[int], parents: pa.Array) -> pa.Array:
    """For each child, its 0-based index among its siblings."""
    positions = pa.array(range(offsets[-1]), pa.uint64())
    starts = pa.array(offsets, pa.uint64()).take(parents)
    return pc.subtract(positions, starts)
