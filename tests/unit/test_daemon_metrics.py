"""Prometheus scrapes run on prometheus-client's HTTP thread; the state they report belongs
to the event loop. The runner's collector reads the snapshot the loop published on each
change, the controller's asks the loop to publish: either way a scrape on another thread
sees one consistent moment that includes every change made before it."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from flowctl import control_plane_pb2 as cp
from flowctl.contract import Policy
from flowrun.controller.prometheus import ControllerCollector
from flowrun.controller.state import ControllerState
from flowrun.daemon.metrics import RunnerMetrics
from flowrun.supervision.states import ComponentState
from prometheus_client import CollectorRegistry

COMPONENTS = 5
CHANGES = 400
HEARTBEATS = 2_000


@dataclass
class FakeChild:
    started_monotonic: float = 10.0


@dataclass
class FakeComponent:
    """What RunnerMetrics reads of a SupervisedComponent."""

    name: str
    state: ComponentState = ComponentState.STARTING
    restarts: int = 0
    ready_at: float | None = None
    child: FakeChild = field(default_factory=FakeChild)


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def _runner_scrape(registry: CollectorRegistry) -> dict[str, Any]:
    families = {family.name: family for family in registry.collect()}
    return {
        "up": {s.labels["component"]: s.value for s in families["flowrun_component_up"].samples},
        "states": {s.labels["state"]: s.value for s in families["flowrun_components"].samples},
        "restarts": {
            s.labels["component"]: s.value
            for s in families["flowrun_component_restarts"].samples
            if s.name == "flowrun_component_restarts_total"
        },
    }


def test_runner_metrics_report_the_published_snapshot() -> None:
    async def scenario() -> None:
        components = [FakeComponent(f"c{i}") for i in range(2)]
        metrics = RunnerMetrics(lambda: components)
        registry = CollectorRegistry()
        registry.register(metrics)
        components[0].state, components[0].ready_at = ComponentState.RUNNING, 10.4
        metrics.observe(components[0])
        seen = await asyncio.to_thread(_runner_scrape, registry)
        assert seen["up"] == {"c0": 1.0, "c1": 0.0}
        assert seen["states"]["running"] == 1.0 and seen["states"]["starting"] == 1.0
        count = "flowrun_component_start_seconds_count"
        assert _sample(registry, count, component="c0") == 1.0
        assert (
            _sample(registry, "flowrun_component_start_seconds_bucket", component="c0", le="0.5")
            == 1.0
        )
        assert (
            _sample(registry, "flowrun_component_start_seconds_bucket", component="c0", le="0.25")
            == 0.0
        )

        # A change the loop has not published yet is not seen; after publish it is.
        components.pop()
        assert "c1" in (await asyncio.to_thread(_runner_scrape, registry))["up"]
        metrics.publish()
        assert (await asyncio.to_thread(_runner_scrape, registry))["up"] == {"c0": 1.0}

    asyncio.run(scenario())


def test_a_scrape_on_another_thread_while_the_loop_changes_state_is_consistent() -> None:
    """The loop flips components between running and backoff and counts restarts; a thread
    scrapes all the while. Every scrape adds up, and none goes back in time."""

    async def scenario() -> None:
        components = [FakeComponent(f"c{i}") for i in range(COMPONENTS)]
        metrics = RunnerMetrics(lambda: components)
        registry = CollectorRegistry()
        registry.register(metrics)
        done = threading.Event()
        scrapes: list[dict[str, Any]] = []

        def scrape_until_done() -> None:
            while not done.is_set() or not scrapes:
                scrapes.append(_runner_scrape(registry))

        scraper = asyncio.ensure_future(asyncio.to_thread(scrape_until_done))
        for change in range(CHANGES):
            component = components[change % COMPONENTS]
            if component.state is ComponentState.RUNNING:
                component.state = ComponentState.BACKOFF
            else:
                component.state, component.restarts = ComponentState.RUNNING, component.restarts + 1
            metrics.observe(component)
            await asyncio.sleep(0)
        done.set()
        await scraper
        last = await asyncio.to_thread(_runner_scrape, registry)

        assert len(scrapes) > 1
        previous_total = 0.0
        for seen in scrapes:
            assert sum(seen["states"].values()) == COMPONENTS
            assert sum(seen["up"].values()) == seen["states"]["running"]
            total = sum(seen["restarts"].values())
            assert total >= previous_total
            previous_total = total
        assert last["restarts"] == {c.name: float(c.restarts) for c in components}

    asyncio.run(scenario())


def _register(state: ControllerState, service_id: str) -> None:
    state.register(
        cp.ServiceInfo(
            service_id=service_id, component_id=service_id, service_type=cp.SERVICE_TYPE_SINK
        )
    )


def test_a_controller_scrape_on_another_thread_sees_every_heartbeat_before_it() -> None:
    async def scenario() -> None:
        state = ControllerState(Policy(heartbeat_ttl_seconds=600.0))
        registry = CollectorRegistry()
        registry.register(ControllerCollector(state, asyncio.get_running_loop()))
        _register(state, "sink")
        beats = "flowctl_controller_heartbeats_total"
        done = threading.Event()
        seen: list[float] = []

        def scrape_until_done() -> None:
            while not done.is_set():
                seen.append(_sample(registry, beats) or 0.0)

        scraper = asyncio.ensure_future(asyncio.to_thread(scrape_until_done))
        for beat in range(HEARTBEATS):
            state.heartbeat(
                cp.ServiceHeartbeat(service_id="sink", metrics={"load": beat % 10 / 10})
            )
            if beat % 20 == 0:
                await asyncio.sleep(0)
        assert await asyncio.to_thread(_sample, registry, beats) == HEARTBEATS
        done.set()
        await scraper
        assert seen == sorted(seen) and seen[-1] <= HEARTBEATS
        load = "flowctl_service_load_ratio"
        labels = {"service_id": "sink", "service_type": "sink"}
        expected = (HEARTBEATS - 1) % 10 / 10
        assert await asyncio.to_thread(_sample, registry, load, **labels) == expected
        # Scraped on the loop's own thread (as tests do) it publishes in place.
        assert _sample(registry, beats) == HEARTBEATS

    asyncio.run(scenario())


def test_a_controller_whose_loop_is_gone_serves_its_last_metrics() -> None:
    registry = CollectorRegistry()

    async def scenario() -> None:
        state = ControllerState(Policy())
        registry.register(ControllerCollector(state, asyncio.get_running_loop()))
        _register(state, "sink")
        state.heartbeat(cp.ServiceHeartbeat(service_id="sink", metrics={"load": 0.5}))
        _sample(registry, "flowctl_controller_heartbeats_total")  # published on the loop

    asyncio.run(scenario())
    assert _sample(registry, "flowctl_controller_heartbeats_total") == 1.0


def test_start_seconds_keeps_counting_past_a_thousand_starts() -> None:
    """A crash-looping component starts for days: its histogram must keep growing (it held
    the latest 1000 starts, so its count stopped and its fast buckets fell)."""
    crashing = FakeComponent("crashing")
    metrics = RunnerMetrics(lambda: [crashing])
    registry = CollectorRegistry()
    registry.register(metrics)
    for start, seconds in enumerate([0.01] * 1000 + [2.0] * 10):
        crashing.child = FakeChild(started_monotonic=float(start))
        crashing.state, crashing.ready_at = ComponentState.RUNNING, start + seconds
        metrics.observe(crashing)
        crashing.state = ComponentState.BACKOFF
        metrics.observe(crashing)

    labels = {"component": "crashing"}
    assert registry.get_sample_value("flowrun_component_start_seconds_count", labels) == 1010
    fast = {**labels, "le": "0.05"}
    assert registry.get_sample_value("flowrun_component_start_seconds_bucket", fast) == 1000
