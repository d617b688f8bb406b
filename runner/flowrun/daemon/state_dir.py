"""The state directory of one pipeline: where its runner records itself and its logs.

`<spec folder>/.flowrun/<spec file stem>/` (or `$FLOWRUN_STATE_DIR`) holds:

- `runner.json`: pid, admin address and token, start time, spec path and profile of the
  runner serving the spec (mode 0600: the token lets its reader stop the pipeline);
- `runner.lock`: held (flock) by that runner for its whole life, so the kernel releases it
  when the runner dies however it dies: a free lock means `runner.json` is stale;
- `runner.log`: the runner's own lines (starts, exits, restarts), and the output of a
  detached runner;
- `logs/`: one file per component, `<name>.log`, rotated by size.

The directory can go away under a live runner: a deploy that swaps the spec folder
(`mv new pipeline`) leaves it in the old folder, `git clean -fdx` deletes it. The runner
then records itself again at the path (`republish`), which it notices because its lock is
no longer the file there (`RunnerLock.still_at_path`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shlex
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from flowrun.errors import AlreadyRunningError, NotRunningError, RunnerError
from flowrun.files import is_file_at

STATE_DIR_ENV = "FLOWRUN_STATE_DIR"
LOCK_RETRY_SECONDS = 1.0
MAX_COMPONENT_NAME = 63
"""The spec's limit (flowrun.spec.graph.COMPONENT_NAME_PATTERN), not imported from there:
that module brings pydantic into `flowrun status`. A unit test keeps the two equal."""
LONGEST_FILE = f"logs/{'n' * MAX_COMPONENT_NAME}.log.idx"
"""The longest path the directory holds, below it: the time index of a component log."""
ROOM_PROBE_BYTES = 4096
"""Written and removed before a runner starts: a disk without room for this (a page) cannot
take the runner's record and first lines either."""
DEFAULT_PATH_MAX = 4096
"""Bytes of a path with its NUL, on Linux; `os.pathconf` says so where it can."""


@dataclass(frozen=True)
class RunnerInfo:
    """What a runner tells other `flowrun` processes about itself."""

    pid: int
    admin: str
    token: str
    started_at: float
    spec_path: str
    profile: str | None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RunnerInfo:
        data = json.loads(text)
        return cls(
            pid=int(data["pid"]),
            admin=str(data["admin"]),
            token=str(data["token"]),
            started_at=float(data["started_at"]),
            spec_path=str(data["spec_path"]),
            profile=data.get("profile"),
        )


class RunnerLock:
    """The exclusive lock a live runner holds on its state directory."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    def still_at_path(self) -> bool:
        """True while the lock file at `path` is the file this lock holds. A lock on a file
        that was removed, or moved away with its folder, still holds, but guards nothing:
        the next `flowrun up` creates a new file at the path and locks that."""
        return self._fd is not None and is_file_at(self._fd, self.path)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass(frozen=True)
class StateDir:
    root: Path

    @classmethod
    def for_spec(cls, spec_path: Path, environ: Mapping[str, str] | None = None) -> StateDir:
        env = os.environ if environ is None else environ
        override = env.get(STATE_DIR_ENV)
        if override:
            return cls(Path(override).expanduser().resolve())
        # Neither the file nor its folder is resolved: the state directory is where the spec
        # is reached. A spec that is a symlink a deployment swaps (Kubernetes' ..data) keeps
        # one state directory; a folder that is one (`current -> releases/v2`) has it at
        # `current/.flowrun`, which the runner records itself in again after a swap. Two
        # spellings of one folder still meet at one lock file: the same file by either path.
        spec = Path(os.path.abspath(spec_path))
        # A spec named `..yaml` or `...yaml` has the stem `.` or `..`: its state directory
        # was `.flowrun` itself, or the spec's own folder.
        stem = spec.stem if spec.stem not in (".", "..") else spec.name
        return cls(spec.parent / ".flowrun" / stem)

    @property
    def runner_file(self) -> Path:
        return self.root / "runner.json"

    @property
    def lock_file(self) -> Path:
        return self.root / "runner.lock"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def runner_log(self) -> Path:
        return self.root / "runner.log"

    def log_file(self, component: str) -> Path:
        return self.logs_dir / f"{component}.log"

    def ensure(self) -> None:
        """Create the directory, or RunnerError saying why it cannot hold a runner's state:
        before a runner starts, not as a traceback once it runs."""
        self._check_length()
        try:
            self.logs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunnerError(
                f"cannot create the state directory {self.root}: {e.strerror}; "
                f"set {STATE_DIR_ENV} to a writable folder"
            ) from e
        # Another user's directory (a `sudo flowrun up` before) failed later: `up -d` printed
        # the traceback of its forked runner, unable to open runner.log.
        wanted = [(self.root, os.W_OK | os.X_OK), (self.logs_dir, os.W_OK | os.X_OK)]
        wanted += [(file, os.W_OK) for file in (self.lock_file, self.runner_log) if file.exists()]
        for path, mode in wanted:
            if not os.access(path, mode):
                raise self.error(_refusal(path))
        self._check_room()

    def _check_room(self) -> None:
        """A disk that takes nothing more (full, or read-only) refused the runner's first
        line: `up` ended in a traceback, `up -d` quoted an empty runner.log. One that fills
        later is survived (flowrun.supervision.log_writes)."""
        probe = self.root / f".room-{os.getpid()}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                if os.write(fd, bytes(ROOM_PROBE_BYTES)) < ROOM_PROBE_BYTES:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            finally:
                os.close(fd)
        except OSError as e:
            raise self.error(OSError(e.errno, e.strerror)) from e  # the probe is no one's file
        finally:
            with contextlib.suppress(OSError):
                probe.unlink()

    def _check_length(self) -> None:
        """A spec in a folder nested near PATH_MAX got its state directory made, and then
        its runner died of ENAMETOOLONG on runner.json.tmp, with a traceback."""
        longest = len(os.fsencode(self.root / LONGEST_FILE))
        limit = _path_max(self.root)
        if longest >= limit:
            raise RunnerError(
                f"the state directory {self.root} is too deep: the paths of its files reach "
                f"{longest} bytes, and a path here holds at most {limit - 1}; set "
                f"{STATE_DIR_ENV} to a shorter folder, or keep the spec in one"
            )

    def error(self, error: OSError) -> RunnerError:
        """The RunnerError of an OSError met in this directory: what to do about it."""
        if error.errno == errno.ENAMETOOLONG:
            return RunnerError(
                f"the path of the state directory {self.root} is too long; set "
                f"{STATE_DIR_ENV} to a shorter folder, or keep the spec in one"
            )
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return RunnerError(
                f"cannot use the state directory {self.root} ({error.strerror}): free space "
                f"on its disk, or set {STATE_DIR_ENV} to a folder on another"
            )
        denied = error.errno in (errno.EACCES, errno.EPERM)
        reason = "permission denied" if denied else str(error.strerror or error)
        where = self._inside(error.filename)
        detail = f"{where}: {reason}" if where else reason
        if denied:
            return RunnerError(
                f"cannot use the state directory {self.root} ({detail}): another user (or "
                f"sudo) ran this spec; run flowrun as that user, or set {STATE_DIR_ENV} to a "
                "folder of yours"
            )
        return RunnerError(
            f"cannot use the state directory {self.root} ({detail}); set {STATE_DIR_ENV} to "
            "a writable folder"
        )

    def _inside(self, filename: object) -> str:
        """A file named by an OSError, as a path below this directory when it is one; ""
        for the directory itself."""
        path = os.fspath(filename) if isinstance(filename, str | os.PathLike) else ""
        if not path:
            return ""
        relative = os.path.relpath(path, self.root)
        return "" if relative == "." else path if relative.startswith("..") else relative

    def read_info(self) -> RunnerInfo | None:
        """The recorded runner, or None when there is none or the record is unreadable."""
        try:
            return RunnerInfo.from_json(self.runner_file.read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write_info(self, info: RunnerInfo) -> None:
        temporary = self.runner_file.with_suffix(".json.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(info.to_json())
        os.replace(temporary, self.runner_file)

    def remove_info(self) -> None:
        # A record that cannot be removed (a folder not ours) is read as stale again later.
        with contextlib.suppress(OSError):
            self.runner_file.unlink()

    def acquire(self, spec_path: Path) -> RunnerLock:
        """Take the runner lock, or explain who holds it."""
        self.ensure()
        try:
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise self.error(e) from e
        deadline = time.monotonic() + LOCK_RETRY_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return RunnerLock(fd, self.lock_file)
            except BlockingIOError:
                # A status probe holds the lock for microseconds; a runner holds it for good.
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise self.already_running(spec_path) from None
                time.sleep(0.05)

    def republish(self, info: RunnerInfo) -> RunnerLock | None:
        """Create this directory again and record `info` there, for a runner whose directory
        was removed or replaced under it; the new lock, or None when another runner took the
        lock first (it serves the spec now: a runner does not fight for it). OSError when the
        directory cannot be made, e.g. its folder is gone too: try again later."""
        # One level at a time, never `parents=True`: a deploy swapping the spec folder may be
        # between its two renames, and a folder recreated here would make the second `mv`
        # move the new folder into it.
        for folder in (self.root.parent, self.root, self.logs_dir):
            folder.mkdir(exist_ok=True)
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            # No retry here: a status probe holding it for a moment is retried at the next check.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if isinstance(e, BlockingIOError):
                return None
            raise
        lock = RunnerLock(fd, self.lock_file)
        try:
            self.write_info(info)
        except OSError:
            lock.release()
            raise
        return lock

    def is_locked(self) -> bool:
        """True while some live runner holds the lock; RunnerError when the lock cannot be
        read (another user's, a path too long): no answer is a guess then."""
        try:
            # Read-only is enough for flock: a lock file this user may read but not write
            # still says whether a runner holds it.
            fd = os.open(self.lock_file, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as e:
            raise self.error(e) from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def live_info(self, spec_path: Path) -> RunnerInfo:
        """The runner serving this spec; a stale record is cleaned and reported."""
        info = self.read_info()
        if self.is_locked():
            if info is None:
                raise NotRunningError(
                    f"a runner holds {self.root} but has not recorded itself yet "
                    "(it is starting): try again in a moment"
                )
            return info
        if info is None:
            raise NotRunningError(
                f"no runner is serving {spec_path} (state: {self.root}); "
                f"start it with: flowrun up {shell_path(spec_path)}"
            )
        self.remove_info()
        raise NotRunningError(
            f"stale state in {self.root}: runner pid {info.pid} (started "
            f"{_clock(info.started_at)}) is gone without cleaning up; its record was removed, "
            f"its logs kept in {self.logs_dir}. Start again with: "
            f"flowrun up {shell_path(spec_path)}"
        )

    def already_running(self, spec_path: Path) -> AlreadyRunningError:
        info = self.read_info()
        who = f"runner pid {info.pid}, started {_clock(info.started_at)}" if info else "a runner"
        shown = shell_path(spec_path)
        return AlreadyRunningError(
            f"{spec_path} is already running ({who}); see it with `flowrun status {shown}` "
            f"or stop it with `flowrun down {shown}`"
        )


def _refusal(path: Path) -> OSError:
    """The error writing `path` would raise, as `os.access` found it cannot be written."""
    try:
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only:
        return OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))


def shell_path(path: str | os.PathLike[str]) -> str:
    """`path` as it must be typed in a command a message suggests: quoted for the shell
    when it holds spaces, quotes or `$` (`flowrun up 'my specs/p.yaml'`), and `./` before
    one that starts with `-`, which flowrun would read as an option."""
    text = os.fspath(path)
    if text.startswith("-"):
        text = os.path.join(".", text)
    return shlex.quote(text)


def _path_max(path: Path) -> int:
    """PATH_MAX of the file system `path` is (or will be) on: asked of its nearest
    existing folder."""
    for folder in (path, *path.parents):
        try:
            return os.pathconf(folder, "PC_PATH_MAX")
        except (OSError, ValueError):
            continue
    return DEFAULT_PATH_MAX


def _clock(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))
