"""A standalone controller that follows its spec file: `flowrun controller --spec FILE`.

In a cluster the spec reaches the controller's pod as a ConfigMap volume, which Kubernetes
updates by swapping a `..data` symlink to a new timestamped folder. `SpecWatcher` already
watches folders (and every symlink on the way), settles bursts and compares content, so a
swap, an editor's rename-over save and a plain write all arrive here as one change.

A change is loaded and checked like `flowrun up` loads a spec; its live policy (thresholds,
pool, heartbeats, monitoring) is applied with `Controller.update_policy`, which pushes it
to every component's directive stream. A bad edit is logged with its FILE:LINE:COL issues
and the old policy stays. The listen address, token and TLS are bound at start: changing
them needs a restart of the controller, which is said in the log, not done.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flowrun.errors import FlowrunError
from flowrun.reload.reloader import watched_files, watched_when_rejected
from flowrun.reload.watcher import SETTLE_MILLISECONDS, SpecWatcher, fingerprint
from flowrun.spec.loader import LoadedSpec, load_spec
from flowrun.spec.model import PipelineBody

if TYPE_CHECKING:
    from flowrun.controller.server import Controller

log = logging.getLogger("flowrun.controller.spec")


@dataclass(frozen=True)
class BoundSettings:
    """What the controller bound at start and cannot change while it runs."""

    endpoint: str
    token: str | None
    tls: tuple[str | None, str | None] | None

    @classmethod
    def of(cls, body: PipelineBody) -> BoundSettings:
        tls = body.controller.tls
        return cls(
            body.controller.endpoint,
            body.controller.token,
            (tls.cert_file, tls.key_file) if tls else None,
        )


class SpecFollower:
    """Applies the live policy of each valid edit of the spec to `controller`."""

    def __init__(
        self,
        controller: Controller,
        loaded: LoadedSpec,
        *,
        settle_milliseconds: int = SETTLE_MILLISECONDS,
    ) -> None:
        self.controller = controller
        self.loaded = loaded
        self.watcher = SpecWatcher(
            watched_files(loaded), self._file_changed, settle_milliseconds=settle_milliseconds
        )

    async def run(self) -> None:
        """Follow the file until cancelled."""
        await self.watcher.run()

    async def _file_changed(self) -> None:
        current = fingerprint(self.watcher.files)
        try:
            loaded = await asyncio.to_thread(load_spec, self.loaded.path, self.loaded.profile)
        except FlowrunError as e:
            # Accepted all the same: the same broken bytes are not reported again. The env
            # files the rejected text names are watched too: creating a missing one retries.
            files = watched_when_rejected(self.loaded, e)
            changed, self.watcher.files = files != self.watcher.files, files
            self.watcher.accept(fingerprint(files) if changed else current)
            log.error("%s: edit rejected, the policy in force stays:\n%s", self.loaded.path, e)
            return
        self.watcher.accept(current)
        await self.apply(loaded)

    async def apply(self, loaded: LoadedSpec) -> None:
        """Make `loaded` the spec in force: its policy now, its bound settings never."""
        previous, self.loaded = self.loaded, loaded
        self.watcher.files = watched_files(loaded)  # an env_file may be added or dropped
        if BoundSettings.of(loaded.body) != BoundSettings.of(previous.body):
            log.warning(
                "%s: controller endpoint, token or TLS changed; they apply when the "
                "controller restarts (the running one keeps its own)",
                loaded.path,
            )
        self.controller.declare_components(loaded.body.paced_by_policy())
        policy = loaded.body.policy()
        if policy == self.controller.policy:
            log.info("%s: revision %s, policy unchanged", loaded.path, loaded.revision)
            return
        revision = await self.controller.update_policy(policy)
        log.info(
            "%s: revision %s applied as policy revision %d", loaded.path, loaded.revision, revision
        )
