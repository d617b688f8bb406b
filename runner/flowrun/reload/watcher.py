"""Watching the spec (and the .env beside it) the way editors and deployments save them.

Watching a file misses most saves: vim and IDEs write a temporary file and rename it over
the spec, some tools delete and recreate it, and Kubernetes swaps a `..data` symlink to a
new timestamped folder. So the watcher watches the *folders*: the one naming each file,
and every folder a symlink on the way points into, and reacts to events on the files'
names and on the symlinks leading to them. A burst of saves is settled into one check,
and the check compares the files' content: a touch, or a save of the same bytes, does
nothing. A deleted spec is waited for (deploys recreate it); it is not an error, and
neither is an empty one (an editor that truncates, then writes). A watched folder that is
renamed away or removed, and one made in its place, is noticed within a second even when no
event says so (the watch is on the old folder): the watch moves to the one at that path.
Where the system's file events cannot be had (inotify's limits reached, a folder name that
is not UTF-8), the files are checked every second instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("flowrun.reload")

MAX_SYMLINK_HOPS = 40
SETTLE_MILLISECONDS = 100  # quiet time that ends a burst of saves
MAX_SETTLE_MILLISECONDS = 1_600  # a burst that never pauses is still checked this often
RETRY_SECONDS = 1.0  # while no watched folder exists, or the watch broke
RETARGET_MILLISECONDS = 1_000  # how often a quiet watch checks its folders are still the ones
POLL_SECONDS = 1.0  # where the system's file events cannot be had
UNAVAILABLE_ERRNOS = (errno.EMFILE, errno.ENFILE, errno.ENOSPC)
INOTIFY_LIMITS_HINT = (
    " (raise fs.inotify.max_user_instances or max_user_watches with sysctl, or the open "
    "files limit, for events)"
)


@dataclass(frozen=True)
class WatchTargets:
    """The folders to watch, and the paths in them whose events matter."""

    directories: frozenset[Path]
    relevant: frozenset[str]
    identities: frozenset[tuple[str, int, int]] = frozenset()
    """(folder, st_dev, st_ino) of each existing folder: a folder renamed away or removed,
    and one made at its path, changes them while the paths stay the same."""

    def matters(self, path: str) -> bool:
        """An event on one of the paths, or on a folder (a `..data` symlink) leading to one."""
        if path in self.relevant:
            return True
        prefix = path.rstrip(os.sep) + os.sep
        return any(candidate.startswith(prefix) for candidate in self.relevant)

    def event_filter(self, _change: object, path: str) -> bool:
        """watchfiles' `watch_filter`."""
        return self.matters(path)


def watch_targets(files: Iterable[Path]) -> WatchTargets:
    directories: set[Path] = set()
    relevant: set[str] = set()
    for file in files:
        for hop in symlink_chain(Path(os.path.abspath(file))):
            relevant.add(str(hop))
            directories.add(hop.parent)
            real = Path(os.path.realpath(hop))
            relevant.add(str(real))
            directories.add(real.parent)
    resolved = {Path(os.path.realpath(folder)) for folder in directories}
    return WatchTargets(frozenset(resolved), frozenset(relevant), _identities(resolved))


def _identities(folders: Iterable[Path]) -> frozenset[tuple[str, int, int]]:
    found: set[tuple[str, int, int]] = set()
    for folder in folders:
        try:
            info = folder.stat()
        except OSError:  # gone: its absence is the change
            continue
        found.add((str(folder), info.st_dev, info.st_ino))
    return frozenset(found)


def symlink_chain(path: Path) -> list[Path]:
    """`path`, then every path its symlinks lead to, in order (each as named, not resolved)."""
    chain = [path]
    current = path
    for _ in range(MAX_SYMLINK_HOPS):
        try:
            target = os.readlink(current)
        except OSError:  # not a symlink, or gone
            break
        current = Path(os.path.normpath(current.parent / target))
        chain.append(current)
    return chain


def fingerprint(files: Sequence[Path]) -> str:
    """sha256 of the files' contents (a missing file counts as missing)."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(os.fsencode(file) + b"\0")  # a path need not be UTF-8
        try:
            digest.update(file.read_bytes())
        except OSError:
            digest.update(b"\0missing\0")
        digest.update(b"\0")
    return digest.hexdigest()


class SpecWatcher:
    """Calls `on_change()` once per settled burst of edits that changed the files' content.

    `files[0]` is the spec; while it is missing or empty the watcher waits.
    `accept(fingerprint)` tells it which content is current (the reloader loaded it), so a
    SIGHUP or `flowrun reload` of the same content does not reload again when a touch
    follows. `files` may be replaced (an env_file added): the watch follows within a second.
    """

    def __init__(
        self,
        files: Sequence[Path],
        on_change: Callable[[], Awaitable[None]],
        *,
        settle_milliseconds: int = SETTLE_MILLISECONDS,
    ) -> None:
        self.files = list(files)
        self._on_change = on_change
        self._settle_milliseconds = settle_milliseconds
        self.baseline = fingerprint(self.files)
        self._stop = asyncio.Event()
        self.missing = False
        self.ready = asyncio.Event()
        """Set once the folders are watched (tests and benchmarks wait for it)."""

    def accept(self, current: str) -> None:
        self.baseline = current

    async def run(self) -> None:
        """Watch until cancelled; the watch itself ends within a settle step of that."""
        task = asyncio.ensure_future(self._watch_forever())
        try:
            await asyncio.shield(task)
        finally:
            self._stop.set()

    async def check(self) -> None:
        """Compare the content with the baseline; call on_change when it differs."""
        waiting_for = _waiting_for(self.files[0])
        if waiting_for:
            if not self.missing:
                log.warning("%s %s", self.files[0], waiting_for)
            self.missing = True
            return
        self.missing = False
        if fingerprint(self.files) != self.baseline:
            await self._on_change()

    async def _watch_forever(self) -> None:
        from watchfiles import awatch

        first = True
        failure = ""  # the last failure said
        while not self._stop.is_set():
            targets = watch_targets(self.files)
            folders = sorted(str(folder) for folder in targets.directories if folder.is_dir())
            if not folders:
                await self._pause()
                continue
            if not first:
                # What changed while no watch was on these folders (being replaced, or
                # not there yet): no event will ever tell of it.
                await self.check()
            first = False
            watch = awatch(
                *folders,
                watch_filter=targets.event_filter,
                step=self._settle_milliseconds,
                debounce=MAX_SETTLE_MILLISECONDS,
                recursive=False,
                stop_event=self._stop,
                ignore_permission_denied=True,
                # A quiet watch wakes up too: a folder replaced under it sends no event
                # on the new one, and the reloader may have changed `files`.
                rust_timeout=RETARGET_MILLISECONDS,
                yield_on_timeout=True,
            )
            try:
                async with contextlib.aclosing(watch) as batches:
                    self.ready.set()
                    async for batch in batches:
                        failure = ""  # watching (a batch comes at least every second)
                        if batch:
                            await self.check()
                        if watch_targets(self.files) != targets:
                            break  # a symlink or a folder moved, or the files changed
            except (OSError, RuntimeError, ValueError) as e:
                if events_unavailable(e):
                    log.warning(
                        "cannot watch %s with the system's file events (%s); checking the "
                        "files every %gs instead%s",
                        ", ".join(folders),
                        e,
                        POLL_SECONDS,
                        "" if isinstance(e, UnicodeError) else INOTIFY_LIMITS_HINT,
                    )
                    await self._poll_forever()
                    return
                if str(e) != failure:  # a watched folder vanished under us: said once
                    log.warning("watching %s failed (%s); watching again", ", ".join(folders), e)
                failure = str(e)
                await self._pause()

    async def _poll_forever(self) -> None:
        """Check the files' content every POLL_SECONDS. A change counts once two checks in
        a row read the same content: a slow save is not read half-written."""
        self.ready.set()
        seen = fingerprint(self.files)
        while not self._stop.is_set():
            await self._pause(POLL_SECONDS)
            now = fingerprint(self.files)
            if now == seen and now != self.baseline:
                await self.check()
            seen = now

    async def _pause(self, seconds: float = RETRY_SECONDS) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)


def events_unavailable(error: Exception) -> bool:
    """The system's file events cannot be had here: inotify's instances or watches are all
    taken (fs.inotify.max_user_instances, max_user_watches: EMFILE, ENOSPC), no file can be
    opened, or a path watchfiles cannot take (one whose bytes are not UTF-8). Every later
    try would fail the same way: before, it was tried again and said every second, and no
    edit was ever seen."""
    if isinstance(error, UnicodeError):
        return True
    text = str(error)
    return any(f"(os error {number})" in text for number in UNAVAILABLE_ERRNOS)


def _waiting_for(spec: Path) -> str:
    """Why the spec is not worth loading yet ("" when it is): gone, or empty, as in the
    middle of a save that deletes, or truncates, before it writes."""
    try:
        size = spec.stat().st_size
    except OSError:
        return "is gone; waiting for it to come back"
    if size == 0 and spec.is_file():
        return "is empty; waiting for it to be written"
    return ""
