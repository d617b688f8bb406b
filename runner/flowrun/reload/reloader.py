"""The coordinator of hot reload: one reload at a time, whatever asked for it.

A trigger (a settled file change, SIGHUP, `flowrun reload`) loads and validates the spec
with the profile and environment the runner started with. Invalid: the pipeline keeps
running, every `FILE:LINE:COL` issue is logged and kept in the reload history (`status`
shows it), and the env files the rejected text names are watched too (creating a missing
one retries the reload). Valid: plan, apply, roll back what did not come up, and log the
outcome with the new revision. A reload never raises into the runner: it reports.

The runner builds its Reloader, gives it itself (a `RunningPipeline`), runs `watch()`
beside the pipeline and routes SIGHUP, `flowrun reload` and `flowrun plan` to it.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from pathlib import Path

from flowrun.errors import FlowrunError, SpecError, SpecFileError
from flowrun.reload.apply import Applied, apply_plan, pair_of
from flowrun.reload.history import ReloadHistory
from flowrun.reload.outcome import ReloadOutcome, ReloadStatus
from flowrun.reload.plan import Plan, build_plan, plan_report
from flowrun.reload.plan_report import PlanAnswer
from flowrun.reload.render import render_outcome
from flowrun.reload.running_pipeline import RunningPipeline
from flowrun.reload.watcher import SETTLE_MILLISECONDS, SpecWatcher, fingerprint
from flowrun.spec.loader import LoadedSpec, load_spec

TRIGGER_FILE = "file change"
TRIGGER_ADMIN = "flowrun reload"
TRIGGER_SIGNAL = "SIGHUP"
DOTENV = ".env"


class Reloader:
    def __init__(
        self,
        pipeline: RunningPipeline,
        *,
        watch_files: bool,
        environ: Mapping[str, str] | None = None,
        settle_milliseconds: int = SETTLE_MILLISECONDS,
    ) -> None:
        """`watch_files`: reload on every edit of the spec and its .env (else only when
        asked); `environ`: what `${VAR}` reads, by default this process's environment."""
        self._pipeline = pipeline
        self._watch_files = watch_files
        self._environ = dict(os.environ if environ is None else environ)
        self._files = watched_files(pipeline.loaded)
        self.watcher = SpecWatcher(
            self._files, self._file_changed, settle_milliseconds=settle_milliseconds
        )
        self._one_at_a_time = asyncio.Lock()
        self._history = ReloadHistory()

    @property
    def history(self) -> ReloadHistory:
        """Every reload so far, as `status` shows it."""
        return self._history

    async def watch(self) -> None:
        """Run beside the pipeline: watch from the start, reload once start-up is over."""
        path = self._pipeline.loaded.path
        if not self._watch_files:
            self._pipeline.event(
                f"not watching {path} (FLOWRUN_WATCH): reload with `flowrun reload` or SIGHUP"
            )
            return
        watching = asyncio.ensure_future(self.watcher.run())
        try:
            await self._pipeline.started.wait()
            self._pipeline.event(f"watching {path}, its .env and env_files: an edit reloads")
            async with self._one_at_a_time:
                # Under the lock: the watcher's own reload of that edit may have run first.
                if await self._revision_on_disk() != self._pipeline.loaded.revision:
                    await self._reload_locked(f"{TRIGGER_FILE} while starting")
            await watching
        finally:
            watching.cancel()

    # -- reloads ----------------------------------------------------------------------------
    async def reload(self, trigger: str) -> ReloadOutcome:
        """Reload now and return the outcome. Never raises: a failure is an outcome."""
        async with self._one_at_a_time:
            return await self._reload_locked(trigger)

    async def _reload_locked(self, trigger: str) -> ReloadOutcome:
        began = time.monotonic()
        old = self._pipeline.loaded
        try:
            await self._pipeline.started.wait()
            return await self._reload(trigger, old, began)
        except FlowrunError as e:  # the pipeline is stopping, or a restart failed twice
            return self._finish(trigger, old, began, Applied(ReloadStatus.FAILED, errors=[str(e)]))
        except Exception as e:  # a reload bug must not take the pipeline down
            error = f"internal error: {type(e).__name__}: {e}"
            return self._finish(trigger, old, began, Applied(ReloadStatus.FAILED, errors=[error]))

    async def plan(self, profile: str | None = None) -> PlanAnswer:
        """What reloading the file as it is now would do, without doing it."""
        old = self._pipeline.loaded
        chosen = profile or old.profile
        try:
            new = await self._load(chosen)
        except (SpecError, SpecFileError) as e:
            return PlanAnswer(
                str(old.path), chosen, old.profile, old.revision, errors=tuple(_issues(e))
            )
        plan = await self._plan(old, new)
        return PlanAnswer(str(old.path), chosen, old.profile, old.revision, plan_report(plan))

    async def _reload(self, trigger: str, old: LoadedSpec, began: float) -> ReloadOutcome:
        try:
            new = await self._load_watching(old.profile)
        except (SpecError, SpecFileError) as e:
            return self._finish(
                trigger, old, began, Applied(ReloadStatus.REJECTED, errors=_issues(e))
            )
        self._watch(watched_files(new))
        plan = await self._plan(old, new)
        if plan.empty:
            return self._finish(trigger, old, began, Applied(ReloadStatus.UNCHANGED), plan)
        applied = await apply_plan(self._pipeline, old, new, plan)
        return self._finish(trigger, old, began, applied, plan)

    async def _load_watching(self, profile: str | None) -> LoadedSpec:
        """Load the spec; if it is rejected, watch the env files it names as well.

        An edit naming an env_file still to be created is rejected; creating the file must
        retry it, as an edit of the spec would, so the file is watched until a load
        succeeds. A file the watch did not cover may have been written while this load ran
        (a deploy writing the spec, then the file): when the set changes, the spec is loaded
        once more, from content accepted before that load read any of it.
        """
        self.watcher.accept(fingerprint(self._files))
        try:
            return await self._load(profile)
        except (SpecError, SpecFileError) as e:
            files = watched_when_rejected(self._pipeline.loaded, e)
            if files == self._files:
                raise
            self._watch(files)
        try:
            return await self._load(profile)
        except (SpecError, SpecFileError) as e:
            self._watch(watched_when_rejected(self._pipeline.loaded, e))
            raise

    def _watch(self, files: list[Path]) -> None:
        """Watch `files` from now on (an env_file added or dropped, or named by an edit
        that was rejected); their content now counts as seen."""
        if files == self._files:
            return
        self._files = files
        self.watcher.files = files
        # The new set's content as just loaded, give or take a write in the last instant.
        self.watcher.accept(fingerprint(files))

    async def _load(self, profile: str | None) -> LoadedSpec:
        # Off the event loop: a large spec takes a while to validate.
        path = self._pipeline.loaded.path
        return await asyncio.to_thread(load_spec, path, profile, self._environ)

    async def _plan(self, old: LoadedSpec, new: LoadedSpec) -> Plan:
        # Off the event loop too: it builds every component's environment twice.
        return await asyncio.to_thread(build_plan, pair_of(old, new))

    async def _file_changed(self) -> None:
        async with self._one_at_a_time:
            # A reload that ran while this one waited (the start-up catch-up, SIGHUP) may
            # have loaded this very content: once is enough.
            if fingerprint(self._files) != self.watcher.baseline:
                await self._reload_locked(TRIGGER_FILE)

    async def _revision_on_disk(self) -> str | None:
        try:
            return (await self._load(self._pipeline.loaded.profile)).revision
        except (FlowrunError, OSError):  # OSError: out of files, the watch must go on
            return None

    # -- the outcome ------------------------------------------------------------------------
    def _finish(
        self,
        trigger: str,
        old: LoadedSpec,
        began: float,
        applied: Applied,
        plan: Plan | None = None,
    ) -> ReloadOutcome:
        """Record the outcome in the history and the event log; return it."""
        revision = self._pipeline.loaded.revision
        changed = revision != old.revision
        outcome = ReloadOutcome(
            trigger=trigger,
            status=applied.status,
            previous_revision=old.revision,
            revision=revision,
            generation=self._history.next_generation(changed=changed),
            applied_live=tuple(applied.applied_live),
            restarted=tuple(applied.restarted),
            started=tuple(applied.started),
            stopped=tuple(applied.stopped),
            rolled_back=tuple(applied.rolled_back),
            full_restart=applied.full_restart,
            errors=tuple(applied.errors),
            seconds=round(time.monotonic() - began, 3),
            plan=plan_report(plan) if plan is not None else None,
        )
        self._history = self._history.after(outcome, changed=changed, now=time.time())
        head, *rest = render_outcome(outcome).splitlines()
        self._pipeline.event(head)
        for line in rest:
            self._pipeline.event(f"reload: {line.strip()}")
        return outcome


def watched_files(loaded: LoadedSpec) -> list[Path]:
    """The spec, the .env beside it (watched even before it exists) and every env_file."""
    return list(dict.fromkeys([loaded.path, loaded.spec_dir / DOTENV, *loaded.sources]))


def watched_when_rejected(loaded: LoadedSpec, error: FlowrunError) -> list[Path]:
    """The loaded spec's files and every env_file the rejected text names."""
    named = error.files_named if isinstance(error, SpecError) else ()
    return list(dict.fromkeys([*watched_files(loaded), *named]))


def _issues(error: SpecError | SpecFileError) -> list[str]:
    if isinstance(error, SpecError):
        return [str(issue) for issue in error.issues]
    return [str(error)]
