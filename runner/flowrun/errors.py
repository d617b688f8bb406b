"""The one error hierarchy of flowrun.

Library code raises these; only the CLI turns them into a message and an exit code.
Every message names the file, the key and what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class FlowrunError(Exception):
    """Base of every error flowrun reports to a user."""

    exit_code: int = 1


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec, located to the node that caused it."""

    file: str
    line: int
    column: int
    path: str
    message: str
    profile: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        path = f" {self.path}:" if self.path else ""
        origin = f" (from profile '{self.profile}')" if self.profile else ""
        return f"{where}:{path} {self.message}{origin}"


class SpecError(FlowrunError):
    """A spec that cannot be used: every issue found, never only the first. `files_named`:
    the env files the rejected text names, existing or not (a watcher retries when one of
    them is created)."""

    def __init__(self, issues: list[SpecIssue], files_named: tuple[Path, ...] = ()) -> None:
        self.issues = issues
        self.files_named = files_named
        super().__init__("\n".join(str(issue) for issue in issues))


class SpecFileError(FlowrunError):
    """A spec file that cannot be read at all (missing, a directory, binary, too big)."""


class ControllerError(FlowrunError):
    """The control plane could not be started or reached."""


class RunnerError(FlowrunError):
    """The runner could not start, reach or stop a pipeline."""


class NotRunningError(RunnerError):
    """No runner is serving this spec (or its state directory is stale)."""


class AlreadyRunningError(RunnerError):
    """Another runner already serves this spec."""


class ComponentLaunchError(RunnerError):
    """A component whose program cannot be started at all (missing, not executable)."""


class ClusterError(FlowrunError):
    """A Kubernetes cluster that cannot be reached or refuses a request (no kubeconfig,
    unreachable, forbidden)."""
