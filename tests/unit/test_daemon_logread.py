"""Reading logs back by time (`flowrun logs --since`): a component's log through its
time index, the runner's own by the stamps of its lines."""

from __future__ import annotations

import time
from pathlib import Path

from flowrun.daemon.logread import line_time, lines_since
from flowrun.supervision.output import RotatingLogFile, index_path


def test_a_component_log_is_read_from_the_second_its_index_names(tmp_path: Path) -> None:
    log = tmp_path / "src.log"
    log.write_bytes(b"old line\nold partial then new\nnew line\nlast")
    index_path(log).write_text("1000.5 0\n1002.1 13\n1003.9 37\n")

    assert lines_since(log, 1000.0, stamped=False) == [
        "old line",
        "old partial then new",
        "new line",
        "last",
    ]
    # Offset 13 is inside a line begun earlier: that line belongs to before the moment.
    assert lines_since(log, 1002.7, stamped=False) == ["new line", "last"]
    assert lines_since(log, 1003.0, stamped=False) == ["last"]
    assert lines_since(log, 1004.0, stamped=False) == []


def test_the_log_file_writes_its_index_as_it_goes(tmp_path: Path) -> None:
    before = time.time()
    log = RotatingLogFile(tmp_path / "src.log")
    log.write(b"one\n")
    log.write(b"two\n")
    log.close()
    assert lines_since(tmp_path / "src.log", before, stamped=False) == ["one", "two"]
    assert lines_since(tmp_path / "src.log", before + 3600, stamped=False) == []


def test_a_log_without_an_index_is_shown_whole(tmp_path: Path) -> None:
    log = tmp_path / "old.log"
    log.write_text("a\nb\n")
    assert lines_since(log, time.time() - 60, stamped=False) == ["a", "b"]


def test_nothing_is_shown_of_a_log_last_written_before_the_moment(tmp_path: Path) -> None:
    """`logs --since 0s` (now): the index names the second's first line, and the lines
    after it in that second were written before the moment too."""
    log = tmp_path / "src.log"
    log.write_text("earlier this second\n")
    written = log.stat().st_mtime
    index_path(log).write_text(f"{written:.3f} 0\n")

    assert lines_since(log, written, stamped=False) == ["earlier this second"]
    assert lines_since(log, written + 0.001, stamped=False) == []
    assert lines_since(tmp_path / "gone.log", 0, stamped=False) == []


def test_the_runner_log_is_read_from_the_first_line_stamped_since(tmp_path: Path) -> None:
    log = tmp_path / "runner.log"
    log.write_text(
        "2024-05-01 12:00:00.000 runner pid 1\n"
        "2024-05-01 12:00:05.250 src: ready in 0.5s\n"
        "Traceback (an unstamped line of a detached runner)\n"
        "2024-05-01 12:00:09.000 stopping\n"
    )
    at = line_time("2024-05-01 12:00:05.250 x")
    assert at is not None and line_time("no stamp here") is None
    assert lines_since(log, at, stamped=True)[0].endswith("src: ready in 0.5s")
    assert len(lines_since(log, at, stamped=True)) == 3
    assert lines_since(log, at + 10, stamped=True) == []
