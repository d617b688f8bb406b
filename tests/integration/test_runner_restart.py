"""Supervision: restart policies, backoff, giving up after max_restarts, liveness."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

from fixtures.runner_harness import (
    Pipeline,
    alive,
    component,
    read_events,
    wait_for,
    write_spec,
)


def _restart(policy: str, **limits: object) -> dict[str, object]:
    return {"policy": policy, "backoff": "100ms", "max_backoff": "1s", "window": "60s", **limits}


def test_restart_policies_always_on_failure_never(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    spec = write_spec(
        tmp_path,
        {
            "always": component(
                config={"exit_after": 0.3, "exit_code": 0},
                restart=_restart("always", max_restarts=50),
            ),
            "clean-exit": component(
                config={"exit_after": 0.3, "exit_code": 0}, restart=_restart("on-failure")
            ),
            "once": component(
                config={"exit_after": 0.3, "exit_code": 3}, restart=_restart("never")
            ),
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    pipeline.up()

    pipeline.wait_component("always", lambda c: c["restarts"] >= 2, what="'always' restarted twice")
    stopped = pipeline.wait_component("clean-exit", lambda c: c["state"] == "stopped")
    failed = pipeline.wait_component("once", lambda c: c["state"] == "failed")
    assert stopped["restarts"] == 0 and stopped["exit_code"] == 0
    assert failed["restarts"] == 0 and failed["exit_code"] == 3
    assert (
        "exited with code 3" in failed["last_error"]
        and "restart policy: never" in failed["last_error"]
    )
    assert "exiting with code 3" in failed["last_error"]  # the last lines of its log come along


def test_backoff_grows_then_the_component_fails_and_its_dependent_keeps_running(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    events = tmp_path / "events.txt"
    spec = write_spec(
        tmp_path,
        {
            "flaky": component(
                config={"exit_after": 0.5, "exit_code": 1, "events_file": str(events)},
                restart=_restart("on-failure", backoff="200ms", max_backoff="2s", max_restarts=3),
            ),
            "dependent": component("sink", inputs=["flaky"]),
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    pipeline.up()
    dependent_pid = pipeline.component("dependent")["pid"]

    failed = pipeline.wait_component("flaky", lambda c: c["state"] == "failed", timeout=60)

    assert failed["restarts"] == 3
    assert "restarted 3 times within 60s (max_restarts: 3)" in failed["last_error"]
    log = (pipeline.state_dir / "runner.log").read_text()
    delays = [
        float(d) for d in re.findall(r"flaky: exited with code 1; restarting in ([\d.]+)s", log)
    ]
    # 200 ms doubling each time (less up to 20% jitter), as the runner decided and said.
    assert len(delays) == 3
    for attempt, delay in enumerate(delays):
        base = 0.2 * 2**attempt
        assert 0.8 * base - 0.05 <= delay <= base + 0.05, (attempt, delays)
    starts = [when for kind, _name, _pid, when in read_events(events) if kind == "start"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert len(gaps) == 3 and all(gap >= delay for gap, delay in zip(gaps, delays, strict=True))
    dependent = pipeline.component("dependent")
    assert (
        dependent["state"] == "running"
        and dependent["pid"] == dependent_pid
        and alive(dependent_pid)
    )
    health = pipeline.flowrun("health", str(spec), "--json")
    assert health.returncode == 2
    report = json.loads(health.stdout)
    assert report["status"] == "unhealthy"
    assert any(reason.startswith("flaky failed") for reason in report["reasons"])


def test_a_component_that_stops_heartbeating_is_restarted(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    events = tmp_path / "events.txt"
    silent = {"stop_heartbeat_after": 1.0, "events_file": str(events)}
    spec = write_spec(
        tmp_path,
        {"silent": component(config=silent, restart=_restart("on-failure"))},
        heartbeat_ttl="1s",
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    pipeline.up()

    restarted = pipeline.wait_component(
        "silent", lambda c: c["restarts"] >= 1 and c["pid"], timeout=30
    )

    first_pid = next(pid for kind, _name, pid, _when in read_events(events) if kind == "ready")
    assert restarted["pid"] != first_pid
    wait_for(lambda: not alive(first_pid), timeout=10, what="the silent process was stopped")
    runner_log = (pipeline.state_dir / "runner.log").read_text()
    # Restarted for silence while its process ran, not because it exited.
    assert "silent: no heartbeat for" in runner_log and "while its process runs" in runner_log
    assert "silent: exited" not in runner_log


def test_crashes_further_apart_than_the_window_never_exhaust_max_restarts(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    spec = write_spec(
        tmp_path,
        {
            "periodic": component(
                config={"exit_after": 0.8, "exit_code": 1},
                restart=_restart("on-failure", window="500ms", max_restarts=1),
            )
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    pipeline.up()

    survivor = pipeline.wait_component("periodic", lambda c: c["restarts"] >= 3, timeout=60)

    assert survivor["state"] in ("running", "starting", "backoff")


def test_a_component_that_never_gets_ready_is_reported_with_the_end_of_its_log(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    spec = write_spec(
        tmp_path,
        {
            "sleepy": component(
                config={"start_delay": 60}, start_timeout="1s", restart=_restart("never")
            ),
            "after": component("sink", inputs=["sleepy"]),
        },
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)

    result = pipeline.up()

    assert result.returncode == 1
    sleepy = pipeline.component("sleepy")
    assert sleepy["state"] == "failed" and sleepy["pid"] is None
    assert (
        "not ready after 1s (start_timeout): no registration with the controller"
        in sleepy["last_error"]
    )
    assert "last lines of its log:\n    component sleepy pid" in sleepy["last_error"]
    after = pipeline.component("after")
    assert after["state"] == "starting" and after["waiting_for"] == "inputs: sleepy"
    assert "after: starting: inputs: sleepy" in result.stderr
