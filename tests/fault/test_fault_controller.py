"""The control plane fails, the data does not: the Stellar pipeline under `flowrun up -d`
with an external `flowrun controller` that is absent at start, or killed -9 mid-run and
restarted on the same port."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures.fault_stellar import (
    NAMES,
    SINK,
    ControllerProcess,
    admin_get,
    assert_exact_output,
    checkpoint_ledger,
    flight_action,
    http_text,
    metric_value,
    output_dir,
    pipeline_pids,
    poll_until,
    spec_components,
    stellar_spec,
)
from fixtures.runner_harness import Pipeline

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def controllers() -> Iterator[list[ControllerProcess]]:
    started: list[ControllerProcess] = []
    yield started
    for controller in started:
        controller.kill()


def _local_flow_control(exposition: str, name: str, kind: str) -> float:
    labels = f'{{service_id="{name}",service_type="{kind}"}}'
    return metric_value(exposition, f"flowctl_local_flow_control{labels}")


def _flow_control_mode(endpoint: str) -> str:
    return str(flight_action(endpoint, "get_status")["flow_control_mode"])


def _flow_control_mode_is(endpoint: str, mode: str) -> bool:
    return _flow_control_mode(endpoint) == mode


def _all_registered(pipeline: Pipeline) -> bool:
    status = admin_get(pipeline, "/status")
    return bool(status["controller"]["reachable"]) and all(
        c["registered"] and c["healthy"] for c in status["components"]
    )


def test_no_controller_at_start_runs_on_local_flow_control_then_registers(
    tmp_path: Path, pipelines: list[Pipeline], controllers: list[ControllerProcess]
) -> None:
    controller = ControllerProcess(tmp_path)  # its port is reserved, nothing listens yet
    controllers.append(controller)
    last = 300
    spec = stellar_spec(
        tmp_path, mode="external", controller_endpoint=controller.address, last_ledger=last
    )
    components = spec_components(spec)
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)

    up = pipeline.up()

    assert up.returncode == 0, up.stdout + up.stderr
    status = pipeline.status()
    error = status["controller"].pop("error")
    assert status["controller"] == {
        "mode": "external",
        "endpoint": controller.address,
        "reachable": False,
    }
    assert error.startswith("UNAVAILABLE: "), error  # why, in one line
    assert all(c["state"] == "running" and not c["registered"] for c in status["components"])
    health = pipeline.flowrun("health", str(spec))
    assert health.returncode == 1, health.stdout  # degraded, not down
    assert f"the external controller at {controller.address} does not answer" in health.stdout
    for name in NAMES:
        spec_of = components[name]
        # "starting" (healthy) while its first registration window lasts, then degraded.
        report = poll_until(
            lambda spec_of=spec_of: (
                (r := flight_action(spec_of["endpoint"], "health"))
                and r["status"] == "degraded"
                and r
            ),
            30,
            f"{name} degraded on local flow control",
        )
        assert any("local flow control" in reason for reason in report["reasons"]), report
        assert _flow_control_mode(spec_of["endpoint"]) == "local"
        exposition = http_text(spec_of["health_port"], "/metrics")
        assert _local_flow_control(exposition, name, spec_of["type"]) == 1.0
    # Data flows on local flow control alone: every ledger committed exactly once.
    poll_until(lambda: checkpoint_ledger(output_dir(pipeline)) == last, 120, "the whole range")
    assert_exact_output(output_dir(pipeline), last)
    pids = pipeline_pids(pipeline)

    controller.start()

    poll_until(lambda: _all_registered(pipeline), 60, "every component registered")
    for name in NAMES:
        spec_of = components[name]
        endpoint = str(spec_of["endpoint"])
        poll_until(
            functools.partial(_flow_control_mode_is, endpoint, "controller"),
            30,
            f"{name} on the controller's flow control",
        )
        exposition = http_text(spec_of["health_port"], "/metrics")
        assert _local_flow_control(exposition, name, spec_of["type"]) == 0.0
    assert pipeline.flowrun("health", str(spec)).returncode == 0
    assert pipeline_pids(pipeline) == pids  # joined the controller without a restart


def test_controller_killed_9_and_restarted_loses_nothing(
    tmp_path: Path, pipelines: list[Pipeline], controllers: list[ControllerProcess]
) -> None:
    controller = ControllerProcess(tmp_path, None, "--heartbeat-interval", "500ms").start()
    controllers.append(controller)
    last = 1000
    spec = stellar_spec(
        tmp_path,
        mode="external",
        controller_endpoint=controller.address,
        last_ledger=last,
        # 10 s of ledgers: the kill and the restart are over in about 3 s, both mid-run.
        ledgers_per_second=100,
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    output = output_dir(pipeline)
    up = pipeline.up()
    assert up.returncode == 0, up.stdout + up.stderr
    poll_until(lambda: _all_registered(pipeline), 60, "every component registered")
    pids = pipeline_pids(pipeline)
    poll_until(lambda: checkpoint_ledger(output) >= 200, 120, "ledger 200 committed")

    controller.kill()

    killed_at = checkpoint_ledger(output)
    assert killed_at < last, "the run ended before the kill"
    poll_until(
        lambda: not admin_get(pipeline, "/status")["controller"]["reachable"],
        30,
        "the runner to see the controller gone",
    )
    sink_endpoint = spec_components(spec)[SINK]["endpoint"]
    poll_until(
        lambda: _flow_control_mode(sink_endpoint) == "local",
        30,
        "the sink to fall back to local flow control",
    )
    poll_until(
        lambda: checkpoint_ledger(output) >= killed_at + 100, 60, "progress without a controller"
    )
    assert checkpoint_ledger(output) < last, "the run ended before the restart"

    controller.start()

    poll_until(lambda: _all_registered(pipeline), 60, "every component registered again")
    poll_until(lambda: checkpoint_ledger(output) == last, 180, f"ledger {last} committed")
    assert_exact_output(output, last)
    status = admin_get(pipeline, "/status")
    assert [c["restarts"] for c in status["components"]] == [0, 0, 0], status["components"]
    assert pipeline_pids(pipeline) == pids
