"""What an extraction saw, synthetic or real; `add` accumulates batches."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

_COUNTERS = ("unknown_operations", "events_by_type")


@dataclass
class ExtractStats:
    """What one extraction saw; `add` accumulates batches."""

    ledgers: int = 0
    transactions: int = 0
    failed_transactions: int = 0
    operations: int = 0
    events: int = 0
    fee_events: int = 0
    transfer_events: int = 0
    skipped_failed_operations: int = 0
    malformed_operations: int = 0
    real_ledgers: int = 0  # ledgers read from their LedgerCloseMeta (stellar/go's events)
    unknown_operations: Counter[str] = field(default_factory=Counter)
    events_by_type: Counter[str] = field(default_factory=Counter)

    def add(self, other: ExtractStats) -> None:
        for name in self.__dataclass_fields__:
            if name not in _COUNTERS:
                setattr(self, name, getattr(self, name) + getattr(other, name))
        self.unknown_operations.update(other.unknown_operations)
        self.events_by_type.update(other.events_by_type)

    def as_dict(self) -> dict[str, object]:
        values: dict[str, object] = {
            name: getattr(self, name) for name in self.__dataclass_fields__
        }
        values["unknown_operations"] = dict(self.unknown_operations)
        values["unknown_operations_total"] = sum(self.unknown_operations.values())
        values["events_by_type"] = dict(self.events_by_type)
        return values
