"""stellar/go's token transfer events from the real fixture ledgers (decoded in-process)."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest
from fixtures.stellar_ledgers import ledgers_997_to_999_testnet, pubnet_ledger
from stellar_arrow_source.generator import GeneratorConfig, SyntheticLedgers
from stellar_common.event_schema import TTP_EVENT_SCHEMA, amount_text
from stellar_common.ledger_schema import LEDGER_CLOSE_META
from stellar_sdk import Asset
from ttp_arrow_processor.errors import NetworkMismatchError
from ttp_arrow_processor.event_rows import events_batch
from ttp_arrow_processor.events import EventScope
from ttp_arrow_processor.extract import extract_events
from ttp_arrow_processor.ledger_reader import LedgerView, decode_ledger
from ttp_arrow_processor.movements import movement
from ttp_arrow_processor.token_transfer import ledger_events

XLM_SAC_PUBNET = "CAS3J7GYLGXMF6TDJBBYYSE3HQ6BBSMLNUQ34T6TZMYMW2EVH34XOWMA"
ISSUER = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
HOLDER = "GAMQQFFSOW7VBIKMDFGGNNJ6XYNQ26MJZAXKKDWAN2PYAJG5WYBSF72B"


@pytest.fixture(scope="module")
def pubnet() -> LedgerView:
    return decode_ledger(pubnet_ledger())


def test_pubnet_53312000_events_by_type_and_operation(pubnet: LedgerView) -> None:
    events = ledger_events(pubnet)
    assert len(pubnet.transactions) == 163
    assert Counter(event.kind for event in events) == {"fee": 164, "transfer": 132}
    assert Counter(e.meta.operation_type for e in events if e.kind != "fee") == {
        "create_claimable_balance": 54,
        "path_payment_strict_receive": 42,
        "path_payment_strict_send": 20,
        "payment": 9,
        "manage_buy_offer": 4,
        "claim_claimable_balance": 3,
    }


def test_fees_come_first_then_operations_then_the_refund_before_protocol_23(
    pubnet: LedgerView,
) -> None:
    events = ledger_events(pubnet)
    fees = events[:163]
    assert [event.meta.transaction_index for event in fees] == list(range(1, 164))
    assert all(event.kind == "fee" and event.meta.operation_index is None for event in fees)
    refunds = [event for event in events[163:] if event.kind == "fee"]
    # The one Soroban transaction is refunded part of its fee: a negative fee event.
    assert len(refunds) == 1 and refunds[0].amount < 0
    assert all(event.meta.operation_index >= 1 for event in events[163:] if event.kind != "fee")


def test_events_carry_the_sac_address_of_their_asset(pubnet: LedgerView) -> None:
    events = ledger_events(pubnet)
    assert {e.meta.contract_address for e in events if e.asset == "native"} == {XLM_SAC_PUBNET}
    usdc = f"USDC:{ISSUER}"
    expected = Asset("USDC", ISSUER).contract_id(pubnet.passphrase)
    assert {e.meta.contract_address for e in events if e.asset == usdc} <= {expected}


def test_an_asset_sent_by_its_issuer_is_a_mint_and_to_its_issuer_a_burn(
    pubnet: LedgerView,
) -> None:
    scope = EventScope(pubnet.close_time, pubnet.passphrase, pubnet.transactions[0])
    usdc = Asset("USDC", ISSUER).to_xdr_object()
    mint = movement(scope, usdc, ISSUER, HOLDER, 5, with_muxed_info=False)
    burn = movement(scope, usdc, HOLDER, ISSUER, 7, with_muxed_info=False)
    transfer = movement(
        scope, Asset.native().to_xdr_object(), ISSUER, HOLDER, 9, with_muxed_info=False
    )
    assert (mint.kind, mint.from_address, mint.to_address) == ("mint", None, HOLDER)
    assert (burn.kind, burn.from_address, burn.to_address) == ("burn", HOLDER, None)
    assert (transfer.kind, transfer.from_address) == ("transfer", ISSUER)


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [
        (
            997,
            {("fee", None): 7, ("transfer", "create_account"): 1, ("transfer", "account_merge"): 1},
        ),
        (998, {("fee", None): 7, ("transfer", "create_account"): 2}),
        (999, {("fee", None): 3, ("transfer", "create_account"): 2}),
    ],
)
def test_testnet_ledgers(sequence: int, expected: dict[tuple[str, str | None], int]) -> None:
    ledger = decode_ledger(ledgers_997_to_999_testnet()[sequence])
    assert ledger.passphrase == "Test SDF Network ; September 2015"  # found by `auto`
    events = ledger_events(ledger)
    assert Counter((event.kind, event.meta.operation_type) for event in events) == expected


def test_a_wrong_network_is_an_error_naming_the_ledger_and_the_setting() -> None:
    with pytest.raises(NetworkMismatchError, match=r"ledger 53312000: .*config\.network"):
        decode_ledger(pubnet_ledger(), "testnet")


def test_rows_follow_the_schema_with_unique_sep35_ids(pubnet: LedgerView) -> None:
    batch = events_batch(ledger_events(pubnet))
    assert batch.schema.equals(TTP_EVENT_SCHEMA)
    ids = batch.column("event_id").to_pylist()
    assert len(ids) == len(set(ids)) == 296
    assert ids[0] == "53312000:1:fee" and "53312000:163:refund" in ids
    refund = batch.to_pylist()[ids.index("53312000:163:refund")]
    assert refund["amount_str"] == amount_text(refund["amount_raw"]) and refund["amount_raw"] < 0


def test_amount_text_of_a_refund_is_negative() -> None:
    assert amount_text(-9_498_682) == "-0.9498682"
    assert amount_text(12_345_678_901) == "1234.5678901"


def test_a_batch_mixing_synthetic_and_real_rows_keeps_ledger_order() -> None:
    synthetic = SyntheticLedgers(GeneratorConfig(seed=3)).ledger_batch(1, 3)
    real_row = synthetic.slice(2, 1)
    column = real_row.schema.get_field_index(LEDGER_CLOSE_META)
    real_row = real_row.set_column(
        column, real_row.schema.field(column), pa.array([pubnet_ledger()], pa.binary())
    )
    mixed = (
        pa.Table.from_batches([synthetic.slice(0, 2), real_row]).combine_chunks().to_batches()[0]
    )
    events, stats = extract_events(mixed)
    synthetic_events, _ = extract_events(synthetic.slice(0, 2))
    assert events.slice(0, synthetic_events.num_rows).equals(synthetic_events)
    real = events.slice(synthetic_events.num_rows)
    assert real.num_rows == 296 and set(real.column("ledger_sequence").to_pylist()) == {53312000}
    assert stats.ledgers == 3 and stats.real_ledgers == 1
    assert stats.events_by_type["transfer"] == 132
