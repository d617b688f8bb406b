"""Stellar network passphrases, by the names `config.network` accepts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowctl import options

PUBNET_PASSPHRASE = "Public Global Stellar Network ; September 2015"
TESTNET_PASSPHRASE = "Test SDF Network ; September 2015"
FUTURENET_PASSPHRASE = "Test SDF Future Network ; October 2022"

NETWORK_PASSPHRASES = {
    "pubnet": PUBNET_PASSPHRASE,
    "mainnet": PUBNET_PASSPHRASE,
    "public": PUBNET_PASSPHRASE,
    "testnet": TESTNET_PASSPHRASE,
    "futurenet": FUTURENET_PASSPHRASE,
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
    for name in ("pubnet", "testnet", "futurenet"):
        if NETWORK_PASSPHRASES[name] == passphrase:
            return name
    return repr(passphrase)
