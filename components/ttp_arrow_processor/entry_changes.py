# stellar-sdk types every XDR union arm Optional; the arm its discriminant selects is
# there (a malformed one fails as AttributeError, reported with its ledger and operation).
# mypy: disable-error-code="union-attr"
"""LedgerEntryChanges as (pre, post) pairs, like stellar/go's `ingest.Change`.

A `state` entry is the value before the `updated` or `removed` that follows it; a
`created` or `restored` entry has no before. Only entries whose balances matter to token
transfers are read by the callers (accounts, trustlines, claimable balances, pools).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from stellar_sdk import xdr as X

from ttp_arrow_processor.errors import present

_T = X.LedgerEntryChangeType


@dataclass(frozen=True)
class Change:
    entry_type: X.LedgerEntryType
    change_type: X.LedgerEntryChangeType
    pre: X.LedgerEntryData | None
    post: X.LedgerEntryData | None


def changes(entry_changes: X.LedgerEntryChanges | None) -> Iterator[Change]:
    if entry_changes is None:
        return
    items = entry_changes.ledger_entry_changes
    for position, item in enumerate(items):
        kind = item.type
        if kind == _T.LEDGER_ENTRY_STATE:
            continue
        if kind in (_T.LEDGER_ENTRY_CREATED, _T.LEDGER_ENTRY_RESTORED):
            entry = item.created if kind == _T.LEDGER_ENTRY_CREATED else item.restored
            yield Change(entry.data.type, kind, None, entry.data)
            continue
        before = items[position - 1]
        pre = (before.state if before.type == _T.LEDGER_ENTRY_STATE else before.restored).data
        post = item.updated.data if kind == _T.LEDGER_ENTRY_UPDATED else None
        yield Change(pre.type, kind, pre, post)


def all_changes(groups: Iterable[X.LedgerEntryChanges | None]) -> list[Change]:
    return [change for group in groups for change in changes(group)]


def claimable_balances(
    found_in: list[Change], change_type: X.LedgerEntryChangeType
) -> list[X.ClaimableBalanceEntry]:
    """Claimable balances an operation created or removed (its pre or post value)."""
    found: list[X.ClaimableBalanceEntry] = []
    for change in found_in:
        if (
            change.entry_type == X.LedgerEntryType.CLAIMABLE_BALANCE
            and change.change_type == change_type
        ):
            entry = change.pre if change.pre is not None else change.post
            assert entry is not None
            found.append(present(entry.claimable_balance, "claimable balance entry"))
    return found
