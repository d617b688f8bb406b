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

HOME_ENV = "FLOWRUN_HOME"


def flowrun_home(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(HOME_ENV):
        return Path(env[HOME_ENV]).expanduser()
    if env.get("XDG_RUNTIME_DIR"):
        return Path(env["XDG_RUNTIME_DIR"]) / "flowrun"
    return Path.home() / ".local" / "state" / "flowrun"


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
    folder: Path

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> RunnerRegistry:
        return cls(flowrun_home(environ) / "runners")

    def add(self, info: RunnerInfo, *, pipeline: str, state_dir: Path) -> None:
        """Record a runner; a registry that cannot be written only costs `ps` its line."""
        entry = RegisteredRunner(
            pid=info.pid,
            pipeline=pipeline,
            spec_path=info.spec_path,
            profile=info.profile,
            state_dir=str(state_dir),
            started_at=info.started_at,
        )
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            temporary = self._path(info.pid).with_suffix(".tmp")
            temporary.write_text(entry.to_json())
            os.replace(temporary, self._path(info.pid))

    def remove(self, pid: int) -> None:
        with contextlib.suppress(OSError):
            self._path(pid).unlink()

    def live(self) -> list[RegisteredRunner]:
        """Every registered runner still running, oldest first; stale entries are removed."""
        found = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            try:
                entry = RegisteredRunner.from_json(path.read_text())
            except (OSError, ValueError, KeyError, TypeError):
                entry = None
            if entry is not None and entry.is_alive():
                found.append(entry)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
        return sorted(found, key=lambda entry: entry.started_at)

    def _path(self, pid: int) -> Path:
        return self.folder / f"{pid}.json"
