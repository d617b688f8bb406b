"""What `status` shows about reloads: a generation counter and the last outcome.

The runner owns one; hot reload records each attempt in it (`succeeded` / `failed`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReloadState:
    generation: int = 0
    last_error: str | None = None
    last_attempt_at: float | None = None
    last_outcome: dict[str, Any] = field(default_factory=dict)

    def succeeded(self, outcome: dict[str, Any]) -> int:
        """A reload applied: the generation moves on; returns it."""
        self.generation += 1
        self.last_error = None
        self.last_attempt_at = time.time()
        self.last_outcome = outcome
        return self.generation

    def failed(self, error: str, outcome: dict[str, Any] | None = None) -> None:
        """A reload rejected or rolled back: the old spec keeps running, the error is shown."""
        self.last_error = error
        self.last_attempt_at = time.time()
        self.last_outcome = outcome or {}

    def as_dict(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "last_error": self.last_error,
            "last_attempt_at": self.last_attempt_at,
            "last_outcome": self.last_outcome,
        }
