"""Components that survive their neighbours: the examples/sdk pipeline (source, processor,
sink written only from docs/sdk.md) as real processes. Each one is killed with SIGKILL,
or stopped and started again as a reload restart does, mid-stream; the sink's Parquet
output still holds every id exactly once, and it ends when the bounded source ends."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest
from fixtures.sdk_example import SdkExample
from polling import wait_for

pytestmark = pytest.mark.timeout(180)
COUNT = 3000


def _exactly_once(example: SdkExample) -> None:
    wait_for(lambda: example.rows_written() >= COUNT, 90, f"{COUNT} rows committed")
    ids = example.ids()
    duplicates = {i: n for i, n in Counter(ids).items() if n > 1}
    assert not duplicates, f"ids written more than once: {sorted(duplicates)[:10]}"
    assert sorted(ids) == list(range(COUNT))


def test_every_id_once_across_kill_9_of_each_component(tmp_path: Path) -> None:
    with SdkExample(tmp_path, count=COUNT, rate=600) as example:
        for victim, after_rows in [("ids", 400), ("squares", 1100), ("files", 1800)]:
            wait_for(lambda n=after_rows: example.rows_written() >= n, 60, f"{after_rows} rows")
            assert example.rows_written() < COUNT, "the run ended before the kill"
            assert example.kill(victim) == -signal.SIGKILL
            example.start(victim)
        _exactly_once(example)
        assert "input ids lost" in example.log("squares")
        assert "input squares lost" in example.log("files")


def test_every_id_once_across_graceful_restarts_of_the_upstreams(tmp_path: Path) -> None:
    """A graceful stop ends the upstream's stream cleanly, but without its end message:
    the reader resumes it instead of taking it for the end (what a reload restart does)."""
    with SdkExample(tmp_path, count=COUNT, rate=600) as example:
        for victim, after_rows in [("squares", 500), ("ids", 1300)]:
            wait_for(lambda n=after_rows: example.rows_written() >= n, 60, f"{after_rows} rows")
            assert example.kill(victim, signal.SIGTERM) == 0
            example.start(victim)
        _exactly_once(example)


def test_a_lost_input_degrades_the_reader_with_the_reason_until_it_is_back(
    tmp_path: Path,
) -> None:
    with SdkExample(tmp_path, count=0, rate=200, monitoring_interval_seconds=0.2) as example:
        wait_for(lambda: example.rows_written() > 0, 60, "the first rows committed")
        example.kill("squares")

        def input_check() -> dict[str, str] | None:
            report = example.health("files")
            found = [check for check in report["checks"] if check["name"] == "input squares"]
            return found[0] if found and report["status"] == "degraded" else None

        check = wait_for(input_check, 30, "the sink degraded by its lost input")
        assert check["status"] == "degraded"
        assert check["reason"].startswith("input squares delivered nothing for")
        example.start("squares")
        wait_for(lambda: example.health("files")["status"] == "healthy", 30, "healthy again")
