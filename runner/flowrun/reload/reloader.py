"""The coordinator of hot reload: one reload at a time, whatever asked for it.

A trigger (a settled file change, SIGHUP, `flowrun reload`) loads and validates the spec
with the profile and environment the runner started with. Invalid: the pipeline keeps
running, every `FILE:LINE:COL` issue is logged and kept in the reload state (`status`
shows it). Valid: plan, apply, roll back what did not come up, and log the outcome with
the new revision. A reload never raises into the runner: it reports.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flowrun.errors import FlowrunError, SpecError, SpecFileError
from flowrun.reload.apply import APPLIED, Applied, apply_plan, pair_of
from flowrun.reload.plan import Plan, build_plan, plan_json
from flowrun.reload.render import render_outcome
from flowrun.reload.watcher import SETTLE_MILLISECONDS, SpecWatcher, fingerprint
from flowrun.spec.loader import LoadedSpec, load_spec

if TYPE_CHECKING:
    from flowrun.daemon.app import Runner

TRIGGER_FILE = "file change"
TRIGGER_ADMIN = "flowrun reload"
UNCHANGED, REJECTED, FAILED = "unchanged", "rejected", "failed"
DOTENV = ".env"
STARTED_POLL_SECONDS = 0.05


class Reloader:
    def __init__(
        self,
        runner: Runner,
        *,
        environ: Mapping[str, str] | None = None,
        settle_milliseconds: int = SETTLE_MILLISECONDS,
    ) -> None:
        self.runner = runner
        self.environ = dict(os.environ if environ is None else environ)
        loaded = runner.loaded
        self.files = [loaded.path, loaded.spec_dir / DOTENV]
        self.watcher = SpecWatcher(
            self.files, self._file_changed, settle_milliseconds=settle_milliseconds
        )
        self._one_at_a_time = asyncio.Lock()
        self.watching = True

    # -- the runner's plug-in points -------------------------------------------------------
    async def on_reload_request(self, runner: Runner, trigger: str) -> None:
        await self.reload(trigger)

    async def watch(self, runner: Runner) -> None:
        """The background job: watch from the start, reload once the pipeline runs."""
        if not self.watching:
            runner.event(
                f"not watching {runner.loaded.path} (FLOWRUN_WATCH): reload with "
                "`flowrun reload` or SIGHUP"
            )
            return
        watching = asyncio.ensure_future(self.watcher.run())
        try:
            await self._until_started()
            runner.event(f"watching {runner.loaded.path} and its .env: an edit reloads")
            if await self._revision_on_disk() != runner.loaded.revision:
                await self.reload(f"{TRIGGER_FILE} while starting")
            await watching
        finally:
            watching.cancel()

    # -- reloads ----------------------------------------------------------------------------
    async def reload(self, trigger: str) -> dict[str, Any]:
        """Reload now and return the outcome (JSON: status, ok, revisions, generation, applied_live,
        restarted, started, stopped, rolled_back, full_restart, errors, plan). Never
        raises: a failure is an outcome."""
        async with self._one_at_a_time:
            began = time.monotonic()
            old = self.runner.loaded
            try:
                await self._until_started()
                return await self._reload(trigger, old, began)
            except FlowrunError as e:  # the pipeline is stopping, or a restart failed twice
                return self._finish(trigger, old, began, FAILED, errors=[str(e)])
            except Exception as e:  # a reload bug must not take the pipeline down
                error = f"internal error: {type(e).__name__}: {e}"
                return self._finish(trigger, old, began, FAILED, errors=[error])

    async def plan(self, profile: str | None = None) -> dict[str, Any]:
        """What reloading the file as it is now would do, without doing it."""
        old = self.runner.loaded
        chosen = profile or old.profile
        answer: dict[str, Any] = {
            "spec": str(old.path),
            "profile": chosen,
            "profile_in_force": old.profile,
            "revision": old.revision,
        }
        try:
            new = await self._load(chosen)
        except (SpecError, SpecFileError) as e:
            return {**answer, "valid": False, "errors": _issues(e)}
        plan = await self._plan(old, new)
        return {**answer, "valid": True, "plan": plan_json(plan)}

    async def _reload(self, trigger: str, old: LoadedSpec, began: float) -> dict[str, Any]:
        self.watcher.accept(fingerprint(self.files))
        try:
            new = await self._load(old.profile)
        except (SpecError, SpecFileError) as e:
            return self._finish(trigger, old, began, REJECTED, errors=_issues(e))
        plan = await self._plan(old, new)
        if plan.empty:
            return self._finish(trigger, old, began, UNCHANGED, plan=plan)
        applied = await apply_plan(self.runner, old, new, plan)
        return self._finish(trigger, old, began, applied.status, applied=applied, plan=plan)

    async def _load(self, profile: str | None) -> LoadedSpec:
        # Off the event loop: a large spec takes a while to validate.
        path = self.runner.loaded.path
        return await asyncio.to_thread(load_spec, path, profile, self.environ)

    async def _plan(self, old: LoadedSpec, new: LoadedSpec) -> Plan:
        # Off the event loop too: it builds every component's environment twice.
        return await asyncio.to_thread(build_plan, pair_of(old, new))

    async def _file_changed(self) -> None:
        await self.reload(TRIGGER_FILE)

    async def _until_started(self) -> None:
        while self.runner.phase == "starting":
            await asyncio.sleep(STARTED_POLL_SECONDS)

    async def _revision_on_disk(self) -> str | None:
        try:
            return (await self._load(self.runner.loaded.profile)).revision
        except FlowrunError:
            return None

    # -- the outcome ------------------------------------------------------------------------
    def _finish(
        self,
        trigger: str,
        old: LoadedSpec,
        began: float,
        status: str,
        *,
        errors: list[str] | None = None,
        applied: Applied | None = None,
        plan: Plan | None = None,
    ) -> dict[str, Any]:
        applied = applied or Applied(status=status, errors=list(errors or []))
        outcome = {
            "trigger": trigger,
            "status": status,
            "ok": status in (APPLIED, UNCHANGED),
            "previous_revision": old.revision,
            "revision": self.runner.loaded.revision,
            "generation": self.runner.reload_state.generation,
            "applied_live": applied.applied_live,
            "restarted": applied.restarted,
            "started": applied.started,
            "stopped": applied.stopped,
            "rolled_back": applied.rolled_back,
            "full_restart": applied.full_restart,
            "errors": applied.errors,
            "seconds": round(time.monotonic() - began, 3),
            "plan": plan_json(plan) if plan is not None else None,
        }
        self._record(outcome, changed=self.runner.loaded.revision != old.revision)
        head, *rest = render_outcome(outcome).splitlines()
        self.runner.event(head)
        for line in rest:
            self.runner.event(f"reload: {line.strip()}")
        return outcome

    def _record(self, outcome: dict[str, Any], *, changed: bool) -> None:
        state = self.runner.reload_state
        status = outcome["status"]
        if changed:
            outcome["generation"] = state.succeeded(outcome)
        if status == UNCHANGED:
            state.last_error = None  # the file is back to what runs: an old rejection is moot
        elif status != APPLIED:
            state.failed("\n".join(outcome["errors"]), outcome)


def _issues(error: SpecError | SpecFileError) -> list[str]:
    if isinstance(error, SpecError):
        return [str(issue) for issue in error.issues]
    return [str(error)]
