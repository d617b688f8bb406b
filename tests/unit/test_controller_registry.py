"""The registry and the sanitising of what clients send."""

from __future__ import annotations

import math

import pytest
from flowctl import control_plane_pb2 as cp
from flowrun.controller.registry import Registration, Registry, RegistryFullError
from flowrun.controller.sanitize import (
    MAX_LOAD,
    MAX_METRIC_KEYS,
    MAX_VALUE,
    clean_metrics,
    parse_inputs,
)


def info(service_id: str = "sink-1", **metadata: str) -> cp.ServiceInfo:
    return cp.ServiceInfo(
        service_id=service_id,
        component_id="sink",
        service_type=cp.SERVICE_TYPE_SINK,
        max_inflight=200,
        metadata=metadata,
    )


def test_registration_reads_endpoint_and_inputs() -> None:
    registration = Registration.from_proto(info(endpoint="127.0.0.1:9000", inputs=" p1, p2,,p1 "))
    assert registration.endpoint == "127.0.0.1:9000"
    assert registration.inputs == ("p1", "p2")
    assert registration.component_id == "sink"
    assert registration.max_inflight == 200


def test_registration_without_id_is_assigned_one() -> None:
    registration = Registration.from_proto(cp.ServiceInfo(component_id="src"))
    assert registration.service_id.startswith("src-")
    assert registration.component_id == "src"


def test_component_id_defaults_to_service_id_and_unknown_type_to_unspecified() -> None:
    message = cp.ServiceInfo(service_id="x", service_type=3, max_inflight=-5)
    registration = Registration.from_proto(message)
    assert registration.component_id == "x"
    assert registration.max_inflight == 0


def test_duplicate_registration_replaces_without_growth() -> None:
    registry = Registry()
    first, replaced = registry.register(Registration.from_proto(info()), 1.0, 1.0)
    assert not replaced
    second, replaced = registry.register(Registration.from_proto(info(endpoint="e:1")), 2.0, 2.0)
    assert replaced and len(registry) == 1
    assert registry.get("sink-1") is second and second is not first
    assert second.registration.endpoint == "e:1"


def test_registry_is_bounded() -> None:
    registry = Registry(max_services=2)
    for name in ("a", "b"):
        registry.register(Registration.from_proto(info(name)), 0.0, 0.0)
    registry.register(Registration.from_proto(info("a")), 0.0, 0.0)  # replacing is fine
    with pytest.raises(RegistryFullError):
        registry.register(Registration.from_proto(info("c")), 0.0, 0.0)


def test_find_by_service_or_component_id() -> None:
    registry = Registry()
    registry.register(Registration.from_proto(info()), 0.0, 0.0)
    assert registry.find("sink-1") is registry.find("sink")
    assert registry.find("nothing") is None


def test_heartbeat_updates_load_from_inflight_and_keeps_liveness_times() -> None:
    registry = Registry()
    record, _ = registry.register(Registration.from_proto(info()), 100.0, 10.0)
    record.absorb(clean_metrics({"inflight": 150, "throughput": 12.5}), 105.0, 15.0)
    assert record.load == 0.75 and record.throughput == 12.5
    assert record.last_heartbeat == 105.0
    assert record.is_fresh(19.0, ttl=5.0) and not record.is_fresh(20.5, ttl=5.0)
    # A heartbeat without load information leaves the load as it was.
    record.absorb(clean_metrics({"custom": 1.0}), 106.0, 16.0)
    assert record.load == 0.75 and record.metrics == {"custom": 1.0}


def test_reported_load_wins_and_max_inflight_from_heartbeat_is_used() -> None:
    assert clean_metrics({"load": 0.3, "inflight": 10}).derived_load(100) == 0.3
    assert clean_metrics({"inflight": 10, "max_inflight": 20}).derived_load(100) == 0.5
    assert clean_metrics({"inflight": 10}).derived_load(0) is None
    assert clean_metrics({"inflight": 1e9}).derived_load(1) == MAX_LOAD


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -1.0])
def test_bad_known_values_are_dropped(bad: float) -> None:
    cleaned = clean_metrics({"load": bad, "throughput": bad, "latency_seconds": 0.2})
    assert cleaned.values == {"latency_seconds": 0.2}
    assert cleaned.dropped == 2


def test_extreme_values_are_clamped() -> None:
    cleaned = clean_metrics({"load": 1e300, "throughput": 1e300, "other": -1e300})
    assert cleaned.values == {"load": MAX_LOAD, "throughput": MAX_VALUE, "other": -MAX_VALUE}


def test_huge_maps_are_truncated_but_keep_known_keys() -> None:
    raw = {f"k{i:06d}": float(i) for i in range(100_000)}
    raw["load"] = 0.9
    cleaned = clean_metrics(raw)
    assert MAX_METRIC_KEYS // 2 < len(cleaned.values) <= MAX_METRIC_KEYS
    assert cleaned.values["load"] == 0.9  # the last key of the map, kept all the same
    assert cleaned.dropped == len(raw) - len(cleaned.values)


def test_long_keys_are_dropped() -> None:
    assert clean_metrics({"x" * 1000: 1.0}).values == {}


def test_parse_inputs() -> None:
    assert parse_inputs("") == ()
    assert parse_inputs("a") == ("a",)
    assert parse_inputs(" a ,b, a,, ") == ("a", "b")


def test_observed_interval_is_the_median_of_the_last_intervals() -> None:
    """Odd and even counts, as statistics.median gives them (one long gap does not count)."""
    from flowrun.controller.registry import INTERVALS_KEPT
    from flowrun.controller.sanitize import clean_metrics

    record, _ = Registry().register(Registration.from_proto(info("svc-1")), 0.0, 0.0)
    seen: list[float | None] = []
    for now in (0.0, 1.0, 3.0, 4.0, 104.0, 105.0, 106.0):
        record.absorb(clean_metrics({}), now, now)
        seen.append(record.observed_interval)
    assert seen == [None, 1.0, 1.5, 1.0, 1.5, 1.0, 1.0]
    assert INTERVALS_KEPT == 5
