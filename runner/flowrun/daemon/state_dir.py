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
import fcntl
import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from flowrun.errors import AlreadyRunningError, NotRunningError, RunnerError

STATE_DIR_ENV = "FLOWRUN_STATE_DIR"
LOCK_RETRY_SECONDS = 1.0


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
        if self._fd is None:
            return False
        try:
            at_path = os.stat(self.path)
        except OSError:  # gone, or its folder is now a file or out of reach
            return False
        return os.path.samestat(os.fstat(self._fd), at_path)

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
        return cls(spec.parent / ".flowrun" / spec.stem)

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
        try:
            self.logs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunnerError(
                f"cannot create the state directory {self.root}: {e.strerror}; "
                f"set {STATE_DIR_ENV} to a writable folder"
            ) from e

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
        with contextlib.suppress(FileNotFoundError):
            self.runner_file.unlink()

    def acquire(self, spec_path: Path) -> RunnerLock:
        """Take the runner lock, or explain who holds it."""
        self.ensure()
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
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
        """True while some live runner holds the lock."""
        try:
            fd = os.open(self.lock_file, os.O_RDWR)
        except FileNotFoundError:
            return False
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
                f"start it with: flowrun up {spec_path}"
            )
        self.remove_info()
        raise NotRunningError(
            f"stale state in {self.root}: runner pid {info.pid} (started "
            f"{_clock(info.started_at)}) is gone without cleaning up; its record was removed, "
            f"its logs kept in {self.logs_dir}. Start again with: flowrun up {spec_path}"
        )

    def already_running(self, spec_path: Path) -> AlreadyRunningError:
        info = self.read_info()
        who = f"runner pid {info.pid}, started {_clock(info.started_at)}" if info else "a runner"
        return AlreadyRunningError(
            f"{spec_path} is already running ({who}); see it with `flowrun status {spec_path}` "
            f"or stop it with `flowrun down {spec_path}`"
        )


def _clock(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))
