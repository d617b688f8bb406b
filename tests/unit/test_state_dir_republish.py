"""A state directory that goes away under a live runner: the lock tells (still_at_path),
`republish` records the runner again at the path (never recreating the spec folder, never
taking a lock another runner holds), the log files reopen there, and the runner does all
that by itself, or warns once naming the runner that took its place."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import time
from pathlib import Path

import pytest
from flowrun.daemon.app import Runner
from flowrun.daemon.state_dir import RunnerInfo, StateDir
from flowrun.errors import AlreadyRunningError
from flowrun.spec.loader import load_spec
from flowrun.supervision.output import EventLog, RotatingLogFile, index_path
from polling import wait_for

pytestmark = pytest.mark.timeout(10)

SPEC = """\
apiVersion: flowctl/v1
kind: Pipeline
metadata: {name: recorded}
spec:
  controller: {mode: disabled}
  monitoring: {metrics_port: null}
  components:
    src: {type: source, command: [python, c.py], endpoint: "127.0.0.1:7002"}
"""


def _info(pid: int = 4242) -> RunnerInfo:
    return RunnerInfo(
        pid=pid,
        admin="127.0.0.1:1",
        token="t",
        started_at=time.time(),
        spec_path="/x/pipeline.yaml",
        profile=None,
    )


def _state(tmp_path: Path) -> StateDir:
    return StateDir(tmp_path / "folder" / ".flowrun" / "pipeline")


def _recorded_pid(state: StateDir) -> int | None:
    info = state.read_info()
    return None if info is None else info.pid


def _hold_elsewhere(state: StateDir) -> int:
    """Another runner's lock on the file at the path (flock conflicts across descriptions,
    in one process too)."""
    fd = os.open(state.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def test_the_lock_is_at_its_path_until_the_directory_is_removed(tmp_path: Path) -> None:
    state = _state(tmp_path)
    lock = state.acquire(Path("pipeline.yaml"))
    try:
        assert lock.still_at_path()
        shutil.rmtree(state.root.parent)
        assert not lock.still_at_path()
    finally:
        lock.release()
    assert not lock.still_at_path()  # released: it holds nothing anywhere


def test_the_lock_is_not_at_its_path_once_the_folder_is_replaced(tmp_path: Path) -> None:
    state = _state(tmp_path)
    lock = state.acquire(Path("pipeline.yaml"))
    try:
        folder = tmp_path / "folder"
        shutil.copytree(folder, tmp_path / "copy")
        folder.rename(tmp_path / "old")
        (tmp_path / "copy").rename(folder)
        assert state.lock_file.exists() and not lock.still_at_path()  # another inode
    finally:
        lock.release()


def test_republish_records_again_and_a_second_runner_is_refused(tmp_path: Path) -> None:
    state = _state(tmp_path)
    old = state.acquire(Path("pipeline.yaml"))
    shutil.rmtree(state.root.parent)

    info = _info(4242)
    lock = state.republish(info)
    assert lock is not None
    try:
        old.release()
        assert lock.still_at_path() and state.is_locked()
        assert state.read_info() == info and state.logs_dir.is_dir()
        assert state.runner_file.stat().st_mode & 0o777 == 0o600
        with pytest.raises(AlreadyRunningError, match="runner pid 4242"):
            state.acquire(Path("pipeline.yaml"))
    finally:
        lock.release()


def test_republish_leaves_a_lock_another_runner_took(tmp_path: Path) -> None:
    state = _state(tmp_path)
    state.ensure()
    other = _hold_elsewhere(state)
    state.write_info(_info(777))
    try:
        assert state.republish(_info(4242)) is None
        assert _recorded_pid(state) == 777
    finally:
        os.close(other)


def test_republish_never_recreates_a_spec_folder_that_is_gone(tmp_path: Path) -> None:
    """Between a deploy's two renames the folder is missing: recreating it would make the
    second `mv` move the new folder into it."""
    state = _state(tmp_path)
    with pytest.raises(FileNotFoundError):
        state.republish(_info())
    assert not (tmp_path / "folder").exists()


def test_a_rotating_log_file_reopens_at_its_path(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "src.log"
    logfile = RotatingLogFile(path)
    try:
        logfile.write(b"before\n")
        shutil.rmtree(tmp_path / "logs")
        (tmp_path / "logs").mkdir()
        logfile.reopen()
        logfile.write(b"after\n")
        assert path.read_bytes() == b"after\n"
        assert index_path(path).read_text().split()[1] == "0"  # offsets of the new file
    finally:
        logfile.close()
    logfile.reopen()  # closed for good (its component is gone): stays closed, opens nothing
    with pytest.raises(ValueError):
        logfile.write(b"x")


def test_a_rotating_log_file_follows_its_path_once_its_folder_is_back(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    path = logs / "src.log"
    logfile = RotatingLogFile(path)
    try:
        logfile.write(b"before\n")
        shutil.rmtree(logs)
        logfile.write(b"lost\n")  # no folder: on in the old file, and no folder made
        assert not logs.exists()
        logs.mkdir()  # the runner made its state directory again

        def written_there() -> bool:
            logfile.write(b"after\n")  # a stat once a second of output, not per write
            return path.exists()

        wait_for(written_there, 5, "the log to reopen at its path")
        assert set(path.read_bytes().splitlines()) == {b"after"}
    finally:
        logfile.close()


def test_the_event_log_reopens_at_its_path(tmp_path: Path) -> None:
    path = tmp_path / "state" / "runner.log"
    events = EventLog(path, None)
    try:
        events("before")
        shutil.rmtree(path.parent)
        path.parent.mkdir()
        events.reopen()
        events("after")
        assert path.read_text().endswith(" after\n") and "before" not in path.read_text()
    finally:
        events.close()


def _runner(tmp_path: Path) -> Runner:
    folder = tmp_path / "folder"
    folder.mkdir()
    spec = folder / "pipeline.yaml"
    spec.write_text(SPEC)
    return Runner(load_spec(spec, environ={}), state=_state(tmp_path), console=None)


def test_a_runner_records_itself_again_where_its_directory_was(tmp_path: Path) -> None:
    async def scenario() -> None:
        runner = _runner(tmp_path)
        state = runner.state
        runner._lock = state.acquire(runner.loaded.path)
        runner._info = _info(os.getpid())
        runner._events = EventLog(state.runner_log, None)
        checks = asyncio.ensure_future(runner._keep_recorded(interval_seconds=0.01))
        try:
            shutil.rmtree(state.root.parent)
            for _ in range(500):
                if state.runner_file.exists() and state.runner_log.exists():
                    break
                await asyncio.sleep(0.01)
            assert state.read_info() == runner._info and state.is_locked()
            assert runner._lock.still_at_path()
            assert f"state directory {state.root} was removed: recorded again there" in (
                state.runner_log.read_text()
            )
        finally:
            checks.cancel()
            runner._lock.release()
            runner._events.close()

    asyncio.run(scenario())


def test_a_runner_warns_once_and_leaves_a_directory_another_runner_took(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        runner = _runner(tmp_path)
        state = runner.state
        runner._lock = state.acquire(runner.loaded.path)
        runner._info = _info(os.getpid())
        log = tmp_path / "elsewhere.log"  # the runner's own log, kept out of the directory
        runner._events = EventLog(log, None)
        shutil.rmtree(state.root.parent)
        state.ensure()
        other = _hold_elsewhere(state)
        state.write_info(_info(777))
        try:
            for _ in range(3):
                runner._record_again(interval_seconds=1.0)
            assert _recorded_pid(state) == 777
            warnings = [line for line in log.read_text().splitlines() if "runner pid 777" in line]
            assert len(warnings) == 1, warnings
            assert f"kill {os.getpid()}" in warnings[0]
            assert not runner._lock.still_at_path()

            os.close(other)  # that runner ended: the directory is free to take again
            runner._record_again(interval_seconds=1.0)
            assert runner._lock.still_at_path() and state.read_info() == runner._info
            assert "was replaced: recorded again there" in log.read_text()
        finally:
            runner._lock.release()
            runner._events.close()

    asyncio.run(scenario())
