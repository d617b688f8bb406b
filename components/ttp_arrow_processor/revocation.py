# stellar-sdk types every XDR union arm Optional; the arm its discriminant selects is
# there (a malformed one fails as AttributeError, reported with its ledger and operation).
# mypy: disable-error-code="union-attr"
"""Events of a trustline revocation (allow_trust, set_trust_line_flags) that pulls the
trustor's shares out of liquidity pools (CAP-38): each pool's reserves go to claimable
balances whose ids derive from the pool, the asset, the transaction's source, sequence
number and the operation index; an asset whose issuer is the trustor is burned instead.
Mirrors stellar/go `generateEventsForRevokedTrustlines`.
"""

from __future__ import annotations

import hashlib

from stellar_sdk import xdr as X

from ttp_arrow_processor.entry_changes import claimable_balances
from ttp_arrow_processor.errors import TokenTransferError
from ttp_arrow_processor.events import BURN, EventScope, TokenTransferEvent
from ttp_arrow_processor.movements import movement
from ttp_arrow_processor.pools import PoolDelta, pool_deltas
from ttp_arrow_processor.strkeys import claimable_balance_id


def revocation_balance_id(scope: EventScope, pool: PoolDelta, asset: X.Asset) -> bytes:
    source = scope.tx.source_account
    account = X.AccountID(
        X.PublicKey(
            X.PublicKeyType.PUBLIC_KEY_TYPE_ED25519, source.ed25519 or source.med25519.ed25519
        )
    )
    preimage = X.HashIDPreimage(
        type=X.EnvelopeType.ENVELOPE_TYPE_POOL_REVOKE_OP_ID,
        revoke_id=X.HashIDPreimageRevokeID(
            source_account=account,
            seq_num=X.SequenceNumber(X.Int64(scope.tx.sequence_number)),
            op_num=X.Uint32(scope.op_index or 0),
            liquidity_pool_id=pool.pool_id,
            asset=asset,
        ),
    )
    return hashlib.sha256(preimage.to_xdr_bytes()).digest()


def revoked_trustline_events(
    scope: EventScope, op: X.Operation, _: X.OperationResult
) -> list[TokenTransferEvent]:
    assert scope.op_index is not None
    changes = scope.tx.operation_changes(scope.op_index)
    pools = pool_deltas(changes)
    created = claimable_balances(changes, X.LedgerEntryChangeType.LEDGER_ENTRY_CREATED)
    if not pools or not created:
        return []
    by_hash = {entry.balance_id.v0.hash: entry for entry in created}
    events: list[TokenTransferEvent] = []
    for pool in pools:
        mine = [
            by_hash[key]
            for key in (
                revocation_balance_id(scope, pool, pool.asset_a),
                revocation_balance_id(scope, pool, pool.asset_b),
            )
            if key in by_hash
        ]
        if len(mine) > 2:
            raise TokenTransferError(f"more than two claimable balances created from {pool.pool}")
        for entry in mine:
            events.append(
                movement(
                    scope,
                    entry.asset,
                    pool.pool,
                    claimable_balance_id(entry.balance_id),
                    int(entry.amount.int64),
                    with_muxed_info=False,
                )
            )
        if len(mine) == 1:
            in_balance = mine[0].asset
            burned, amount = (
                (pool.asset_b, pool.amount_b)
                if in_balance == pool.asset_a
                else (pool.asset_a, pool.amount_a)
            )
            events.append(scope.event(BURN, burned, amount, source=pool.pool))
    return events
