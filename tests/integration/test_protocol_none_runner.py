"""A real `sleep` declared `protocol: none` under a real runner with an embedded controller:
past heartbeat_ttl it is still running, never restarted, and `status` and `health` call it
healthy (the audit's `chatty` component)."""

from __future__ import annotations

from pathlib import Path

from fixtures.runner_harness import Pipeline, component, write_spec


def test_a_plain_program_that_never_registers_keeps_the_pipeline_healthy(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    chatty = component(command=["sleep", "3600"], endpoint=False, protocol="none", ready="started")
    pipeline = Pipeline(write_spec(tmp_path, {"chatty": chatty}, heartbeat_ttl="1s"))
    pipelines.append(pipeline)

    assert pipeline.up().returncode == 0
    seen = pipeline.wait_component(
        "chatty", lambda c: (c["uptime_seconds"] or 0) > 2.5, what="chatty up past 2 ttl's"
    )
    health = pipeline.flowrun("health", str(pipeline.spec))

    assert (seen["state"], seen["restarts"]) == ("running", 0)
    assert (seen["registered"], seen["healthy"]) == (False, True)
    assert health.returncode == 0, health.stdout
    assert health.stdout.splitlines()[0].endswith(": healthy")
