"""Starting a pipeline: upstream first, independent components in parallel, the
environment contract, readiness with and without a controller."""

from __future__ import annotations

import json
from pathlib import Path

from certificates import self_signed
from fixtures.external_controller import controller_elsewhere, external_pipeline
from fixtures.runner_harness import (
    Pipeline,
    component,
    read_events,
    write_spec,
)
from flowctl.settings import ComponentSettings


def _times(events: list[tuple[str, str, int, float]], what: str) -> dict[str, float]:
    return {name: when for kind, name, _pid, when in events if kind == what}


def test_a_chain_starts_upstream_first_each_after_its_input_is_ready(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    events = tmp_path / "events.txt"
    slow = {"events_file": str(events), "start_delay": 0.5}
    spec = write_spec(
        tmp_path,
        {
            "sink": component("sink", inputs=["proc"], config=slow, endpoint=False),
            "proc": component("processor", inputs=["src"], config=slow),
            "src": component("source", config=slow),
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)

    result = pipeline.up()

    assert result.returncode == 0, result.stderr
    started, ready = _times(read_events(events), "start"), _times(read_events(events), "ready")
    assert started["proc"] >= ready["src"]
    assert started["sink"] >= ready["proc"]
    status = pipeline.status()
    assert [c["name"] for c in status["components"]] == ["sink", "proc", "src"]
    assert all(c["state"] == "running" and c["registered"] for c in status["components"])
    assert "inputs: src" in result.stderr  # the progress said who waited for what


def test_independent_components_start_in_parallel(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    events = tmp_path / "events.txt"
    slow = {"events_file": str(events), "start_delay": 1.5}
    spec = write_spec(
        tmp_path,
        {
            "left": component("source", config=slow),
            "right": component("source", config=slow),
            "join": component(
                "sink", inputs=["left", "right"], config={"events_file": str(events)}
            ),
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)

    assert pipeline.up().returncode == 0

    started, ready = _times(read_events(events), "start"), _times(read_events(events), "ready")
    # Each source was launched before the other one was ready: neither waited for the other.
    assert started["left"] < ready["right"] and started["right"] < ready["left"]
    assert started["join"] >= max(ready["left"], ready["right"])


def test_every_component_gets_the_environment_contract(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    dump = tmp_path / "env.json"
    spec = write_spec(
        tmp_path,
        {
            "src": component("source"),
            "proc": component(
                "processor",
                inputs=["src"],
                config={"dump_env": str(dump), "batch": 7},
                env={"OWN_SETTING": "yes"},
                max_inflight=250,
            ),
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0

    env = json.loads(dump.read_text())
    status = pipeline.status()
    by_name = {c["name"]: c for c in status["components"]}
    assert env["ENABLE_FLOWCTL"] == "true"
    assert env["FLOWCTL_ENDPOINT"] == status["controller"]["endpoint"]
    assert env["FLOWCTL_SERVICE_ID"] == env["FLOWCTL_COMPONENT_ID"] == "proc"
    assert env["FLOWCTL_HEARTBEAT_INTERVAL"] == "200ms"
    assert env["OWN_SETTING"] == "yes"
    assert env["FLOWRUN_RUNNER_PID"] == str(status["runner"]["pid"])
    settings = ComponentSettings.from_environ(env)
    assert settings.component_type == "processor"
    assert settings.endpoint == by_name["proc"]["endpoint"]
    assert dict(settings.inputs) == {"src": by_name["src"]["endpoint"]}
    assert settings.config == {"dump_env": str(dump), "batch": 7}
    assert settings.max_inflight == 250
    assert settings.flow_control.activate_at == 0.8
    assert settings.pool.max_connections == 10
    assert settings.spec_dir == str(tmp_path)


def test_without_a_controller_ready_means_the_endpoint_accepts_connections(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    events = tmp_path / "events.txt"
    dump = tmp_path / "env.json"
    slow = {"events_file": str(events), "start_delay": 0.5}
    spec = write_spec(
        tmp_path,
        {
            "src": component("source", config=slow),
            "sink": component("sink", inputs=["src"], config={**slow, "dump_env": str(dump)}),
            "anyport": component("sink", inputs=["src"]) | {"endpoint": "127.0.0.1:0"},
        },
        mode="disabled",
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)

    assert pipeline.up().returncode == 0

    started, ready = _times(read_events(events), "start"), _times(read_events(events), "ready")
    assert started["sink"] >= ready["src"]  # ready = listening, which the fixture does at "ready"
    status = pipeline.status()
    assert status["controller"]["mode"] == "disabled"
    assert all(c["state"] == "running" and not c["registered"] for c in status["components"])
    # No one decides for the pipeline: each component throttles itself, so never "off".
    assert status["flow_control"]["backpressure_active"] is None
    assert json.loads(dump.read_text())["ENABLE_FLOWCTL"] == "false"


def test_external_controller_mode_uses_a_controller_run_elsewhere(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    with controller_elsewhere() as endpoint:
        pipeline = external_pipeline(tmp_path, pipelines, endpoint)

        assert pipeline.up().returncode == 0

        status = pipeline.status()
        assert status["controller"] == {
            "mode": "external",
            "endpoint": endpoint,
            "reachable": True,
            "error": None,
        }
        assert all(c["registered"] and c["healthy"] for c in status["components"])


def test_an_external_controller_over_tls_is_reached_by_the_runner_too(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """The runner verified nothing and spoke plaintext to it: never reachable, heartbeats
    never judged, every live policy edit failing (second-machine audit)."""
    cert, key = self_signed(tmp_path)
    # A plain program: the runner's own channel is what is tested (the test component speaks
    # plaintext; the SDK's TLS is tests/integration/test_sdk_controller.py's).
    plain = component(endpoint=False, command=["sleep", "60"], protocol="none", ready="started")
    with controller_elsewhere("--tls-cert", str(cert), "--tls-key", str(key)) as endpoint:
        tls = {"cert_file": str(cert), "ca_file": str(cert)}
        pipeline = external_pipeline(tmp_path, pipelines, endpoint, {"plain": plain}, tls=tls)

        assert pipeline.up().returncode == 0

        status = pipeline.status()
        assert status["controller"]["reachable"] is True, status["controller"]
        assert pipeline.flowrun("health", str(pipeline.spec)).returncode == 0


def test_a_wrong_token_for_an_external_controller_is_said_by_status_and_health(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    with controller_elsewhere("--token-env", "CTL_TOKEN", env={"CTL_TOKEN": "right"}) as endpoint:
        pipeline = external_pipeline(tmp_path, pipelines, endpoint, token="wrong")
        pipeline.up()

        controller = pipeline.status()["controller"]
        assert controller["reachable"] is False
        assert controller["error"].startswith("UNAUTHENTICATED: "), controller
        health = pipeline.flowrun("health", str(pipeline.spec))
        assert f"the external controller at {endpoint} does not answer (UNAUTHENTICATED: " in (
            health.stdout
        )


def test_a_second_pipeline_of_the_same_component_names_is_refused_by_a_shared_controller(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """A controller holds one service per name: the second pipeline's components took over
    the first one's records (heartbeats, throttling, discovery mixed up; second-machine
    audit). It is refused at `up`, and the first runs on."""
    with controller_elsewhere() as endpoint:
        first = external_pipeline(tmp_path / "first", pipelines, endpoint)
        assert first.up().returncode == 0
        second = external_pipeline(tmp_path / "second", pipelines, endpoint)

        refused = second.up()

        assert refused.returncode == 1
        assert f"the controller at {endpoint} already has live services named sink, src" in (
            refused.stderr
        )
        assert "rename the components of one of them" in refused.stderr
        assert all(c["registered"] and c["healthy"] for c in first.status()["components"])


def test_a_pipeline_started_again_right_after_it_ended_is_not_refused_for_its_own_names(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """The records of its previous run are still live at the controller, but nobody
    heartbeats them any more."""
    with controller_elsewhere() as endpoint:
        pipeline = external_pipeline(tmp_path, pipelines, endpoint)
        assert pipeline.up().returncode == 0
        assert pipeline.down().returncode == 0

        assert pipeline.up().returncode == 0
        assert all(c["registered"] and c["healthy"] for c in pipeline.status()["components"])
