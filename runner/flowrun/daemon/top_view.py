"""Building what `flowrun top` shows (`GET /top`): the status, each component's own
counters as rates, and the memory and CPU of its process.

The sampler is asked once per frame; it keeps, between two asks, the counters' last
samples (rates come from successive samples, `rates.RateTracker`) and the psutil objects
(CPU percent is measured between two calls). Nothing runs while nobody watches: an idle
runner pays nothing for `top`.

On the event loop it only reads the status and the targets; the scrapes and psutil run
on worker threads, each scrape bounded by a short timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from flowrun.daemon.component_counters import (
    FETCH_TIMEOUT_SECONDS,
    CounterReading,
    fetch_counters,
    metrics_url,
)
from flowrun.daemon.process_usage import ProcessUsage, Usage
from flowrun.daemon.rates import RateTracker
from flowrun.daemon.status import health_targets
from flowrun.daemon.status_types import ComponentStatus, PipelineStatus
from flowrun.daemon.top_types import ComponentTop, TopView
from flowrun.spec.loader import LoadedSpec
from flowrun.supervision.controlplane import ControlPlane
from flowrun.supervision.states import ComponentState, one_line
from flowrun.supervision.supervisor import Supervisor

FetchCounters = Callable[[str, float], CounterReading]


class Watched(Protocol):
    """What the sampler needs of the runner."""

    loaded: LoadedSpec
    control: ControlPlane
    supervisor: Supervisor | None

    def status(self) -> PipelineStatus: ...


class TopSampler:
    def __init__(
        self,
        runner: Watched,
        *,
        fetch: FetchCounters = fetch_counters,
        usage: ProcessUsage | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._runner = runner
        self._fetch = fetch
        self._usage = usage or ProcessUsage()
        self._clock = clock
        self._completed = RateTracker()

    async def view(self) -> TopView:
        status = self._runner.status()
        urls = self._metrics_urls()
        pids = [c.pid for c in status.components if c.pid is not None]
        readings, usage = await asyncio.gather(
            self._read_counters(urls), asyncio.to_thread(self._usage.sample, pids)
        )
        return self._assemble(status, readings, usage)

    def _metrics_urls(self) -> dict[str, str]:
        supervisor = self._runner.supervisor
        if supervisor is None:
            return {}
        targets = health_targets(supervisor.components, self._runner.control)
        return {t.name: url for t in targets if (url := metrics_url(t.url)) is not None}

    async def _read_counters(self, urls: Mapping[str, str]) -> dict[str, CounterReading]:
        names = list(urls)
        answers = await asyncio.gather(
            *(asyncio.to_thread(self._fetch, urls[name], FETCH_TIMEOUT_SECONDS) for name in names)
        )
        return dict(zip(names, answers, strict=True))

    def _assemble(
        self,
        status: PipelineStatus,
        readings: Mapping[str, CounterReading],
        usage: Mapping[int, Usage],
    ) -> TopView:
        now = self._clock()
        completed = {
            c.name: self._completed.observe(
                c.name, c.pid, readings.get(c.name, CounterReading()).completed_total, now
            )
            for c in status.components
        }
        self._completed.forget_except(set(completed))
        order = graph_order(status.components)
        rows = tuple(
            _row(c, readings.get(c.name), usage.get(c.pid or -1), completed, status.components)
            for c in order
        )
        return TopView(
            pipeline=status.pipeline,
            profile=status.profile,
            revision=status.revision,
            phase=status.runner.phase.value,
            runner_pid=status.runner.pid,
            runner_uptime_seconds=status.runner.uptime_seconds,
            controller=status.controller,
            registered=sum(1 for c in status.components if c.registered),
            flow_control=status.flow_control,
            sampled_at=time.time(),
            components=rows,
        )


def graph_order(components: tuple[ComponentStatus, ...]) -> list[ComponentStatus]:
    """Upstream first (spec order among equals), from each component's inputs."""
    by_name = {c.name: c for c in components}
    placed: list[ComponentStatus] = []
    seen: set[str] = set()
    remaining = list(components)
    while remaining:
        ready = [
            c for c in remaining if all(i in seen or i not in by_name for i in c.inputs)
        ] or remaining[:1]
        placed += ready
        seen.update(c.name for c in ready)
        remaining = [c for c in remaining if c.name not in seen]
    return placed


def note_of(component: ComponentStatus) -> str:
    """One line: what it waits for, why it ended, or what it says is wrong."""
    if component.waiting_for:
        return component.waiting_for
    if component.state is not ComponentState.RUNNING and component.last_error:
        return one_line(component.last_error)
    if component.clean_exit:
        return component.clean_exit
    if component.reports_trouble:
        return component.trouble_line
    return ""


def _out_rate(
    component: ComponentStatus,
    completed: Mapping[str, float | None],
    components: tuple[ComponentStatus, ...],
) -> float | None:
    """A source's own rows served; else what its consumers take from it (the most any
    one takes: each reads the whole stream); None for a component nobody reads."""
    if not component.inputs:
        return completed.get(component.name)
    taken = [
        rate
        for consumer in components
        if component.name in consumer.inputs and (rate := completed.get(consumer.name)) is not None
    ]
    return max(taken) if taken else None


def _row(
    component: ComponentStatus,
    reading: CounterReading | None,
    usage: Usage | None,
    completed: Mapping[str, float | None],
    components: tuple[ComponentStatus, ...],
) -> ComponentTop:
    known = reading or CounterReading()
    return ComponentTop(
        name=component.name,
        type=component.type.value,
        state=component.state.value,
        pid=component.pid,
        uptime_seconds=component.uptime_seconds,
        restarts=component.restarts,
        inputs=component.inputs,
        in_per_second=completed.get(component.name) if component.inputs else None,
        out_per_second=_out_rate(component, completed, components),
        load=component.load,
        throttle_rate=component.throttle_rate,
        backpressure=known.backpressure,
        lag=known.lag,
        lag_unit=known.lag_unit,
        memory_bytes=usage.memory_bytes if usage is not None else None,
        cpu_percent=round(usage.cpu_percent, 1) if usage is not None else None,
        health=component.health,
        note=note_of(component),
    )
