"""A long run of the Stellar pipeline (two minutes, bounded) with flat memory, and a storm
of concurrent `status` and `health` calls against it that all succeed and agree."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fixtures.fault_stellar import (
    RssSamples,
    admin_get,
    assert_exact_output,
    checkpoint_ledger,
    output_dir,
    pipeline_pids,
    poll_until,
    stellar_spec,
)
from fixtures.runner_harness import Pipeline

pytestmark = [pytest.mark.timeout(420), pytest.mark.long_running]
RUN_SECONDS = 120.0
SAMPLE_SECONDS = 3.0
MiB = 2**20


def _status_storm(pipeline: Pipeline, threads: int, calls: int) -> list[dict[str, Any]]:
    """`threads` threads each make `calls` admin calls (status and health in turn), plus a
    few through the real CLI; returns every answer, in the order each thread got them."""

    def admin_caller(worker: int) -> list[dict[str, Any]]:
        answers = []
        for n in range(calls):
            path = "/status" if (worker + n) % 2 == 0 else "/health"
            answers.append({"path": path, "body": admin_get(pipeline, path), "worker": worker})
        return answers

    def cli_caller(worker: int) -> list[dict[str, Any]]:
        answers = []
        for command in ("status", "health"):
            result = pipeline.flowrun(command, str(pipeline.spec), "--json")
            assert result.returncode == 0, result.stdout + result.stderr
            answers.append(
                {"path": f"/{command}", "body": json.loads(result.stdout), "worker": -worker}
            )
        return answers

    jobs: list[tuple[Callable[[int], list[dict[str, Any]]], int]] = [
        *((admin_caller, worker) for worker in range(threads)),
        *((cli_caller, worker) for worker in (1, 2)),
    ]
    with ThreadPoolExecutor(len(jobs)) as executor:
        futures = [executor.submit(job, worker) for job, worker in jobs]
        return [answer for future in futures for answer in future.result(timeout=240)]


def _assert_consistent(answers: list[dict[str, Any]], pids: dict[str, int]) -> None:
    statuses = [a for a in answers if a["path"] == "/status"]
    healths = [a["body"] for a in answers if a["path"] == "/health"]
    assert statuses and healths
    first = statuses[0]["body"]
    for answer in statuses:
        body = answer["body"]
        for key in ("pipeline", "revision", "profile", "controller", "flow_control"):
            if key != "flow_control":
                assert body[key] == first[key], key
        assert body["runner"]["pid"] == pids["runner"]
        assert {c["name"]: c["pid"] for c in body["components"]} == {
            name: pid for name, pid in pids.items() if name != "runner"
        }
        assert all(c["state"] == "running" and c["restarts"] == 0 for c in body["components"])
    for health in healths:
        assert health["status"] in ("healthy", "degraded"), health
        assert not [r for r in health["reasons"] if "failed" in r or "stopped" in r], health
    by_worker: dict[int, list[float]] = {}
    for answer in statuses:
        by_worker.setdefault(answer["worker"], []).append(
            answer["body"]["runner"]["uptime_seconds"]
        )
    for uptimes in by_worker.values():
        assert uptimes == sorted(uptimes), "a later answer reports an earlier state"


def test_two_minutes_of_streaming_with_flat_memory_and_a_status_storm(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    spec = stellar_spec(tmp_path, last_ledger=0, ledgers_per_second=60)  # endless, paced
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    output = output_dir(pipeline)
    up = pipeline.up()
    assert up.returncode == 0, up.stdout + up.stderr
    pids = pipeline_pids(pipeline)
    poll_until(lambda: checkpoint_ledger(output) >= 100, 120, "the stream flowing")
    rss = RssSamples()
    started = time.monotonic()
    progress = [checkpoint_ledger(output)]
    with ThreadPoolExecutor(1) as background:
        storm_call: Future[list[dict[str, Any]]] | None = None
        while (elapsed := time.monotonic() - started) < RUN_SECONDS:
            rss.take(pids)
            if storm_call is None and elapsed >= RUN_SECONDS * 0.1:
                # In the first half: whatever it costs is in the baseline of the comparison.
                storm_call = background.submit(_status_storm, pipeline, 8, 25)
            progress.append(checkpoint_ledger(output))
            time.sleep(SAMPLE_SECONDS)  # a sampling period, not a synchronisation
        assert storm_call is not None
        storm = storm_call.result(timeout=240)

    assert len(storm) == 8 * 25 + 2 * 2, "a status or health call did not answer"
    _assert_consistent(storm, pids)
    assert pipeline_pids(pipeline) == pids  # nothing restarted in two minutes
    assert progress == sorted(progress) and progress[-1] > progress[0] + 1000, progress
    print(f"RSS over {RUN_SECONDS:.0f}s: {rss.summary()}")  # shown with -rP: a figure to report
    for name in pids:
        first, second = rss.halves(name)
        assert second <= first * 1.15 + 25 * MiB, f"{name} grows: {rss.summary()}"
    down = pipeline.down()
    assert down.returncode == 0, down.stderr
    assert_exact_output(output, checkpoint_ledger(output))
