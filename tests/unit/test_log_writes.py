"""Log writes the disk refuses (the kernel's /dev/full answers every write with ENOSPC):
counted, said once when refused and once when taken again, never raised."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from flowrun.supervision.log_writes import LogWrites
from flowrun.supervision.output import EventLog

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")


@pytest.fixture
def full_disk() -> Iterator[BinaryIO]:
    with open("/dev/full", "ab", buffering=0) as handle:
        yield handle


def test_a_refused_write_is_counted_and_said_once_then_once_again_when_taken(
    tmp_path: Path, full_disk: BinaryIO
) -> None:
    said: list[str] = []
    writes = LogWrites(tmp_path, announce=said.append)
    log = tmp_path / "logs" / "src.log"
    log.parent.mkdir()

    assert writes.append(log, full_disk, b"one\n") == 0
    assert writes.append(log, full_disk, b"two lines\n") == 0
    assert said == [
        f"cannot write {log}: No space left on device; its output is counted and not kept "
        "there until the disk takes it again (free space on it, or set FLOWRUN_STATE_DIR to "
        "a folder on another disk for the next start)"
    ]
    (refused,) = writes.refused_now()
    assert (refused.path, refused.error, refused.unwritten_bytes) == (
        str(log),
        "No space left on device",
        14,
    )

    with log.open("ab", buffering=0) as handle:
        assert writes.append(log, handle, b"three\n") == 6
        assert writes.append(log, handle, b"four\n") == 5
    assert log.read_bytes() == b"three\nfour\n"
    assert len(said) == 2
    assert said[1].startswith(f"writing {log} again: 14 bytes of output are missing from it")
    assert said[1].endswith("(No space left on device)")
    assert writes.refused_now() == ()
    assert writes.unwritten_totals() == {"logs/src.log": 14}  # a counter: kept after the refusal


def test_the_runners_own_line_on_a_full_disk_raises_nothing_and_reaches_the_console(
    capfd: pytest.CaptureFixture[str],
) -> None:
    from flowrun.supervision.output import Console

    said: list[str] = []
    writes = LogWrites(announce=said.append)
    console = Console(os.fdopen(os.dup(1), "w"), colour=False, names=["src"])
    events = EventLog(Path("/dev/full"), console, writes=writes)
    events("src: restarting in 0.2s")
    events("src: ready")
    console.close()
    events.close()
    assert capfd.readouterr().out.splitlines() == [
        "flowrun | src: restarting in 0.2s",
        "flowrun | src: ready",
    ]
    assert [log.path for log in writes.refused_now()] == ["/dev/full"]
    assert len(said) == 1
