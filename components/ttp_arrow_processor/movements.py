# stellar-sdk types every XDR union arm Optional; the arm its discriminant selects is
# there (a malformed one fails as AttributeError, reported with its ledger and operation).
# mypy: disable-error-code="union-attr"
"""The one rule every classic movement goes through (stellar/go
`mintOrBurnOrTransferEvent`): an asset sent by its issuer is a mint, sent to its issuer
a burn, anything else a transfer; from/to are written as G... even when the operation
named an M... account, whose id (or else the transaction memo) becomes `to_muxed_info`
where the reference asks for it.
"""

from __future__ import annotations

from stellar_sdk import StrKey
from stellar_sdk import xdr as X

from ttp_arrow_processor.errors import TokenTransferError
from ttp_arrow_processor.events import (
    BURN,
    MINT,
    TRANSFER,
    EventScope,
    MuxedInfo,
    TokenTransferEvent,
)
from ttp_arrow_processor.strkeys import account_of, asset_issuer, is_account

_M = X.MemoType


def memo_info(memo: X.Memo) -> MuxedInfo | None:
    if memo.type == _M.MEMO_ID:
        return MuxedInfo("id", str(memo.id.uint64))
    if memo.type == _M.MEMO_TEXT:
        return MuxedInfo("text", memo.text.decode("utf-8", "replace"))
    if memo.type == _M.MEMO_HASH:
        return MuxedInfo("hash", memo.hash.hash.hex())
    if memo.type == _M.MEMO_RETURN:
        return MuxedInfo("hash", memo.ret_hash.hash.hex())
    return None


def destination_muxed_info(to: str, scope: EventScope) -> MuxedInfo | None:
    """CAP-67: the id of an M... destination, else the memo; nothing for pools or balances."""
    if not is_account(to):
        return None
    if to.startswith("M"):
        return MuxedInfo(
            "id", str(int.from_bytes(StrKey.decode_med25519_public_key(to)[32:], "big"))
        )
    return memo_info(scope.tx.memo)


def movement(
    scope: EventScope,
    asset: X.Asset,
    source: str,
    to: str,
    amount: int,
    *,
    with_muxed_info: bool,
) -> TokenTransferEvent:
    issuer = asset_issuer(asset)
    sender, receiver = account_of(source), account_of(to)
    from_issuer = issuer is not None and is_account(source) and sender == issuer
    to_issuer = issuer is not None and is_account(to) and receiver == issuer
    if from_issuer and not to_issuer:
        event = scope.event(MINT, asset, amount, to=receiver)
    elif to_issuer and not from_issuer:
        return scope.event(BURN, asset, amount, source=sender)
    else:
        # Includes the issuer paying itself, which moves nothing and is still a transfer.
        if not sender or not receiver:
            raise TokenTransferError("transfer without a from or a to address")
        event = scope.event(TRANSFER, asset, amount, source=sender, to=receiver)
    return event.with_muxed_info(destination_muxed_info(to, scope)) if with_muxed_info else event
