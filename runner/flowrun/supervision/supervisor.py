"""The whole pipeline's processes: start upstream first, stop downstream first, apply changes.

Every component waits for its inputs and its depends_on to be ready before it launches, so
independent components start in parallel and a chain starts in order without any fixed
sleep; stops go the other way. Ports written 0 are picked once per component (`PortBook`). The
supervisor is also the API a hot reload drives (`apply`), one component at a time where
it can; pushing the new policy to the controller is the runner's part, before `apply`.

It is given plain values (where each component's log goes, a function for its own lines)
and knows nothing of the runner that hosts it: whoever wants to follow the components
(metrics, status pages) appends a callable to `listeners`, called on every change of state.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flowrun.controller.stall import awake_seconds
from flowrun.secrets import secret_values
from flowrun.spec.graph import prerequisites, topological_order
from flowrun.spec.model import PipelineBody
from flowrun.spec.process import component_environ, component_settings
from flowrun.supervision.boundary import SYSTEM_CLOCK, Clock, Process, Spawn
from flowrun.supervision.controlplane import ControlPlane
from flowrun.supervision.guardian import Guardian
from flowrun.supervision.output import Console, OutputStream, RotatingLogFile
from flowrun.supervision.port_book import ComponentPorts, PortBook
from flowrun.supervision.process import spawn
from flowrun.supervision.states import ChangeNotifier, ComponentState, StartResult
from flowrun.supervision.supervised import SupervisedComponent

ComponentListener = Callable[[SupervisedComponent], None]


@dataclass
class ApplyResult:
    """What `Supervisor.apply` did; outcomes of every component it (re)started."""

    stopped: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    reconfigured: list[str] = field(default_factory=list)
    outcomes: dict[str, StartResult] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        return [name for name, outcome in self.outcomes.items() if not outcome.ready]


class Supervisor:
    def __init__(
        self,
        body: PipelineBody,
        *,
        control: ControlPlane,
        spec_dir: Path,
        open_log: Callable[[str], RotatingLogFile],
        events: Callable[[str], None],
        console: Console | None = None,
        guardian: Guardian | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        spawn: Spawn = spawn,
        ports: PortBook | None = None,
        awake_clock: Callable[[], float] = awake_seconds,
        spec_secrets: Callable[[], Collection[str]] = tuple,
    ) -> None:
        """`open_log(name)` opens the file a component's output is appended to;
        `spec_secrets()` the secrets of the spec now applied (LoadedSpec.secret_values);
        `clock`, `spawn`, the port picker of `ports` and `awake_clock` (how long the runner
        itself was away, see SupervisedComponent) are the real ones unless a test gives
        fakes."""
        self._body = body
        self._spec_secrets = spec_secrets
        self.control = control
        self.spec_dir = spec_dir
        self._open_log = open_log
        self._events = events
        self._console = console
        self._guardian = guardian
        self._environ = dict(os.environ if environ is None else environ)
        self._clock = clock
        self._spawn = spawn
        self._awake_clock = awake_clock
        self.ports = ports or PortBook()
        self.changes = ChangeNotifier()
        self.components: dict[str, SupervisedComponent] = {}
        self._outputs: dict[str, OutputStream] = {}
        self.listeners: list[ComponentListener] = []

    # -- the host of every component ---------------------------------------------------------
    def body(self) -> PipelineBody:
        return self._body

    def event(self, text: str) -> None:
        self._events(text)

    def masked_values(self, environ: Mapping[str, str]) -> list[str]:
        return [*secret_values(environ), *self._spec_secrets()]

    def environ_for(self, name: str) -> dict[str, str]:
        spec = self._body.components[name]
        settings = component_settings(
            name,
            self._body,
            controller_endpoint=self.control.endpoint,
            spec_dir=self.spec_dir,
            runner_pid=os.getpid(),
            ports=self.ports.resolved([name, *spec.inputs], self._body.components),
        )
        return component_environ(settings, spec, self._environ)

    def ports_of(self, name: str) -> ComponentPorts:
        return self.ports.ports_of(name, self._body.components[name])

    def missing_inputs(self, name: str) -> list[str]:
        """Inputs and depends_on of `name` that are not running yet."""
        spec = self._body.components.get(name)
        inputs = prerequisites(spec) if spec else []
        return [
            i
            for i in inputs
            if i not in self.components or self.components[i].state is not ComponentState.RUNNING
        ]

    def output_for(self, name: str) -> OutputStream:
        if name not in self._outputs:
            self._outputs[name] = OutputStream(name, self._open_log(name), self._console)
        return self._outputs[name]

    def launched(self, name: str, child: Process) -> None:
        if self._guardian is not None:
            self._guardian.track(child.pid)

    def exited(self, name: str, child: Process) -> None:
        self.control.ended(name)
        if self._guardian is not None:
            self._guardian.untrack(child.pid)

    def state_changed(self, component: SupervisedComponent) -> None:
        self.changes.notify()
        for listener in self.listeners:
            listener(component)

    # -- whole pipeline ----------------------------------------------------------------------
    async def start(self, restarts: Mapping[str, int] | None = None) -> list[StartResult]:
        """Start every component; return once each is ready, failed, retrying or blocked.
        `restarts`: each component's count so far, from the supervisor this one replaces
        (status and flowrun_component_restarts_total go on, never back to 0)."""
        names = topological_order(self._body.components)
        started = self._clock.monotonic()
        for name in names:
            self._launch(name).restarts = (restarts or {}).get(name, 0)
        outcomes = await self.first_results(names)
        ready = sum(outcome.ready for outcome in outcomes)
        elapsed = self._clock.monotonic() - started
        self._events(f"pipeline: {ready}/{len(outcomes)} components ready in {elapsed:.2f}s")
        return outcomes

    async def first_results(self, names: Iterable[str]) -> list[StartResult]:
        """The first outcome of each named component; one whose input did not get ready is
        reported as waiting for it (and keeps waiting in the background)."""
        memo: dict[str, asyncio.Future[StartResult]] = {}

        def outcome_of(name: str) -> asyncio.Future[StartResult]:
            if name not in memo:
                memo[name] = asyncio.ensure_future(self._first_result_of(name, outcome_of))
            return memo[name]

        return list(await asyncio.gather(*(outcome_of(name) for name in names)))

    async def _first_result_of(
        self, name: str, outcome_of: Callable[[str], asyncio.Future[StartResult]]
    ) -> StartResult:
        for upstream in prerequisites(self._body.components[name]):
            if upstream in self.components:
                result = await outcome_of(upstream)
                if not result.ready:
                    return StartResult(
                        name,
                        False,
                        f"waiting for {self._relation(name, upstream)} '{upstream}' "
                        f"({result.message.splitlines()[0]})",
                    )
        return await self.components[name].first_result

    async def stop_all(self) -> dict[str, bool]:
        """Stop everything, downstream first; {name: needed SIGKILL}."""
        return await self.stop(list(self.components))

    async def stop(self, names: Collection[str]) -> dict[str, bool]:
        """Stop these components, each after those of its dependents that are stopped too."""
        chosen = [name for name in names if name in self.components]
        for name in chosen:
            self.components[name].hold_restarts()
        tasks: dict[str, asyncio.Task[bool]] = {}

        async def stop_one(name: str) -> bool:
            for dependent in self.dependents(name):
                if dependent in tasks:
                    await tasks[dependent]
            return await self.components[name].stop()

        for name in chosen:
            tasks[name] = asyncio.ensure_future(stop_one(name))
        results = await asyncio.gather(*tasks.values())
        return dict(zip(tasks, results, strict=True))

    def dependents(self, name: str) -> list[str]:
        """Components that read from `name` or depend on it: stopped before it."""
        return [
            other
            for other, component in self.components.items()
            if name in prerequisites(component.spec)
        ]

    def _relation(self, name: str, upstream: str) -> str:
        return "its input" if upstream in self._body.components[name].inputs else "its dependency"

    # -- changes (the API of hot reload) -------------------------------------------------------
    async def apply(self, body: PipelineBody, *, restart: Collection[str] = ()) -> ApplyResult:
        """Move to a new spec body: stop removed components, restart the named ones alone
        (each still waits for its inputs), start added ones, and give every other one the
        live fields of its new definition (restart policy, stop_grace, start_timeout)."""
        result = ApplyResult()
        old, new = set(self.components), set(body.components)
        result.stopped = [name for name in self.components if name not in new]
        result.restarted = [
            name for name in self.components if name in new and name in set(restart)
        ]
        result.started = [name for name in body.components if name not in old]
        restarts = {name: self.components[name].restarts for name in result.restarted}
        await self.stop([*result.stopped, *result.restarted])
        for name in result.stopped:
            del self.components[name]
            self.ports.forget(name)
            self.control.forget(name)
            output = self._outputs.pop(name, None)
            if output is not None:
                output.close()
        self._body = body
        for name in old & new:
            if name not in result.restarted:
                self.components[name].reconfigure(body.components[name])
                result.reconfigured.append(name)
        fresh = [
            name
            for name in topological_order(body.components)
            if name in {*result.restarted, *result.started}
        ]
        for name in fresh:
            self._launch(name).restarts = restarts.get(name, 0)  # the count survives a reload
        result.outcomes = {outcome.name: outcome for outcome in await self.first_results(fresh)}
        self.changes.notify()
        return result

    async def restart(self, name: str) -> StartResult:
        """Restart one component alone with its current definition."""
        return (await self.apply(self._body, restart=[name])).outcomes[name]

    def close(self) -> None:
        for output in self._outputs.values():
            output.close()
        self._outputs.clear()

    def _launch(self, name: str) -> SupervisedComponent:
        component = SupervisedComponent(
            name,
            self._body.components[name],
            self,
            clock=self._clock,
            spawn=self._spawn,
            awake_clock=self._awake_clock,
        )
        self.components[name] = component
        component.start()
        return component
