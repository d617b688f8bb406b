# stellar-sdk types every XDR union arm Optional; the arm its discriminant selects is
# there (a malformed one fails as AttributeError, reported with its ledger and operation).
# mypy: disable-error-code="union-attr"
"""One transaction of a real ledger and what the reference reads of it
(stellar/go `ingest.LedgerTransaction`): envelope, result, the three kinds of changes,
and the operation metas."""

from __future__ import annotations

from dataclasses import dataclass

from stellar_common.xdr import operation_results, succeeded
from stellar_sdk import xdr as X

from ttp_arrow_processor.entry_changes import Change, all_changes, changes


@dataclass(frozen=True)
class LedgerTransaction:
    index: int  # 1-based, as SEP-35
    ledger_sequence: int
    protocol_version: int
    envelope: X.TransactionEnvelope
    result: X.TransactionResultPair
    fee_changes: X.LedgerEntryChanges
    meta: X.TransactionMeta
    post_apply_fee_changes: X.LedgerEntryChanges | None

    @property
    def hash_hex(self) -> str:
        return self.result.transaction_hash.hash.hex()

    @property
    def inner(self) -> X.Transaction | X.TransactionV0:
        """The transaction that carries the operations (a fee bump's inner one)."""
        kind = self.envelope.type
        if kind == X.EnvelopeType.ENVELOPE_TYPE_TX_FEE_BUMP:
            return self.envelope.fee_bump.tx.inner_tx.v1.tx
        if kind == X.EnvelopeType.ENVELOPE_TYPE_TX:
            return self.envelope.v1.tx
        return self.envelope.v0.tx

    @property
    def source_account(self) -> X.MuxedAccount:
        tx = self.inner
        if isinstance(tx, X.TransactionV0):
            return X.MuxedAccount(
                type=X.CryptoKeyType.KEY_TYPE_ED25519, ed25519=tx.source_account_ed25519
            )
        return tx.source_account

    @property
    def fee_account(self) -> X.MuxedAccount:
        if self.envelope.type == X.EnvelopeType.ENVELOPE_TYPE_TX_FEE_BUMP:
            return self.envelope.fee_bump.tx.fee_source
        return self.source_account

    @property
    def sequence_number(self) -> int:
        return int(self.inner.seq_num.sequence_number.int64)

    @property
    def memo(self) -> X.Memo:
        return self.inner.memo

    @property
    def operations(self) -> list[X.Operation]:
        return list(self.inner.operations)

    @property
    def is_soroban(self) -> bool:
        tx = self.inner
        return isinstance(tx, X.Transaction) and tx.ext.v == 1

    @property
    def successful(self) -> bool:
        return succeeded(self.result.result)

    @property
    def fee_charged(self) -> int:
        return int(self.result.result.fee_charged.int64)

    def operation_results(self) -> list[X.OperationResult]:
        return operation_results(self.result.result)

    def _versioned_meta(
        self,
    ) -> X.TransactionMetaV1 | X.TransactionMetaV2 | X.TransactionMetaV3 | X.TransactionMetaV4:
        body = {1: self.meta.v1, 2: self.meta.v2, 3: self.meta.v3, 4: self.meta.v4}.get(self.meta.v)
        if body is None:
            raise ValueError(f"TransactionMeta version {self.meta.v} is not supported")
        return body

    def operation_meta_count(self) -> int:
        return len(self._versioned_meta().operations)

    def operation_changes(self, op_index: int) -> list[Change]:
        """The changes operation `op_index` (0-based) made."""
        operations = self._versioned_meta().operations
        if op_index >= len(operations):
            return []
        return list(changes(operations[op_index].changes))

    def tx_changes(self) -> list[Change]:
        """Transaction-level and operation changes, in order (`GetChanges`)."""
        meta = self._versioned_meta()
        if isinstance(meta, X.TransactionMetaV1):
            groups = [meta.tx_changes, *(op.changes for op in meta.operations)]
        else:
            groups = [
                meta.tx_changes_before,
                *(op.changes for op in meta.operations),
                meta.tx_changes_after,
            ]
        return all_changes(groups)

    def all_balance_changes(self) -> list[Change]:
        """Fee, apply and post-apply refund changes: everything this transaction moved."""
        return [
            *changes(self.fee_changes),
            *self.tx_changes(),
            *changes(self.post_apply_fee_changes),
        ]

    def contract_events(self, op_index: int) -> list[X.ContractEvent]:
        """The contract events of an operation (`GetContractEventsForOperation`)."""
        if self.meta.v == 3:
            soroban = self.meta.v3.soroban_meta
            return list(soroban.events) if soroban is not None else []
        if self.meta.v == 4:
            operations = self.meta.v4.operations
            return list(operations[op_index].events) if operations else []
        return []

    def fee_refund_changes(self) -> X.LedgerEntryChanges | None:
        """Where a Soroban refund shows: tx_changes_after before protocol 23, else post-apply."""
        after: list[X.LedgerEntryChange] = []
        if self.meta.v == 3:
            after = list(self.meta.v3.tx_changes_after.ledger_entry_changes)
        elif self.meta.v == 4:
            after = list(self.meta.v4.tx_changes_after.ledger_entry_changes)
        if self.post_apply_fee_changes is not None:
            after += self.post_apply_fee_changes.ledger_entry_changes
        return X.LedgerEntryChanges(after)
