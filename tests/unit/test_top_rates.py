"""The numbers of `flowrun top`: rates from successive counter samples, the counters read
from a component's Prometheus exposition, and the sampler turning a status into rows."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fixtures.status_samples import component, pipeline_of
from flowrun.daemon.component_counters import CounterReading, metrics_url, parse_exposition
from flowrun.daemon.process_usage import ProcessUsage, Usage
from flowrun.daemon.rates import RateTracker
from flowrun.daemon.status_types import PipelineStatus
from flowrun.daemon.top_types import TopView
from flowrun.daemon.top_view import TopSampler
from flowrun.spec.model import ComponentType


def test_a_rate_needs_two_samples_of_the_same_process() -> None:
    rates = RateTracker(window_seconds=10.0)
    assert rates.observe("src", 1, 100.0, at=0.0) is None
    assert rates.observe("src", 1, 150.0, at=1.0) == pytest.approx(50.0)
    assert rates.observe("src", 1, 250.0, at=2.0) == pytest.approx(75.0)  # (250-100)/2


def test_a_restart_or_a_counter_going_back_starts_over() -> None:
    rates = RateTracker()
    rates.observe("src", 1, 100.0, at=0.0)
    assert rates.observe("src", 2, 5.0, at=1.0) is None  # a new pid: its own counter
    assert rates.observe("src", 2, 15.0, at=2.0) == pytest.approx(10.0)
    assert rates.observe("src", 2, 3.0, at=3.0) is None  # went down: reset in place
    assert rates.observe("src", 2, None, at=4.0) is None  # no counter at all
    assert rates.observe("src", 2, 10.0, at=5.0) is None


def test_samples_too_close_together_keep_the_last_rate() -> None:
    rates = RateTracker(min_window_seconds=0.25)
    rates.observe("sink", 7, 0.0, at=0.0)
    assert rates.observe("sink", 7, 10.0, at=1.0) == pytest.approx(10.0)
    assert rates.observe("sink", 7, 500.0, at=1.01) == pytest.approx(10.0)


def test_the_window_slides_and_smooths_bursts() -> None:
    # A sink committing 100 rows every 2 s, sampled each second: 50/s, not 0 then 100.
    rates = RateTracker(window_seconds=4.0)
    seen = []
    for second, value in enumerate([0, 0, 100, 100, 200, 200, 300, 300, 400]):
        seen.append(rates.observe("sink", 1, float(value), at=float(second)))
    assert seen[4:] == [pytest.approx(50.0)] * 5
    rates.forget_except(set())
    assert rates.observe("sink", 1, 500.0, at=9.0) is None


EXPOSITION = """\
# HELP flowctl_pipeline_throughput_total Items this component completed
# TYPE flowctl_pipeline_throughput_total counter
flowctl_pipeline_throughput_total{service_id="sink",service_type="sink"} 1234.0
flowctl_pipeline_throughput_created{service_id="sink",service_type="sink"} 1.7e9
flowctl_backpressure_active{service_id="sink",service_type="sink"} 1.0
analytics_sink_lag_ledgers 12.0
other_lag 99.0
garbage line
"""


def test_the_counters_top_reads_from_an_exposition() -> None:
    reading = parse_exposition(EXPOSITION)
    assert reading == CounterReading(1234.0, True, 12.0, "ledgers")
    assert parse_exposition("") == CounterReading()


def test_the_metrics_url_is_beside_the_health_url() -> None:
    assert metrics_url("http://127.0.0.1:9000/health") == "http://127.0.0.1:9000/metrics"
    assert metrics_url("http://127.0.0.1:9000/ready") is None
    assert metrics_url("tcp://127.0.0.1:9000/health") is None


class _FakeRunner:
    loaded: Any = None
    control: Any = None
    supervisor: Any = None

    def __init__(self, status: PipelineStatus) -> None:
        self._status = status

    def status(self) -> PipelineStatus:
        return self._status


class _Sampler(TopSampler):
    """Counters by component name, as if each served /metrics at `name`."""

    def __init__(self, runner: _FakeRunner, counters: dict[str, float], clock: list[float]):
        super().__init__(
            runner,
            fetch=lambda url, timeout: CounterReading(completed_total=counters[url]),
            usage=_FixedUsage(),
            clock=lambda: clock[0],
        )

    def _metrics_urls(self) -> dict[str, str]:
        return {name: name for name in ("src", "proc", "sink")}


class _FixedUsage(ProcessUsage):
    def sample(self, pids: list[int]) -> dict[int, Usage]:
        return {pid: Usage(64 << 20, 12.5) for pid in pids}


def test_the_sampler_gives_rates_in_graph_order() -> None:
    # The spec lists the sink first: top shows the source first all the same.
    status = pipeline_of(
        component("sink", type=ComponentType.SINK, pid=30, inputs=("proc",)),
        component("src", pid=10),
        component("proc", type=ComponentType.PROCESSOR, pid=20, inputs=("src",)),
    )
    counters = {"src": 0.0, "proc": 0.0, "sink": 0.0}
    clock = [100.0]
    sampler = _Sampler(_FakeRunner(status), counters, clock)
    first = asyncio.run(sampler.view())
    assert [c.name for c in first.components] == ["src", "proc", "sink"]
    assert all(c.in_per_second is None for c in first.components)

    counters.update(src=40.0, proc=40.0, sink=400.0)
    clock[0] = 102.0
    second = TopView.from_json(asyncio.run(sampler.view()).to_json())
    rows = {c.name: c for c in second.components}
    assert rows["src"].in_per_second is None and rows["src"].out_per_second == 20.0
    assert rows["proc"].in_per_second == 20.0 and rows["proc"].out_per_second == 200.0
    assert rows["sink"].in_per_second == 200.0 and rows["sink"].out_per_second is None
    assert rows["sink"].memory_bytes == 64 << 20 and rows["sink"].cpu_percent == 12.5
    assert second.registered == 3 and second.pipeline == status.pipeline
