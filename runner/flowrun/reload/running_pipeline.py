"""What hot reload needs of the pipeline it reloads, and nothing more.

The reloader and `apply_plan` work against this Protocol, not against the daemon's
`Runner` (which satisfies it): reload sits below the daemon, and tests can hand it a
small fake. The runner builds its own Reloader and gives it itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Protocol

from flowrun.spec.loader import LoadedSpec
from flowrun.supervision.supervisor import ApplyResult


class RunningPipeline(Protocol):
    @property
    def loaded(self) -> LoadedSpec:
        """The spec that runs now (a reload that applies replaces it)."""
        ...

    @property
    def started(self) -> asyncio.Event:
        """Set once start-up is over (every component settled, or a stop came first):
        a reload waits for it, so it never races the first start."""
        ...

    def event(self, text: str) -> None:
        """One line in the runner's event log (and on its console)."""

    async def apply(self, loaded: LoadedSpec, *, restart: Collection[str] = ()) -> ApplyResult:
        """Move the running pipeline to `loaded`, restarting the named components alone."""
        ...

    def full_restart_blocker(self, loaded: LoadedSpec) -> str | None:
        """Why a full restart onto `loaded` would fail, if that can be known before anything
        stops (a port another program holds); None to go ahead."""
        ...

    async def restart_pipeline(self, loaded: LoadedSpec) -> None:
        """Stop everything, replace the controller, start everything on `loaded`."""

    def components_not_running(self) -> list[str]:
        """Names of the components that are not in the running state."""
        ...
