"""The spec watcher on a real filesystem with real watchfiles: every way editors and
deployments save is seen, a burst is one change, a touch is none.

"Exactly one" is shown without waiting for nothing to happen: after the pattern under test
a sentinel edit follows, and the calls seen must be the pattern's and the sentinel's only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from flowrun.reload.watcher import SpecWatcher, fingerprint
from polling import wait_for_async

Save = Callable[[Path, str], None]
TIMEOUT_SECONDS = 20.0


def in_place(path: Path, text: str) -> None:
    with open(path, "r+") as handle:  # same inode, truncated and rewritten
        handle.truncate(0)
        handle.write(text)


def temp_then_rename(path: Path, text: str) -> None:  # vim (backupcopy=no), IDEs
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


def delete_and_recreate(path: Path, text: str) -> None:
    path.unlink()
    path.write_text(text)


def kubernetes_swap(path: Path, text: str) -> None:
    """What the kubelet does to a ConfigMap volume: a new timestamped folder, a new `..data`
    symlink renamed over the old one, the old folder removed."""
    root = path.parent
    old = root / os.readlink(root / "..data")
    fresh = root / f"..{time.monotonic_ns()}"
    fresh.mkdir()
    (fresh / path.name).write_text(text)
    (root / "..data_tmp").symlink_to(fresh.name)
    os.replace(root / "..data_tmp", root / "..data")
    for item in old.iterdir():
        item.unlink()
    old.rmdir()


def _kubernetes_layout(root: Path, text: str) -> Path:
    stamped = root / "..first"
    stamped.mkdir()
    (stamped / "pipeline.yaml").write_text(text)
    (root / "..data").symlink_to("..first")
    spec = root / "pipeline.yaml"
    spec.symlink_to("..data/pipeline.yaml")
    return spec


async def _watching(
    spec: Path, scenario: Callable[[SpecWatcher, list[str]], Awaitable[None]]
) -> None:
    seen: list[str] = []
    watcher: SpecWatcher

    async def on_change() -> None:
        seen.append(spec.read_text())
        watcher.accept(fingerprint(watcher.files))  # what the reloader does once it loaded

    watcher = SpecWatcher([spec, spec.parent / ".env"], on_change)
    task = asyncio.ensure_future(watcher.run())
    try:
        await asyncio.wait_for(watcher.ready.wait(), TIMEOUT_SECONDS)
        await scenario(watcher, seen)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _then_sentinel(spec: Path, seen: list[str], expected_before: int) -> None:
    temp_then_rename(spec, "sentinel: true\n")
    await wait_for_async(
        lambda: bool(seen) and seen[-1] == "sentinel: true\n", what="the sentinel edit"
    )
    assert len(seen) == expected_before + 1, seen


@pytest.mark.parametrize(
    "save", [in_place, temp_then_rename, delete_and_recreate], ids=lambda f: f.__name__
)
def test_each_save_is_one_change(tmp_path: Path, save: Save) -> None:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text("version: 1\n")

    async def scenario(watcher: SpecWatcher, seen: list[str]) -> None:
        save(spec, "version: 2\n")
        await wait_for_async(lambda: seen == ["version: 2\n"], what=f"{save.__name__} seen")
        save(spec, "version: 3\n")
        await wait_for_async(
            lambda: seen[-1:] == ["version: 3\n"], what=f"second {save.__name__} seen"
        )
        await _then_sentinel(spec, seen, 2)

    asyncio.run(_watching(spec, scenario))


def test_kubernetes_symlink_swaps(tmp_path: Path) -> None:
    spec = _kubernetes_layout(tmp_path, "version: 1\n")

    async def scenario(watcher: SpecWatcher, seen: list[str]) -> None:
        for version in (2, 3, 4):  # each swap moves the watch to a new folder
            kubernetes_swap(spec, f"version: {version}\n")
            await wait_for_async(
                lambda v=version: seen[-1:] == [f"version: {v}\n"], what=f"swap {version}"
            )
        assert seen == ["version: 2\n", "version: 3\n", "version: 4\n"]

    asyncio.run(_watching(spec, scenario))


def test_a_burst_of_saves_is_one_change(tmp_path: Path) -> None:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text("version: 0\n")

    async def scenario(watcher: SpecWatcher, seen: list[str]) -> None:
        # An editor's autosave and a formatter, 20 ms apart. The loop is blocked meanwhile,
        # so a loaded machine cannot stretch the gaps past the debounce window.
        for version in range(1, 6):
            in_place(spec, f"version: {version}\n")
            time.sleep(0.02)
        await wait_for_async(lambda: bool(seen), what="the burst seen")
        assert seen == ["version: 5\n"]
        await _then_sentinel(spec, seen, 1)

    asyncio.run(_watching(spec, scenario))


def test_a_touch_or_the_same_bytes_change_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text("version: 1\n")

    async def scenario(watcher: SpecWatcher, seen: list[str]) -> None:
        os.utime(spec)
        temp_then_rename(spec, "version: 1\n")
        (tmp_path / "unrelated.txt").write_text("x")
        await _then_sentinel(spec, seen, 0)

    asyncio.run(_watching(spec, scenario))


def test_a_dotenv_edit_is_a_change(tmp_path: Path) -> None:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text("version: 1\n")

    async def scenario(watcher: SpecWatcher, seen: list[str]) -> None:
        (tmp_path / ".env").write_text("LEVEL=debug\n")
        await wait_for_async(lambda: len(seen) == 1, what="the .env edit seen")
        await _then_sentinel(spec, seen, 1)

    asyncio.run(_watching(spec, scenario))


def test_a_deleted_spec_is_waited_for(tmp_path: Path) -> None:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text("version: 1\n")

    async def scenario(watcher: SpecWatcher, seen: list[str]) -> None:
        spec.unlink()
        await wait_for_async(lambda: watcher.missing, what="the deletion noticed")
        assert seen == []
        spec.write_text("version: 2\n")
        await wait_for_async(lambda: seen == ["version: 2\n"], what="the recreated spec seen")

    asyncio.run(_watching(spec, scenario))


def _renamed_away(folder: Path) -> None:
    folder.rename(folder.with_name(f"{folder.name}.old"))


def _removed(folder: Path) -> None:
    for item in folder.iterdir():
        item.unlink()
    folder.rmdir()


@pytest.mark.parametrize("away", [_renamed_away, _removed], ids=["renamed", "removed"])
def test_a_replaced_folder_is_watched_anew(tmp_path: Path, away: Callable[[Path], None]) -> None:
    """`mv conf conf.old && cp -r new conf`, or `rm -rf conf` and a fresh checkout: the
    folder the watch was on is not the one the spec is in any more."""
    folder = tmp_path / "conf"
    folder.mkdir()
    spec = folder / "pipeline.yaml"
    spec.write_text("version: 1\n")

    async def scenario(watcher: SpecWatcher, seen: list[str]) -> None:
        away(folder)
        await wait_for_async(lambda: watcher.missing, what="the spec's folder gone")
        folder.mkdir()
        spec.write_text("version: 2\n")
        await wait_for_async(lambda: seen == ["version: 2\n"], what="the new folder's spec seen")
        in_place(spec, "version: 3\n")
        await wait_for_async(lambda: seen[-1:] == ["version: 3\n"], what="an edit in it seen")
        await _then_sentinel(spec, seen, 2)

    asyncio.run(_watching(spec, scenario))


def test_an_emptied_spec_is_waited_for(tmp_path: Path) -> None:
    """An editor that truncates, then writes a moment later: the empty file is a save in
    progress (no spec is empty), not an edit to reload and reject."""
    spec = tmp_path / "pipeline.yaml"
    spec.write_text("version: 1\n")

    async def scenario(watcher: SpecWatcher, seen: list[str]) -> None:
        in_place(spec, "")
        await wait_for_async(lambda: watcher.missing, what="the empty spec noticed")
        in_place(spec, "version: 2\n")
        await wait_for_async(lambda: bool(seen), what="the written spec seen")
        assert seen == ["version: 2\n"]
        await _then_sentinel(spec, seen, 1)

    asyncio.run(_watching(spec, scenario))


class _Said(logging.Handler):
    """The watcher's lines, kept from pytest's capture: xdist cannot send a report whose
    captured log holds a path that is not UTF-8 (its worker dies)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_folder_whose_name_is_not_utf8_is_polled(tmp_path: Path) -> None:
    """watchfiles refuses a path whose bytes are not UTF-8: the watch died, and no edit of
    a spec kept there was ever seen. The files are checked every second instead."""
    said = _Said()
    logger = logging.getLogger("flowrun.reload")
    logger.addHandler(said)
    logger.propagate = False
    try:
        _watch_a_folder_whose_name_is_not_utf8(tmp_path)
    finally:
        logger.propagate = True
        logger.removeHandler(said)
    assert any("checking the files every 1s instead" in line for line in said.lines)


def _watch_a_folder_whose_name_is_not_utf8(tmp_path: Path) -> None:
    folder = tmp_path / os.fsdecode(b"caf\xe9")
    folder.mkdir()
    spec = folder / "pipeline.yaml"
    spec.write_text("version: 1\n")

    async def scenario(watcher: SpecWatcher, seen: list[str]) -> None:
        in_place(spec, "version: 2\n")
        await wait_for_async(lambda: seen == ["version: 2\n"], what="the edit seen")
        temp_then_rename(spec, "version: 3\n")
        await wait_for_async(lambda: seen[-1:] == ["version: 3\n"], what="the second edit")
        assert seen == ["version: 2\n", "version: 3\n"]

    asyncio.run(_watching(spec, scenario))


WATCH_WITHOUT_FILES = """
import asyncio, logging, os, resource, sys
from pathlib import Path
from flowrun.reload.watcher import SpecWatcher, fingerprint

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
spec = Path(sys.argv[1])


async def main() -> None:
    seen = asyncio.Event()

    async def on_change() -> None:
        watcher.accept(fingerprint(watcher.files))
        seen.set()

    watcher = SpecWatcher([spec], on_change)
    # Every free descriptor but two: too few for inotify's watcher (it takes three), as when
    # fs.inotify.max_user_instances is used up or the runner holds all its files; enough
    # to read a file.
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    taken = []
    try:
        while True:
            taken.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass
    os.close(taken.pop())
    os.close(taken.pop())
    task = asyncio.ensure_future(watcher.run())
    await asyncio.wait_for(watcher.ready.wait(), 20)
    await asyncio.sleep(0.5)
    spec.write_text("version: 2\\n")
    await asyncio.wait_for(seen.wait(), 20)
    print("seen", flush=True)
    task.cancel()


asyncio.run(main())
"""


def test_without_inotify_the_files_are_polled(tmp_path: Path) -> None:
    """Out of inotify instances (or files): the watch failed and was tried again every
    second, said each time, and no edit was ever seen."""
    spec = tmp_path / "pipeline.yaml"
    spec.write_text("version: 1\n")
    result = subprocess.run(
        [sys.executable, "-c", WATCH_WITHOUT_FILES, str(spec)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "seen\n"
    assert "Too many open files" in result.stderr
    assert "checking the files every 1s instead" in result.stderr
    assert result.stderr.count("cannot watch") == 1
