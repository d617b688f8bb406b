"""The synthetic ledger generator: deterministic by (seed, sequence), realistic, with edges."""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from stellar_arrow_source.accounts import account_pool
from stellar_arrow_source.generator import GeneratorConfig, SyntheticLedgers
from stellar_arrow_source.operations import OPERATION_MIX
from stellar_common.ledger_schema import STELLAR_LEDGER_SCHEMA, TRANSFER_OPERATION_TYPES

EMPTY_LEDGER, ALL_FAILED_LEDGER, HUGE_LEDGER = 48, 12, 403  # of seed 1 (asserted below)


@pytest.fixture(scope="module")
def generator() -> SyntheticLedgers:
    return SyntheticLedgers(GeneratorConfig(seed=1))


@pytest.fixture(scope="module")
def ledgers(generator: SyntheticLedgers) -> pa.RecordBatch:
    return generator.ledger_batch(1, 600)


def test_same_range_twice_is_identical(generator: SyntheticLedgers) -> None:
    again = SyntheticLedgers(GeneratorConfig(seed=1))
    assert generator.ledger_batch(100, 180).equals(again.ledger_batch(100, 180))


def test_a_sub_range_equals_the_slice_of_a_bigger_range(
    generator: SyntheticLedgers, ledgers: pa.RecordBatch
) -> None:
    for first, last in [(1, 1), (37, 91), (400, 410), (599, 600)]:
        alone = generator.ledger_batch(first, last)
        assert alone.equals(ledgers.slice(first - 1, last - first + 1)), (first, last)


def test_batches_of_any_size_cover_the_same_ledgers(
    generator: SyntheticLedgers, ledgers: pa.RecordBatch
) -> None:
    table = pa.Table.from_batches(list(generator.iter_batches(1, 600, 77)))
    assert table.equals(pa.Table.from_batches([ledgers]))


def test_another_seed_gives_other_ledgers(generator: SyntheticLedgers) -> None:
    other = SyntheticLedgers(GeneratorConfig(seed=2))
    assert not generator.ledger_batch(1, 20).equals(other.ledger_batch(1, 20))


def test_batches_follow_the_schema(ledgers: pa.RecordBatch) -> None:
    assert ledgers.schema.equals(STELLAR_LEDGER_SCHEMA)
    assert ledgers.column("sequence").to_pylist() == list(range(1, 601))


def test_hashes_chain_and_close_times_are_five_seconds_apart(ledgers: pa.RecordBatch) -> None:
    hashes = ledgers.column("hash").to_pylist()
    previous = ledgers.column("previous_hash").to_pylist()
    assert previous[1:] == hashes[:-1]
    assert len(set(hashes)) == len(hashes) and all(len(h) == 64 for h in hashes)
    times = ledgers.column("close_time").to_pylist()
    assert times[0] == datetime(2024, 1, 1, tzinfo=UTC)
    assert {b - a for a, b in itertools.pairwise(times)} == {timedelta(seconds=5)}


def test_ledger_counts_agree_with_their_transactions(ledgers: pa.RecordBatch) -> None:
    for ledger in ledgers.to_pylist():
        txs = ledger["transactions"]
        failed = [tx for tx in txs if not tx["successful"]]
        assert ledger["transaction_count"] == len(txs)
        assert ledger["failed_transaction_count"] == len(failed)
        assert ledger["successful_transaction_count"] == len(txs) - len(failed)
        assert ledger["operation_count"] == sum(len(tx["operations"]) for tx in txs)
        assert ledger["total_fees"] == sum(tx["fee_charged"] for tx in txs)
        for tx in txs:
            assert tx["operation_count"] == len(tx["operations"]) >= 1
            assert tx["fee_charged"] >= ledger["base_fee"] * tx["operation_count"]
            assert tx["max_fee"] >= tx["fee_charged"]


def test_edge_ledgers_occur(ledgers: pa.RecordBatch) -> None:
    rows = {r["sequence"]: r for r in ledgers.select(list(range(11))).to_pylist()}
    assert rows[EMPTY_LEDGER]["transaction_count"] == 0
    assert (
        rows[ALL_FAILED_LEDGER]["failed_transaction_count"]
        == rows[ALL_FAILED_LEDGER]["transaction_count"]
        > 0
    )
    assert rows[HUGE_LEDGER]["operation_count"] == 10_000


def test_operations_cover_every_kind_with_native_and_credit_assets(
    ledgers: pa.RecordBatch,
) -> None:
    kinds: set[str] = set()
    asset_types: set[str] = set()
    for ledger in ledgers.to_pylist():
        for tx in ledger["transactions"]:
            for op in tx["operations"]:
                kinds.add(op["type"])
                if op["type"] in TRANSFER_OPERATION_TYPES:
                    assert op["destination"] and op["amount"] > 0
                    asset_types.add(op["asset_type"])
                    if op["asset_type"] == "native":
                        assert op["asset_code"] == "XLM" and op["asset_issuer"] is None
                    else:
                        assert op["asset_issuer"] is not None
                else:
                    assert op["amount"] is None and op["destination"] is None
    assert kinds == {kind for kind, _ in OPERATION_MIX}
    assert asset_types == {"native", "credit_alphanum4", "credit_alphanum12"}


def _crc16_xmodem(data: bytes) -> int:
    crc = 0
    for byte in data:
        for bit in range(8):
            top = (crc >> 15) & 1
            crc = (crc << 1) & 0xFFFF
            if top ^ ((byte >> (7 - bit)) & 1):
                crc ^= 0x1021
    return crc


def test_accounts_are_valid_stellar_strkeys() -> None:
    for account in account_pool(seed=1, size=50):
        raw = base64.b32decode(account)
        assert account.startswith("G") and len(account) == 56
        assert raw[0] == 6 << 3
        assert int.from_bytes(raw[-2:], "little") == _crc16_xmodem(raw[:-2])


def test_a_bad_range_is_refused(generator: SyntheticLedgers) -> None:
    with pytest.raises(ValueError, match="bad ledger range"):
        generator.ledger_batch(0, 10)
    with pytest.raises(ValueError, match="bad ledger range"):
        generator.ledger_batch(10, 9)
