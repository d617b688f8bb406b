"""A runner stopped for longer than heartbeat_ttl (SIGSTOP, as a host suspend, a VM pause or
Ctrl-Z would) and resumed (SIGCONT) restarts none of its healthy components: their heartbeats
waited unread while it was stopped, and it gives each a whole ttl from its resume."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from fixtures.runner_harness import Pipeline, alive, component, wait_for, write_spec

TTL_SECONDS = 1.0
STALL_SECONDS = 3.0  # three ttl's: without the fix every component is restarted on resume


def test_a_runner_stopped_for_longer_than_the_ttl_restarts_no_component(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    spec = write_spec(
        tmp_path,
        {"src": component(), "snk": component("sink", inputs=["src"])},
        heartbeat_interval="200ms",
        heartbeat_ttl=f"{TTL_SECONDS:g}s",
    )
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    result = pipeline.up()
    assert result.returncode == 0, result.stderr
    pids = {c["name"]: c["pid"] for c in pipeline.status()["components"]}
    info = pipeline.runner_info()
    assert info is not None and all(pids.values()), pids
    runner = int(info["pid"])
    runner_log = pipeline.state_dir / "runner.log"

    os.kill(runner, signal.SIGSTOP)
    try:
        time.sleep(STALL_SECONDS)  # the fault itself: the runner stays stopped this long
    finally:
        os.kill(runner, signal.SIGCONT)
    resumed = time.monotonic()

    def two_ttls_later_unchanged() -> bool:
        components = pipeline.status()["components"]
        for c in components:  # at every look: the same process, never restarted
            assert (c["pid"], c["restarts"]) == (pids[c["name"]], 0), c
        past = time.monotonic() - resumed > 2 * TTL_SECONDS
        return past and all(c["state"] == "running" and c["healthy"] for c in components)

    wait_for(two_ttls_later_unchanged, timeout=15, what="two ttl's after the resume, healthy")
    assert all(alive(pid) for pid in pids.values())
    log = runner_log.read_text()
    assert "no heartbeat for" not in log and "restarting" not in log
    assert all(f"{name}: the runner did not run for" in log for name in pids)
    assert "the controller did not run for" in log  # its janitor noticed the stall too
    assert "silent for more than" not in log
