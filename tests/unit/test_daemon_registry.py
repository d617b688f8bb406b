"""The registry of running runners behind `flowrun ps`: entries of live runners are listed,
those of runners that are gone are dropped."""

from __future__ import annotations

from pathlib import Path

import pytest
from flowrun.daemon.registry import RunnerRegistry, flowrun_home
from flowrun.daemon.state_dir import RunnerInfo, StateDir


def _info(pid: int, spec: Path) -> RunnerInfo:
    return RunnerInfo(pid, "127.0.0.1:1", "token", 1_700_000_000.0 + pid, str(spec), None)


def test_the_home_is_flowrun_home_then_the_runtime_dir_then_local_state() -> None:
    assert flowrun_home({"FLOWRUN_HOME": "/h", "XDG_RUNTIME_DIR": "/run/u"}) == Path("/h")
    assert flowrun_home({"XDG_RUNTIME_DIR": "/run/u"}) == Path("/run/u/flowrun")
    assert flowrun_home({}) == Path.home() / ".local" / "state" / "flowrun"


def test_live_runners_are_listed_and_stale_entries_dropped(tmp_path: Path) -> None:
    registry = RunnerRegistry(tmp_path / "home" / "runners")
    live_state, dead_state = StateDir(tmp_path / "live"), StateDir(tmp_path / "dead")
    lock = live_state.acquire(tmp_path / "live.yaml")  # held, as by a running runner
    try:
        live_state.write_info(_info(101, tmp_path / "live.yaml"))
        registry.add(_info(101, tmp_path / "live.yaml"), pipeline="live", state_dir=live_state.root)
        dead_state.ensure()
        registry.add(_info(102, tmp_path / "dead.yaml"), pipeline="dead", state_dir=dead_state.root)
        (registry.folder / "garbage.json").write_text("{")

        assert [entry.pipeline for entry in registry.live()] == ["live"]
        assert sorted(path.name for path in registry.folder.iterdir()) == ["101.json"]
        registry.remove(101)
        assert registry.live() == []
    finally:
        lock.release()


def test_a_registry_that_cannot_be_written_does_not_stop_a_runner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    registry = RunnerRegistry(blocker / "runners")  # under a file: cannot exist
    registry.add(_info(1, tmp_path / "p.yaml"), pipeline="p", state_dir=tmp_path)
    assert registry.live() == []
