# stellar-sdk types every XDR union arm Optional; the arm its discriminant selects is
# there (a malformed one fails as AttributeError, reported with its ledger and operation).
# mypy: disable-error-code="union-attr"
"""Fee events (stellar/go `generateFeeEvents`): one per transaction, successful or not.

A classic transaction's fee is its result's fee_charged. A Soroban transaction is charged
its full fee up front and refunded the unused resource fee after applying: the charge is
the fee account's balance drop in the fee changes, the refund (a fee event with a negative
amount, as CAP-67) its rise in the refund changes.
"""

from __future__ import annotations

from stellar_common.xdr import account_id, muxed_base
from stellar_sdk import xdr as X

from ttp_arrow_processor.events import FEE, EventScope, TokenTransferEvent

_NATIVE = X.Asset(type=X.AssetType.ASSET_TYPE_NATIVE)
_T = X.LedgerEntryChangeType


def _balance_span(entry_changes: X.LedgerEntryChanges | None, account: str) -> tuple[int, int]:
    """The account's balance in its last `state` and last `updated` entry (0 if none)."""
    start = end = 0
    for change in entry_changes.ledger_entry_changes if entry_changes else []:
        if change.type == _T.LEDGER_ENTRY_STATE:
            entry = change.state.data
        elif change.type == _T.LEDGER_ENTRY_UPDATED:
            entry = change.updated.data
        else:
            continue
        if (
            entry.type != X.LedgerEntryType.ACCOUNT
            or account_id(entry.account.account_id) != account
        ):
            continue
        balance = int(entry.account.balance.int64)
        if change.type == _T.LEDGER_ENTRY_STATE:
            start = balance
        else:
            end = balance
    return start, end


def fee_events(scope: EventScope) -> list[TokenTransferEvent]:
    tx = scope.tx
    payer = muxed_base(tx.fee_account)
    if not tx.is_soroban:
        return [scope.event(FEE, _NATIVE, tx.fee_charged, source=payer)]
    start, end = _balance_span(tx.fee_changes, payer)
    events = [scope.event(FEE, _NATIVE, start - end, source=payer)]
    refund_start, refund_end = _balance_span(tx.fee_refund_changes(), payer)
    if refund_end > refund_start:
        events.append(scope.event(FEE, _NATIVE, -(refund_end - refund_start), source=payer))
    return events
