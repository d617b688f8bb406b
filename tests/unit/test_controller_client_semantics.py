"""What real clients send, read as they mean it: metric names, string metrics, metadata."""

from __future__ import annotations

import pytest
from flowctl import control_plane_pb2 as cp
from flowctl.contract import Policy
from flowctl.v1 import common_pb2 as v1_common
from flowctl.v1 import control_plane_pb2 as v1
from flowrun.controller.registration import Registration, endpoint_key
from flowrun.controller.sanitize import MAX_VALUE, clean_metrics
from flowrun.controller.state import ControllerState
from flowrun.controller.text_metrics import format_number, parse_text_metrics


def test_legacy_obsrvr_metric_names_fill_flowruns_own() -> None:
    metrics = clean_metrics(
        {
            "current_inflight": 900.0,
            "inflight_utilization": 0.9,
            "events_per_second": 1234.5,
            "processing_latency_ms": 250.0,
        }
    )
    assert metrics.values["inflight"] == 900.0
    assert metrics.values["load"] == 0.9
    assert metrics.values["throughput"] == 1234.5
    assert metrics.values["latency_seconds"] == pytest.approx(0.25)
    assert metrics.values["current_inflight"] == 900.0  # kept as sent too


def test_current_inflight_over_registered_max_inflight_gives_the_load() -> None:
    metrics = clean_metrics({"current_inflight": 900.0})
    assert metrics.derived_load(1000) == pytest.approx(0.9)


def test_flowruns_own_names_win_over_the_aliases() -> None:
    metrics = clean_metrics({"load": 0.2, "inflight_utilization": 0.9})
    assert metrics.values["load"] == 0.2


def test_counters_keep_their_value_up_to_two_to_the_53() -> None:
    bytes_written = 3_456_789_012_345.0  # > 1e12
    assert clean_metrics({"bytes_written": bytes_written}).values["bytes_written"] == bytes_written
    assert clean_metrics({"huge": 1e300}).values["huge"] == MAX_VALUE == 2.0**53


def test_go_percent_v_strings_become_numbers_and_other_text_is_kept() -> None:
    parsed = parse_text_metrics(
        {
            "processed_count": "42",
            "uptime_seconds": "1.2345e-05",
            "processing_latency": "1.5ms",
            "last_update_time": "1767225600",
            "odd": "NaN",
        }
    )
    assert parsed.numbers.values["processed_count"] == 42.0
    assert parsed.numbers.values["uptime_seconds"] == 1.2345e-05
    assert parsed.numbers.values["last_update_time"] == 1767225600.0
    assert parsed.texts == {"processing_latency": "1.5ms", "odd": "NaN"}
    assert format_number(42.0) == "42"
    assert format_number(1.2345e-05) == "1.2345e-05"


def test_legacy_metadata_endpoints_and_source_endpoint() -> None:
    registration = Registration.from_proto(
        cp.ServiceInfo(
            service_type=cp.SERVICE_TYPE_PROCESSOR,
            metadata={
                "endpoints": "localhost:8816,localhost:9090",
                "source_endpoint": "localhost:8815",
            },
        )
    )
    assert registration.endpoint == "localhost:8816"
    assert registration.inputs == (endpoint_key("127.0.0.1:8815"),)


@pytest.mark.parametrize(
    ("one", "other"),
    [("localhost:8815", "127.0.0.1:8815"), ("grpc://0.0.0.0:8815/x", ":8815")],
)
def test_endpoint_keys_read_loopback_hosts_alike(one: str, other: str) -> None:
    assert endpoint_key(one) == endpoint_key(other) != ""


def test_v1_service_id_is_the_requested_id() -> None:
    component = v1_common.ComponentInfo(id="stellar-ledger-processor", endpoint=":50051")
    asked = Registration.from_v1(v1.RegisterRequest(component=component))
    assert asked.service_id == asked.component_id == "stellar-ledger-processor"
    explicit = Registration.from_v1(v1.RegisterRequest(component=component, component_id="x"))
    assert explicit.service_id == "x"


def test_topics_are_the_event_types_produced_or_consumed() -> None:
    source = Registration.from_proto(cp.ServiceInfo(output_event_types=["a.Ledger"]))
    sink = Registration.from_proto(cp.ServiceInfo(input_event_types=["b.Batch"]))
    assert source.topic_names() == ["a.Ledger.v1"]
    assert sink.topic_names() == ["b.Batch.v1"]


def overloaded_upstream(state: ControllerState, upstream: str) -> bool:
    return state.decision.throttle_rate(upstream) < 1.0


def test_source_endpoint_links_a_legacy_processor_to_its_source() -> None:
    state = ControllerState(Policy())
    source = state.register(
        cp.ServiceInfo(service_type=1, metadata={"endpoints": "localhost:8815"})
    ).service_id
    processor = state.register(
        cp.ServiceInfo(service_type=2, max_inflight=1000, metadata={"source_endpoint": ":8815"})
    ).service_id
    state.heartbeat(cp.ServiceHeartbeat(service_id=processor, metrics={"current_inflight": 900}))
    assert overloaded_upstream(state, source)


def test_event_types_link_v1_components_that_name_no_upstream() -> None:
    state = ControllerState(Policy())
    processor = v1_common.ComponentInfo(
        id="proc", type=2, input_event_types=["stellar.ledger.v1"],
        output_event_types=["stellar.ledger.batch.v1"],
    )  # fmt: skip
    sink = v1_common.ComponentInfo(id="sink", type=3, input_event_types=["stellar.ledger.batch.v1"])
    state.admit(Registration.from_v1(v1.RegisterRequest(component=processor)))
    state.admit(Registration.from_v1(v1.RegisterRequest(component=sink, component_id="sink")))
    state.heartbeat_v1(
        v1.HeartbeatRequest(service_id="sink", metrics={"inflight_utilization": "0.95"})
    )
    assert overloaded_upstream(state, "proc")


def test_v1_heartbeats_merge_and_legacy_ones_replace() -> None:
    state = ControllerState(Policy())
    state.admit(Registration.from_v1(v1.RegisterRequest(component_id="c")))
    state.heartbeat_v1(v1.HeartbeatRequest(service_id="c", metrics={"a": "1", "t": "x"}))
    state.heartbeat_v1(v1.HeartbeatRequest(service_id="c", metrics={"b": "2"}))
    record = state.registry.get("c")
    assert record is not None
    assert record.metrics == {"a": 1.0, "b": 2.0} and record.texts == {"t": "x"}
    state.register(cp.ServiceInfo(service_id="l"))
    state.heartbeat(cp.ServiceHeartbeat(service_id="l", metrics={"a": 1.0}))
    state.heartbeat(cp.ServiceHeartbeat(service_id="l", metrics={"b": 2.0}))
    legacy = state.registry.get("l")
    assert legacy is not None and legacy.metrics == {"b": 2.0}


def test_last_heartbeat_is_set_at_registration_and_heartbeats_count_from_zero() -> None:
    state = ControllerState(Policy(), wall_clock=lambda: 1234.5)
    record = state.register(cp.ServiceInfo(service_id="s"))
    assert record.last_heartbeat == 1234.5 and record.heartbeats == 0
    view = state.views()[0]
    assert view.last_heartbeat == 1234.5 and view.heartbeats == 0


def test_the_ack_carries_the_control_plane_endpoint() -> None:
    state = ControllerState(Policy())
    state.endpoint = "127.0.0.1:4242"
    assert state.connection_info()["control_plane_endpoint"] == "127.0.0.1:4242"


def test_legacy_status_without_a_service_id_finds_the_service_registered_alike() -> None:
    state = ControllerState(Policy())
    info = cp.ServiceInfo(
        service_type=3, health_endpoint="http://localhost:8088/health",
        input_event_types=["ttp_event_service.TTPEvent"],
    )  # fmt: skip
    registered = state.register(info)
    state.register(cp.ServiceInfo(service_type=3, health_endpoint="http://elsewhere/health"))
    assert state.status_target(info) is registered


def test_an_older_obsrvr_component_that_names_no_id_is_found_by_its_endpoint() -> None:
    """It registers with an empty id and its address in `endpoints`: the component the
    runner started on that address is who it is, so readiness and status find it."""
    state = ControllerState(Policy())
    state.expect("ttp-processor", "127.0.0.1:8816")
    claimed = state.register(
        cp.ServiceInfo(service_type=2, metadata={"endpoints": "localhost:8816"})
    )
    stranger = state.register(
        cp.ServiceInfo(service_type=2, metadata={"endpoints": "localhost:9999"})
    )
    named = state.register(
        cp.ServiceInfo(
            service_id="own-id", service_type=2, metadata={"endpoints": "localhost:8816"}
        )
    )
    ids = {view.service_id: view.component_id for view in state.views()}
    assert ids[claimed.service_id] == "ttp-processor"
    assert claimed.service_id != "ttp-processor"  # the ack's assigned id is what it heartbeats
    assert ids[stranger.service_id] == stranger.service_id
    assert ids[named.service_id] == "own-id"  # a client that names itself keeps its name
