"""The sink's own measurements: Prometheus metrics and the figures of get_stats."""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from stellar_common.spans import LedgerSpan

from arrow_analytics_sink.checkpoint import Checkpoint

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class SinkMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events_written = Counter(
            "analytics_sink_events_written", "Events committed to the output", registry=registry
        )
        self.files_written = Counter(
            "analytics_sink_files_written", "Data files committed", registry=registry
        )
        self.write_errors = Counter(
            "analytics_sink_write_errors", "Failed attempts to commit a batch", registry=registry
        )
        self.last_ledger = Gauge(
            "analytics_sink_last_ledger", "Checkpoint: last ledger committed", registry=registry
        )
        self.lag = Gauge(
            "analytics_sink_lag_ledgers",
            "Source's current ledger minus the checkpoint",
            registry=registry,
        )
        self.commit_latency = Histogram(
            "analytics_sink_commit_latency_seconds",
            "From the source producing a batch of ledgers to their events being committed",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.commits = 0
        self._latencies: deque[float] = deque(maxlen=10_000)
        self._lock = threading.Lock()

    def committed(self, before: Checkpoint, after: Checkpoint, spans: list[LedgerSpan]) -> None:
        """One commit of the batches of `spans` moved the checkpoint from before to after."""
        self.events_written.inc(after.events_written - before.events_written)
        self.files_written.inc(after.files_written - before.files_written)
        self.last_ledger.set(after.last_ledger)
        now = time.time()
        measured = (commit_latency(now, span.generated_at) for span in spans if span.generated_at)
        latencies = [latency for latency in measured if latency is not None]
        for latency in latencies:  # one per batch the source produced
            self.commit_latency.observe(latency)
        with self._lock:
            self._latencies.extend(latencies)
            self.commits += 1

    def latency_quantiles(self, *quantiles: float) -> list[float | None]:
        """Quantiles of the latest 10,000 generation-to-commit latencies (None: no data)."""
        with self._lock:
            samples = sorted(self._latencies)
        if not samples:
            return [None for _ in quantiles]
        return [samples[min(len(samples) - 1, int(q * len(samples)))] for q in quantiles]


def commit_latency(now: float, generated_at: float) -> float | None:
    """Seconds from `generated_at` (the source's wall clock) to `now` (this one's); None
    when the span's time is no number.

    Two clocks: the source may run on another host whose clock is ahead, or this one may
    step back, and a span's app_metadata is whatever an upstream wrote. A negative or NaN
    observation would make the histogram's _sum fall or turn NaN for good: Prometheus reads
    the fall as a reset, and OpenMetrics parsers refuse the whole scrape ("Counter-like
    samples cannot be negative"). A batch from the future is committed at once: 0 s."""
    if not math.isfinite(generated_at):
        return None
    return max(0.0, now - generated_at)
