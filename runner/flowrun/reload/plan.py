"""The plan of a reload: what moving the running spec to a new one does, before doing it.

Pure: two specs in, a Plan out. Live fields are applied in place; a component restarts
exactly when the process it would be started with differs (command, working directory
or environment, as `flowrun.spec.process` builds it), so an upstream whose
endpoint moves restarts its dependents only because their FLOWRUN_INPUTS changes;
a pipeline-class change (controller endpoint or mode...) means a full, ordered restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowrun.reload.diff import FieldChange, diff_specs, transplant, with_live_values_of
from flowrun.reload.plan_report import ChangeReport, LiveChangeReport, PlanReport, RestartReport
from flowrun.secrets import MASK, is_secret_name, mask_text
from flowrun.spec.graph import topological_order
from flowrun.spec.model import (
    COMPONENT,
    LIVE,
    PIPELINE,
    ControllerMode,
    PipelineBody,
    PipelineSpec,
)
from flowrun.spec.process import component_environ, component_settings
from flowrun.spec.render import mask_secrets, mask_values

# Where a live change takes effect (derived per change, see `_applies`).
VIA_CONTROLLER = "controller"  # pushed in the controller's policy to every component
VIA_RUNNER = "runner"  # the runner's own behaviour (restart policy, status...)
AT_NEXT_START = "next start"  # in the environment only: each component at its next start


@dataclass(frozen=True)
class LiveChange:
    change: FieldChange
    applies: str


@dataclass(frozen=True)
class ComponentRestart:
    """A component whose process changes; `fields` are its own edits, `environment` the
    variables that differ (an upstream's move shows only there)."""

    name: str
    fields: tuple[FieldChange, ...]
    environment: tuple[str, ...]
    command: bool
    working_dir: bool


@dataclass(frozen=True)
class Plan:
    old_revision: str
    new_revision: str
    live: tuple[LiveChange, ...] = ()
    restart: tuple[ComponentRestart, ...] = ()
    start: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    reconfigure: tuple[FieldChange, ...] = ()
    """Component fields that changed without changing the process (no restart needed)."""
    full_restart: tuple[FieldChange, ...] = field(default=())
    """Pipeline-class changes: any one means the whole pipeline restarts, in order."""
    secret_values: frozenset[str] = frozenset()

    @property
    def needs_full_restart(self) -> bool:
        return bool(self.full_restart)

    @property
    def empty(self) -> bool:
        return not (
            self.live
            or self.restart
            or self.start
            or self.stop
            or self.reconfigure
            or self.full_restart
        )

    @property
    def restart_names(self) -> list[str]:
        return [item.name for item in self.restart]

    @property
    def full_restart_reason(self) -> str:
        return "; ".join(f"{c.path} changed" for c in self.full_restart)


@dataclass(frozen=True)
class SpecPair:
    """What a plan compares: two effective specs, their revisions and the spec's folder."""

    old: PipelineSpec
    new: PipelineSpec
    old_revision: str
    new_revision: str
    spec_dir: Path
    secret_values: frozenset[str] = frozenset()
    """Values of secret-named variables interpolated into either spec: never shown."""


def build_plan(pair: SpecPair) -> Plan:
    changes = diff_specs(pair.old, pair.new)
    old_body, new_body = pair.old.spec, pair.new.spec
    common = [name for name in new_body.components if name in old_body.components]
    restarts = _restarts(pair, changes, common)
    restarting = {item.name for item in restarts}
    return Plan(
        old_revision=pair.old_revision,
        new_revision=pair.new_revision,
        secret_values=pair.secret_values,
        live=tuple(
            LiveChange(change, _applies(change, pair))
            for change in changes
            if change.reload == LIVE
        ),
        restart=restarts,
        start=tuple(
            name
            for name in topological_order(new_body.components)
            if name not in old_body.components
        ),
        stop=tuple(name for name in old_body.components if name not in new_body.components),
        reconfigure=tuple(
            change
            for change in changes
            if change.reload == COMPONENT
            and change.component not in restarting
            and change.component in common
        ),
        full_restart=tuple(change for change in changes if change.reload == PIPELINE),
    )


def _restarts(
    pair: SpecPair, changes: list[FieldChange], common: list[str]
) -> tuple[ComponentRestart, ...]:
    old_body = pair.old.spec
    # Live edits reach running processes without a restart: compare the processes as they
    # would be started if only the other edits were made.
    started_as = with_live_values_of(pair.new.spec, old_body)
    restarts = []
    for name in topological_order({n: pair.new.spec.components[n] for n in common}):
        before = process_definition(name, old_body, pair.spec_dir)
        after = process_definition(name, started_as, pair.spec_dir)
        if before == after:
            continue
        restarts.append(
            ComponentRestart(
                name=name,
                fields=tuple(c for c in changes if c.component == name and c.reload == COMPONENT),
                environment=tuple(
                    sorted(
                        key
                        for key in {*before["env"], *after["env"]}
                        if before["env"].get(key) != after["env"].get(key)
                    )
                ),
                command=before["command"] != after["command"],
                working_dir=before["working_dir"] != after["working_dir"],
            )
        )
    return tuple(restarts)


def process_definition(name: str, body: PipelineBody, spec_dir: Path) -> dict[str, Any]:
    """What the supervisor would start for `name`: command, working directory, environment
    (the runner's own environment left out: it is the same on both sides of a reload),
    where its environment comes from and what it starts after (a new depends_on takes
    effect by starting it again, after them)."""
    spec = body.components[name]
    settings = component_settings(
        name, body, controller_endpoint=None, spec_dir=spec_dir, runner_pid=0
    )
    return {
        "command": list(spec.command),
        "working_dir": spec.working_dir,
        "env": component_environ(settings, spec, {}),
        "env_file": spec.env_file,
        "depends_on": list(spec.depends_on),
    }


def _applies(change: FieldChange, pair: SpecPair) -> str:
    """Where a live change takes effect: in the controller's policy, in the environment of
    components only (so at their next start), or in the runner alone. Without a controller
    nothing is pushed: a policy field is then an environment field like any other."""
    old_body = pair.old.spec
    edited: PipelineBody = transplant(pair.old, pair.new, change.loc).spec
    if old_body.controller.mode is not ControllerMode.DISABLED and _policy_differs(
        old_body, edited
    ):
        return VIA_CONTROLLER
    names = [name for name in old_body.components if name in edited.components]
    if any(_environ_of(name, old_body, pair) != _environ_of(name, edited, pair) for name in names):
        return AT_NEXT_START
    return VIA_RUNNER


def _policy_differs(old: PipelineBody, new: PipelineBody) -> bool:
    return new.policy() != old.policy()


def _environ_of(name: str, body: PipelineBody, pair: SpecPair) -> Mapping[str, str]:
    env: Mapping[str, str] = process_definition(name, body, pair.spec_dir)["env"]
    return env


def plan_report(plan: Plan) -> PlanReport:
    """The plan as it is shown (`flowrun plan`, reload outcomes), secrets masked."""
    shown = _Masker(plan.secret_values)
    return PlanReport(
        old_revision=plan.old_revision,
        new_revision=plan.new_revision,
        live=tuple(LiveChangeReport(shown.change(item.change), item.applies) for item in plan.live),
        restart=tuple(
            RestartReport(
                name=shown.text(item.name),
                changes=tuple(shown.change(c) for c in item.fields),
                environment=tuple(shown.text(key) for key in item.environment),
                command=item.command,
                working_dir=item.working_dir,
            )
            for item in plan.restart
        ),
        start=tuple(shown.text(name) for name in plan.start),
        stop=tuple(shown.text(name) for name in plan.stop),
        reconfigure=tuple(shown.change(c) for c in plan.reconfigure),
        full_restart=tuple(shown.change(c) for c in plan.full_restart),
        full_restart_reason=shown.text(plan.full_restart_reason),
    )


class _Masker:
    """Masks secrets as `flowrun render` does: a secret field's values whatever they are
    (the change still shows), and interpolated secret values wherever they landed (a URL,
    a command argument)."""

    def __init__(self, secret_values: frozenset[str]) -> None:
        self._secret_values = secret_values

    def text(self, value: str) -> str:
        return mask_text(value, self._secret_values)

    def change(self, change: FieldChange) -> ChangeReport:
        old, new = change.old, change.new
        if _is_secret(change.loc):
            old, new = (MASK if value is not None else None for value in (old, new))
        else:  # a changed list or mapping may hold secret-looking names (config.creds[].token)
            old, new = mask_secrets(old), mask_secrets(new)
        return ChangeReport(
            path=self.text(change.path),
            old=mask_values(old, self._secret_values),
            new=mask_values(new, self._secret_values),
            kind=change.kind,
        )


def _is_secret(loc: tuple[str, ...]) -> bool:
    """The controller token, or a component's env/config entry under a secret-looking name."""
    if loc[-2:] == ("controller", "token"):
        return True
    return (
        len(loc) > 4
        and loc[1] == "components"
        and loc[3] in ("env", "config")
        and any(is_secret_name(part) for part in loc[4:])
    )
