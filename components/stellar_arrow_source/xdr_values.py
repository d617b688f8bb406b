"""Plain values from stellar-sdk XDR objects: G... strkeys, assets as (type, code, issuer)."""

from __future__ import annotations

from stellar_common.ledger_schema import (
    CREDIT_ALPHANUM4,
    CREDIT_ALPHANUM12,
    NATIVE,
    NATIVE_CODE,
)
from stellar_sdk import StrKey
from stellar_sdk import xdr as x

AssetColumns = tuple[str, str, str | None]  # asset_type, asset_code, asset_issuer


def account_id(account: x.AccountID) -> str:
    key = account.account_id.ed25519
    assert key is not None  # the only kind of public key
    return StrKey.encode_ed25519_public_key(key.uint256)


def muxed_account(account: x.MuxedAccount) -> str:
    """The G... account of a possibly muxed account (a muxed M... id travels on the same
    account; the schema's accounts are G... strkeys)."""
    if account.ed25519 is not None:
        return StrKey.encode_ed25519_public_key(account.ed25519.uint256)
    assert account.med25519 is not None
    return StrKey.encode_ed25519_public_key(account.med25519.ed25519.uint256)


def asset_columns(asset: x.Asset) -> AssetColumns:
    if asset.alpha_num4 is not None:
        credit4 = asset.alpha_num4
        code = credit4.asset_code.asset_code4.rstrip(b"\0").decode("ascii", "replace")
        return CREDIT_ALPHANUM4, code, account_id(credit4.issuer)
    if asset.alpha_num12 is not None:
        credit12 = asset.alpha_num12
        code = credit12.asset_code.asset_code12.rstrip(b"\0").decode("ascii", "replace")
        return CREDIT_ALPHANUM12, code, account_id(credit12.issuer)
    return NATIVE, NATIVE_CODE, None
