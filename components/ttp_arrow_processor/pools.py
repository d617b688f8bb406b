# stellar-sdk types every XDR union arm Optional; the arm its discriminant selects is
# there (a malformed one fails as AttributeError, reported with its ledger and operation).
# mypy: disable-error-code="union-attr"
"""What an operation did to liquidity pools: per pool, the absolute change of each reserve
(stellar/go `getImpactedLiquidityPoolEntriesFromOperation`)."""

from __future__ import annotations

from dataclasses import dataclass

from stellar_sdk import xdr as X

from ttp_arrow_processor.entry_changes import Change
from ttp_arrow_processor.strkeys import pool_id


@dataclass(frozen=True)
class PoolDelta:
    pool: str  # L... strkey
    pool_id: X.PoolID
    asset_a: X.Asset
    asset_b: X.Asset
    amount_a: int
    amount_b: int


def _reserves(entry: X.LedgerEntryData | None) -> tuple[int, int]:
    if entry is None:
        return 0, 0
    product = entry.liquidity_pool.body.constant_product
    return int(product.reserve_a.int64), int(product.reserve_b.int64)


def pool_deltas(changes: list[Change]) -> list[PoolDelta]:
    deltas = []
    for change in changes:
        if change.entry_type != X.LedgerEntryType.LIQUIDITY_POOL:
            continue
        entry = change.post if change.post is not None else change.pre
        assert entry is not None
        pool = entry.liquidity_pool
        params = pool.body.constant_product.params
        pre_a, pre_b = _reserves(change.pre)
        post_a, post_b = _reserves(change.post)
        deltas.append(
            PoolDelta(
                pool=pool_id(pool.liquidity_pool_id),
                pool_id=pool.liquidity_pool_id,
                asset_a=params.asset_a,
                asset_b=params.asset_b,
                amount_a=abs(post_a - pre_a),
                amount_b=abs(post_b - pre_b),
            )
        )
    return deltas
