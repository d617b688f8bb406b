"""TTP extraction, checked against a simple row-by-row reference written independently."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest
from stellar_arrow_source.generator import GeneratorConfig, SyntheticLedgers
from stellar_common.event_schema import TTP_EVENT_SCHEMA
from stellar_common.ledger_schema import STELLAR_LEDGER_SCHEMA
from ttp_arrow_processor.extract import extract_events

TRANSFERS = {
    "payment",
    "path_payment_strict_receive",
    "path_payment_strict_send",
    "create_account",
    "account_merge",
}
ALICE = "GALICE" + "A" * 50
BOB = "GBOB" + "B" * 52
ISSUER = "GISSUER" + "C" * 49


def reference_events(ledgers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events, one Python loop iteration at a time (the spec of extract_events)."""
    events: list[dict[str, Any]] = []
    for ledger in ledgers:
        seq = ledger["sequence"]
        for t, tx in enumerate(ledger["transactions"]):
            base = {
                "ledger_sequence": seq,
                "transaction_hash": tx["hash"],
                "transaction_index": t,
                "timestamp": ledger["close_time"],
                "successful": tx["successful"],
                "fee_charged": tx["fee_charged"],
                # Only real ledgers have these (stellar/go's token transfer meta).
                "contract_address": None,
                "to_muxed_type": None,
                "to_muxed_value": None,
            }
            fee = tx["fee_charged"]
            events.append(
                {
                    **base,
                    "event_id": f"{seq}:{t}:fee",
                    "operation_index": -1,
                    "event_type": "fee",
                    "operation_type": None,
                    "asset_type": "native",
                    "asset_code": "XLM",
                    "asset_issuer": None,
                    "from_account": tx["source_account"],
                    "to_account": None,
                    "amount_raw": fee,
                    "amount_str": f"{fee // 10**7}.{fee % 10**7:07d}",
                    "source_asset_type": None,
                    "source_asset_code": None,
                    "source_asset_issuer": None,
                    "source_amount_raw": None,
                }
            )
            if not tx["successful"]:
                continue
            for o, op in enumerate(tx["operations"]):
                if op["type"] not in TRANSFERS:
                    continue
                if op["destination"] is None or op["amount"] is None or op["asset_code"] is None:
                    continue
                sender = op["source_account"] or tx["source_account"]
                issuer = op["asset_issuer"]
                kind = "transfer"
                if issuer is not None and sender == issuer:
                    kind = "mint"
                elif issuer is not None and op["destination"] == issuer:
                    kind = "burn"
                events.append(
                    {
                        **base,
                        "event_id": f"{seq}:{t}:{o}",
                        "operation_index": o,
                        "event_type": kind,
                        "operation_type": op["type"],
                        "asset_type": op["asset_type"],
                        "asset_code": op["asset_code"],
                        "asset_issuer": issuer,
                        "from_account": sender,
                        "to_account": op["destination"],
                        "amount_raw": op["amount"],
                        "amount_str": f"{op['amount'] // 10**7}.{op['amount'] % 10**7:07d}",
                        "source_asset_type": op["source_asset_type"],
                        "source_asset_code": op["source_asset_code"],
                        "source_asset_issuer": op["source_asset_issuer"],
                        "source_amount_raw": op["source_amount"],
                    }
                )
    return events


def _tx(
    ops: list[dict[str, Any]], *, ok: bool = True, fee: int = 100, tx_hash: str = "ab" * 32
) -> dict[str, Any]:
    full_ops = [
        {
            "type": "payment",
            "source_account": None,
            "destination": BOB,
            "asset_type": "native",
            "asset_code": "XLM",
            "asset_issuer": None,
            "amount": 1,
            "source_asset_type": None,
            "source_asset_code": None,
            "source_asset_issuer": None,
            "source_amount": None,
            **op,
        }
        for op in ops
    ]
    return {
        "hash": tx_hash,
        "source_account": ALICE,
        "successful": ok,
        "fee_charged": fee,
        "max_fee": fee * 10,
        "operation_count": len(ops),
        "operations": full_ops,
    }


def _ledgers(*transaction_lists: list[dict[str, Any]], first: int = 7) -> pa.RecordBatch:
    rows = []
    for offset, txs in enumerate(transaction_lists):
        failed = sum(not tx["successful"] for tx in txs)
        rows.append(
            {
                "sequence": first + offset,
                "hash": f"{first + offset:064x}",
                "previous_hash": f"{first + offset - 1:064x}",
                "close_time": datetime(2024, 5, 1, tzinfo=UTC),
                "protocol_version": 21,
                "transaction_count": len(txs),
                "successful_transaction_count": len(txs) - failed,
                "failed_transaction_count": failed,
                "operation_count": sum(len(tx["operations"]) for tx in txs),
                "total_fees": sum(tx["fee_charged"] for tx in txs),
                "base_fee": 100,
                "transactions": txs,
            }
        )
    return pa.RecordBatch.from_pylist(rows, schema=STELLAR_LEDGER_SCHEMA)


@pytest.fixture(scope="module")
def generated() -> pa.RecordBatch:
    # 1..450 holds empty, all-failed and a 10,000-operation ledger (403) of seed 1.
    return SyntheticLedgers(GeneratorConfig(seed=1)).ledger_batch(1, 450)


def test_generated_ledgers_match_the_reference(generated: pa.RecordBatch) -> None:
    events, stats = extract_events(generated)
    assert events.schema.equals(TTP_EVENT_SCHEMA)
    expected = reference_events(generated.to_pylist())
    assert events.to_pylist() == expected
    assert stats.events == len(expected) and stats.ledgers == 450
    assert stats.fee_events == sum(generated.column("transaction_count").to_pylist())
    assert {e["event_type"] for e in expected} == {"fee", "transfer", "mint", "burn"}


def test_event_ids_are_unique(generated: pa.RecordBatch) -> None:
    ids = extract_events(generated)[0].column("event_id").to_pylist()
    assert len(ids) == len(set(ids))


def test_a_sliced_batch_gives_the_events_of_its_ledgers(generated: pa.RecordBatch) -> None:
    sliced = generated.slice(395, 20)  # ledgers 396..415, with the huge one
    events, _ = extract_events(sliced)
    assert events.to_pylist() == reference_events(sliced.to_pylist())


def test_a_ledger_without_transactions_yields_nothing() -> None:
    events, stats = extract_events(_ledgers([]))
    assert events.num_rows == 0 and events.schema.equals(TTP_EVENT_SCHEMA)
    assert stats.ledgers == 1 and stats.transactions == 0


def test_failed_transactions_yield_their_fee_only() -> None:
    batch = _ledgers([_tx([{}, {"type": "create_account"}], ok=False, fee=300)])
    events, stats = extract_events(batch)
    rows = events.to_pylist()
    assert [r["event_id"] for r in rows] == ["7:0:fee"]
    assert rows[0]["successful"] is False and rows[0]["amount_raw"] == 300
    assert rows[0]["amount_str"] == "0.0000300"
    assert stats.skipped_failed_operations == 2 and stats.failed_transactions == 1


def test_unknown_operation_types_are_counted_and_skipped() -> None:
    ops = [{"type": "manage_data"}, {"type": "op_from_the_future"}, {}, {"type": "manage_data"}]
    events, stats = extract_events(_ledgers([_tx(ops)]))
    assert events.column("event_id").to_pylist() == ["7:0:fee", "7:0:2"]
    assert dict(stats.unknown_operations) == {"manage_data": 2, "op_from_the_future": 1}


def test_a_transfer_missing_its_amount_is_malformed_and_skipped() -> None:
    events, stats = extract_events(_ledgers([_tx([{"amount": None}, {"destination": None}, {}])]))
    assert events.column("event_id").to_pylist() == ["7:0:fee", "7:0:2"]
    assert stats.malformed_operations == 2


def test_ten_thousand_operations_in_one_ledger() -> None:
    txs = [
        _tx([{"amount": t * 100 + o + 1} for o in range(100)], tx_hash=f"{t:064x}")
        for t in range(100)
    ]
    batch = _ledgers(txs)
    events, stats = extract_events(batch)
    assert stats.operations == 10_000 and events.num_rows == 10_100
    assert events.to_pylist() == reference_events(batch.to_pylist())


def test_mints_burns_and_path_payments() -> None:
    usdc = {"asset_type": "credit_alphanum4", "asset_code": "USDC", "asset_issuer": ISSUER}
    path = {
        "type": "path_payment_strict_send",
        "source_asset_type": "native",
        "source_asset_code": "XLM",
        "source_amount": 55,
    }
    ops = [{**usdc, "source_account": ISSUER}, {**usdc, "destination": ISSUER}, {**usdc, **path}]
    events, _ = extract_events(_ledgers([_tx(ops)]))
    rows = events.to_pylist()[1:]
    assert [r["event_type"] for r in rows] == ["mint", "burn", "transfer"]
    assert rows[2]["source_amount_raw"] == 55 and rows[2]["operation_type"] == path["type"]
    assert rows[0]["from_account"] == ISSUER and rows[1]["to_account"] == ISSUER


def test_amount_strings_have_seven_decimals() -> None:
    amounts = [1, 10_000_000, 123_456_789_012, 9_223_372_036_854_775_807]
    events, _ = extract_events(_ledgers([_tx([{"amount": a} for a in amounts])]))
    assert events.column("amount_str").to_pylist()[1:] == [
        "0.0000001",
        "1.0000000",
        "12345.6789012",
        "922337203685.4775807",
    ]
