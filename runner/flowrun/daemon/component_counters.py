"""A component's own counters, read from its Prometheus endpoint for `flowrun top`.

Every SDK component serves `/metrics` beside `/health` (flowctl.monitor): the runner
already knows that address (`status.health_targets`). Of the exposition it keeps:

- `flowctl_pipeline_throughput_total`: the rows the component completed (a source: rows
  served; a processor or sink: rows it read and finished). `top` turns it into a rate.
- `flowctl_backpressure_active`: whether the component runs under backpressure now.
- the first gauge named `*_lag` or `*_lag_<unit>` (the analytics sink's
  `analytics_sink_lag_ledgers`): how far behind it is, where the component knows it.

A component without the endpoint (a foreign one, or one that does not answer within the
timeout) simply has no counters: `top` shows "-", never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flowrun.daemon.http_body import read_body

COMPLETED = "flowctl_pipeline_throughput_total"
BACKPRESSURE = "flowctl_backpressure_active"
MAX_EXPOSITION_BYTES = 1024 * 1024
FETCH_TIMEOUT_SECONDS = 1.0
_LAG = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*_lag(?:_(?P<unit>[a-z]+))?$")


@dataclass(frozen=True)
class CounterReading:
    """What one scrape of a component's /metrics said."""

    completed_total: float | None = None
    backpressure: bool | None = None
    lag: float | None = None
    lag_unit: str | None = None


def metrics_url(health_url: str) -> str | None:
    """The SDK's /metrics beside a /health URL (None for another kind of URL)."""
    base, slash, last = health_url.rstrip("/").rpartition("/")
    if not slash or last != "health" or not base.startswith(("http://", "https://")):
        return None
    return f"{base}/metrics"


def parse_exposition(text: str) -> CounterReading:
    """The counters `top` reads from a Prometheus text exposition (others ignored)."""
    completed: float | None = None
    backpressure: bool | None = None
    lag: float | None = None
    lag_unit: str | None = None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, value = _sample(line)
        if name is None or value is None:
            continue
        if name == COMPLETED:
            completed = (completed or 0.0) + value  # one series per service id
        elif name == BACKPRESSURE:
            backpressure = bool(backpressure) or value >= 1.0
        elif lag is None and (match := _LAG.match(name)) is not None:
            lag, lag_unit = value, match.group("unit")
    return CounterReading(completed, backpressure, lag, lag_unit)


def _sample(line: str) -> tuple[str | None, float | None]:
    """(metric name, value) of one sample line: `name{labels} value [timestamp]`."""
    if "{" in line:
        name, _, rest = line.partition("{")
        rest = rest.rpartition("}")[2]
    else:
        name, _, rest = line.partition(" ")
    fields = rest.split()
    if not fields:
        return None, None
    try:
        return name.strip(), float(fields[0])
    except ValueError:
        return None, None


def fetch_counters(url: str, timeout_seconds: float = FETCH_TIMEOUT_SECONDS) -> CounterReading:
    """Blocking: call it on a worker thread. An empty reading when nothing usable answers."""
    body = read_body(url, timeout_seconds, MAX_EXPOSITION_BYTES)
    if body is None or len(body) > MAX_EXPOSITION_BYTES:
        return CounterReading()
    return parse_exposition(body.decode("utf-8", errors="replace"))
