"""Assets of stellar-sdk XDR objects as the schema's (type, code, issuer) columns."""

from __future__ import annotations

from stellar_common.ledger_schema import (
    CREDIT_ALPHANUM4,
    CREDIT_ALPHANUM12,
    NATIVE,
    NATIVE_CODE,
)
from stellar_common.xdr import account_id
from stellar_sdk import xdr as x

AssetColumns = tuple[str, str, str | None]  # asset_type, asset_code, asset_issuer


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
