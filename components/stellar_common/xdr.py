"""What both Stellar components read the same way from stellar-sdk's XDR classes.

The well-known network passphrases and the network id they hash to; the body of a
LedgerCloseMeta; the envelopes of a transaction set and the hash that pairs each with its
result; whether a transaction succeeded and its operation results; G... strkeys of
accounts. The source builds its StellarLedger rows with them, the processor its events.

A transaction hash is SHA-256(network id, envelope type, transaction XDR). A v0 envelope
hashes as the v1 transaction it converts to, whose XDR is the v0 XDR after four zero bytes
(the KEY_TYPE_ED25519 tag of the muxed source; a v0 optional time bound and a v1
precondition share their tags 0 and 1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import lru_cache

from stellar_sdk import Network, StrKey
from stellar_sdk import xdr as x

# The networks by their short names, in the order a processor's `network: auto` tries them.
NETWORK_PASSPHRASES = {
    "pubnet": Network.PUBLIC_NETWORK_PASSPHRASE,
    "testnet": Network.TESTNET_NETWORK_PASSPHRASE,
    "futurenet": Network.FUTURENET_NETWORK_PASSPHRASE,
    "standalone": Network.STANDALONE_NETWORK_PASSPHRASE,
}

MetaBody = x.LedgerCloseMetaV0 | x.LedgerCloseMetaV1 | x.LedgerCloseMetaV2

_ENVELOPE_TYPE_TX = x.EnvelopeType.ENVELOPE_TYPE_TX.value.to_bytes(4, "big")
_ENVELOPE_TYPE_TX_FEE_BUMP = x.EnvelopeType.ENVELOPE_TYPE_TX_FEE_BUMP.value.to_bytes(4, "big")
_V0_SOURCE_TAG = x.CryptoKeyType.KEY_TYPE_ED25519.value.to_bytes(4, "big")
_SUCCESS_CODES = (
    x.TransactionResultCode.txSUCCESS,
    x.TransactionResultCode.txFEE_BUMP_INNER_SUCCESS,
)


@lru_cache(maxsize=64)
def network_id(passphrase: str) -> bytes:
    return hashlib.sha256(passphrase.encode()).digest()


def meta_body(meta: x.LedgerCloseMeta) -> MetaBody:
    """The body its version selects (the XDR reader accepts no other version)."""
    body = {0: meta.v0, 1: meta.v1, 2: meta.v2}.get(meta.v)
    if body is None:
        raise ValueError(f"LedgerCloseMeta version {meta.v} is not supported (0, 1, 2)")
    return body


def envelopes(
    tx_set: x.TransactionSet | x.GeneralizedTransactionSet,
) -> Iterator[x.TransactionEnvelope]:
    """Every envelope of a ledger's transaction set, classic or generalized (phases of
    components, or of parallel stages of clusters since protocol 23)."""
    if isinstance(tx_set, x.TransactionSet):
        yield from tx_set.txs
        return
    assert tx_set.v1_tx_set is not None
    for phase in tx_set.v1_tx_set.phases:
        for component in phase.v0_components or ():
            assert component.txs_maybe_discounted_fee is not None
            yield from component.txs_maybe_discounted_fee.txs
        if phase.parallel_txs_component is not None:
            for stage in phase.parallel_txs_component.execution_stages:
                for cluster in stage.parallel_tx_execution_stage:
                    yield from cluster.dependent_tx_cluster


def transaction_hash(envelope: x.TransactionEnvelope, network: bytes) -> bytes:
    """The hash a result names its transaction by, under the network id `network`."""
    if envelope.v1 is not None:
        payload = _ENVELOPE_TYPE_TX + envelope.v1.tx.to_xdr_bytes()
    elif envelope.v0 is not None:
        payload = _ENVELOPE_TYPE_TX + _V0_SOURCE_TAG + envelope.v0.tx.to_xdr_bytes()
    else:
        assert envelope.fee_bump is not None
        payload = _ENVELOPE_TYPE_TX_FEE_BUMP + envelope.fee_bump.tx.to_xdr_bytes()
    return hashlib.sha256(network + payload).digest()


def succeeded(result: x.TransactionResult) -> bool:
    """Whether the transaction (a fee bump's inner one) succeeded."""
    return result.result.code in _SUCCESS_CODES


def operation_results(result: x.TransactionResult) -> list[x.OperationResult]:
    """The operations' results (a fee bump's inner ones); none when the transaction
    failed before applying them."""
    outcome = result.result
    if outcome.inner_result_pair is not None:
        return list(outcome.inner_result_pair.result.result.results or ())
    return list(outcome.results or ())


def account_id(account: x.AccountID) -> str:
    """The G... strkey of an account."""
    key = account.account_id.ed25519
    assert key is not None  # the only kind of public key
    return StrKey.encode_ed25519_public_key(key.uint256)


def muxed_base(account: x.MuxedAccount) -> str:
    """The G... account behind a (possibly muxed M...) account."""
    if account.ed25519 is not None:
        return StrKey.encode_ed25519_public_key(account.ed25519.uint256)
    assert account.med25519 is not None
    return StrKey.encode_ed25519_public_key(account.med25519.ed25519.uint256)
