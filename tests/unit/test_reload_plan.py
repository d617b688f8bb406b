"""The plan of a reload, from two real spec files: live where it can, one restart where
it must (exactly the components whose process changes), a full restart where nothing else
can work; and its JSON and text forms."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from flowrun.reload.apply import mixed_spec, pair_of
from flowrun.reload.diff import diff_specs, transplant, with_live_values_of
from flowrun.reload.plan import (
    AT_NEXT_START,
    VIA_CONTROLLER,
    VIA_RUNNER,
    Plan,
    build_plan,
    plan_report,
)
from flowrun.reload.plan_report import PlanReport
from flowrun.reload.render import render_plan
from flowrun.spec.loader import LoadedSpec, load_spec

BASE: dict[str, Any] = {
    "apiVersion": "flowctl/v1",
    "kind": "Pipeline",
    "metadata": {"name": "plan-test"},
    "spec": {
        "controller": {"endpoint": "127.0.0.1:7001", "heartbeat_interval": "1s"},
        "flow_control": {"activate_at": 0.8, "deactivate_at": 0.6},
        "components": {
            "src": {"type": "source", "command": ["python", "c.py"], "endpoint": "127.0.0.1:7002"},
            "proc": {
                "type": "processor",
                "command": ["python", "c.py"],
                "endpoint": "127.0.0.1:7003",
                "inputs": ["src"],
            },
            "sink": {"type": "sink", "command": ["python", "c.py"], "inputs": ["proc"]},
            "audit": {"type": "sink", "command": ["python", "c.py"], "inputs": ["src"]},
        },
        "profiles": {"fast": {"controller": {"heartbeat_interval": "200ms"}}},
    },
}


def _load(folder: Path, name: str, data: dict[str, Any], profile: str | None = None) -> LoadedSpec:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_spec(path, profile, environ={})


def _plan(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], profile: str | None = None
) -> Plan:
    old = _load(tmp_path, "old", BASE, profile)
    changed = copy.deepcopy(BASE)
    edit(changed["spec"])
    new = _load(tmp_path, "new", changed, profile)
    return build_plan(pair_of(old, new))


def _live(plan: Plan) -> dict[str, tuple[Any, Any, str]]:
    return {i.change.path: (i.change.old, i.change.new, i.applies) for i in plan.live}


def test_same_spec_is_an_empty_plan(tmp_path: Path) -> None:
    plan = _plan(tmp_path, lambda spec: None)
    assert plan.empty and plan.old_revision == plan.new_revision
    assert render_plan(plan_report(plan)) == f"no change: revision {plan.old_revision} is what runs"


def test_thresholds_and_heartbeat_are_live_through_the_controller(tmp_path: Path) -> None:
    def edit(spec: dict[str, Any]) -> None:
        spec["flow_control"] = {"activate_at": 0.7, "deactivate_at": 0.5, "throttle_rate": 0.25}
        spec["controller"]["heartbeat_interval"] = "500ms"
        spec["pool"] = {"min_connections": 1, "max_connections": 4}

    plan = _plan(tmp_path, edit)
    assert _live(plan) == {
        "spec.controller.heartbeat_interval": ("1s", "500ms", VIA_CONTROLLER),
        "spec.flow_control.activate_at": (0.8, 0.7, VIA_CONTROLLER),
        "spec.flow_control.deactivate_at": (0.6, 0.5, VIA_CONTROLLER),
        "spec.flow_control.throttle_rate": (0.5, 0.25, VIA_CONTROLLER),
        "spec.pool.min_connections": (2, 1, VIA_CONTROLLER),
        "spec.pool.max_connections": (10, 4, VIA_CONTROLLER),
    }
    assert not plan.restart and not plan.start and not plan.stop
    assert not plan.needs_full_restart


def _pool_edits(spec: dict[str, Any]) -> None:
    spec["pool"] = {"connect_timeout": "2s"}
    spec["components"]["sink"]["restart"] = {"backoff": "200ms"}
    spec["components"]["sink"]["stop_grace"] = "3s"


def test_live_fields_say_where_they_apply(tmp_path: Path) -> None:
    plan = _plan(tmp_path, _pool_edits)
    assert _live(plan) == {
        "spec.pool.connect_timeout": ("5s", "2s", VIA_CONTROLLER),
        "spec.components.sink.restart.backoff": ("1s", "200ms", VIA_RUNNER),
        "spec.components.sink.stop_grace": ("10s", "3s", VIA_RUNNER),
    }
    assert not plan.restart


def test_a_live_field_the_policy_does_not_carry_applies_at_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Derived, not listed: were the policy to leave the pool's connect_timeout out, the plan
    # would say that running components only take it when they next start.
    from flowrun.reload import plan as planning

    real = planning._policy_differs

    def without_connect_timeout(old: Any, new: Any) -> bool:
        bodies = [
            body.model_copy(update={"pool": body.pool.model_copy(update={"connect_timeout": 5.0})})
            for body in (old, new)
        ]
        return real(*bodies)

    monkeypatch.setattr(planning, "_policy_differs", without_connect_timeout)
    plan = _plan(tmp_path, _pool_edits)
    assert _live(plan)["spec.pool.connect_timeout"] == ("5s", "2s", AT_NEXT_START)
    assert not plan.restart


def test_an_env_edit_restarts_that_component_alone(tmp_path: Path) -> None:
    plan = _plan(tmp_path, lambda spec: spec["components"]["sink"].update(env={"LEVEL": "debug"}))
    assert plan.restart_names == ["sink"]
    (sink,) = plan.restart
    assert [(c.path, c.old, c.new, c.kind) for c in sink.fields] == [
        ("spec.components.sink.env.LEVEL", None, "debug", "added")
    ]
    assert sink.environment == ("LEVEL",) and not sink.command and not sink.working_dir


def test_a_moved_endpoint_restarts_the_component_and_its_dependents_only(tmp_path: Path) -> None:
    def edit(spec: dict[str, Any]) -> None:
        spec["components"]["src"]["endpoint"] = "127.0.0.1:7012"

    plan = _plan(tmp_path, edit)
    # proc and audit read src: their FLOWRUN_INPUTS changes; sink reads proc, which did not move.
    assert plan.restart_names == ["src", "proc", "audit"]
    restarts = {item.name: item for item in plan.restart}
    assert restarts["proc"].fields == () and restarts["proc"].environment == ("FLOWRUN_INPUTS",)
    assert "FLOWRUN_ENDPOINT" in restarts["src"].environment


def test_command_config_and_working_dir_restart(tmp_path: Path) -> None:
    def edit(spec: dict[str, Any]) -> None:
        spec["components"]["src"]["command"] = ["python", "other.py"]
        spec["components"]["proc"]["config"] = {"depth": {"max": 3}}
        spec["components"]["sink"]["working_dir"] = "work"

    plan = _plan(tmp_path, edit)
    restarts = {item.name: item for item in plan.restart}
    assert set(restarts) == {"src", "proc", "sink"}
    assert restarts["src"].command and not restarts["src"].environment
    assert [c.path for c in restarts["proc"].fields] == ["spec.components.proc.config.depth"]
    assert restarts["proc"].environment == ("FLOWRUN_CONFIG",)
    assert restarts["sink"].working_dir


def test_added_components_start_after_their_inputs_and_removed_ones_stop(tmp_path: Path) -> None:
    def edit(spec: dict[str, Any]) -> None:
        components = spec["components"]
        del components["audit"]
        components["archive"] = {"type": "sink", "command": ["x"], "inputs": ["enrich"]}
        components["enrich"] = {
            "type": "processor",
            "command": ["x"],
            "inputs": ["src"],
            "endpoint": "127.0.0.1:7020",
        }

    plan = _plan(tmp_path, edit)
    assert plan.start == ("enrich", "archive") and plan.stop == ("audit",)
    assert not plan.restart and not plan.live


def test_controller_endpoint_needs_a_full_restart(tmp_path: Path) -> None:
    def edit(spec: dict[str, Any]) -> None:
        spec["controller"]["endpoint"] = "127.0.0.1:7100"
        spec["flow_control"]["activate_at"] = 0.9

    plan = _plan(tmp_path, edit)
    assert plan.needs_full_restart
    assert plan.full_restart_reason == "spec.controller.endpoint changed"
    text = render_plan(plan_report(plan))
    assert "full restart, in order" in text and '"127.0.0.1:7001" -> "127.0.0.1:7100"' in text
    assert "spec.flow_control.activate_at: 0.8 -> 0.9" in text


def test_profiles_count_only_through_the_profile_in_force(tmp_path: Path) -> None:
    def other_profile(spec: dict[str, Any]) -> None:
        spec["profiles"]["slow"] = {"controller": {"heartbeat_interval": "5s"}}

    assert _plan(tmp_path, other_profile, profile="fast").empty

    def profile_in_force(spec: dict[str, Any]) -> None:
        spec["profiles"]["fast"]["controller"]["heartbeat_interval"] = "100ms"

    plan = _plan(tmp_path, profile_in_force, profile="fast")
    assert _live(plan) == {"spec.controller.heartbeat_interval": ("200ms", "100ms", VIA_CONTROLLER)}


def test_plan_report_json_and_text(tmp_path: Path) -> None:
    def edit(spec: dict[str, Any]) -> None:
        spec["flow_control"]["activate_at"] = 0.75
        spec["components"]["src"]["endpoint"] = "127.0.0.1:7012"
        spec["components"]["new"] = {"type": "sink", "command": ["x"], "inputs": ["src"]}
        del spec["components"]["audit"]

    plan = _plan(tmp_path, edit)
    data = plan_report(plan).to_json()
    assert data["revision"] == {"from": plan.old_revision, "to": plan.new_revision}
    assert data["live"] == [
        {
            "path": "spec.flow_control.activate_at",
            "old": 0.8,
            "new": 0.75,
            "kind": "changed",
            "applies": "controller",
        }
    ]
    assert [item["name"] for item in data["restart"]] == ["src", "proc"]
    assert data["start"] == ["new"] and data["stop"] == ["audit"]
    assert data["full_restart"]["needed"] is False
    assert PlanReport.from_json(data).to_json() == data
    text = render_plan(PlanReport.from_json(data))
    assert text.splitlines() == [
        f"revision {plan.old_revision} -> {plan.new_revision}",
        "applied live, no process restarts:",
        "  spec.flow_control.activate_at: 0.8 -> 0.75  "
        "[controller policy, pushed to every component]",
        "restarted alone (dependents reconnect and resume):",
        '  src: spec.components.src.endpoint: "127.0.0.1:7002" -> "127.0.0.1:7012"',
        "  proc: environment FLOWRUN_INPUTS (an input moved)",
        "started (after their inputs): new",
        "stopped: audit",
    ]


def test_diff_helpers(tmp_path: Path) -> None:
    old = _load(tmp_path, "old", BASE)
    changed = copy.deepcopy(BASE)
    changed["spec"]["flow_control"]["activate_at"] = 0.9
    changed["spec"]["components"]["src"]["env"] = {"A": "1"}
    new = _load(tmp_path, "new", changed)
    assert [c.path for c in diff_specs(old.spec, new.spec)] == [
        "spec.flow_control.activate_at",
        "spec.components.src.env.A",
    ]
    started_as = with_live_values_of(new.body, old.body)
    assert started_as.flow_control.activate_at == 0.8
    assert started_as.components["src"].env == {"A": "1"}
    moved = transplant(old.spec, new.spec, ("spec", "components", "src", "env"))
    assert moved.spec.components["src"].env == {"A": "1"}
    assert moved.spec.flow_control.activate_at == 0.8


def test_a_rollback_spec_mixes_definitions(tmp_path: Path) -> None:
    old = _load(tmp_path, "old", BASE)
    changed = copy.deepcopy(BASE)
    changed["spec"]["components"]["sink"]["env"] = {"BROKEN": "1"}
    changed["spec"]["flow_control"]["activate_at"] = 0.9
    new = _load(tmp_path, "new", changed)
    mixed = mixed_spec(new, old, ["sink"])
    assert mixed.body.components["sink"].env == {}
    assert mixed.body.flow_control.activate_at == 0.9
    assert mixed.revision not in (old.revision, new.revision)
    back = build_plan(pair_of(new, mixed))
    assert back.restart_names == ["sink"] and not back.live


@pytest.mark.parametrize("section", ["mode", "token"])
def test_other_controller_fields_are_pipeline_wide(tmp_path: Path, section: str) -> None:
    value = {"mode": "disabled", "token": "s3cret"}[section]
    plan = _plan(tmp_path, lambda spec: spec["controller"].update({section: value}))
    assert plan.needs_full_restart and [c.path for c in plan.full_restart] == [
        f"spec.controller.{section}"
    ]


def test_without_a_controller_thresholds_apply_at_the_next_start(tmp_path: Path) -> None:
    standalone = copy.deepcopy(BASE)
    standalone["spec"]["controller"]["mode"] = "disabled"
    old = _load(tmp_path, "old", standalone)
    standalone["spec"]["flow_control"]["activate_at"] = 0.9
    plan = build_plan(pair_of(old, _load(tmp_path, "new", standalone)))
    assert _live(plan) == {"spec.flow_control.activate_at": (0.8, 0.9, AT_NEXT_START)}
    assert not plan.restart
    assert "each component takes it when it next starts" in render_plan(plan_report(plan))


def test_interpolated_secrets_never_show_in_the_plan(tmp_path: Path) -> None:
    """A password inside a URL is masked by value, not only by a secret-looking key."""
    data = copy.deepcopy(BASE)
    env = {"DATABASE_URL": "postgres://app:${DB_PASSWORD}@db/main"}
    data["spec"]["components"]["proc"]["env"] = env
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    old = load_spec(path, environ={"DB_PASSWORD": "old-hunter2"})
    new = load_spec(path, environ={"DB_PASSWORD": "new-hunter2"})

    shown = plan_report(build_plan(pair_of(old, new))).to_json()

    text = str(shown)
    assert "hunter2" not in text
    assert [item["name"] for item in shown["restart"]] == ["proc"]
    assert "postgres://app:***@db/main" in text


def test_a_secret_inside_a_changed_list_never_shows_in_the_plan(tmp_path: Path) -> None:
    """A changed list is one field: the secret-looking names inside it were not looked at
    (`config.creds: [{"token": "tok-first"}] -> [...]`, spec audit); render masked them."""
    data = copy.deepcopy(BASE)
    data["spec"]["components"]["proc"]["config"] = {"creds": [{"token": "tok-first"}]}
    old = _load(tmp_path, "old", data)
    data["spec"]["components"]["proc"]["config"] = {"creds": [{"token": "tok-second"}]}

    shown = plan_report(build_plan(pair_of(old, _load(tmp_path, "new", data)))).to_json()

    assert "tok-" not in str(shown)
    assert [item["name"] for item in shown["restart"]] == ["proc"]
