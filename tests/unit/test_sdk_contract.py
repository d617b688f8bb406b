"""The runner/component contract: defaults, the one check, hysteresis, codec, durations."""

from __future__ import annotations

import math

import pytest
from flowctl import flow_control_pb2 as fc
from flowctl.contract import FlowControlSettings, Policy, PoolSettings, Problem, check
from flowctl.durations import format_duration, parse_duration
from flowctl.errors import SettingsError
from flowctl.policy_codec import policy_from_proto, policy_to_proto
from flowctl.settings import ComponentSettings

# -- defaults -------------------------------------------------------------------------


def test_defaults_are_the_documented_ones_and_valid() -> None:
    policy = check(Policy())
    assert policy.flow_control == FlowControlSettings(0.8, 0.6, 0.5)
    assert policy.pool == PoolSettings(
        min_connections=2,
        max_connections=10,
        idle_timeout_seconds=300.0,
        health_check_interval_seconds=30.0,
        connect_timeout_seconds=5.0,
        max_retries=3,
    )
    assert (
        policy.heartbeat_interval_seconds,
        policy.heartbeat_ttl_seconds,
        policy.monitoring_interval_seconds,
    ) == (1.0, 5.0, 5.0)


def test_component_settings_default_to_the_contract() -> None:
    settings = ComponentSettings(component_id="c", service_id="c")
    defaults = Policy()
    assert settings.flow_control == defaults.flow_control and settings.pool == defaults.pool
    assert settings.heartbeat_interval_seconds == defaults.heartbeat_interval_seconds
    assert settings.monitoring_interval_seconds == defaults.monitoring_interval_seconds


# -- the one check --------------------------------------------------------------------


def test_check_lists_every_problem_of_every_part_at_once() -> None:
    policy = Policy(
        flow_control=FlowControlSettings(activate_at=0.5, deactivate_at=0.7, throttle_rate=0),
        pool=PoolSettings(min_connections=5, max_connections=2, connect_timeout_seconds=0),
        heartbeat_interval_seconds=2.0,
        heartbeat_ttl_seconds=2.0,
        monitoring_interval_seconds=math.inf,
    )
    with pytest.raises(SettingsError) as raised:
        check(policy)
    assert [str(problem) for problem in raised.value.problems] == [
        "flow_control.deactivate_at: must be below activate_at (0.5), got 0.7: "
        "backpressure turns on at activate_at and off below deactivate_at",
        "flow_control.throttle_rate: must be in (0, 1], got 0",
        "pool.connect_timeout_seconds: must be a finite duration above 0, got 0s",
        "pool.min_connections: min_connections (5) must not exceed max_connections (2)",
        "monitoring_interval_seconds: must be a finite duration above 0, got inf",
        "heartbeat_ttl_seconds: must be longer than heartbeat_interval (2s), got 2s: "
        "every service would be unhealthy between two heartbeats",
    ]
    assert str(raised.value).startswith("invalid policy: flow_control.deactivate_at: ")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (FlowControlSettings(activate_at=1.5), ["activate_at: must be in (0, 1], got 1.5"]),
        (FlowControlSettings(activate_at=0), ["activate_at: must be in (0, 1], got 0"]),
        (FlowControlSettings(deactivate_at=0), ["deactivate_at: must be greater than 0, got 0"]),
        (
            FlowControlSettings(throttle_rate=math.nan),
            ["throttle_rate: must be in (0, 1], got nan"],
        ),
        (
            PoolSettings(min_connections=-1, max_connections=0, max_retries=-2),
            [
                "min_connections: must be >= 0, got -1",
                "max_connections: must be >= 1, got 0",
                "max_retries: must be >= 0, got -2",
            ],
        ),
        (
            PoolSettings(min_connections=11),
            ["min_connections: min_connections (11) must not exceed max_connections (10)"],
        ),
    ],
)
def test_each_rule(settings: FlowControlSettings | PoolSettings, expected: list[str]) -> None:
    assert [str(problem) for problem in settings.problems()] == expected
    with pytest.raises(SettingsError):
        check(settings)


def test_edges_are_valid() -> None:
    check(FlowControlSettings(activate_at=1, deactivate_at=0.01, throttle_rate=1))
    check(PoolSettings(min_connections=0, max_connections=1, max_retries=0))
    check(PoolSettings(min_connections=4, max_connections=4))


def test_a_problem_is_worded_for_its_reader() -> None:
    problem = Problem("deactivate_at", "must be below activate_at (0.5)", "0.6", "why")
    assert problem.message(" (the default)") == (
        "must be below activate_at (0.5), got 0.6 (the default): why"
    )
    assert problem.within("flow_control").path == "flow_control.deactivate_at"


# -- hysteresis -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("was", "load", "expected"),
    [
        (False, 0.5, False),
        (False, 0.79999, False),
        (False, 0.8, True),  # on exactly at activate_at
        (True, 0.7, True),  # inside the band: stays on
        (True, 0.6, True),  # not below deactivate_at yet
        (True, 0.59999, False),
        (False, 0.7, False),  # inside the band: stays off
    ],
)
def test_hysteresis_rule(was: bool, load: float, expected: bool) -> None:
    assert FlowControlSettings().overloaded(load, was) is expected


# -- codec ----------------------------------------------------------------------------

EDITED = Policy(
    flow_control=FlowControlSettings(activate_at=0.9, deactivate_at=0.4, throttle_rate=0.25),
    pool=PoolSettings(
        min_connections=0,
        max_connections=3,
        idle_timeout_seconds=60.0,
        health_check_interval_seconds=2.0,
        connect_timeout_seconds=1.5,
        max_retries=0,  # zero is a setting, not "unset"
    ),
    heartbeat_interval_seconds=0.5,
    heartbeat_ttl_seconds=2.5,
    monitoring_interval_seconds=0.25,
)


def test_codec_round_trip() -> None:
    message = policy_to_proto(EDITED, revision=3)
    assert message.revision == 3 and message.pool.max_connections == 3
    assert policy_from_proto(message) == EDITED


def test_an_older_sender_keeps_the_fallback_for_fields_it_does_not_know() -> None:
    message = policy_to_proto(EDITED)
    message.pool.connect_timeout_seconds = 0
    message.pool.ClearField("max_retries")
    decoded = policy_from_proto(message)
    assert decoded.pool.connect_timeout_seconds == PoolSettings().connect_timeout_seconds
    assert decoded.pool.max_retries == PoolSettings().max_retries
    current = PoolSettings(connect_timeout_seconds=9.0, max_retries=7)
    decoded = policy_from_proto(message, pool_fallback=current)
    assert (decoded.pool.connect_timeout_seconds, decoded.pool.max_retries) == (9.0, 7)
    assert decoded.pool.max_connections == 3  # what it sent is taken as sent


def test_a_zero_message_is_refused_with_every_reason() -> None:
    with pytest.raises(SettingsError) as raised:
        policy_from_proto(fc.Policy())
    paths = {problem.path for problem in raised.value.problems}
    assert {
        "flow_control.activate_at",
        "pool.max_connections",
        "heartbeat_interval_seconds",
    } <= paths


# -- durations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("250ms", 0.25), ("10s", 10.0), ("5m", 300.0), ("1h", 3600.0), (" 1.5 s ", 1.5)],
)
def test_durations_with_a_unit_read_the_same_in_both_modes(written: str, seconds: float) -> None:
    assert parse_duration(written) == seconds
    assert parse_duration(written, unit_required=False) == seconds


def test_a_bare_number_is_seconds_only_where_the_unit_is_optional() -> None:
    assert parse_duration("10", unit_required=False) == 10.0
    assert parse_duration(2, unit_required=False) == 2.0
    with pytest.raises(SettingsError, match=r"duration '10' has no unit: write '10s' or '10ms'"):
        parse_duration("10")
    with pytest.raises(SettingsError, match=r"duration 10 has no unit: write '10s' or '10ms'"):
        parse_duration(10)


@pytest.mark.parametrize("unit_required", [True, False])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "invalid duration 'soon': write a number"),
        ("0s", "duration '0s' must be greater than zero"),
        (True, "a duration must be a string like '250ms', '10s' or '5m'"),
        ([1], "a duration must be a string"),
    ],
)
def test_bad_durations(value: object, message: str, unit_required: bool) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        parse_duration(value, unit_required=unit_required)


def test_format_duration_is_the_shortest_exact_spelling() -> None:
    assert [format_duration(s) for s in (0.25, 1.0, 300.0, 7200.0, 1.5)] == [
        "250ms",
        "1s",
        "5m",
        "2h",
        "1500ms",
    ]


# -- the environment ------------------------------------------------------------------


def test_the_environment_round_trip_carries_the_contract() -> None:
    settings = ComponentSettings(
        component_id="c",
        service_id="c",
        heartbeat_interval_seconds=0.25,
        monitoring_interval_seconds=120.0,
        flow_control=EDITED.flow_control,
        pool=EDITED.pool,
    )
    env = settings.to_environ()
    assert (
        env["FLOWCTL_HEARTBEAT_INTERVAL"] == "250ms" and env["FLOWRUN_MONITORING_INTERVAL"] == "2m"
    )
    assert ComponentSettings.from_environ(env) == settings


def test_the_environment_accepts_bare_seconds_as_the_go_components_do() -> None:
    settings = ComponentSettings.from_environ({"FLOWCTL_HEARTBEAT_INTERVAL": "2"})
    assert settings.heartbeat_interval_seconds == 2.0


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"FLOWCTL_HEARTBEAT_INTERVAL": "soon"}, "FLOWCTL_HEARTBEAT_INTERVAL: invalid duration"),
        (
            {"FLOWRUN_FLOW_CONTROL": '{"activate_at": 0.5}'},
            "FLOWRUN_FLOW_CONTROL: invalid flow control settings: deactivate_at: must be below",
        ),
        ({"FLOWRUN_POOL": '{"max_conections": 3}'}, "FLOWRUN_POOL: unknown key 'max_conections'"),
        ({"FLOWRUN_POOL": '{"max_connections": "3"}'}, "max_connections must be a whole number"),
        ({"FLOWRUN_FLOW_CONTROL": '{"throttle_rate": true}'}, "throttle_rate must be a number"),
        (
            {"FLOWRUN_COMPONENT_TYPE": "sorce"},
            "FLOWRUN_COMPONENT_TYPE='sorce': expected one of source, processor, sink",
        ),
        ({"FLOWRUN_ENDPOINT": "nohost"}, "FLOWRUN_ENDPOINT='nohost': expected host:port"),
        ({"FLOWRUN_ENDPOINT": "127.0.0.1:99999"}, "FLOWRUN_ENDPOINT='127.0.0.1:99999'"),
        ({"FLOWRUN_INPUTS": '{"x": "nohostport"}'}, "FLOWRUN_INPUTS: x='nohostport': expected"),
        ({"FLOWRUN_INPUTS": '{"x": 8815}'}, "FLOWRUN_INPUTS: x must be a host:port string"),
        ({"FLOWRUN_METRICS_PORT": "http"}, "FLOWRUN_METRICS_PORT='http': expected an integer"),
        ({"FLOWRUN_METRICS_PORT": "70000"}, "FLOWRUN_METRICS_PORT='70000': expected a port"),
        ({"FLOWRUN_RUNNER_PID": "me"}, "FLOWRUN_RUNNER_PID='me': expected an integer"),
    ],
)
def test_a_bad_environment_names_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        ComponentSettings.from_environ(environ)


def test_endpoints_as_the_runner_and_a_user_write_them_are_taken() -> None:
    settings = ComponentSettings.from_environ(
        {
            "FLOWRUN_ENDPOINT": "0.0.0.0:0",
            "FLOWRUN_INPUTS": '{"ledgers": "127.0.0.1:8815", "tls": "grpc+tls://h:443", "d": ""}',
            "FLOWRUN_METRICS_PORT": "0",
        }
    )
    assert settings.endpoint == "0.0.0.0:0" and settings.metrics_port == 0
    assert settings.inputs == {"ledgers": "127.0.0.1:8815", "tls": "grpc+tls://h:443", "d": ""}
