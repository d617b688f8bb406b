# stellar-sdk types every XDR union arm Optional; the arm its discriminant selects is
# there (a malformed one fails as AttributeError, reported with its ledger and operation).
# mypy: disable-error-code="union-attr"
"""Names of XDR values as the reference writes them: strkeys, canonical assets, SAC ids.

Accounts are G... (a muxed M... account is reduced to its G... where the reference does),
contracts C..., claimable balances B..., liquidity pools L.... An asset is `native` or
`CODE:ISSUER` (stellar/go's `StringCanonical`), the key that reconciliation groups by.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from stellar_common.xdr import account_id, network_id
from stellar_sdk import StrKey
from stellar_sdk import xdr as X

from ttp_arrow_processor.errors import present

NATIVE_ASSET = "native"


def _med25519_address(key: X.Uint256, muxed_id: X.Uint64) -> str:
    return StrKey.encode_med25519_public_key(key.uint256 + muxed_id.uint64.to_bytes(8, "big"))


def muxed_address(account: X.MuxedAccount) -> str:
    """The address as written in the transaction: M... for a muxed account, else G...."""
    if account.type == X.CryptoKeyType.KEY_TYPE_MUXED_ED25519:
        med = account.med25519
        return _med25519_address(med.ed25519, med.id)
    return StrKey.encode_ed25519_public_key(account.ed25519.uint256)


def pool_id(pool: X.PoolID) -> str:
    return StrKey.encode_liquidity_pool(pool.pool_id.hash)


def claimable_balance_id(balance: X.ClaimableBalanceID) -> str:
    # The strkey payload is the id's type (one byte, V0 = 0) and its hash.
    return StrKey.encode_claimable_balance(bytes([balance.type.value]) + balance.v0.hash)


def contract_id(contract: X.ContractID | X.Hash) -> str:
    raw = contract.contract_id.hash if isinstance(contract, X.ContractID) else contract.hash
    return StrKey.encode_contract(raw)


def sc_address(address: X.SCAddress) -> str:
    kind = address.type
    if kind == X.SCAddressType.SC_ADDRESS_TYPE_ACCOUNT:
        return account_id(present(address.account_id, "SCAddress.account_id"))
    if kind == X.SCAddressType.SC_ADDRESS_TYPE_CONTRACT:
        return contract_id(present(address.contract_id, "SCAddress.contract_id"))
    if kind == X.SCAddressType.SC_ADDRESS_TYPE_MUXED_ACCOUNT:
        muxed = present(address.muxed_account, "SCAddress.muxed_account")
        return _med25519_address(muxed.ed25519, muxed.id)
    if kind == X.SCAddressType.SC_ADDRESS_TYPE_CLAIMABLE_BALANCE:
        return claimable_balance_id(present(address.claimable_balance_id, "SCAddress.balance"))
    return pool_id(present(address.liquidity_pool_id, "SCAddress.liquidity_pool_id"))


def is_account(address: str) -> bool:
    return address.startswith(("G", "M"))


def account_of(address: str) -> str:
    """G... for an account address (M... reduced to its G...), anything else unchanged."""
    if address.startswith("M"):
        return StrKey.encode_ed25519_public_key(StrKey.decode_med25519_public_key(address)[:32])
    return address


def _asset_parts(asset: X.Asset | X.TrustLineAsset) -> tuple[str, str] | None:
    if asset.type == X.AssetType.ASSET_TYPE_CREDIT_ALPHANUM4:
        code = asset.alpha_num4.asset_code.asset_code4
        issuer = asset.alpha_num4.issuer
    elif asset.type == X.AssetType.ASSET_TYPE_CREDIT_ALPHANUM12:
        code = asset.alpha_num12.asset_code.asset_code12
        issuer = asset.alpha_num12.issuer
    else:
        return None
    return code.rstrip(b"\0").decode("ascii"), account_id(issuer)


def asset_name(asset: X.Asset | X.TrustLineAsset) -> str:
    """`native` or `CODE:ISSUER` (pool shares are not assets here: the caller skips them)."""
    parts = _asset_parts(asset)
    return NATIVE_ASSET if parts is None else f"{parts[0]}:{parts[1]}"


def asset_issuer(asset: X.Asset) -> str | None:
    parts = _asset_parts(asset)
    return None if parts is None else parts[1]


@lru_cache(maxsize=65536)
def _sac_contract(asset_xdr: bytes, passphrase: str) -> str:
    preimage = X.HashIDPreimage(
        type=X.EnvelopeType.ENVELOPE_TYPE_CONTRACT_ID,
        contract_id=X.HashIDPreimageContractID(
            network_id=X.Hash(network_id(passphrase)),
            contract_id_preimage=X.ContractIDPreimage(
                type=X.ContractIDPreimageType.CONTRACT_ID_PREIMAGE_FROM_ASSET,
                from_asset=X.Asset.from_xdr_bytes(asset_xdr),
            ),
        ),
    )
    return StrKey.encode_contract(hashlib.sha256(preimage.to_xdr_bytes()).digest())


def sac_contract_address(asset: X.Asset, passphrase: str) -> str:
    """The Stellar Asset Contract's C... address of `asset` on the network (as stellar/go's
    `Asset.ContractID`): sha256 of the contract-id preimage from the asset."""
    return _sac_contract(asset.to_xdr_bytes(), passphrase)


def asset_from_name(name: str) -> X.Asset:
    """The XDR asset of `native` or `CODE:ISSUER` (SEP-11, as SAC events name it)."""
    if name == NATIVE_ASSET:
        return X.Asset(type=X.AssetType.ASSET_TYPE_NATIVE)
    code, _, issuer = name.partition(":")
    if not code or not issuer or len(code) > 12 or not StrKey.is_valid_ed25519_public_key(issuer):
        raise ValueError(f"not an asset: {name!r}")
    key = X.AccountID(
        X.PublicKey(
            X.PublicKeyType.PUBLIC_KEY_TYPE_ED25519,
            X.Uint256(StrKey.decode_ed25519_public_key(issuer)),
        )
    )
    raw = code.encode("ascii")
    if len(raw) <= 4:
        return X.Asset(
            type=X.AssetType.ASSET_TYPE_CREDIT_ALPHANUM4,
            alpha_num4=X.AlphaNum4(X.AssetCode4(raw.ljust(4, b"\0")), key),
        )
    return X.Asset(
        type=X.AssetType.ASSET_TYPE_CREDIT_ALPHANUM12,
        alpha_num12=X.AlphaNum12(X.AssetCode12(raw.ljust(12, b"\0")), key),
    )
