"""The shipped Stellar spec as a user runs it as fast as it goes (ledgers_per_second 0 and
an end_ledger, the development profile's heartbeats): the sink commits batches of at
least min_batch_events rather than a file per input batch, and its load stays that of
its queue rather than of its batch size (which, counted against max_inflight 1000, read
as 10x overload and throttled source and processor to half speed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.runner_harness import Pipeline
from fixtures.shipped_spec import SINK, sink_checkpoint, stellar_spec_at_full_speed
from polling import wait_for

pytestmark = pytest.mark.timeout(180)
LEDGERS = 40_000  # ~1 M events: a few seconds at full speed
SOURCE_BATCH_EVENTS = 13_500  # about, in one source batch of 500 synthetic ledgers


def test_the_shipped_spec_at_full_speed_commits_whole_batches_without_overload(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    spec = stellar_spec_at_full_speed(tmp_path, LEDGERS)
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    loads: list[float] = []

    def finished() -> bool:
        loads.append(float(pipeline.component(SINK)["load"] or 0.0))
        return sink_checkpoint(spec).last_ledger == LEDGERS

    started = pipeline.up("--profile", "development")
    assert started.returncode == 0, started.stdout + started.stderr
    wait_for(finished, 120, "every ledger committed")

    checkpoint = sink_checkpoint(spec)
    # A file per input batch holds ~13,500 events; min_batch_events (50,000) holds more
    # than two, less the last commit's shortfall.
    assert checkpoint.events_written / checkpoint.files_written > 2 * SOURCE_BATCH_EVENTS
    assert max(loads) < 1.0, loads
    assert "is below max_batch_events" not in pipeline.flowrun("logs", str(spec), SINK).stdout
