# stellar-sdk types every XDR union arm Optional; the arm its discriminant selects is
# there (a malformed one fails as AttributeError, reported with its ledger and operation).
# mypy: disable-error-code="union-attr"
"""Events against balance changes, as stellar/go's `verify_events.go`.

For a transaction (or a whole ledger), the net change per (holder, asset) that the events
describe must equal the one its ledger entry changes show: account native balances,
trustline balances (pool shares excluded), claimable balances and pool reserves, from the
fee changes, the apply changes (transaction and operations) and the post-apply refunds;
for a ledger, the upgrades' changes too. Contract holders (C...) are left out on both
sides, as in the reference: a contract's balance lives in contract data with no standard
layout. A `Difference` is one key where the two disagree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from stellar_common.xdr import account_id
from stellar_sdk import xdr as X

from ttp_arrow_processor.entry_changes import Change, all_changes
from ttp_arrow_processor.events import BURN, CLAWBACK, FEE, MINT, TRANSFER, TokenTransferEvent
from ttp_arrow_processor.ledger_reader import LedgerView
from ttp_arrow_processor.strkeys import NATIVE_ASSET, asset_name, claimable_balance_id, pool_id

BalanceKey = tuple[str, str]  # (holder strkey, asset `native` or `CODE:ISSUER`)
_E = X.LedgerEntryType


def native_key(holder: str) -> BalanceKey:
    return holder, NATIVE_ASSET


@dataclass(frozen=True)
class Difference:
    holder: str
    asset: str
    from_events: int
    from_changes: int
    transaction: str | None  # hash, or None for the ledger as a whole


class _Deltas:
    def __init__(self) -> None:
        self.values: defaultdict[BalanceKey, int] = defaultdict(int)

    def add(self, holder: str, asset: str, delta: int) -> None:
        if holder.startswith("C") or delta == 0:
            return
        self.values[(holder, asset)] += delta

    def result(self) -> dict[BalanceKey, int]:
        return {key: value for key, value in self.values.items() if value != 0}


def _holdings(entry: X.LedgerEntryData) -> list[tuple[str, str, int]]:
    if entry.type == _E.ACCOUNT:
        return [
            (account_id(entry.account.account_id), NATIVE_ASSET, int(entry.account.balance.int64))
        ]
    if entry.type == _E.TRUSTLINE:
        line = entry.trust_line
        if line.asset.type == X.AssetType.ASSET_TYPE_POOL_SHARE:
            return []
        return [(account_id(line.account_id), asset_name(line.asset), int(line.balance.int64))]
    if entry.type == _E.CLAIMABLE_BALANCE:
        balance = entry.claimable_balance
        return [
            (
                claimable_balance_id(balance.balance_id),
                asset_name(balance.asset),
                int(balance.amount.int64),
            )
        ]
    if entry.type == _E.LIQUIDITY_POOL:
        pool = entry.liquidity_pool
        product = pool.body.constant_product
        holder = pool_id(pool.liquidity_pool_id)
        return [
            (holder, asset_name(product.params.asset_a), int(product.reserve_a.int64)),
            (holder, asset_name(product.params.asset_b), int(product.reserve_b.int64)),
        ]
    return []


def change_deltas(changes: Iterable[Change]) -> dict[BalanceKey, int]:
    deltas = _Deltas()
    for change in changes:
        for entry, sign in ((change.pre, -1), (change.post, 1)):
            if entry is not None:
                for holder, asset, amount in _holdings(entry):
                    deltas.add(holder, asset, sign * amount)
    return deltas.result()


def event_deltas(events: Iterable[TokenTransferEvent]) -> dict[BalanceKey, int]:
    deltas = _Deltas()
    for event in events:
        if event.asset is None:  # a custom token: no ledger entry to compare with
            continue
        if event.kind in (FEE, BURN, CLAWBACK, TRANSFER):
            assert event.from_address is not None
            deltas.add(event.from_address, event.asset, -event.amount)
        if event.kind in (MINT, TRANSFER):
            assert event.to_address is not None
            deltas.add(event.to_address, event.asset, event.amount)
    return deltas.result()


def differences(
    events: Iterable[TokenTransferEvent], changes: Iterable[Change], transaction: str | None
) -> list[Difference]:
    by_events, by_changes = event_deltas(events), change_deltas(changes)
    return [
        Difference(key[0], key[1], by_events.get(key, 0), by_changes.get(key, 0), transaction)
        for key in sorted(by_events.keys() | by_changes.keys())
        if by_events.get(key, 0) != by_changes.get(key, 0)
    ]


def reconcile_ledger(ledger: LedgerView, events: list[TokenTransferEvent]) -> list[Difference]:
    """Every disagreement, per transaction, then for the ledger as a whole (with upgrades)."""
    by_tx: defaultdict[str, list[TokenTransferEvent]] = defaultdict(list)
    for event in events:
        by_tx[event.meta.tx_hash].append(event)
    found: list[Difference] = []
    every_change: list[Change] = []
    for tx in ledger.transactions:
        tx_changes = tx.all_balance_changes()
        every_change += tx_changes
        found += differences(by_tx.get(tx.hash_hex, []), tx_changes, tx.hash_hex)
    every_change += all_changes(ledger.upgrade_changes)
    found += differences(events, every_change, None)
    return found
