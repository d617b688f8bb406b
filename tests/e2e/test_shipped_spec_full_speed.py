"""The shipped Stellar spec as a user runs it as fast as it goes (ledgers_per_second 0 and
an end_ledger, the development profile's heartbeats): the sink commits batches of at
least min_batch_events rather than a file per input batch, and its load stays that of
its queue rather than of its batch size (which, counted against max_inflight 1000, read
as 10x overload and throttled source and processor to half speed)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from fixtures.runner_harness import Pipeline
from polling import wait_for

pytestmark = pytest.mark.timeout(180)
REPO = Path(__file__).resolve().parents[2]
LEDGERS = 40_000  # ~1 M events: a few seconds at full speed
SINK = "arrow-analytics-sink"
SOURCE_BATCH_EVENTS = 13_500  # about, in one source batch of 500 synthetic ledgers


def _checkpoint(output: Path) -> dict[str, int]:
    try:
        return dict(json.loads((output / "_checkpoint.json").read_text()))
    except (OSError, ValueError):
        return {}


def full_speed(spec: Path) -> None:
    # The base source config comes first (the profiles follow it).
    text, replaced = re.subn(
        r"end_ledger: 0\b", f"end_ledger: {LEDGERS}", spec.read_text(), count=1
    )
    text, paced = re.subn(r"ledgers_per_second: 10\b", "ledgers_per_second: 0", text, count=1)
    assert (replaced, paced) == (1, 1), "the shipped source config changed: update this test"
    spec.write_text(text)


def test_the_shipped_spec_at_full_speed_commits_whole_batches_without_overload(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    shutil.copytree(REPO / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns("data"))
    spec = tmp_path / "specs" / "stellar-ttp.yaml"
    full_speed(spec)
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    output = spec.parent / "data" / "ttp_events"
    loads: list[float] = []

    def finished() -> bool:
        loads.append(float(pipeline.component(SINK)["load"] or 0.0))
        return _checkpoint(output).get("last_ledger") == LEDGERS

    started = pipeline.up("--profile", "development")
    assert started.returncode == 0, started.stdout + started.stderr
    wait_for(finished, 120, "every ledger committed")

    checkpoint = _checkpoint(output)
    events_per_file = checkpoint["events_written"] / checkpoint["files_written"]
    # A file per input batch holds ~13,500 events; min_batch_events (50,000) holds more
    # than two, less the last commit's shortfall.
    assert events_per_file > 2 * SOURCE_BATCH_EVENTS, checkpoint
    assert max(loads) < 1.0, loads
    assert "is below max_batch_events" not in pipeline.flowrun("logs", str(spec), SINK).stdout
