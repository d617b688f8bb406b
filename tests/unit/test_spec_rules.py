"""Every validation rule, each asserting the exact FILE:LINE:COL: path: message."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_spec_support import VALID, issues_of, load_text

HEAD = """\
apiVersion: flowctl/v1
kind: Pipeline
metadata:
  name: demo
spec:
"""


def test_valid_spec_loads(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, VALID)
    assert list(loaded.body.components) == ["src", "sink"]


def test_unknown_key_suggests_the_near_miss(tmp_path: Path) -> None:
    text = VALID.replace("      command: [python, -m, sink]", "      comand: [python, -m, sink]")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:11:5: spec.components.sink: missing required key 'command'",
        "pipeline.yaml:13:7: spec.components.sink.comand: unknown key 'comand' "
        "(did you mean 'command'?)",
    ]


def test_unknown_key_without_near_miss_lists_the_known_ones(tmp_path: Path) -> None:
    text = HEAD + "  flow_control: {banana: 1}\n  components: {}\n"
    assert issues_of(tmp_path, text)[0] == (
        "pipeline.yaml:6:18: spec.flow_control.banana: unknown key 'banana' "
        "(known keys: activate_at, deactivate_at, throttle_rate)"
    )


def test_unknown_top_level_key(tmp_path: Path) -> None:
    text = VALID.replace("kind: Pipeline", "kind: Pipeline\nmetdata: {}")
    assert "pipeline.yaml:3:1: metdata: unknown key 'metdata' (did you mean 'metadata'?)" in (
        issues_of(tmp_path, text)
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "      max_inflight: lots",
            "11:21: spec.components.src.max_inflight: expected an integer, got 'lots'",
        ),
        ("      max_inflight: 0", "11:21: spec.components.src.max_inflight: must be >= 1, got 0"),
        (
            '      health_port: "9464"',
            "11:20: spec.components.src.health_port: expected an integer, got '9464' (write 9464 "
            "without quotes)",
        ),
        (
            "      max_inflight: '1.5'",  # no hint that would only lead to the next error
            "11:21: spec.components.src.max_inflight: expected an integer, got '1.5'",
        ),
        (
            "      replicas: true",
            "11:17: spec.components.src.replicas: expected an integer, got true",
        ),
        (
            "      replicas: 1e400",
            "11:17: spec.components.src.replicas: expected a finite number, got 1e400",
        ),
        (
            "      resources: {limits: {cpu: lots}}",
            "11:33: spec.components.src.resources.limits.cpu: expected an amount as Kubernetes "
            "writes it (like 500m, 2, 256Mi), got 'lots'",
        ),
        (
            "      health_port: 70000",
            "11:20: spec.components.src.health_port: must be <= 65535, got 70000",
        ),
        (
            "      type: sauce",
            "10:13: spec.components.src.type: must be one of source, processor, sink, got 'sauce' "
            "(did you mean 'source'?)",
        ),
        (
            "      stop_grace: 10",
            "11:19: spec.components.src.stop_grace: duration 10 has no unit: write '10s' or '10ms'",
        ),
        (
            "      stop_grace: soon",
            "11:19: spec.components.src.stop_grace: invalid duration 'soon': write a number and a "
            "unit, like '250ms', '10s', '5m'",
        ),
        (
            "      env: {DEBUG: true}",
            "11:20: spec.components.src.env.DEBUG: expected a string, got true (quote it to mean "
            "the text)",
        ),
        ("      inputs: src", "11:15: spec.components.src.inputs: expected a list, got 'src'"),
        (
            "      restart: always",
            "11:16: spec.components.src.restart: expected a mapping, got 'always'",
        ),
        (
            "      restart: {policy: sometimes}",
            "11:25: spec.components.src.restart.policy: must be one of always, on-failure, never, "
            "got 'sometimes'",
        ),
    ],
)
def test_wrong_types(tmp_path: Path, line: str, expected: str) -> None:
    text = VALID.replace(
        "      endpoint: 127.0.0.1:9001", f"      endpoint: 127.0.0.1:9001\n{line}"
    )
    if "type: sauce" in line:
        text = text.replace("      type: source\n", "", 1)
    assert issues_of(tmp_path, text) == [f"pipeline.yaml:{expected}"]


def test_a_command_written_as_one_string_is_shown_as_the_list_to_write(tmp_path: Path) -> None:
    text = VALID.replace("      command: [python, -m, sink]", "      command: python -m sink")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:13:16: spec.components.sink.command: expected a list, got "
        "'python -m sink' (write it as a list: [python, -m, sink])"
    ]


def test_a_name_written_as_a_number_is_judged_as_the_text_the_model_holds(
    tmp_path: Path,
) -> None:
    """`inputs: [007]` names the component "007": the model holds a number's text as written.
    Before, the model held '7', which passed validation while the sink waited forever for a
    component '7' (a reload adding one wedged the runner)."""
    text = """apiVersion: flowctl/v1
kind: Pipeline
metadata: {name: numbers}
spec:
  components:
    "007": {type: source, command: [s]}
    snk: {type: sink, command: [s], inputs: [007], depends_on: [7, 42]}
"""
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:7:65: spec.components.snk.depends_on[0]: no component named '7' "
        "(written as a number: put the name in quotes)",
        "pipeline.yaml:7:68: spec.components.snk.depends_on[1]: no component named '42' "
        "(written as a number: put the name in quotes)",
    ]
    valid = text.replace(", depends_on: [7, 42]", "")
    assert load_text(tmp_path, valid).spec.spec.components["snk"].inputs == ["007"]


def test_an_environment_variable_the_launch_would_refuse_is_a_spec_error(tmp_path: Path) -> None:
    """A name with '=' or empty failed at launch ('supervisor error: ValueError: illegal
    environment variable name'), with no place in the spec (spec audit)."""
    text = VALID.replace(
        "      command: [python, -m, sink]",
        '      command: [python, -m, sink]\n      env: {"A=B": x, "": y, OK: fine}',
    )
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:14:13: spec.components.sink.env.A=B: invalid variable name 'A=B': "
        "a name has no '=' and is not empty",
        "pipeline.yaml:14:23: spec.components.sink.env.: invalid variable name '': "
        "a name has no '=' and is not empty",
    ]


def test_config_holds_only_json_numbers(tmp_path: Path) -> None:
    """config reaches the component as JSON: `.inf` became `Infinity`, which Go and jq
    refuse (spec audit). The text, quoted, passes."""
    text = VALID.replace(
        "      command: [python, -m, sink]",
        "      command: [python, -m, sink]\n"
        "      config: {limit: .inf, weights: [1, .nan], text: '.inf', big: 1e308}",
    )
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:14:23: spec.components.sink.config.limit: .inf is not a JSON number: "
        "quote it ('.inf') to pass the text",
        "pipeline.yaml:14:42: spec.components.sink.config.weights[1]: .nan is not a JSON "
        "number: quote it ('.nan') to pass the text",
    ]


def test_endpoint_must_be_host_and_port(tmp_path: Path) -> None:
    text = VALID.replace("endpoint: 127.0.0.1:9001", "endpoint: localhost")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:10:17: spec.components.src.endpoint: expected host:port "
        "(like 127.0.0.1:8815), got 'localhost'"
    ]


def test_wrong_api_version_and_kind(tmp_path: Path) -> None:
    text = VALID.replace("flowctl/v1", "flowctl/v2").replace("kind: Pipeline", "kind: Job")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:1:13: apiVersion: must be 'flowctl/v1', got 'flowctl/v2'",
        "pipeline.yaml:2:7: kind: must be 'Pipeline', got 'Job'",
    ]


def test_missing_required_key_points_at_its_mapping(tmp_path: Path) -> None:
    text = VALID.replace("      type: source\n", "")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:7:5: spec.components.src: missing required key 'type'"
    ]


def test_input_naming_no_component(tmp_path: Path) -> None:
    text = VALID.replace("inputs: [src]", "inputs: [scr]")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:14:16: spec.components.sink.inputs[0]: no component named 'scr' "
        "(did you mean 'src'?)"
    ]


def test_input_listed_twice(tmp_path: Path) -> None:
    text = VALID.replace("inputs: [src]", "inputs: [src, src]")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:14:21: spec.components.sink.inputs[1]: 'src' is listed twice"
    ]


CYCLE = (
    HEAD
    + """\
  components:
    src: {type: source, command: [s]}
    a: {type: processor, command: [a], inputs: [src, c]}
    b: {type: processor, command: [b], inputs: [a]}
    c: {type: processor, command: [c], inputs: [b]}
    sink: {type: sink, command: [k], inputs: [c]}
"""
)


def test_cycle_is_named_in_full(tmp_path: Path) -> None:
    assert issues_of(tmp_path, CYCLE) == [
        "pipeline.yaml:9:49: spec.components.b.inputs[0]: dependency cycle b -> a -> c -> b "
        "(each reads from the next)"
    ]


def test_component_reading_from_itself_is_a_cycle(tmp_path: Path) -> None:
    text = CYCLE.replace("inputs: [b]}\n    sink", "inputs: [c]}\n    sink").replace(
        "inputs: [src, c]", "inputs: [src]"
    )
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:10:49: spec.components.c.inputs[0]: dependency cycle c -> c "
        "(each reads from the next)"
    ]


def test_source_with_inputs(tmp_path: Path) -> None:
    text = VALID.replace(
        "endpoint: 127.0.0.1:9001", "endpoint: 127.0.0.1:9001\n      inputs: [sink]"
    )
    issues = issues_of(tmp_path, text)
    assert issues[0] == (
        "pipeline.yaml:11:15: spec.components.src.inputs: a source reads no inputs; "
        "remove them or make it a processor"
    )


def test_sink_without_inputs_key(tmp_path: Path) -> None:
    text = VALID.replace("      inputs: [src]\n", "")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:11:5: spec.components.sink.inputs: a sink needs at least one input "
        "(a component it reads from)"
    ]


def test_processor_with_empty_inputs(tmp_path: Path) -> None:
    text = VALID.replace("type: sink", "type: processor").replace("inputs: [src]", "inputs: []")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:14:15: spec.components.sink.inputs: a processor needs at least one input "
        "(a component it reads from)"
    ]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            "      endpoint: 127.0.0.1:9001",
            "15:17: spec.components.sink.endpoint: port 9001 is already used by "
            "spec.components.src.endpoint",
        ),
        (
            "      health_port: 9001",
            "15:20: spec.components.sink.health_port: port 9001 is already used by "
            "spec.components.src.endpoint",
        ),
        (
            "      health_port: 9464",
            "15:20: spec.components.sink.health_port: port 9464 is already used by "
            "spec.monitoring.metrics_port",
        ),
        (
            "      endpoint: 0.0.0.0:8080",
            "15:17: spec.components.sink.endpoint: port 8080 is already used by "
            "spec.controller.endpoint",
        ),
        (
            "      endpoint: 127.0.0.1:99999",
            "15:17: spec.components.sink.endpoint: port 99999 is out of range (1-65535)",
        ),
    ],
)
def test_two_listeners_on_one_port(tmp_path: Path, extra: str, expected: str) -> None:
    text = VALID + extra + "\n"
    assert issues_of(tmp_path, text) == [f"pipeline.yaml:{expected}"]


def test_ports_of_a_disabled_controller_and_port_zero_are_free(tmp_path: Path) -> None:
    text = VALID.replace("spec:\n", "spec:\n  controller: {mode: disabled}\n")
    text += "      endpoint: 127.0.0.1:8080\n"
    text = text.replace("127.0.0.1:9001", "127.0.0.1:0")
    assert load_text(tmp_path, text).body.controller.mode == "disabled"


@pytest.mark.parametrize(
    ("flow_control", "expected"),
    [
        (
            "{activate_at: 0.6, deactivate_at: 0.6}",
            "6:51: spec.flow_control.deactivate_at: must be below activate_at (0.6), got 0.6: "
            "backpressure turns on at activate_at and off below deactivate_at",
        ),
        ("{activate_at: 1.5}", "6:31: spec.flow_control.activate_at: must be in (0, 1], got 1.5"),
        ("{activate_at: 0}", "6:31: spec.flow_control.activate_at: must be in (0, 1], got 0"),
        (
            "{deactivate_at: 0}",
            "6:33: spec.flow_control.deactivate_at: must be greater than 0, got 0",
        ),
        ("{throttle_rate: 0}", "6:33: spec.flow_control.throttle_rate: must be in (0, 1], got 0"),
        (
            "{throttle_rate: 1.01}",
            "6:33: spec.flow_control.throttle_rate: must be in (0, 1], got 1.01",
        ),
        (
            "{activate_at: 0.5}",
            "6:3: spec.flow_control.deactivate_at: must be below activate_at (0.5), got 0.6 "
            "(the default): "
            "backpressure turns on at activate_at and off below deactivate_at",
        ),
    ],
)
def test_flow_control_thresholds(tmp_path: Path, flow_control: str, expected: str) -> None:
    text = VALID.replace("spec:\n", f"spec:\n  flow_control: {flow_control}\n")
    assert issues_of(tmp_path, text) == [f"pipeline.yaml:{expected}"]


def test_edge_thresholds_are_valid(tmp_path: Path) -> None:
    text = VALID.replace(
        "spec:\n",
        "spec:\n  flow_control: {activate_at: 1, deactivate_at: 0.01, throttle_rate: 1}\n",
    )
    assert load_text(tmp_path, text).body.flow_control.activate_at == 1.0


def test_pool_min_above_max(tmp_path: Path) -> None:
    text = VALID.replace("spec:\n", "spec:\n  pool:\n    min_connections: 11\n")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:7:22: spec.pool.min_connections: min_connections (11) must not exceed "
        "max_connections (10)"
    ]


def test_heartbeat_ttl_longer_than_interval(tmp_path: Path) -> None:
    text = VALID.replace(
        "spec:\n", "spec:\n  controller: {heartbeat_interval: 2s, heartbeat_ttl: 2s}\n"
    )
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:6:55: spec.controller.heartbeat_ttl: must be longer than "
        "heartbeat_interval (2s), got 2s: every service would be unhealthy between two heartbeats"
    ]


def test_empty_component_map(tmp_path: Path) -> None:
    assert issues_of(tmp_path, HEAD + "  components: {}\n") == [
        "pipeline.yaml:6:3: spec.components: no components: a pipeline needs at least one"
    ]


def test_invalid_component_name(tmp_path: Path) -> None:
    text = VALID.replace("    sink:", "    my sink:").replace("[src]", "[src]")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:11:5: spec.components.my sink: invalid component name 'my sink': use "
        "letters, digits, '-' and '_' (at most 63, starting with a letter or digit)"
    ]


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = VALID.replace("      type: sink\n", "      type: sink\n      type: source\n")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:13:7: spec.components.sink.type: duplicate key 'type' "
        "(first written at line 12)"
    ]


def test_duplicate_component_name(tmp_path: Path) -> None:
    text = VALID + "    src: {type: source, command: [x]}\n"
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:15:5: spec.components.src: duplicate key 'src' (first written at line 7)"
    ]


def test_every_problem_at_once_in_file_order(tmp_path: Path) -> None:
    text = (
        HEAD
        + """\
  pool: {min_connections: 3, max_connections: 2}
  flow_control: {throttle_rate: 2}
  components:
    src: {type: source, command: [s], endpoint: "127.0.0.1:9000", max_inflight: -1}
    sink: {type: sink, command: [k], inputs: [nowhere], health_port: 9000}
"""
    )
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:6:27: spec.pool.min_connections: min_connections (3) must not exceed "
        "max_connections (2)",
        "pipeline.yaml:7:33: spec.flow_control.throttle_rate: must be in (0, 1], got 2",
        "pipeline.yaml:9:81: spec.components.src.max_inflight: must be >= 1, got -1",
        "pipeline.yaml:10:47: spec.components.sink.inputs[0]: no component named 'nowhere'",
        "pipeline.yaml:10:70: spec.components.sink.health_port: port 9000 is already used by "
        "spec.components.src.endpoint",
    ]


def test_a_config_or_variable_past_the_systems_limit_is_a_spec_error(tmp_path: Path) -> None:
    """config reaches the component in one variable, FLOWRUN_CONFIG: a watch-list of 4,000
    accounts failed the launch with `Argument list too long: '/usr/bin/setpriv'`."""
    accounts = ", ".join(f"G{index:055d}" for index in range(4000))
    text = VALID.replace(
        "      command: [python, -m, sink]",
        f"      command: [python, -c, {'p' * 200_000}]\n"
        f"      config: {{accounts: [{accounts}]}}\n"
        f"      env: {{NOTES: {'n' * 140_000}, SMALL: {'s' * 100_000}}}",
    )
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:13:29: spec.components.sink.command[2]: this argument is 195 KiB, and "
        "Linux takes at most 128 KiB in one: put it in a file and give its path",
        "pipeline.yaml:14:7: spec.components.sink.config: config is 234 KiB as JSON, and a "
        "component is given it in one environment variable (FLOWRUN_CONFIG), which Linux "
        "limits to 128 KiB: put the bulk in a file beside the spec and give its path in "
        "config (the component finds the spec's folder in FLOWRUN_SPEC_DIR)",
        "pipeline.yaml:15:20: spec.components.sink.env.NOTES: NOTES is 136 KiB, and Linux "
        "takes at most 128 KiB in one environment variable: put the value in a file and give "
        "its path",
    ]
