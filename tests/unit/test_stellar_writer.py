"""The sink's writer: atomic files, checkpoint after data, recovery after a crash."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from arrow_analytics_sink.checkpoint import CheckpointError, CheckpointStore
from arrow_analytics_sink.writer import FORMATS, EventWriter, OutputLostError, SinkWriteError
from flowctl import exclusive
from flowctl.exclusive import OutputInUseError
from stellar_arrow_source.generator import GeneratorConfig, SyntheticLedgers
from ttp_arrow_processor.extract import extract_events

# Ledger 720 closes at 2024-01-01T00:00:00Z: ranges around it span two dates.
CONFIG = GeneratorConfig(seed=3, genesis_time=datetime(2023, 12, 31, 23, 0, 5, tzinfo=UTC))


def events_of(first: int, last: int) -> pa.Table:
    ledgers = SyntheticLedgers(CONFIG).ledger_batch(first, last)
    return pa.Table.from_batches([extract_events(ledgers)[0]])


def parquet_output(root: Path) -> pa.Table:
    dataset = ds.dataset(root / "parquet", format="parquet", partitioning="hive")
    table = dataset.to_table().drop_columns(["date"])
    return table.sort_by(
        [
            ("ledger_sequence", "ascending"),
            ("transaction_index", "ascending"),
            ("operation_index", "ascending"),
        ]
    )


def jsonl_ids(root: Path) -> list[str]:
    ids = []
    for path in sorted((root / "jsonl").rglob("*.jsonl")):
        ids += [json.loads(line)["event_id"] for line in path.read_text().splitlines()]
    return ids


def visible_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_commit_writes_both_formats_then_the_checkpoint(tmp_path: Path) -> None:
    writer = EventWriter(tmp_path, formats=FORMATS, durable=False)
    writer.recover()
    events = events_of(1, 50)
    checkpoint = writer.commit(events, 1, 50)
    assert checkpoint.last_ledger == 50 and checkpoint.events_written == events.num_rows
    assert checkpoint.files_written == 2
    assert visible_files(tmp_path) == [
        "_checkpoint.json",
        "_flowctl.lock",
        "jsonl/date=2023-12-31/part-0000000001-0000000050.jsonl",
        "parquet/date=2023-12-31/part-0000000001-0000000050.parquet",
    ]
    assert parquet_output(tmp_path).equals(events)
    assert jsonl_ids(tmp_path) == events.column("event_id").to_pylist()
    assert CheckpointStore(tmp_path).load() == checkpoint


def test_a_batch_across_midnight_writes_one_file_per_date(tmp_path: Path) -> None:
    writer = EventWriter(tmp_path, formats=["parquet"], durable=False)
    writer.recover()
    events = events_of(700, 740)
    writer.commit(events, 700, 740)
    assert [p for p in visible_files(tmp_path) if p.endswith(".parquet")] == [
        "parquet/date=2023-12-31/part-0000000700-0000000740.parquet",
        "parquet/date=2024-01-01/part-0000000700-0000000740.parquet",
    ]
    assert parquet_output(tmp_path).equals(events)


def test_ledgers_already_committed_are_not_written_twice(tmp_path: Path) -> None:
    writer = EventWriter(tmp_path, formats=FORMATS, durable=False)
    writer.recover()
    writer.commit(events_of(1, 30), 1, 30)
    writer.commit(events_of(1, 30), 1, 30)  # a resumed stream repeating itself
    writer.commit(events_of(20, 60), 20, 60)  # overlapping
    assert parquet_output(tmp_path).equals(events_of(1, 60))
    ids = jsonl_ids(tmp_path)
    assert len(ids) == len(set(ids)) == events_of(1, 60).num_rows


CRASH_AT_THE_COMMIT_POINT = """
import os, sys
import pyarrow as pa
from pathlib import Path
from datetime import UTC, datetime
from arrow_analytics_sink import writer as w
from stellar_arrow_source.generator import GeneratorConfig, SyntheticLedgers
from ttp_arrow_processor.extract import extract_events

config = GeneratorConfig(seed=3, genesis_time=datetime(2023, 12, 31, 23, 0, 5, tzinfo=UTC))
def events(first, last):
    batch = SyntheticLedgers(config).ledger_batch(first, last)
    return pa.Table.from_batches([extract_events(batch)[0]])
writer = w.EventWriter(Path(sys.argv[1]), formats=w.FORMATS, durable=True)
writer.recover()
writer.commit(events(1, 40), 1, 40)
save = w.CheckpointStore.save
def die(self, checkpoint):
    if sys.argv[2] == "after":
        save(self, checkpoint)
    os._exit(9)  # killed with the data files written, just before or after the checkpoint
w.CheckpointStore.save = die
writer.commit(events(41, 80), 41, 80)
"""


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_reader_never_sees_an_event_the_checkpoint_does_not_count(
    tmp_path: Path, when: str
) -> None:
    """Killed between the data files and the checkpoint, the sink left files in view past
    the checkpoint until it started again, and then wrote those events anew under other
    names: a reader in between counted them twice (crash audit)."""
    script = textwrap.dedent(CRASH_AT_THE_COMMIT_POINT)
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path), when], timeout=120)
    assert result.returncode == 9
    committed = CheckpointStore(tmp_path).load().last_ledger
    assert committed == {"before": 40, "after": 80}[when]
    assert parquet_output(tmp_path).equals(events_of(1, 40))  # as a reader sees it, sink down

    writer = EventWriter(tmp_path, formats=FORMATS, durable=False)
    recovery = writer.recover()
    assert recovery.checkpoint.last_ledger == committed
    renamed, removed = {"before": (0, 2), "after": (2, 0)}[when]
    assert (recovery.committed_files_renamed, recovery.temp_files_removed) == (renamed, removed)
    assert parquet_output(tmp_path).equals(events_of(1, committed))

    writer.commit(events_of(41, 80), 41, 80)  # the stream, resumed after the checkpoint
    assert parquet_output(tmp_path).equals(events_of(1, 80))
    assert writer.checkpoint.events_written == events_of(1, 80).num_rows
    assert not [p for p in visible_files(tmp_path) if p.endswith(".tmp")]


def test_a_committed_batch_that_cannot_be_shown_yet_is_shown_by_the_next_commit(
    tmp_path: Path,
) -> None:
    writer = EventWriter(tmp_path, formats=["parquet"], durable=False)
    writer.recover()
    writer.commit(events_of(1, 10), 1, 10)
    real_replace = os.replace

    def refuse_data_files(source: object, target: object) -> None:
        if str(target).endswith(".parquet"):
            raise PermissionError(13, "Permission denied")
        real_replace(source, target)  # type: ignore[arg-type]

    os.replace = refuse_data_files  # type: ignore[assignment]
    try:
        with pytest.raises(SinkWriteError, match="cannot show the committed ledgers up to 20"):
            writer.commit(events_of(11, 20), 11, 20)
        assert writer.checkpoint.last_ledger == 20 == CheckpointStore(tmp_path).load().last_ledger
        assert parquet_output(tmp_path).equals(events_of(1, 10))
    finally:
        os.replace = real_replace
    writer.commit(events_of(11, 20), 11, 20)  # the retry: committed, now shown
    writer.commit(events_of(21, 30), 21, 30)
    assert parquet_output(tmp_path).equals(events_of(1, 30))


def test_an_output_directory_removed_under_the_sink_is_not_written_again(
    tmp_path: Path,
) -> None:
    """The sink recreated it and wrote a checkpoint counting files that went with the old
    one, holding no lock on the new one (crash audit)."""
    output = tmp_path / "out"
    writer = EventWriter(output, formats=["parquet"], durable=False)
    writer.recover()
    writer.commit(events_of(1, 10), 1, 10)
    shutil.rmtree(output)
    with pytest.raises(OutputLostError, match="removed or replaced while this sink wrote it"):
        writer.commit(events_of(11, 20), 11, 20)
    assert not output.exists()


def test_recovery_removes_temp_files_of_an_interrupted_write(tmp_path: Path) -> None:
    writer = EventWriter(tmp_path, formats=FORMATS, durable=False)
    writer.recover()
    writer.commit(events_of(1, 10), 1, 10)
    partial = tmp_path / "parquet" / "date=2023-12-31" / ".part-0000000011-0000000020.parquet.tmp"
    partial.write_bytes(b"PAR1 half a file")
    (tmp_path / "._checkpoint.json.tmp").write_text('{"last_le')
    writer.close()  # as the end of its process does
    recovery = EventWriter(tmp_path, formats=FORMATS, durable=False).recover()
    assert recovery.temp_files_removed == 2 and recovery.checkpoint.last_ledger == 10
    assert not partial.exists()


def test_a_failed_write_leaves_no_file_of_the_batch_and_can_be_retried(tmp_path: Path) -> None:
    writer = EventWriter(tmp_path, formats=FORMATS, durable=False)
    writer.recover()
    writer.commit(events_of(1, 10), 1, 10)
    before = visible_files(tmp_path)
    blocker = tmp_path / "jsonl" / "date=2024-01-01"  # a file where a directory must go
    blocker.write_text("in the way")
    with pytest.raises(SinkWriteError, match="cannot commit ledgers 711-730"):
        writer.commit(events_of(711, 730), 711, 730)
    assert visible_files(tmp_path) == sorted([*before, "jsonl/date=2024-01-01"])
    assert writer.checkpoint.last_ledger == 10 == CheckpointStore(tmp_path).load().last_ledger
    blocker.unlink()
    writer.commit(events_of(711, 730), 711, 730)
    assert writer.checkpoint.last_ledger == 730


def test_an_unreadable_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "_checkpoint.json").write_text("{}")
    with pytest.raises(CheckpointError, match="not a sink checkpoint"):
        EventWriter(tmp_path).recover()


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("last_ledger", True, "last_ledger is True, not a whole number >= 0"),
        ("last_ledger", 22.7, "last_ledger is 22.7, not a whole number >= 0"),
        ("events_written", -5, "events_written is -5, not a whole number >= 0"),
        ("pending", "part-1.parquet", "pending is 'part-1.parquet', not a list of file names"),
    ],
)
def test_a_checkpoint_edited_into_other_types_is_refused_not_coerced(
    tmp_path: Path, field: str, value: object, said: str
) -> None:
    """int() took true, 22.7 and -5, and a string was read as one pending file per
    character: the sink resumed from what they became."""
    good = {"last_ledger": 22, "events_written": 100, "files_written": 2, "pending": []}
    (tmp_path / "_checkpoint.json").write_text(json.dumps({**good, field: value}))
    with pytest.raises(CheckpointError, match=said):
        CheckpointStore(tmp_path).load()


def test_parquet_alone_is_written_unless_json_lines_is_asked_for(tmp_path: Path) -> None:
    writer = EventWriter(tmp_path, durable=False)
    writer.recover()
    writer.commit(events_of(1, 20), 1, 20)
    assert visible_files(tmp_path) == [
        "_checkpoint.json",
        "_flowctl.lock",
        "parquet/date=2023-12-31/part-0000000001-0000000020.parquet",
    ]
    assert parquet_output(tmp_path).equals(events_of(1, 20))


def test_formats_are_checked() -> None:
    with pytest.raises(ValueError, match="formats"):
        EventWriter(Path("/nonexistent"), formats=["csv"])


def test_a_second_writer_of_the_output_is_refused_until_the_first_closes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exclusive, "WAIT_SECONDS", 0.2)
    writer = EventWriter(tmp_path, durable=False)
    writer.recover()
    with pytest.raises(OutputInUseError, match="writes this output directory"):
        EventWriter(tmp_path, durable=False).recover()
    writer.close()
    assert EventWriter(tmp_path, durable=False).recover().checkpoint.last_ledger == 0
