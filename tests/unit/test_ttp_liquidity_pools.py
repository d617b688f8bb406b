"""Liquidity pool deposits and withdrawals, as stellar/go's token transfer processor emits
them (processors/token_transfer: liquidityPoolDepositEvents, liquidityPoolWithdrawEvents),
on the real pubnet ledger with one transaction replaced by a pool operation: the fixture
ledgers hold none."""

from __future__ import annotations

import pytest
from fixtures.ledger_rewrite import account, envelope, muxed, replace_transaction
from fixtures.stellar_ledgers import pubnet_ledger
from stellar_sdk import xdr as X
from ttp_arrow_processor.events import MuxedInfo, TokenTransferEvent
from ttp_arrow_processor.ledger_reader import decode_ledger
from ttp_arrow_processor.strkeys import pool_id
from ttp_arrow_processor.token_transfer import ledger_events

POOL = X.PoolID(X.Hash(b"\x05" * 32))
ISSUER = account(9)
USD = X.Asset(
    X.AssetType.ASSET_TYPE_CREDIT_ALPHANUM4,
    alpha_num4=X.AlphaNum4(X.AssetCode4(b"USD\0"), ISSUER.xdr_account_id()),
)
NATIVE = X.Asset(X.AssetType.ASSET_TYPE_NATIVE)
OWNER = account(1)
REPLACED = 15  # a successful classic transaction of ledger 53312000, in apply order


def _pool(reserve_a: int, reserve_b: int) -> X.LedgerEntry:
    parameters = X.LiquidityPoolConstantProductParameters(NATIVE, USD, X.Int32(30))
    product = X.LiquidityPoolEntryConstantProduct(
        parameters, X.Int64(reserve_a), X.Int64(reserve_b), X.Int64(1000), X.Int64(1)
    )
    body = X.LiquidityPoolEntryBody(
        X.LiquidityPoolType.LIQUIDITY_POOL_CONSTANT_PRODUCT, constant_product=product
    )
    data = X.LedgerEntryData(
        X.LedgerEntryType.LIQUIDITY_POOL, liquidity_pool=X.LiquidityPoolEntry(POOL, body)
    )
    return X.LedgerEntry(X.Uint32(1), data, X.LedgerEntryExt(0))


def _pool_operation_events(deposit: bool) -> list[TokenTransferEvent]:
    """The events of a pool deposit or withdraw by M...(OWNER, id 42), memo text 'memo';
    the pool's reserves go 1000/2000 -> 1100/2200 or 900/1800."""
    kind = X.OperationType
    if deposit:
        price = X.Price(X.Int32(1), X.Int32(1))
        operation = X.Operation(
            None,
            X.OperationBody(
                kind.LIQUIDITY_POOL_DEPOSIT,
                liquidity_pool_deposit_op=X.LiquidityPoolDepositOp(
                    POOL, X.Int64(100), X.Int64(200), price, price
                ),
            ),
        )
        result = X.OperationResultTr(
            kind.LIQUIDITY_POOL_DEPOSIT,
            liquidity_pool_deposit_result=X.LiquidityPoolDepositResult(
                X.LiquidityPoolDepositResultCode.LIQUIDITY_POOL_DEPOSIT_SUCCESS
            ),
        )
        after = _pool(1100, 2200)
    else:
        operation = X.Operation(
            None,
            X.OperationBody(
                kind.LIQUIDITY_POOL_WITHDRAW,
                liquidity_pool_withdraw_op=X.LiquidityPoolWithdrawOp(
                    POOL, X.Int64(10), X.Int64(0), X.Int64(0)
                ),
            ),
        )
        result = X.OperationResultTr(
            kind.LIQUIDITY_POOL_WITHDRAW,
            liquidity_pool_withdraw_result=X.LiquidityPoolWithdrawResult(
                X.LiquidityPoolWithdrawResultCode.LIQUIDITY_POOL_WITHDRAW_SUCCESS
            ),
        )
        after = _pool(900, 1800)
    changes = X.LedgerEntryChangeType
    ledger = replace_transaction(
        pubnet_ledger(),
        REPLACED,
        envelope(muxed(OWNER, 42), [operation], X.Memo(X.MemoType.MEMO_TEXT, text=b"memo")),
        [X.OperationResult(X.OperationResultCode.opINNER, tr=result)],
        [
            [
                X.LedgerEntryChange(changes.LEDGER_ENTRY_STATE, state=_pool(1000, 2000)),
                X.LedgerEntryChange(changes.LEDGER_ENTRY_UPDATED, updated=after),
            ]
        ],
    )
    events = ledger_events(decode_ledger(ledger))
    return [event for event in events if event.meta.operation_type is not None
            and event.meta.operation_type.startswith("liquidity_pool")]  # fmt: skip


@pytest.mark.parametrize("deposit", [True, False])
def test_a_pool_operation_of_a_muxed_account(deposit: bool) -> None:
    """A withdraw to a muxed account carries its muxed id, not the memo (the pool's side
    was demuxed before the destination's muxed info was read: token transfer audit); a
    deposit carries none, as stellar/go."""
    events = _pool_operation_events(deposit)
    pool, owner = pool_id(POOL), OWNER.public_key
    usd = f"USD:{ISSUER.public_key}"
    moves = [(e.kind, e.asset, e.amount, e.from_address, e.to_address) for e in events]
    if deposit:
        assert moves == [
            ("transfer", "native", 100, owner, pool),
            ("transfer", usd, 200, owner, pool),
        ]
        assert [e.meta.to_muxed_info for e in events] == [None, None]
    else:
        assert moves == [
            ("transfer", "native", 100, pool, owner),
            ("transfer", usd, 200, pool, owner),
        ]
        assert [e.meta.to_muxed_info for e in events] == [MuxedInfo("id", "42")] * 2
