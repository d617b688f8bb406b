"""What users of docker compose and supervisord reach for, end to end through the CLI:
`restart`, `ps`, the runner's own log and `logs --since`, `up --log-format json`, and each
component's own health (an SDK component's degraded check) in `status` and `health`."""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml
from fixtures.runner_harness import Pipeline, component, free_port, wait_for, write_spec

SDK_HEALTH_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "runner_sdk_health.py"


def _two_components(folder: Path) -> Pipeline:
    folder.mkdir(parents=True, exist_ok=True)
    spec = write_spec(
        folder, {"src": component(), "sink": component("sink", inputs=["src"], endpoint=False)}
    )
    return Pipeline(spec)


def _pids(pipeline: Pipeline) -> dict[str, int]:
    return {c["name"]: c["pid"] for c in pipeline.status()["components"]}


def test_restart_restarts_the_named_components_or_all(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = _two_components(tmp_path)
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0
    before = _pids(pipeline)

    one = pipeline.flowrun("restart", str(pipeline.spec), "src")

    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("src: restarted, ready in")
    after_one = _pids(pipeline)
    assert after_one["src"] != before["src"] and after_one["sink"] == before["sink"]

    every = pipeline.flowrun("restart", str(pipeline.spec), "--json")
    assert every.returncode == 0, every.stderr
    assert [c["name"] for c in json.loads(every.stdout)["components"]] == ["src", "sink"]
    after_all = _pids(pipeline)
    assert all(after_all[name] != after_one[name] for name in after_all)

    unknown = pipeline.flowrun("restart", str(pipeline.spec), "nope")
    assert unknown.returncode == 1 and "no component 'nope'" in unknown.stderr
    runner_log = pipeline.flowrun("logs", str(pipeline.spec), "flowrun").stdout
    assert "restart requested: src" in runner_log
    assert "restart requested: src, sink" in runner_log


def test_ps_lists_every_running_pipeline_and_drops_stale_entries(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    first, second = _two_components(tmp_path / "a"), _two_components(tmp_path / "b")
    pipelines += [first, second]
    assert first.up().returncode == 0 and second.up().returncode == 0
    stale = Path(os.environ["FLOWRUN_HOME"]) / "runners" / "999999999.json"
    stale.write_text(
        json.dumps(
            {"pid": 999999999, "pipeline": "gone", "spec_path": "/gone.yaml", "profile": None,
             "state_dir": str(tmp_path / "nowhere"), "started_at": 1.0}
        )
    )  # fmt: skip

    listed = first.flowrun("ps", "--json")

    assert listed.returncode == 0, listed.stderr
    rows = {row["spec"]: row for row in json.loads(listed.stdout)}
    assert set(rows) >= {str(first.spec), str(second.spec)}
    assert rows[str(first.spec)]["components"] == {"running": 2, "total": 2}
    assert rows[str(first.spec)]["pid"] == first.runner_info()["pid"]  # type: ignore[index]
    assert "/gone.yaml" not in rows and not stale.exists()
    table = first.flowrun("ps").stdout
    assert table.startswith("PIPELINE") and str(second.spec) in table and "2/2" in table

    assert first.down().returncode == 0
    left = {row["spec"] for row in json.loads(first.flowrun("ps", "--json").stdout)}
    assert str(first.spec) not in left and str(second.spec) in left


def test_logs_since_a_moment_show_only_what_came_after(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = _two_components(tmp_path)
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0
    old_pid = _pids(pipeline)["src"]
    started = time.time()
    wait_for(lambda: int(time.time()) > int(started), 5, "the next second")  # --since: seconds
    moment = datetime.datetime.now().isoformat(timespec="seconds")
    assert pipeline.flowrun("restart", str(pipeline.spec), "src").returncode == 0
    new_pid = _pids(pipeline)["src"]

    recent = pipeline.flowrun("logs", str(pipeline.spec), "src", "--since", moment)
    whole = pipeline.flowrun("logs", str(pipeline.spec), "src", "--since", "1h")

    assert recent.returncode == 0, recent.stderr
    assert f"component src pid {new_pid}" in recent.stdout
    assert f"component src pid {old_pid}" not in recent.stdout
    assert f"component src pid {old_pid}" in whole.stdout
    runner = pipeline.flowrun("logs", str(pipeline.spec), "flowrun", "--since", moment).stdout
    assert "restart requested: src" in runner and "runner pid" not in runner
    bad = pipeline.flowrun("logs", str(pipeline.spec), "--since", "yesterday")
    assert bad.returncode == 2 and "neither a duration" in bad.stderr


def test_logs_follow_since_0s_shows_only_new_lines(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """`--since 0s` was refused ("neither a duration"); it means now, as in `docker logs`."""
    pipeline = _two_components(tmp_path)
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0
    old_pid = _pids(pipeline)["src"]
    shown = tmp_path / "followed.txt"
    with shown.open("w") as output:
        follower = subprocess.Popen(
            [*pipeline.argv(), "logs", str(pipeline.spec), "-f", "--since", "0s"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:

        def a_new_pid_shown() -> bool:
            # A restart done before the follower took its moment is rightly not shown: once
            # it follows, the next restart is.
            if re.search(rf"component src pid (?!{old_pid} )\d+ starting", shown.read_text()):
                return True
            assert pipeline.flowrun("restart", str(pipeline.spec), "src").returncode == 0
            return False

        wait_for(a_new_pid_shown, 60, "a restarted src in the followed logs", interval=1.0)
        followed = shown.read_text()
        assert f"component src pid {old_pid} " not in followed
        assert "restart requested: src" in followed  # the runner's log, followed too
        assert "runner pid" not in followed  # written at `up`, before the moment
        assert pipeline.down().returncode == 0
        assert follower.wait(timeout=30) == 0
    finally:
        follower.kill()


def test_up_in_the_foreground_can_log_json(tmp_path: Path, pipelines: list[Pipeline]) -> None:
    pipeline = _two_components(tmp_path)
    pipelines.append(pipeline)
    process = pipeline.foreground("--log-format", "json")
    records: list[dict[str, Any]] = []
    try:
        assert process.stdout is not None

        def ready() -> bool:
            line = process.stdout.readline()  # type: ignore[union-attr]
            if line:
                records.append(json.loads(line))
            return any("components ready" in r["message"] for r in records) or not line

        wait_for(ready, 60, "the pipeline ready")
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    records += [json.loads(line) for line in rest.splitlines()]
    assert all(list(r) == ["time", "component", "stream", "message"] for r in records)
    assert any(r["component"] == "src" and r["stream"] == "output" for r in records)
    assert any(r["component"] == "flowrun" and r["stream"] == "event" for r in records)
    assert any(r["message"].startswith("stopped 2 components") for r in records)


def test_a_component_reporting_itself_degraded_shows_in_status_and_health(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    reason = "input src delivered nothing for 12 s"
    sdk = component(
        "source",
        command=["python", str(SDK_HEALTH_FIXTURE)],
        health_port=free_port(),
        config={"health": "degraded", "reason": reason},
    )
    spec = write_spec(tmp_path, {"says": sdk})
    body = yaml.safe_load(spec.read_text())
    body["spec"]["monitoring"]["interval"] = "200ms"
    spec.write_text(yaml.safe_dump(body, sort_keys=False))
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0

    seen = pipeline.wait_component(
        "says", lambda c: f"fixture: {reason}" in c["health_reasons"], 60, "its own reason"
    )

    assert seen["health"] == "degraded" and seen["state"] == "running"
    health = pipeline.flowrun("health", str(spec))
    assert health.returncode == 1, health.stdout
    assert f"says reports itself degraded: fixture: {reason}" in health.stdout
    table = pipeline.flowrun("status", str(spec)).stdout
    assert f"degraded: fixture: {reason}" in table


def test_a_component_whose_health_endpoint_is_silent_is_not_degraded_for_it(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    # The plain fixture serves no /health on its health_port (nothing listens there).
    spec = write_spec(tmp_path, {"src": component(health_port=free_port())})
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    assert pipeline.up().returncode == 0
    assert pipeline.component("src")["health"] is None
    result = subprocess.run(
        [*pipeline.argv(), "health", str(spec), "--json"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
