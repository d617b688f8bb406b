"""`make run PROFILE=fixtures` as a user runs it: the shipped spec's fixtures profile reads
the SEP-54 data store in fixtures/stellar (pubnet ledger 53312000) with no network, and the
sink writes that ledger's token transfer events: 163 fees and 1 refund, 132 transfers."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from arrow_analytics_sink.output import read_parquet_events
from fixtures.runner_harness import Pipeline
from polling import wait_for

pytestmark = pytest.mark.timeout(180)
REPO = Path(__file__).resolve().parents[2]
LEDGER = 53312000


def _checkpoint(output: Path) -> dict[str, object]:
    try:
        return dict(json.loads((output / "_checkpoint.json").read_text()))
    except (OSError, ValueError):
        return {}


def test_the_fixtures_profile_writes_the_real_ledgers_events(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    shutil.copytree(REPO / "specs", tmp_path / "specs", ignore=shutil.ignore_patterns("data"))
    shutil.copytree(REPO / "fixtures", tmp_path / "fixtures")
    pipeline = Pipeline(tmp_path / "specs" / "stellar-ttp.yaml")
    pipelines.append(pipeline)

    started = pipeline.up("--profile", "fixtures")

    assert started.returncode == 0, started.stdout + started.stderr
    output = tmp_path / "specs" / "data" / "ttp_events"
    wait_for(lambda: _checkpoint(output).get("last_ledger") == LEDGER, 120, "ledger committed")
    events = read_parquet_events(output)
    assert set(events.column("ledger_sequence").to_pylist()) == {LEDGER}
    kinds = Counter(events.column("event_type").to_pylist())
    assert kinds == {"fee": 164, "transfer": 132}, kinds
