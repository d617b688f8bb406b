"""The sink's commit latency, measured across two clocks (the source's and its own),
as a Prometheus histogram that OpenMetrics parsers must keep taking."""

from __future__ import annotations

import math
import time

from arrow_analytics_sink.checkpoint import Checkpoint
from arrow_analytics_sink.metrics import SinkMetrics
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_text
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from stellar_common.spans import LedgerSpan


def test_a_source_clock_ahead_keeps_the_sinks_scrape_parseable() -> None:
    """A span the source stamped in the future (its host's clock ahead, or this one stepped
    back) or stamped with no number: the commit latency neither falls below 0 nor turns NaN,
    so _sum never falls and OpenMetrics parsers take the scrape."""
    registry = CollectorRegistry()
    measured = SinkMetrics(registry)
    spans = [LedgerSpan(1, 10, time.time() + 60.0), LedgerSpan(11, 20, math.nan)]

    measured.committed(Checkpoint(), Checkpoint(20, 100, 1), spans)

    families = {f.name: f for f in parse_om(openmetrics_text(registry).decode())}
    samples = {s.name: s.value for s in families["analytics_sink_commit_latency_seconds"].samples}
    assert samples["analytics_sink_commit_latency_seconds_count"] == 1
    assert samples["analytics_sink_commit_latency_seconds_sum"] == 0.0
    assert measured.latency_quantiles(0.5) == [0.0]
