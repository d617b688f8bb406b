# stellar-sdk types every XDR union arm Optional; the arm its discriminant selects is
# there (a malformed one fails as AttributeError, reported with its ledger and operation).
# mypy: disable-error-code="union-attr"
"""Events of the classic operations that move value (stellar/go `EventsFromOperation`).

Each handler gets the scope (transaction, operation index), the operation and its result,
and returns the operation's events in the reference's order.
"""

from __future__ import annotations

from collections.abc import Callable

from stellar_common.xdr import account_id, muxed_base
from stellar_sdk import StrKey
from stellar_sdk import xdr as X

from ttp_arrow_processor.entry_changes import claimable_balances
from ttp_arrow_processor.errors import TokenTransferError, present
from ttp_arrow_processor.events import CLAWBACK, MINT, EventScope, TokenTransferEvent
from ttp_arrow_processor.movements import movement
from ttp_arrow_processor.pools import pool_deltas
from ttp_arrow_processor.revocation import revoked_trustline_events
from ttp_arrow_processor.strkeys import claimable_balance_id, muxed_address, pool_id

_NATIVE = X.Asset(type=X.AssetType.ASSET_TYPE_NATIVE)
_O = X.OperationType
Handler = Callable[[EventScope, X.Operation, X.OperationResult], list[TokenTransferEvent]]


def op_source(scope: EventScope, op: X.Operation) -> X.MuxedAccount:
    return op.source_account if op.source_account is not None else scope.tx.source_account


def _create_account(
    scope: EventScope, op: X.Operation, _: X.OperationResult
) -> list[TokenTransferEvent]:
    body = op.body.create_account_op
    source = muxed_address(op_source(scope, op))
    amount = int(body.starting_balance.int64)
    return [
        movement(scope, _NATIVE, source, account_id(body.destination), amount, with_muxed_info=True)
    ]


def _account_merge(
    scope: EventScope, op: X.Operation, result: X.OperationResult
) -> list[TokenTransferEvent]:
    balance = result.tr.account_merge_result.source_account_balance
    if balance is None:
        return []
    source = muxed_address(op_source(scope, op))
    to = muxed_address(present(op.body.destination, "account_merge destination"))
    return [movement(scope, _NATIVE, source, to, int(balance.int64), with_muxed_info=True)]


def _payment(scope: EventScope, op: X.Operation, _: X.OperationResult) -> list[TokenTransferEvent]:
    body = op.body.payment_op
    source = muxed_address(op_source(scope, op))
    to = muxed_address(body.destination)
    return [movement(scope, body.asset, source, to, int(body.amount.int64), with_muxed_info=True)]


def _claim_atoms(
    scope: EventScope, op: X.Operation, atoms: list[X.ClaimAtom]
) -> list[TokenTransferEvent]:
    """Two events per offer crossed: what the seller gave, what it got."""
    taker = muxed_base(op_source(scope, op))
    events: list[TokenTransferEvent] = []
    for atom in atoms:
        if atom.type == X.ClaimAtomType.CLAIM_ATOM_TYPE_LIQUIDITY_POOL:
            pool = present(atom.liquidity_pool, "ClaimAtom.liquidity_pool")
            claim: X.ClaimLiquidityAtom | X.ClaimOfferAtom | X.ClaimOfferAtomV0 = pool
            seller = pool_id(pool.liquidity_pool_id)
        elif atom.type == X.ClaimAtomType.CLAIM_ATOM_TYPE_ORDER_BOOK:
            offer = present(atom.order_book, "ClaimAtom.order_book")
            claim, seller = offer, account_id(offer.seller_id)
        else:
            legacy = present(atom.v0, "ClaimAtom.v0")
            claim = legacy
            seller = StrKey.encode_ed25519_public_key(legacy.seller_ed25519.uint256)
        sold, bought = int(claim.amount_sold.int64), int(claim.amount_bought.int64)
        events.append(movement(scope, claim.asset_sold, seller, taker, sold, with_muxed_info=False))
        events.append(
            movement(scope, claim.asset_bought, taker, seller, bought, with_muxed_info=False)
        )
    return events


def _manage_offer(
    scope: EventScope, op: X.Operation, result: X.OperationResult
) -> list[TokenTransferEvent]:
    tr = result.tr
    outcome = (
        tr.manage_buy_offer_result
        or tr.manage_sell_offer_result
        or tr.create_passive_sell_offer_result
    )
    return _claim_atoms(scope, op, list(outcome.success.offers_claimed))


def _path_payment(
    scope: EventScope,
    op: X.Operation,
    offers: list[X.ClaimAtom],
    destination: X.MuxedAccount,
    asset: X.Asset,
    received: X.Int64,
) -> list[TokenTransferEvent]:
    """The offers crossed, then what the destination received."""
    source = muxed_address(op_source(scope, op))
    final = movement(
        scope, asset, source, muxed_address(destination), int(received.int64), with_muxed_info=True
    )
    return [*_claim_atoms(scope, op, offers), final]


def _path_payment_strict_send(
    scope: EventScope, op: X.Operation, result: X.OperationResult
) -> list[TokenTransferEvent]:
    body = op.body.path_payment_strict_send_op
    success = result.tr.path_payment_strict_send_result.success
    offers = list(success.offers)
    return _path_payment(scope, op, offers, body.destination, body.dest_asset, success.last.amount)


def _path_payment_strict_receive(
    scope: EventScope, op: X.Operation, result: X.OperationResult
) -> list[TokenTransferEvent]:
    body = op.body.path_payment_strict_receive_op
    success = result.tr.path_payment_strict_receive_result.success
    offers = list(success.offers)
    return _path_payment(scope, op, offers, body.destination, body.dest_asset, body.dest_amount)


def _inflation(
    scope: EventScope, op: X.Operation, result: X.OperationResult
) -> list[TokenTransferEvent]:
    payouts = result.tr.inflation_result.payouts or []
    return [
        scope.event(MINT, _NATIVE, int(payout.amount.int64), to=account_id(payout.destination))
        for payout in payouts
    ]


def _removed_balance(scope: EventScope) -> X.ClaimableBalanceEntry:
    assert scope.op_index is not None
    removed = claimable_balances(
        scope.tx.operation_changes(scope.op_index), X.LedgerEntryChangeType.LEDGER_ENTRY_REMOVED
    )
    if len(removed) != 1:
        raise TokenTransferError(f"expected one claimable balance removed, found {len(removed)}")
    return removed[0]


def _create_claimable_balance(
    scope: EventScope, op: X.Operation, result: X.OperationResult
) -> list[TokenTransferEvent]:
    body = op.body.create_claimable_balance_op
    created = result.tr.create_claimable_balance_result.balance_id
    balance = claimable_balance_id(present(created, "create_claimable_balance balance_id"))
    source = muxed_address(op_source(scope, op))
    return [
        movement(scope, body.asset, source, balance, int(body.amount.int64), with_muxed_info=False)
    ]


def _claim_claimable_balance(
    scope: EventScope, op: X.Operation, _: X.OperationResult
) -> list[TokenTransferEvent]:
    entry = _removed_balance(scope)
    source = muxed_address(op_source(scope, op))
    balance = claimable_balance_id(op.body.claim_claimable_balance_op.balance_id)
    return [
        movement(scope, entry.asset, balance, source, int(entry.amount.int64), with_muxed_info=True)
    ]


def _clawback(scope: EventScope, op: X.Operation, _: X.OperationResult) -> list[TokenTransferEvent]:
    body = op.body.clawback_op
    return [
        scope.event(CLAWBACK, body.asset, int(body.amount.int64), source=muxed_base(body.from_))
    ]


def _clawback_claimable_balance(
    scope: EventScope, op: X.Operation, _: X.OperationResult
) -> list[TokenTransferEvent]:
    entry = _removed_balance(scope)
    balance = claimable_balance_id(op.body.clawback_claimable_balance_op.balance_id)
    return [scope.event(CLAWBACK, entry.asset, int(entry.amount.int64), source=balance)]


def _pool_operation(scope: EventScope, op: X.Operation, deposit: bool) -> list[TokenTransferEvent]:
    assert scope.op_index is not None
    deltas = pool_deltas(scope.tx.operation_changes(scope.op_index))
    if len(deltas) != 1:
        raise TokenTransferError(f"expected one liquidity pool changed, found {len(deltas)}")
    pool = deltas[0]
    if (
        (pool.amount_a <= 0 or pool.amount_b <= 0)
        if deposit
        else (pool.amount_a < 0 or pool.amount_b < 0)
    ):
        raise TokenTransferError(f"liquidity pool {pool.pool} moved a negative amount")
    account = muxed_address(op_source(scope, op))
    events = []
    for asset, amount in ((pool.asset_a, pool.amount_a), (pool.asset_b, pool.amount_b)):
        if deposit:
            events.append(movement(scope, asset, account, pool.pool, amount, with_muxed_info=False))
        else:
            events.append(movement(scope, asset, pool.pool, account, amount, with_muxed_info=True))
    return events


def _pool_deposit(
    scope: EventScope, op: X.Operation, _: X.OperationResult
) -> list[TokenTransferEvent]:
    return _pool_operation(scope, op, deposit=True)


def _pool_withdraw(
    scope: EventScope, op: X.Operation, _: X.OperationResult
) -> list[TokenTransferEvent]:
    return _pool_operation(scope, op, deposit=False)


def classic_handlers() -> dict[X.OperationType, Handler]:
    return {
        _O.CREATE_ACCOUNT: _create_account,
        _O.ACCOUNT_MERGE: _account_merge,
        _O.PAYMENT: _payment,
        _O.CREATE_CLAIMABLE_BALANCE: _create_claimable_balance,
        _O.CLAIM_CLAIMABLE_BALANCE: _claim_claimable_balance,
        _O.CLAWBACK: _clawback,
        _O.CLAWBACK_CLAIMABLE_BALANCE: _clawback_claimable_balance,
        _O.ALLOW_TRUST: revoked_trustline_events,
        _O.SET_TRUST_LINE_FLAGS: revoked_trustline_events,
        _O.LIQUIDITY_POOL_DEPOSIT: _pool_deposit,
        _O.LIQUIDITY_POOL_WITHDRAW: _pool_withdraw,
        _O.MANAGE_BUY_OFFER: _manage_offer,
        _O.MANAGE_SELL_OFFER: _manage_offer,
        _O.CREATE_PASSIVE_SELL_OFFER: _manage_offer,
        _O.PATH_PAYMENT_STRICT_SEND: _path_payment_strict_send,
        _O.PATH_PAYMENT_STRICT_RECEIVE: _path_payment_strict_receive,
        _O.INFLATION: _inflation,
    }
