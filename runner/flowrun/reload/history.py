"""What `status` shows about reloads: a generation counter, the last error and outcome.

An immutable value: the reloader replaces its history whole after each reload
(`after`), so whoever reads it (the status route) sees one consistent record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from flowrun.reload.outcome import ReloadOutcome, ReloadStatus


@dataclass(frozen=True)
class ReloadHistory:
    generation: int = 0
    """How many reloads changed what runs."""
    last_error: str | None = None
    """Why the last reload did not apply (cleared by one that did, or by an unchanged file)."""
    last_attempt_at: float | None = None
    """Epoch seconds of the last reload that changed something or failed."""
    last_outcome: ReloadOutcome | None = None

    def next_generation(self, *, changed: bool) -> int:
        """The generation a reload ends at: one more when it changed what runs."""
        return self.generation + 1 if changed else self.generation

    def after(self, outcome: ReloadOutcome, *, changed: bool, now: float) -> ReloadHistory:
        """The history once `outcome` is recorded; `changed`: the running revision moved."""
        history = self
        if changed:
            history = replace(
                history,
                generation=outcome.generation,
                last_error=None,
                last_attempt_at=now,
                last_outcome=outcome,
            )
        if outcome.status is ReloadStatus.UNCHANGED:
            # The file is back to what runs: an old rejection is moot.
            return replace(history, last_error=None)
        if outcome.status is not ReloadStatus.APPLIED:
            # Rejected, failed or rolled back: the error shows until a reload clears it.
            return replace(
                history,
                last_error="\n".join(outcome.errors),
                last_attempt_at=now,
                last_outcome=outcome,
            )
        return history

    def to_json(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "last_error": self.last_error,
            "last_attempt_at": self.last_attempt_at,
            "last_outcome": self.last_outcome.to_json() if self.last_outcome else {},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReloadHistory:
        outcome = data.get("last_outcome")
        attempt = data.get("last_attempt_at")
        return cls(
            generation=int(data.get("generation", 0)),
            last_error=data.get("last_error"),
            last_attempt_at=float(attempt) if attempt is not None else None,
            last_outcome=ReloadOutcome.from_json(outcome) if outcome else None,
        )
