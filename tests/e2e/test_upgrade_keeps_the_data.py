"""A user upgrades flowrun while the Stellar pipeline's output and state stay: this version
resumes what an older one left, loses no ledger, writes none twice, reads the old state
directory, and refuses a checkpoint or a data file it cannot read with what to do.

The older version's files are a fixture (tests/fixtures/upgrade/README.md says which commit
wrote them and how), never git history: CI runs a shallow clone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from arrow_analytics_sink.checkpoint import CHECKPOINT_NAME, CheckpointError, CheckpointStore
from arrow_analytics_sink.output import OutputReadError, read_parquet_events
from arrow_analytics_sink.writer import EventWriter
from fixtures.fault_stellar import (
    OUTPUT,
    SINK,
    assert_exact_output,
    checkpoint_ledger,
    expected_events,
    poll_until,
    stellar_spec,
)
from fixtures.runner_harness import Pipeline

UPGRADE_FIXTURES = Path(__file__).parent.parent / "fixtures" / "upgrade"
V1_KILLED_MID_COMMIT = UPGRADE_FIXTURES / "2a40670-sink-killed-mid-commit"
OLD_CHECKPOINT = 22  # what the old sink's checkpoint counts
OLD_UNCOMMITTED = "part-0000000023-0000000032.parquet"  # in view, past it: killed mid-commit
OLD_FILES = 3
LAST_LEDGER = 120
PARQUET_ONLY = {SINK: {"config": {"formats": ["parquet"]}}}  # as the old sink wrote


def old_output(folder: Path) -> Path:
    """A copy of the output folder the old version left (a test never writes the fixture)."""
    output = folder / OUTPUT
    shutil.copytree(V1_KILLED_MID_COMMIT / "out", output)
    return output


def data_files(output: Path) -> list[str]:
    return sorted(path.name for path in output.rglob("part-*"))


def no_traceback(result: subprocess.CompletedProcess[str]) -> str:
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    return text


def upgraded_pipeline(folder: Path, pipelines: list[Pipeline]) -> Pipeline:
    """This version's pipeline on the old version's output and state directory."""
    spec = stellar_spec(folder, last_ledger=LAST_LEDGER, overrides=PARQUET_ONLY)
    old_output(folder)
    shutil.copytree(V1_KILLED_MID_COMMIT / "state", folder / ".flowrun" / spec.stem)
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    return pipeline


def test_the_old_state_directory_is_read_and_the_output_resumed_exactly(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = upgraded_pipeline(tmp_path, pipelines)
    spec, output = str(pipeline.spec), tmp_path / OUTPUT

    status = pipeline.flowrun("status", spec)
    assert status.returncode == 3 and "stale state" in no_traceback(status)
    logs = pipeline.flowrun("logs", spec)
    assert logs.returncode == 0 and "checkpoint at ledger 0" in no_traceback(logs)
    runner_log = pipeline.flowrun("logs", spec, "flowrun", "--tail", "3")
    assert runner_log.returncode == 0 and "watching" in no_traceback(runner_log)
    since = pipeline.flowrun("logs", spec, SINK, "--since", "1h")
    assert since.returncode == 0, no_traceback(since)
    down = pipeline.flowrun("down", spec)
    assert down.returncode == 0 and "nothing to stop" in no_traceback(down)

    up = pipeline.up()
    assert up.returncode == 0, up.stdout + up.stderr
    poll_until(lambda: checkpoint_ledger(output) == LAST_LEDGER, 120, "the last ledger committed")
    assert_exact_output(output, LAST_LEDGER)  # old and new files read together, as one
    sink_log = no_traceback(pipeline.flowrun("logs", spec, SINK))
    assert f"checkpoint at ledger {OLD_CHECKPOINT}" in sink_log
    assert "removed 0 temp and 1 uncommitted files" in sink_log
    # Said at the upgrade: readers that take one file's columns now miss some.
    assert "holds Parquet files of TTPEvent version 1" in sink_log
    assert "to_muxed_value" in sink_log
    assert pipeline.flowrun("status", spec).returncode == 0
    assert pipeline.down().returncode == 0


def test_a_checkpoint_that_counts_none_of_the_files_stops_the_sink_and_keeps_them(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """With its checkpoint gone (deleted, as an older message advised), the sink took every
    data file for a crash's leftovers, deleted them and began again from the first ledger."""
    pipeline = upgraded_pipeline(tmp_path, pipelines)
    output = tmp_path / OUTPUT
    (output / CHECKPOINT_NAME).unlink()
    before = data_files(output)

    up = pipeline.up()
    assert up.returncode == 0, up.stdout + up.stderr
    exited = f"{SINK}: exited with code 2"  # refused, as another sink's folder is
    poll_until(
        lambda: exited in pipeline.flowrun("logs", str(pipeline.spec), "flowrun").stdout,
        60,
        "the sink's refusal",
    )
    sink_log = no_traceback(pipeline.flowrun("logs", str(pipeline.spec), SINK))
    assert f"{OLD_FILES} data files hold ledgers 1-32" in sink_log
    assert "no checkpoint (_checkpoint.json is missing)" in sink_log
    assert "Nothing was removed" in sink_log and f"mv {output} {output}.old" in sink_log
    assert data_files(output) == before
    assert not (output / CHECKPOINT_NAME).exists()


def test_an_output_of_version_1_and_version_2_files_reads_as_one(tmp_path: Path) -> None:
    """Read with the schema of its first file, a folder an older sink began refused every
    file of this version: `No match for FieldRef.Name(contract_address)`."""
    writer = EventWriter(old_output(tmp_path), formats=["parquet"], durable=False)
    assert writer.recover().checkpoint.last_ledger == OLD_CHECKPOINT
    events = expected_events(60)
    resumed = events.filter(pc.greater(events["ledger_sequence"], OLD_CHECKPOINT))
    writer.commit(resumed, OLD_CHECKPOINT + 1, 60)
    writer.close()
    assert read_parquet_events(tmp_path / OUTPUT).equals(events.combine_chunks())


def test_a_data_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    output = old_output(tmp_path)
    folder = output / "parquet" / "date=2024-01-01"
    foreign = folder / "part-0000000033-0000000033.parquet"
    pq.write_table(pa.table({"event_id": ["33:0:fee"], "ledger_sequence": ["33"]}), foreign)
    with pytest.raises(OutputReadError, match=f"{foreign}: cannot be read as TTPEvent rows"):
        read_parquet_events(output)
    foreign.write_bytes(b"PAR1 cut short")
    with pytest.raises(OutputReadError, match="move it out of the output folder"):
        read_parquet_events(output)


def test_an_unreadable_checkpoint_is_refused_with_a_way_that_keeps_the_data(
    tmp_path: Path,
) -> None:
    output = old_output(tmp_path)
    (output / CHECKPOINT_NAME).write_text('{"last_ledger": 22, "events_wr')  # cut short
    with pytest.raises(CheckpointError) as refused:
        EventWriter(output, durable=False).recover()
    message = str(refused.value)
    assert str(output / CHECKPOINT_NAME) in message and "restore it" in message
    assert f"mv {output} {output}.old" in message
    assert "move it away to start over" not in message  # that deleted every data file


def test_a_checkpoint_of_a_newer_format_is_refused(tmp_path: Path) -> None:
    """A later sink may keep `last_ledger` with another meaning: without a format in the
    file this one could not tell, and resumed from it."""
    output = old_output(tmp_path)
    values = json.loads((output / CHECKPOINT_NAME).read_text())
    (output / CHECKPOINT_NAME).write_text(json.dumps({**values, "format": 2}))
    with pytest.raises(CheckpointError, match="checkpoint format 2, written by a newer"):
        EventWriter(output, durable=False).recover()
    assert data_files(output) == data_files(V1_KILLED_MID_COMMIT / "out")


def test_a_checkpoint_older_than_the_files_is_refused_and_removes_nothing(
    tmp_path: Path,
) -> None:
    """Restored from an older copy, it counted ledgers 1-11: the files of 12-32 were deleted
    as a crash's leftovers."""
    output = old_output(tmp_path)
    values = json.loads((output / CHECKPOINT_NAME).read_text())
    (output / CHECKPOINT_NAME).write_text(json.dumps({**values, "last_ledger": 11}))
    with pytest.raises(CheckpointError, match="2 data files hold ledgers 12-32"):
        EventWriter(output, durable=False).recover()
    assert data_files(output) == data_files(V1_KILLED_MID_COMMIT / "out")


def test_the_one_batch_an_old_sink_left_in_view_is_still_removed(tmp_path: Path) -> None:
    """What an older sink killed mid-commit leaves (one batch past its checkpoint, or, in its
    first commit, with no checkpoint yet) is not refused: it is removed and read again."""
    output = old_output(tmp_path)
    recovery = EventWriter(output, durable=False).recover()
    assert (recovery.checkpoint.last_ledger, recovery.uncommitted_files_removed) == (22, 1)
    assert OLD_UNCOMMITTED not in data_files(output)

    first_commit = old_output(tmp_path / "first")
    (first_commit / CHECKPOINT_NAME).unlink()
    for name in data_files(first_commit)[1:]:
        next(first_commit.rglob(name)).unlink()
    recovery = EventWriter(first_commit, durable=False).recover()
    assert (recovery.checkpoint.last_ledger, recovery.uncommitted_files_removed) == (0, 1)


def test_a_checkpoint_of_this_version_keeps_what_older_sinks_read(tmp_path: Path) -> None:
    """A user who goes back to an older flowrun: the sinks before `format` read these keys
    (and ignore the others)."""
    store = CheckpointStore(tmp_path, durable=False)
    store.save(CheckpointStore(V1_KILLED_MID_COMMIT / "out").load())
    values = json.loads((tmp_path / CHECKPOINT_NAME).read_text())
    assert values["format"] == 1
    old = json.loads((V1_KILLED_MID_COMMIT / "out" / CHECKPOINT_NAME).read_text())
    assert {key: values[key] for key in old} == old
