"""Stellar network passphrases, by the names `config.network` accepts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowctl import options
from stellar_common.xdr import NETWORK_PASSPHRASES as WELL_KNOWN

PUBNET_PASSPHRASE = WELL_KNOWN["pubnet"]
TESTNET_PASSPHRASE = WELL_KNOWN["testnet"]
FUTURENET_PASSPHRASE = WELL_KNOWN["futurenet"]

_NAMES = ("pubnet", "testnet", "futurenet")  # not standalone: that name stays a passphrase
NETWORK_PASSPHRASES = {
    **{name: WELL_KNOWN[name] for name in _NAMES},
    "mainnet": PUBNET_PASSPHRASE,
    "public": PUBNET_PASSPHRASE,
}


def network_passphrase(config: Mapping[str, Any], backend: str) -> str:
    """The passphrase `config.network` names: pubnet, testnet, futurenet or the passphrase."""
    value = options.text(config, "network", "").strip()
    if not value:
        raise options.ConfigError(
            f"config.network is required with backend: {backend} "
            "(pubnet, testnet, futurenet or the network passphrase)"
        )
    return NETWORK_PASSPHRASES.get(value.lower(), value)


def network_name(passphrase: str) -> str:
    """A short name for messages: pubnet/testnet/futurenet, else the passphrase quoted."""
    for name in _NAMES:
        if NETWORK_PASSPHRASES[name] == passphrase:
            return name
    return repr(passphrase)
