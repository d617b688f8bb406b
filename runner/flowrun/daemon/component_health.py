"""Each component's own health verdict, read from its health endpoint.

An SDK component serves a JSON report on `http://127.0.0.1:<port>/health`
(`flowctl.health.HealthReport.to_dict`: `status` healthy|degraded|unhealthy and its
`reasons`) and registers that URL with the controller as `health_endpoint`. The runner
reads it every monitoring interval, for status and health to show what the component
says of itself (an input that delivers nothing, a failing check...), beside the
heartbeats the controller judges.

Of the report's checks the runner keeps those it cannot judge itself: its inputs, its
pools, the component's own checks. It leaves out `controller` (the runner sees heartbeats
and the controller itself), `load` (backpressure is flow control doing its job: a note,
not a fault) and `lifecycle` (the runner knows when it stops a component).

A flowctl.v1 client says how it is in each heartbeat's `status` too (flowctl-sdk v0.1.3
always sends UNKNOWN, which says nothing): what it last said other than HEALTHY counts
as its own verdict beside its report (`with_reported_status`).

The requests run on worker threads with a short timeout, so the event loop never waits
on a component. A component that does not answer, or answers something that is not a
report, is simply not known: the runner does not call it degraded for that alone (its
heartbeats and its process already say whether it lives).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flowrun.daemon.http_body import read_body

POLL_TIMEOUT_SECONDS = 1.0
MAX_REPORT_BYTES = 256 * 1024
VERDICTS = ("healthy", "degraded", "unhealthy")
JUDGED_BY_THE_RUNNER = frozenset({"controller", "load", "lifecycle"})
REPORTED_VERDICTS = {
    "STARTING": "degraded",
    "DEGRADED": "degraded",
    "UNHEALTHY": "unhealthy",
    "STOPPING": "degraded",
}
"""A flowctl.v1 HealthStatus as a verdict. A running component that says it is starting or
stopping is not a fault, but not at its best either (as the runner's own `starting`)."""


@dataclass(frozen=True)
class ComponentHealth:
    """What one process of a component said about itself at `checked_at` (epoch seconds)."""

    status: str
    reasons: tuple[str, ...]
    pid: int
    checked_at: float


@dataclass(frozen=True)
class HealthTarget:
    """A component to ask: its name, the pid of the process that runs now, and the URL."""

    name: str
    pid: int
    url: str


Fetch = Callable[[str, float], tuple[str, tuple[str, ...]] | None]


def fetch_report(url: str, timeout_seconds: float) -> tuple[str, tuple[str, ...]] | None:
    """(status, reasons) from a health endpoint, or None when it gives no usable report.

    Blocking: call it on a worker thread. An unhealthy SDK component answers 503 with its
    report in the body, which counts as an answer."""
    if not url.startswith(("http://", "https://")):
        return None
    body = read_body(url, timeout_seconds, MAX_REPORT_BYTES, error_body=True)
    return None if body is None else parse_report(body)


def parse_report(body: bytes) -> tuple[str, tuple[str, ...]] | None:
    """(status, reasons) of the checks the runner does not judge itself; a report without
    a `checks` list counts whole."""
    if len(body) > MAX_REPORT_BYTES:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("status") not in VERDICTS:
        return None
    checks = data.get("checks")
    if isinstance(checks, list):
        return _verdict_of(check for check in checks if isinstance(check, dict))
    reasons = data.get("reasons")
    listed = reasons if isinstance(reasons, list) else []
    return str(data["status"]), tuple(str(reason) for reason in listed)


def _verdict_of(checks: Iterable[dict[str, object]]) -> tuple[str, tuple[str, ...]]:
    worst, reasons = 0, []
    for check in checks:
        name, status = str(check.get("name", "")), check.get("status")
        if name in JUDGED_BY_THE_RUNNER or status not in VERDICTS or status == "healthy":
            continue
        worst = max(worst, VERDICTS.index(str(status)))
        reasons.append(f"{name}: {check.get('reason', '')}")
    return VERDICTS[worst], tuple(reasons)


def with_reported_status(
    report: ComponentHealth | None, reported_status: str | None
) -> tuple[str | None, tuple[str, ...]]:
    """(verdict, reasons) of a component: the worse of its health endpoint's report and the
    status its flowctl.v1 heartbeats report, with the reasons of both."""
    verdict, reasons = (report.status, report.reasons) if report is not None else (None, ())
    said = REPORTED_VERDICTS.get(reported_status or "")
    if said is None:
        return verdict, reasons
    if verdict is None or VERDICTS.index(said) > VERDICTS.index(verdict):
        verdict = said
    return verdict, (*reasons, f"reported {reported_status} by the component in its heartbeat")


class ComponentHealthPoller:
    """Asks every target for its report each interval; keeps the last answer per process."""

    def __init__(
        self,
        targets: Callable[[], Iterable[HealthTarget]],
        *,
        interval_seconds: float,
        fetch: Fetch = fetch_report,
        timeout_seconds: float = POLL_TIMEOUT_SECONDS,
    ) -> None:
        self._targets = targets
        self.interval_seconds = interval_seconds
        self._fetch = fetch
        self._timeout_seconds = min(timeout_seconds, interval_seconds)
        self._latest: dict[str, ComponentHealth] = {}

    def latest(self, name: str, pid: int | None) -> ComponentHealth | None:
        """The last report of the process `pid` of `name` (None for an earlier process)."""
        known = self._latest.get(name)
        return known if known is not None and known.pid == pid else None

    async def run(self) -> None:
        while True:
            await self.poll_once()
            await asyncio.sleep(self.interval_seconds)

    async def poll_once(self) -> None:
        targets = list(self._targets())
        answers = await asyncio.gather(*(self._ask(target) for target in targets))
        self._latest = {
            target.name: answer
            for target, answer in zip(targets, answers, strict=True)
            if answer is not None
        }

    async def _ask(self, target: HealthTarget) -> ComponentHealth | None:
        report = await asyncio.to_thread(self._fetch, target.url, self._timeout_seconds)
        if report is None:
            return None
        status, reasons = report
        return ComponentHealth(status, reasons, target.pid, time.time())
