"""The runners of this user on this machine, for `flowrun ps`.

Each runner adds one small file, `<home>/runners/<pid>.json` (its pid, pipeline, spec,
profile, state directory, start time), when it has started its admin endpoint, and
removes it when it ends. An entry whose runner died without removing it is stale: the
state directory's lock is free (or held by another runner), so `ps` drops it.

The home is `$FLOWRUN_HOME`, else `$XDG_RUNTIME_DIR/flowrun` (per user, cleared at
logout), else `~/.local/state/flowrun`. Tests point FLOWRUN_HOME at a temporary folder.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from flowrun.daemon.state_dir import RunnerInfo, StateDir
from flowrun.errors import RunnerError

HOME_ENV = "FLOWRUN_HOME"


def flowrun_home(environ: Mapping[str, str] | None = None) -> Path | None:
    """Where runners record themselves; None when nothing says where (no FLOWRUN_HOME,
    no XDG_RUNTIME_DIR, and no home: HOME unset for a user the password database does not
    know, as in a container run with an arbitrary uid)."""
    env = os.environ if environ is None else environ
    if env.get(HOME_ENV):
        return Path(env[HOME_ENV]).expanduser()
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "flowrun"
    try:
        return Path.home() / ".local" / "state" / "flowrun"
    except RuntimeError:  # "Could not determine home directory": it was a traceback in `up`
        return None


@dataclass(frozen=True)
class RegisteredRunner:
    pid: int
    pipeline: str
    spec_path: str
    profile: str | None
    state_dir: str
    started_at: float

    def to_json(self) -> str:
        return json.dumps(asdict(self)) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RegisteredRunner:
        data = json.loads(text)
        return cls(
            pid=int(data["pid"]),
            pipeline=str(data["pipeline"]),
            spec_path=str(data["spec_path"]),
            profile=data.get("profile"),
            state_dir=str(data["state_dir"]),
            started_at=float(data["started_at"]),
        )

    def is_alive(self) -> bool:
        """Its state directory is locked by a runner that recorded this very pid."""
        state = StateDir(Path(self.state_dir))
        info = state.read_info()
        return state.is_locked() and info is not None and info.pid == self.pid


@dataclass(frozen=True)
class RunnerRegistry:
    folder: Path | None
    """None: no home to record runners in; they run unrecorded and `ps` says why."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> RunnerRegistry:
        home = flowrun_home(environ)
        return cls(None if home is None else home / "runners")

    def add(self, info: RunnerInfo, *, pipeline: str, state_dir: Path) -> str | None:
        """Record a runner; a registry that cannot be written only costs `ps` its line, and
        the warning returned says so (for the runner's log: `ps` then lists nothing, and
        nothing said why)."""
        entry = RegisteredRunner(
            pid=info.pid,
            pipeline=pipeline,
            spec_path=info.spec_path,
            profile=info.profile,
            state_dir=str(state_dir),
            started_at=info.started_at,
        )
        if self.folder is None:
            return (
                f"warning: not recorded for `flowrun ps`: none of {HOME_ENV}, XDG_RUNTIME_DIR "
                f"or HOME is set (set {HOME_ENV})"
            )
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            temporary = self._path(self.folder, info.pid).with_suffix(".tmp")
            temporary.write_text(entry.to_json())
            os.replace(temporary, self._path(self.folder, info.pid))
        except OSError as e:
            return (
                f"warning: not recorded for `flowrun ps`: {self.folder}: {e.strerror or e} "
                f"(set {HOME_ENV} to a folder of yours)"
            )
        return None

    def remove(self, pid: int) -> None:
        if self.folder is None:
            return
        with contextlib.suppress(OSError):
            self._path(self.folder, pid).unlink()

    def live(self) -> list[RegisteredRunner]:
        """Every registered runner still running, oldest first; stale entries are removed.
        RunnerError when the registry cannot be read (no home, a folder not this user's)."""
        found = []
        for path in self._entries():
            try:
                entry = RegisteredRunner.from_json(path.read_text())
            except (OSError, ValueError, KeyError, TypeError):
                entry = None
            try:
                alive = entry is not None and entry.is_alive()
            except RunnerError:
                continue  # its state directory cannot be read: neither listed nor dropped
            if entry is not None and alive:
                found.append(entry)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
        return sorted(found, key=lambda entry: entry.started_at)

    def _entries(self) -> list[Path]:
        if self.folder is None:
            raise RunnerError(
                f"no folder to find runners in: none of {HOME_ENV}, XDG_RUNTIME_DIR or HOME is "
                f"set; set {HOME_ENV} to a folder of yours (for the runners too)"
            )
        try:
            return sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []
        except OSError as e:  # is_dir raises for a folder this user may not enter
            raise RunnerError(
                f"cannot read the runners recorded in {self.folder}: {e.strerror or e}; set "
                f"{HOME_ENV} to a folder of yours (for the runners too)"
            ) from e

    @staticmethod
    def _path(folder: Path, pid: int) -> Path:
        return folder / f"{pid}.json"
