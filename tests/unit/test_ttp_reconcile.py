"""Reconciliation (stellar/go verify_events.go): events against the ledger's balance changes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fixtures.stellar_ledgers import ledgers_997_to_999_testnet, pubnet_ledger
from ttp_arrow_processor.ledger_reader import decode_ledger
from ttp_arrow_processor.reconcile import reconcile_ledger
from ttp_arrow_processor.token_transfer import ledger_events


def fixture_ledgers() -> list[tuple[str, bytes]]:
    return [("pubnet-53312000", pubnet_ledger())] + [
        (f"testnet-{sequence}", raw) for sequence, raw in ledgers_997_to_999_testnet().items()
    ]


FIXTURE_LEDGERS = fixture_ledgers()  # read and decompressed once, for the cases and their ids


@pytest.mark.parametrize(("name", "raw"), FIXTURE_LEDGERS, ids=[n for n, _ in FIXTURE_LEDGERS])
def test_events_equal_the_balance_changes_of_every_fixture_ledger(name: str, raw: bytes) -> None:
    ledger = decode_ledger(raw)
    assert reconcile_ledger(ledger, ledger_events(ledger)) == []


def test_a_missing_event_shows_for_its_transaction_and_the_ledger() -> None:
    ledger = decode_ledger(pubnet_ledger())
    events = ledger_events(ledger)
    dropped = next(event for event in events if event.kind == "transfer")
    found = reconcile_ledger(ledger, [event for event in events if event is not dropped])
    assert dropped.asset is not None
    keys = {(d.holder, d.asset, d.transaction) for d in found}
    for holder in (dropped.from_address, dropped.to_address):
        assert (holder, dropped.asset, dropped.meta.tx_hash) in keys
        assert (holder, dropped.asset, None) in keys
    sender = next(d for d in found if d.holder == dropped.from_address and d.transaction)
    assert sender.from_changes - sender.from_events == -dropped.amount


def test_a_wrong_amount_is_a_difference() -> None:
    ledger = decode_ledger(ledgers_997_to_999_testnet()[998])
    events = ledger_events(ledger)
    fee = events[0]
    found = reconcile_ledger(ledger, [replace(fee, amount=fee.amount + 1), *events[1:]])
    assert {(d.holder, d.from_events - d.from_changes) for d in found} == {(fee.from_address, -1)}
