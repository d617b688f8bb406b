"""Profiles: deep merge by name, selection, and errors that point into the profile."""

from __future__ import annotations

from pathlib import Path

from test_spec_support import VALID, issues_of, load_text

PROFILED = (
    VALID
    + """\
  profiles:
    dev:
      pool: {max_connections: 4}
      components:
        sink:
          env: {LEVEL: debug}
    standalone:
      controller:
        mode: disabled
    empty:
    broken:
      pool:
        min_connections: 7
        max_connections: 5
"""
)


def test_no_profile_is_the_base(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, PROFILED)
    assert loaded.profile is None
    assert loaded.body.pool.max_connections == 10
    assert list(loaded.body.profiles) == ["dev", "standalone", "empty", "broken"]


def test_profile_merges_deeply_and_overrides_a_component_by_name(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, PROFILED, profile="dev")
    body = loaded.body
    assert loaded.profile == "dev"
    assert (body.pool.min_connections, body.pool.max_connections) == (2, 4)
    sink = body.components["sink"]
    assert sink.env == {"LEVEL": "debug"}
    assert sink.command == ["python", "-m", "sink"]
    assert sink.inputs == ["src"]
    assert body.components["src"].endpoint == "127.0.0.1:9001"


def test_a_list_in_a_profile_replaces_the_base_list(tmp_path: Path) -> None:
    text = PROFILED.replace("          env: {LEVEL: debug}", "          command: [other]")
    loaded = load_text(tmp_path, text, profile="dev")
    assert loaded.body.components["sink"].command == ["other"]


def test_empty_profile_changes_nothing(tmp_path: Path) -> None:
    base, empty = load_text(tmp_path, PROFILED), load_text(tmp_path, PROFILED, profile="empty")
    assert empty.revision == base.revision
    assert empty.profile == "empty"


def test_profile_from_the_environment_and_the_argument_wins(tmp_path: Path) -> None:
    environ = {"FLOWRUN_PROFILE": "standalone"}
    assert load_text(tmp_path, PROFILED, environ=environ).profile == "standalone"
    assert load_text(tmp_path, PROFILED, profile="dev", environ=environ).profile == "dev"


def test_profile_can_add_a_component(tmp_path: Path) -> None:
    text = PROFILED.replace(
        "          env: {LEVEL: debug}",
        "          env: {LEVEL: debug}\n        audit: {type: sink, command: [a], inputs: [src]}",
    )
    loaded = load_text(tmp_path, text, profile="dev")
    assert list(loaded.body.components) == ["src", "sink", "audit"]


def test_bad_value_from_a_profile_points_at_the_profile(tmp_path: Path) -> None:
    assert issues_of(tmp_path, PROFILED, profile="broken") == [
        "pipeline.yaml:27:26: spec.pool.min_connections: min_connections (7) must not exceed "
        "max_connections (5) (from profile 'broken')"
    ]


def test_wrong_type_in_a_profile_component(tmp_path: Path) -> None:
    text = PROFILED.replace("env: {LEVEL: debug}", "max_inflight: many")
    assert issues_of(tmp_path, text, profile="dev") == [
        "pipeline.yaml:20:25: spec.components.sink.max_inflight: expected an integer, "
        "got 'many' (from profile 'dev')"
    ]


def test_unknown_key_in_the_selected_profile(tmp_path: Path) -> None:
    text = PROFILED.replace("pool: {max_connections: 4}", "pool: {max_conections: 4}")
    assert issues_of(tmp_path, text, profile="dev") == [
        "pipeline.yaml:17:14: spec.pool.max_conections: unknown key 'max_conections' "
        "(did you mean 'max_connections'?) (from profile 'dev')"
    ]


def test_unknown_keys_in_profiles_not_selected_are_still_found(tmp_path: Path) -> None:
    text = PROFILED.replace("        mode: disabled", "        mdoe: disabled")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:23:9: spec.profiles.standalone.controller.mdoe: unknown key 'mdoe' "
        "(did you mean 'mode'?)"
    ]


def test_a_profile_must_be_a_mapping(tmp_path: Path) -> None:
    text = PROFILED.replace("    empty:\n", "    empty: [pool]\n")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:24:12: spec.profiles.empty: a profile is a mapping of overrides "
        "(controller, flow_control, pool, monitoring, components)"
    ]


def test_profiles_cannot_nest(tmp_path: Path) -> None:
    text = PROFILED.replace("    empty:\n", "    empty:\n      profiles: {}\n")
    assert issues_of(tmp_path, text) == [
        "pipeline.yaml:25:7: spec.profiles.empty.profiles: profiles cannot be nested"
    ]


def test_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    assert issues_of(tmp_path, PROFILED, profile="deve") == [
        "pipeline.yaml:15:3: spec.profiles: unknown profile 'deve' (chosen by --profile) "
        "(did you mean 'dev'?); known profiles: dev, standalone, empty, broken"
    ]


def test_unknown_profile_from_the_environment(tmp_path: Path) -> None:
    assert issues_of(tmp_path, VALID, environ={"FLOWRUN_PROFILE": "prod"}) == [
        "pipeline.yaml:5:1: spec.profiles: unknown profile 'prod' (chosen by FLOWRUN_PROFILE); "
        "this spec defines no profiles"
    ]


def test_profile_values_are_interpolated_when_selected_only(tmp_path: Path) -> None:
    text = PROFILED.replace("{LEVEL: debug}", "{LEVEL: '${LEVEL}'}")
    assert load_text(tmp_path, text).body.profiles["dev"]["components"]["sink"]["env"] == {
        "LEVEL": "${LEVEL}"
    }
    assert issues_of(tmp_path, text, profile="dev") == [
        "pipeline.yaml:20:24: spec.components.sink.env.LEVEL: variable LEVEL is not set; set it "
        "in the environment or in .env, or give a default: ${LEVEL:-value} (from profile 'dev')"
    ]
    loaded = load_text(tmp_path, text, profile="dev", environ={"LEVEL": "trace"})
    assert loaded.body.components["sink"].env == {"LEVEL": "trace"}


def test_override_of_an_undefined_component_is_named(tmp_path: Path) -> None:
    text = PROFILED.replace("        sink:\n", "        sinc:\n")
    expected = (
        "pipeline.yaml:19:9: spec.profiles.dev.components.sinc: no component 'sinc' to "
        "override (did you mean 'sink'?); a component added by a profile needs type and command"
    )
    assert issues_of(tmp_path, text) == [expected]
    assert issues_of(tmp_path, text, profile="dev") == [expected]
