"""The real-ledger path of the processor: ledger rows that carry `ledger_close_meta`.

Each row's LedgerCloseMeta is decoded with stellar-sdk and turned into stellar/go's token
transfer events. `network` names the ledgers' network (pubnet, testnet, futurenet,
standalone, any passphrase, or `auto`: the first well-known network under which the
transactions hash, remembered for the ledgers that follow).
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
from stellar_common.ledger_schema import LEDGER_CLOSE_META

from ttp_arrow_processor.event_rows import events_batch
from ttp_arrow_processor.events import FEE, TokenTransferEvent
from ttp_arrow_processor.extract_stats import ExtractStats
from ttp_arrow_processor.ledger_reader import AUTO, LedgerView, decode_ledger
from ttp_arrow_processor.token_transfer import ledger_events


class RealLedgerExtractor:
    def __init__(self, network: str = AUTO) -> None:
        self.network = network

    def view(self, raw: bytes) -> LedgerView:
        ledger = decode_ledger(raw, self.network)
        if self.network == AUTO and ledger.transactions:
            self.network = ledger.passphrase  # no need to try every network again
        return ledger

    def ledger_events(self, raw: bytes) -> tuple[LedgerView, list[TokenTransferEvent]]:
        ledger = self.view(raw)
        return ledger, ledger_events(ledger)

    def extract(self, ledgers: pa.RecordBatch) -> tuple[pa.RecordBatch, ExtractStats]:
        """The events of a batch whose every row has `ledger_close_meta`."""
        events: list[TokenTransferEvent] = []
        stats = ExtractStats()
        for raw in ledgers.column(LEDGER_CLOSE_META).to_pylist():
            ledger, found = self.ledger_events(raw)
            events += found
            stats.add(_stats(ledger, found))
        return events_batch(events), stats


def _stats(ledger: LedgerView, events: list[TokenTransferEvent]) -> ExtractStats:
    kinds = Counter(event.kind for event in events)
    failed = sum(not tx.successful for tx in ledger.transactions)
    return ExtractStats(
        ledgers=1,
        real_ledgers=1,
        transactions=len(ledger.transactions),
        failed_transactions=failed,
        operations=sum(len(tx.operations) for tx in ledger.transactions),
        events=len(events),
        fee_events=kinds[FEE],
        transfer_events=len(events) - kinds[FEE],
        events_by_type=kinds,
    )
