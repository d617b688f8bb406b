"""Capped exponential backoff with full jitter (shared by the controller client and the pool)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """`next_delay()` grows base*2^n up to `cap`, each delay drawn in [delay/2, delay]."""

    base_seconds: float = 0.1
    cap_seconds: float = 5.0
    attempts: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def next_delay(self) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * (2.0**self.attempts))
        self.attempts += 1
        # Half-jitter: spread reconnect storms, yet never retry immediately.
        return self._random.uniform(ceiling / 2.0, ceiling)

    def reset(self) -> None:
        self.attempts = 0
