# stellar-sdk types every XDR union arm Optional; the arm its discriminant selects is
# there (a malformed one fails as AttributeError, reported with its ledger and operation).
# mypy: disable-error-code="union-attr"
"""A LedgerCloseMeta read as transactions in apply order, like stellar/go's
`ingest.LedgerTransactionReader`.

The transaction set lists envelopes in their own order; the processing metas are in apply
order and name each transaction by hash. Envelopes are hashed under the network passphrase
to pair them with their metas, which is also how a wrong passphrase shows: no envelope has
the hash a meta names. `network="auto"` tries the well-known networks until one pairs.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from stellar_sdk import xdr as X

from ttp_arrow_processor.errors import NetworkMismatchError, TokenTransferError
from ttp_arrow_processor.strkeys import network_id
from ttp_arrow_processor.transaction import LedgerTransaction

PUBNET = "Public Global Stellar Network ; September 2015"
TESTNET = "Test SDF Network ; September 2015"
FUTURENET = "Test SDF Future Network ; October 2022"
STANDALONE = "Standalone Network ; February 2017"
NETWORKS = {"pubnet": PUBNET, "testnet": TESTNET, "futurenet": FUTURENET, "standalone": STANDALONE}
AUTO = "auto"


def passphrase_of(network: str) -> str:
    """The passphrase of a network name (pubnet, testnet, ...), or the text itself."""
    return NETWORKS.get(network, network)


@dataclass(frozen=True)
class LedgerView:
    """One decoded ledger: its header facts and its transactions in apply order."""

    sequence: int
    close_time: datetime
    protocol_version: int
    passphrase: str
    transactions: tuple[LedgerTransaction, ...]
    upgrade_changes: tuple[X.LedgerEntryChanges, ...]


def _envelopes(
    lcm_body: X.LedgerCloseMetaV0 | X.LedgerCloseMetaV1 | X.LedgerCloseMetaV2,
) -> Iterator[X.TransactionEnvelope]:
    tx_set = lcm_body.tx_set
    if isinstance(tx_set, X.TransactionSet):
        yield from tx_set.txs
        return
    for phase in tx_set.v1_tx_set.phases:
        if phase.v == 0:
            for component in phase.v0_components:
                yield from component.txs_maybe_discounted_fee.txs
        else:
            for stage in phase.parallel_txs_component.execution_stages:
                for cluster in stage.parallel_tx_execution_stage:
                    yield from cluster.dependent_tx_cluster


def transaction_hash(envelope: X.TransactionEnvelope, passphrase: str) -> bytes:
    """sha256 of the signature payload: network id, envelope type, transaction."""
    kind = envelope.type
    if kind == X.EnvelopeType.ENVELOPE_TYPE_TX_FEE_BUMP:
        tagged = struct.pack(">I", kind.value) + envelope.fee_bump.tx.to_xdr_bytes()
    elif kind == X.EnvelopeType.ENVELOPE_TYPE_TX:
        tagged = struct.pack(">I", kind.value) + envelope.v1.tx.to_xdr_bytes()
    else:
        # A v0 transaction hashes as the v1 one it converts to, whose XDR is the v0 XDR
        # behind the muxed-account tag of its source (KEY_TYPE_ED25519 = 0).
        tx_tag = X.EnvelopeType.ENVELOPE_TYPE_TX.value
        tagged = struct.pack(">II", tx_tag, 0) + envelope.v0.tx.to_xdr_bytes()
    return hashlib.sha256(network_id(passphrase) + tagged).digest()


def _body(
    lcm: X.LedgerCloseMeta,
) -> X.LedgerCloseMetaV0 | X.LedgerCloseMetaV1 | X.LedgerCloseMetaV2:
    body = {0: lcm.v0, 1: lcm.v1, 2: lcm.v2}.get(lcm.v)
    if body is None:
        raise TokenTransferError(f"LedgerCloseMeta version {lcm.v} is not supported (0, 1, 2)")
    return body


def _pair(
    envelopes: Sequence[X.TransactionEnvelope],
    metas: Sequence[X.TransactionResultMeta | X.TransactionResultMetaV1],
    passphrase: str,
) -> dict[bytes, X.TransactionEnvelope] | None:
    by_hash = {transaction_hash(envelope, passphrase): envelope for envelope in envelopes}
    for meta in metas:
        if meta.result.transaction_hash.hash not in by_hash:
            return None
    return by_hash


_ResultMeta = X.TransactionResultMeta | X.TransactionResultMetaV1


def _transaction(
    position: int,
    meta: _ResultMeta,
    header: X.LedgerHeader,
    by_hash: dict[bytes, X.TransactionEnvelope],
) -> LedgerTransaction:
    post_apply = (
        meta.post_tx_apply_fee_processing if isinstance(meta, X.TransactionResultMetaV1) else None
    )
    return LedgerTransaction(
        index=position + 1,
        ledger_sequence=header.ledger_seq.uint32,
        protocol_version=header.ledger_version.uint32,
        envelope=by_hash[meta.result.transaction_hash.hash],
        result=meta.result,
        fee_changes=meta.fee_processing,
        meta=meta.tx_apply_processing,
        post_apply_fee_changes=post_apply,
    )


def read_ledger(lcm: X.LedgerCloseMeta, network: str = AUTO) -> LedgerView:
    """The ledger's transactions in apply order (index 1-based, as SEP-35)."""
    body = _body(lcm)
    header = body.ledger_header.header
    sequence = header.ledger_seq.uint32
    envelopes = list(_envelopes(body))
    metas: Sequence[_ResultMeta] = body.tx_processing
    candidates = list(NETWORKS.values()) if network == AUTO else [passphrase_of(network)]
    for passphrase in candidates:
        by_hash = _pair(envelopes, metas, passphrase) if metas else {}
        if by_hash is not None:
            break
    else:
        raise NetworkMismatchError(
            f"ledger {sequence}: its transactions do not hash under the network "
            f"{network!r}; set the processor's config.network to the ledger's network "
            f"(pubnet, testnet, futurenet, standalone, a passphrase, or auto)"
        )
    transactions = tuple(
        _transaction(position, meta, header, by_hash) for position, meta in enumerate(metas)
    )
    close_time = header.scp_value.close_time.time_point.uint64
    return LedgerView(
        sequence=sequence,
        close_time=datetime.fromtimestamp(close_time, UTC),
        protocol_version=header.ledger_version.uint32,
        passphrase=passphrase,
        transactions=transactions,
        upgrade_changes=tuple(upgrade.changes for upgrade in body.upgrades_processing),
    )


def decode_ledger(raw: bytes, network: str = AUTO) -> LedgerView:
    """`read_ledger` of the XDR bytes of one LedgerCloseMeta."""
    try:
        lcm = X.LedgerCloseMeta.from_xdr_bytes(raw)
    except Exception as e:  # the XDR decoder raises bare ValueError/IndexError/struct.error
        raise TokenTransferError(f"a ledger_close_meta value is not a LedgerCloseMeta: {e}") from e
    return read_ledger(lcm, network)
