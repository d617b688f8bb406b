"""Carrying out a plan on the running pipeline, and undoing what did not come up.

Incremental: one `RunningPipeline.apply` (live policy push, then restarts, starts,
stops). A restarted component that does not become ready on its first start is rolled
back to its previous definition (with whatever it needs: an input the edit removed comes
back too), by planning and applying once more. A full restart
(`RunningPipeline.restart_pipeline`) onto a port another program holds is rejected before
anything stops; one that fails anyway, or leaves a component not ready, restarts the
previous spec the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from flowrun.errors import ControllerError, RunnerError
from flowrun.reload.outcome import ReloadStatus
from flowrun.reload.plan import Plan, SpecPair, build_plan
from flowrun.reload.running_pipeline import RunningPipeline
from flowrun.spec.loader import LoadedSpec, revision_of
from flowrun.spec.model import ComponentSpec, PipelineSpec
from flowrun.spec.rules import check_rules


@dataclass
class Applied:
    """What applying a plan did, in the words of the reload outcome."""

    status: ReloadStatus = ReloadStatus.APPLIED
    applied_live: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    full_restart: str = ""


def pair_of(old: LoadedSpec, new: LoadedSpec) -> SpecPair:
    return SpecPair(
        old.spec,
        new.spec,
        old.revision,
        new.revision,
        old.spec_dir,
        old.secret_values | new.secret_values,
    )


async def apply_plan(
    pipeline: RunningPipeline, old: LoadedSpec, new: LoadedSpec, plan: Plan
) -> Applied:
    if plan.needs_full_restart:
        return await _full_restart(pipeline, old, new, plan)
    return await _incremental(pipeline, old, new, plan)


async def _incremental(
    pipeline: RunningPipeline, old: LoadedSpec, new: LoadedSpec, plan: Plan
) -> Applied:
    result = await pipeline.apply(new, restart=plan.restart_names)
    not_ready = set(result.failed)
    applied = Applied(
        applied_live=[item.change.path for item in plan.live],
        restarted=[name for name in result.restarted if name not in not_ready],
        started=list(result.started),
        stopped=list(result.stopped),
    )
    for name in result.started:
        if name in not_ready:
            applied.status = ReloadStatus.FAILED
            applied.errors.append(
                f"{name} (added) did not become ready: {_first_line(result.outcomes[name].message)}"
            )
    failed_restarts = [name for name in result.restarted if name in not_ready]
    if failed_restarts:
        reasons = {name: _why(result.outcomes[name].message) for name in failed_restarts}
        await _roll_back(pipeline, old, new, failed_restarts, reasons, applied)
    return applied


async def _roll_back(
    pipeline: RunningPipeline,
    old: LoadedSpec,
    new: LoadedSpec,
    names: list[str],
    reasons: dict[str, str],
    applied: Applied,
) -> None:
    restore = _with_removed_inputs(names, old.spec, new.spec)
    rollback = mixed_spec(new, old, restore)
    problems = check_rules(rollback.spec.model_dump(mode="json", by_alias=True))
    if problems:
        applied.status = ReloadStatus.FAILED
        applied.errors.extend(
            f"{name} cannot be rolled back ("
            + "; ".join(f"{'.'.join(map(str, p.loc))}: {p.message}" for p in problems)
            + f"); its new definition did not become ready: {reasons[name]}"
            for name in names
        )
        return
    current = pipeline.loaded
    back = await asyncio.to_thread(build_plan, pair_of(current, rollback))
    result = await pipeline.apply(rollback, restart=back.restart_names)
    applied.status = ReloadStatus.ROLLED_BACK
    applied.rolled_back = sorted(restore)
    applied.started = [name for name in applied.started if name not in restore]
    applied.stopped = [name for name in applied.stopped if name not in restore]
    applied.restarted = [name for name in applied.restarted if name not in restore]
    still_failing = set(result.failed)
    for name in names:
        again = " (which is not ready either)" if name in still_failing else ""
        applied.errors.append(
            f"{name}: rolled back to its previous definition{again}; "
            f"its new one did not become ready: {reasons[name]}"
        )


def _with_removed_inputs(names: Iterable[str], old: PipelineSpec, new: PipelineSpec) -> set[str]:
    """`names` and every input of their old definitions that the edit removed, transitively."""
    restore: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in restore:
            continue
        restore.add(name)
        pending.extend(
            upstream
            for upstream in old.spec.components[name].inputs
            if upstream not in new.spec.components
        )
    return restore


def mixed_spec(new: LoadedSpec, old: LoadedSpec, restore: Iterable[str]) -> LoadedSpec:
    """`new` with the named components back at their definitions in `old`."""
    components: dict[str, ComponentSpec] = dict(new.body.components)
    for name in restore:
        components[name] = old.body.components[name]
    body = new.body.model_copy(update={"components": components})
    spec = new.spec.model_copy(update={"spec": body})
    return dataclasses.replace(new, spec=spec, revision=revision_of(spec))


async def _full_restart(
    pipeline: RunningPipeline, old: LoadedSpec, new: LoadedSpec, plan: Plan
) -> Applied:
    applied = Applied(full_restart=plan.full_restart_reason)
    blocker = pipeline.full_restart_blocker(new)
    if blocker is not None:
        applied.status = ReloadStatus.REJECTED
        applied.errors = [blocker]
        return applied
    try:
        await pipeline.restart_pipeline(new)
        not_ready = pipeline.components_not_running()
    except (ControllerError, RunnerError) as e:
        not_ready, applied.errors = [], [f"the new pipeline cannot start: {e}"]
    if not_ready:
        applied.errors.append(f"not ready after the full restart: {', '.join(not_ready)}")
    if applied.errors:
        await pipeline.restart_pipeline(old)
        applied.status = ReloadStatus.ROLLED_BACK
        applied.rolled_back = list(old.body.components)
        applied.errors.append("the previous pipeline was restarted")
        return applied
    old_names = old.body.components
    applied.applied_live = [item.change.path for item in plan.live]
    applied.restarted = [name for name in new.body.components if name in old_names]
    applied.started = list(plan.start)
    applied.stopped = list(plan.stop)
    return applied


def _why(message: str) -> str:
    """An outcome's message without the supervisor's own plans (it will not retry now)."""
    return message.replace(" (retrying)", "", 1) or "no reason given"


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else "no reason given"
