"""Synthetic accounts and assets: valid Stellar strkeys, derived from the seed."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import pyarrow as pa
from stellar_common.ledger_schema import CREDIT_ALPHANUM4, CREDIT_ALPHANUM12, NATIVE, NATIVE_CODE

_ACCOUNT_VERSION_BYTE = 6 << 3  # 'G...'

# (code, share of payments in percent); native takes what is left.
CREDIT_ASSETS: tuple[tuple[str, int], ...] = (
    ("USDC", 24),
    ("EURC", 10),
    ("AQUA", 8),
    ("yXLM", 6),
    ("BENJI", 5),
    ("PYUSDSTABLE", 3),
)


def _crc16_xmodem(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def account_strkey(public_key: bytes) -> str:
    """The G... strkey of a 32-byte ed25519 public key (version, key, CRC16, base32)."""
    payload = bytes([_ACCOUNT_VERSION_BYTE]) + public_key
    checksum = _crc16_xmodem(payload).to_bytes(2, "little")
    return base64.b32encode(payload + checksum).decode("ascii")


def account_pool(seed: int, size: int) -> list[str]:
    """`size` distinct account ids, the same for the same seed."""
    return [
        account_strkey(hashlib.sha256(f"stellar-synthetic:{seed}:{index}".encode()).digest())
        for index in range(size)
    ]


@dataclass(frozen=True)
class AssetTable:
    """Assets indexed 0..n-1 (0 is native) and a weighted lookup table over them.

    An asset's issuer is an index into the account pool (`issuer_account`, null for
    native), so account columns are gathered from the pool in one take each.
    """

    asset_type: pa.Array
    asset_code: pa.Array
    issuer_account: pa.Array
    weighted_index: pa.Array  # 100 entries: a uniform draw in [0, 100) -> asset index

    @property
    def size(self) -> int:
        return len(self.asset_type)


def asset_table() -> AssetTable:
    """Native plus the credit assets, issued by the first accounts of the pool."""
    types = [NATIVE]
    codes = [NATIVE_CODE]
    issuers: list[int | None] = [None]
    weighted: list[int] = []
    for index, (code, share) in enumerate(CREDIT_ASSETS, start=1):
        types.append(CREDIT_ALPHANUM4 if len(code) <= 4 else CREDIT_ALPHANUM12)
        codes.append(code)
        issuers.append(index - 1)
        weighted.extend([index] * share)
    weighted = [0] * (100 - len(weighted)) + weighted
    return AssetTable(
        asset_type=pa.array(types, pa.string()),
        asset_code=pa.array(codes, pa.string()),
        issuer_account=pa.array(issuers, pa.uint64()),
        weighted_index=pa.array(weighted, pa.uint64()),
    )
