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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from stellar_common.xdr import (
    NETWORK_PASSPHRASES,
    MetaBody,
    envelopes,
    meta_body,
    network_id,
    transaction_hash,
)
from stellar_sdk import xdr as X

from ttp_arrow_processor.errors import NetworkMismatchError, TokenTransferError
from ttp_arrow_processor.transaction import LedgerTransaction

AUTO = "auto"


def passphrase_of(network: str) -> str:
    """The passphrase of a network name (pubnet, testnet, ...), or the text itself."""
    return NETWORK_PASSPHRASES.get(network, network)


@dataclass(frozen=True)
class LedgerView:
    """One decoded ledger: its header facts and its transactions in apply order."""

    sequence: int
    close_time: datetime
    protocol_version: int
    passphrase: str
    transactions: tuple[LedgerTransaction, ...]
    upgrade_changes: tuple[X.LedgerEntryChanges, ...]


def _body(lcm: X.LedgerCloseMeta) -> MetaBody:
    try:
        return meta_body(lcm)
    except ValueError as e:
        raise TokenTransferError(str(e)) from None


def _pair(
    tx_envelopes: Sequence[X.TransactionEnvelope],
    metas: Sequence[X.TransactionResultMeta | X.TransactionResultMetaV1],
    passphrase: str,
) -> dict[bytes, X.TransactionEnvelope] | None:
    network = network_id(passphrase)
    by_hash = {transaction_hash(envelope, network): envelope for envelope in tx_envelopes}
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
    tx_envelopes = list(envelopes(body.tx_set))
    metas: Sequence[_ResultMeta] = body.tx_processing
    candidates = list(NETWORK_PASSPHRASES.values()) if network == AUTO else [passphrase_of(network)]
    for passphrase in candidates:
        by_hash = _pair(tx_envelopes, metas, passphrase) if metas else {}
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
