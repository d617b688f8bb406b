# stellar-sdk types every XDR union arm Optional; the arm its discriminant selects is
# there (a malformed one fails as AttributeError, reported with its ledger and operation).
# mypy: disable-error-code="union-attr"
"""Token transfer events of a real ledger, as stellar/go's `processors/token_transfer`.

Per transaction: its fee event(s) (successful or not), then, if it succeeded, every
operation's events (classic operations from the operation, its result and its ledger
changes; Soroban operations from their SEP-41 contract events). A ledger's events come in
the reference's order: every transaction's fee first, then the operations' events, with
each Soroban refund after its transaction's operations (before protocol 23) or all
refunds at the end (from protocol 23).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stellar_common.xdr import muxed_base
from stellar_sdk import xdr as X

from ttp_arrow_processor.classic_operations import classic_handlers, op_source
from ttp_arrow_processor.contract_events import operation_token_events
from ttp_arrow_processor.errors import TokenTransferError
from ttp_arrow_processor.events import BURN, MINT, EventScope, TokenTransferEvent
from ttp_arrow_processor.fees import fee_events
from ttp_arrow_processor.ledger_reader import LedgerView
from ttp_arrow_processor.reconcile import change_deltas, event_deltas, native_key

_HANDLERS = classic_handlers()
_NATIVE = X.Asset(type=X.AssetType.ASSET_TYPE_NATIVE)
# Before protocol 8 some XLM moves showed in no operation's result (CAP-67): the
# reference mints or burns the difference for the operation's source.
_RECONCILED_BEFORE_PROTOCOL = 8


@dataclass
class TransactionEvents:
    fee: list[TokenTransferEvent] = field(default_factory=list)
    operations: list[TokenTransferEvent] = field(default_factory=list)


def operation_events(
    scope: EventScope, op: X.Operation, result: X.OperationResult
) -> list[TokenTransferEvent]:
    if op.body.type == X.OperationType.INVOKE_HOST_FUNCTION:
        return operation_token_events(scope)
    handler = _HANDLERS.get(op.body.type)
    if handler is None:
        return []
    events = handler(scope, op, result)
    if scope.tx.protocol_version < _RECONCILED_BEFORE_PROTOCOL:
        events = _with_xlm_reconciliation(scope, op, events)
    return events


def _with_xlm_reconciliation(
    scope: EventScope, op: X.Operation, events: list[TokenTransferEvent]
) -> list[TokenTransferEvent]:
    assert scope.op_index is not None
    key = native_key(muxed_base(op_source(scope, op)))
    changed = change_deltas(scope.tx.operation_changes(scope.op_index)).get(key, 0)
    difference = changed - event_deltas(events).get(key, 0)
    if difference > 0:
        return [scope.event(MINT, _NATIVE, difference, to=key[0]), *events]
    if difference < 0:
        return [*events, scope.event(BURN, _NATIVE, -difference, source=key[0])]
    return events


def transaction_events(scope: EventScope) -> TransactionEvents:
    tx = scope.tx
    found = TransactionEvents(fee=fee_events(scope))
    if not tx.successful:
        return found
    results = tx.operation_results()
    for op_index, op in enumerate(tx.operations):
        at = scope.at(op_index, op)
        try:
            found.operations += operation_events(at, op, results[op_index])
        except (TokenTransferError, AttributeError, AssertionError, IndexError) as e:
            raise TokenTransferError(
                f"ledger {tx.ledger_sequence}, transaction {tx.hash_hex} (index {tx.index}), "
                f"operation {op_index + 1} ({at.op_type}): cannot derive its token transfer "
                f"events: {e}"
            ) from e
    return found


def ledger_events(ledger: LedgerView) -> list[TokenTransferEvent]:
    fees: list[TokenTransferEvent] = []
    operations: list[TokenTransferEvent] = []
    refunds: list[TokenTransferEvent] = []
    refunds_last = ledger.protocol_version >= 23
    for tx in ledger.transactions:
        found = transaction_events(EventScope(ledger.close_time, ledger.passphrase, tx))
        if not 1 <= len(found.fee) <= 2:
            raise TokenTransferError(
                f"ledger {ledger.sequence}, transaction {tx.hash_hex}: {len(found.fee)} fee events"
            )
        fees.append(found.fee[0])
        operations += found.operations
        (refunds if refunds_last else operations).extend(found.fee[1:])
    return [*fees, *operations, *refunds]
