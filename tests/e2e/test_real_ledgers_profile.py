"""`make run PROFILE=fixtures` as a user runs it: the shipped spec's fixtures profile reads
the SEP-54 data store in fixtures/stellar (pubnet ledger 53312000) with no network, and the
sink writes that ledger's token transfer events: 163 fees and 1 refund, 132 transfers."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from arrow_analytics_sink.output import read_parquet_events
from fixtures.runner_harness import Pipeline
from fixtures.shipped_spec import shipped_specs_with_fixtures, sink_checkpoint, sink_output_dir
from polling import wait_for

pytestmark = pytest.mark.timeout(180)
LEDGER = 53312000


def test_the_fixtures_profile_writes_the_real_ledgers_events(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = Pipeline(shipped_specs_with_fixtures(tmp_path))
    pipelines.append(pipeline)

    started = pipeline.up("--profile", "fixtures")

    assert started.returncode == 0, started.stdout + started.stderr
    spec = pipeline.spec
    wait_for(lambda: sink_checkpoint(spec).last_ledger == LEDGER, 120, "ledger committed")
    events = read_parquet_events(sink_output_dir(spec))
    assert set(events.column("ledger_sequence").to_pylist()) == {LEDGER}
    kinds = Counter(events.column("event_type").to_pylist())
    assert kinds == {"fee": 164, "transfer": 132}, kinds
