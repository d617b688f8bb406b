"""The operation columns of synthetic ledgers, computed for a whole batch at once."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from stellar_common.ledger_schema import (
    ACCOUNT_MERGE,
    CREATE_ACCOUNT,
    OPERATION_TYPE,
    PATH_PAYMENT_STRICT_RECEIVE,
    PATH_PAYMENT_STRICT_SEND,
    PAYMENT,
    STROOPS_PER_UNIT,
)
from stellar_common.vectors import u64 as _u64

from stellar_arrow_source import hashing as h
from stellar_arrow_source.accounts import AssetTable

# (kind, percent). The first five are the transfers the TTP processor extracts, in the
# order the masks below rely on; the others it must skip and count.
OPERATION_MIX: tuple[tuple[str, int], ...] = (
    (PAYMENT, 50),
    (PATH_PAYMENT_STRICT_RECEIVE, 8),
    (PATH_PAYMENT_STRICT_SEND, 8),
    (CREATE_ACCOUNT, 6),
    (ACCOUNT_MERGE, 2),
    ("manage_data", 7),
    ("set_options", 4),
    ("change_trust", 6),
    ("manage_sell_offer", 5),
    ("bump_sequence", 1),
    ("invoke_host_function", 2),
    ("clawback", 1),
)
_TYPE_NAMES = pa.array([kind for kind, _ in OPERATION_MIX], pa.string())
_TYPE_TABLE = pa.array(
    [index for index, (_, share) in enumerate(OPERATION_MIX) for _ in range(share)], pa.uint64()
)
assert len(_TYPE_TABLE) == 100, "OPERATION_MIX must add up to 100%"

_TYPE, _SOURCE_OVERRIDE, _SOURCE_PICK, _DESTINATION, _ASSET, _MINT_BURN = range(20, 26)
_DIGITS, _AMOUNT, _SOURCE_ASSET, _SOURCE_DIGITS, _SOURCE_AMOUNT = range(26, 31)

_NULL_INDEX = pa.scalar(None, pa.uint64())
_NULL_INT = pa.scalar(None, pa.int64())


@dataclass(frozen=True)
class OperationColumns:
    type: pa.Array
    source_account: pa.Array
    destination: pa.Array
    asset_type: pa.Array
    asset_code: pa.Array
    asset_issuer: pa.Array
    amount: pa.Array
    source_asset_type: pa.Array
    source_asset_code: pa.Array
    source_asset_issuer: pa.Array
    source_amount: pa.Array

    def arrays(self) -> list[pa.Array]:
        """The columns in the order of OPERATION_TYPE's fields."""
        return [getattr(self, field.name) for field in OPERATION_TYPE]


def _amounts(keys: pa.Array, digits_field: int, amount_field: int) -> pa.Array:
    """Positive stroop amounts spread over 11 orders of magnitude."""
    digits = pc.add(h.below(keys, digits_field, 11), _u64(1))
    modulus = pc.power(_u64(10), digits)
    return pc.add(pc.modulo(h.field_hash(keys, amount_field), modulus), _u64(1)).cast(pa.int64())


def operation_columns(keys: pa.Array, accounts: pa.Array, assets: AssetTable) -> OperationColumns:
    """Every operation field, one entry per operation key.

    Accounts and assets are decided as integer indices (null: no value); each string
    column is then gathered once from the account pool or the asset table.
    """
    type_index = _TYPE_TABLE.take(h.below(keys, _TYPE, 100))
    is_transfer = pc.less(type_index, _u64(5))
    is_path = pc.or_(pc.equal(type_index, _u64(1)), pc.equal(type_index, _u64(2)))
    moves_native_only = pc.or_(pc.equal(type_index, _u64(3)), pc.equal(type_index, _u64(4)))
    carries_asset = pc.and_(is_transfer, pc.invert(moves_native_only))

    asset = assets.weighted_index.take(h.below(keys, _ASSET, 100))
    asset = pc.if_else(carries_asset, asset, _u64(0))
    issuer = assets.issuer_account.take(asset)  # null for native
    credit = pc.and_(carries_asset, pc.not_equal(asset, _u64(0)))
    mint_burn = h.below(keys, _MINT_BURN, 100)
    mint = pc.and_(credit, pc.less(mint_burn, _u64(3)))
    burn = pc.and_(
        credit, pc.and_(pc.greater_equal(mint_burn, _u64(3)), pc.less(mint_burn, _u64(5)))
    )

    picked_source = h.below(keys, _SOURCE_PICK, len(accounts))
    source = pc.if_else(h.chance(keys, _SOURCE_OVERRIDE, 15.0), picked_source, _NULL_INDEX)
    source = pc.if_else(mint, issuer, source)
    destination = h.below(keys, _DESTINATION, len(accounts))
    destination = pc.if_else(burn, issuer, destination)

    amount = _amounts(keys, _DIGITS, _AMOUNT)
    amount = pc.if_else(
        pc.equal(type_index, _u64(3)),
        pc.add(amount, pa.scalar(STROOPS_PER_UNIT, pa.int64())),
        amount,
    )
    received = pc.if_else(is_transfer, asset, _NULL_INDEX)
    given = pc.if_else(
        is_path, assets.weighted_index.take(h.below(keys, _SOURCE_ASSET, 100)), _NULL_INDEX
    )
    return OperationColumns(
        type=_TYPE_NAMES.take(type_index),
        source_account=accounts.take(source),
        destination=accounts.take(pc.if_else(is_transfer, destination, _NULL_INDEX)),
        asset_type=assets.asset_type.take(received),
        asset_code=assets.asset_code.take(received),
        asset_issuer=accounts.take(assets.issuer_account.take(received)),
        amount=pc.if_else(is_transfer, amount, _NULL_INT),
        source_asset_type=assets.asset_type.take(given),
        source_asset_code=assets.asset_code.take(given),
        source_asset_issuer=accounts.take(assets.issuer_account.take(given)),
        source_amount=pc.if_else(
            is_path, _amounts(keys, _SOURCE_DIGITS, _SOURCE_AMOUNT), _NULL_INT
        ),
    )
