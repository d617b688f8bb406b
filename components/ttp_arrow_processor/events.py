"""A token transfer event as stellar/go's `token_transfer_event.proto` defines it.

`fee`, `burn` and `clawback` have a `from` only, `mint` a `to` only, `transfer` both.
Indexes are SEP-35's: the transaction's 1-based position in the ledger, the operation's
1-based position in its transaction (None for a fee). `asset` is `native` or
`CODE:ISSUER`, None for a SEP-41 token that is not a Stellar Asset Contract.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from stellar_common.event_schema import BURN, CLAWBACK, FEE, MINT, TRANSFER
from stellar_sdk import xdr as X

from ttp_arrow_processor.strkeys import asset_name, sac_contract_address
from ttp_arrow_processor.transaction import LedgerTransaction

# The event kinds are the schema's `event_type` values, re-exported for the handlers.
__all__ = [
    "BURN",
    "CLAWBACK",
    "FEE",
    "MINT",
    "TRANSFER",
    "EventMeta",
    "EventScope",
    "MuxedInfo",
    "TokenTransferEvent",
]


@dataclass(frozen=True)
class MuxedInfo:
    """CAP-67's destination multiplexing: kind is `id`, `text` or `hash` (hex value)."""

    kind: str
    value: str


@dataclass(frozen=True)
class EventMeta:
    ledger_sequence: int
    closed_at: datetime
    tx_hash: str
    transaction_index: int
    operation_index: int | None
    operation_type: str | None
    contract_address: str
    successful: bool
    fee_charged: int
    to_muxed_info: MuxedInfo | None = None


@dataclass(frozen=True)
class TokenTransferEvent:
    kind: str
    meta: EventMeta
    asset: str | None
    amount: int
    from_address: str | None = None
    to_address: str | None = None

    def with_muxed_info(self, info: MuxedInfo | None) -> TokenTransferEvent:
        return replace(self, meta=replace(self.meta, to_muxed_info=info))


@dataclass(frozen=True)
class EventScope:
    """Where events are being made: the ledger's close time and network, a transaction,
    an operation (0-based here, written 1-based)."""

    closed_at: datetime
    passphrase: str
    tx: LedgerTransaction
    op_index: int | None = None
    op_type: str | None = None

    def at(self, op_index: int, op: X.Operation) -> EventScope:
        return replace(self, op_index=op_index, op_type=op.body.type.name.lower())

    def meta(self, contract_address: str) -> EventMeta:
        return EventMeta(
            ledger_sequence=self.tx.ledger_sequence,
            closed_at=self.closed_at,
            tx_hash=self.tx.hash_hex,
            transaction_index=self.tx.index,
            operation_index=None if self.op_index is None else self.op_index + 1,
            operation_type=self.op_type,
            contract_address=contract_address,
            successful=self.tx.successful,
            fee_charged=self.tx.fee_charged,
        )

    def asset_meta(self, asset: X.Asset) -> EventMeta:
        """Meta whose contract address is the asset's SAC, as the reference sets it."""
        return self.meta(sac_contract_address(asset, self.passphrase))

    def event(
        self,
        kind: str,
        asset: X.Asset,
        amount: int,
        *,
        source: str | None = None,
        to: str | None = None,
    ) -> TokenTransferEvent:
        return TokenTransferEvent(
            kind, self.asset_meta(asset), asset_name(asset), amount, source, to
        )
