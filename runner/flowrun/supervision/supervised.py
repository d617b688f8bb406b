"""One supervised component: wait for its inputs, launch, wait until ready, watch, restart.

A component's life is one task looping over runs of its process. Everything that can
end a run (exit, start timeout, lost heartbeats, a stop) ends it the same way: an `RunEnd`,
which the restart policy turns into a restart after backoff, `stopped` or `failed`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from flowrun.controller.stall import LoopGaps, awake_seconds
from flowrun.errors import ComponentLaunchError
from flowrun.spec.model import ComponentSpec
from flowrun.supervision.backoff import RestartTracker, Verdict
from flowrun.supervision.boundary import SYSTEM_CLOCK, Clock, ComponentHost, Process, Spawn
from flowrun.supervision.missing_module import missing_module_hint
from flowrun.supervision.oom import oom_kills, out_of_memory_hint
from flowrun.supervision.open_files import refusal_reason, refused_for_now
from flowrun.supervision.port_book import ComponentPorts
from flowrun.supervision.ports import port_conflict
from flowrun.supervision.process import resolve_command, spawn
from flowrun.supervision.readiness import (
    describe_exit,
    effective_ready,
    heartbeat_lost,
    is_ready,
    not_ready_hint,
    readiness_criterion,
)
from flowrun.supervision.states import LOG_TAIL_MARK, ComponentState, RunEnd, StartResult

READY_POLL_SECONDS = 0.02
MAX_WATCH_TICK_SECONDS = 1.0


class SupervisedComponent:
    def __init__(
        self,
        name: str,
        spec: ComponentSpec,
        host: ComponentHost,
        *,
        clock: Clock = SYSTEM_CLOCK,
        spawn: Spawn = spawn,
        awake_clock: Callable[[], float] = awake_seconds,
    ) -> None:
        """`awake_clock` measures how long the runner itself was away between two checks of
        the component (`flowrun.controller.stall.awake_seconds` says why that clock)."""
        self.name = name
        self.spec = spec
        self._host = host
        self._clock = clock
        self._awake_clock = awake_clock
        self._spawn = spawn
        self.tracker = RestartTracker(spec.restart)
        self.state = ComponentState.STARTING
        self.waiting_for = "its turn"
        self.child: Process | None = None
        self._oom_kills_at_launch: int | None = None
        self.restarts = 0
        self.last_error: str | None = None
        self.exit_code: int | None = None
        self.ready_at: float | None = None
        self.ports = ComponentPorts(spec.endpoint, spec.health_port)
        """Where it listens: a port written 0 is the one picked at its first start."""
        self._stopping = False
        self._wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.first_result: asyncio.Future[StartResult] = asyncio.get_running_loop().create_future()
        self._task: asyncio.Task[None] | None = None

    # -- control -----------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"component:{self.name}"
        )

    def reconfigure(self, spec: ComponentSpec) -> None:
        """Take the live fields (restart, stop_grace, start_timeout) of a new definition."""
        self.spec = spec
        self.tracker.reconfigure(spec.restart)

    def hold_restarts(self) -> None:
        """A shutdown is coming: from now on an exit is final, not a reason to restart."""
        self._stopping = True

    async def stop(self) -> bool:
        """Stop for good (downstream order is the supervisor's job); True if SIGKILL was needed."""
        self._stopping = True
        if not self._wake.done():
            self._wake.set_result(None)
        self._host.changes.notify()
        killed = False
        child = self.child
        began = self._clock.monotonic()
        if child is not None and child.returncode is None:
            killed = await self._stop_child(child)
            how = "killed" if killed else f"stopped ({_ending(child.returncode)})"
            self._host.event(f"{self.name}: {how} in {self._clock.monotonic() - began:.2f}s")
        if self._task is not None:
            await self._task
        self._set(ComponentState.STOPPED, "")
        return killed

    @property
    def endpoint(self) -> str | None:
        """The endpoint it serves on (the real port where the spec says 0), for status."""
        return self.ports.endpoint

    @property
    def pid(self) -> int | None:
        child = self.child
        return child.pid if child is not None and child.returncode is None else None

    def uptime_seconds(self) -> float | None:
        child = self.child
        if child is None or child.returncode is not None:
            return None
        return self._clock.monotonic() - child.started_monotonic

    # -- the life of the component ---------------------------------------------------------
    async def _run(self) -> None:
        try:
            while not self._stopping and await self._wait_for_inputs():
                ended = await self._run_once()
                if self._stopping or not await self._after(ended):
                    break
        except Exception as e:  # a supervisor bug must show, and must not hang a shutdown
            self.last_error = f"supervisor error: {type(e).__name__}: {e}"
            self._host.event(f"{self.name}: {self.last_error}")
            self._set(ComponentState.FAILED, "")
        finally:
            self._report_first_result(False, self.last_error or "stopped before it was ready")

    async def _wait_for_inputs(self) -> bool:
        while not self._stopping:
            missing = self._host.missing_inputs(self.name)
            if not missing:
                return True
            self._set(ComponentState.STARTING, self._waiting_on(missing))
            await self._host.changes.wait()
        return False

    async def _run_once(self) -> RunEnd:
        self._set(ComponentState.STARTING, "launch")
        self.ports = self._host.ports_of(self.name)
        for key, endpoint in (
            ("endpoint", self.ports.endpoint),
            ("health_port", self._health_endpoint()),
        ):
            conflict = port_conflict(self.name, key, endpoint) if endpoint else None
            if conflict:
                return RunEnd(failure=True, what=conflict)
        if self.ports.endpoint:
            self._host.control.expect(self.name, self.ports.endpoint)
        try:
            child = await self._launch()
        except ComponentLaunchError as e:
            return RunEnd(failure=True, what=str(e), fatal=True)
        except OSError as e:  # out of files or processes for now: retried with backoff
            if not refused_for_now(e):
                raise
            return RunEnd(failure=True, what=f"cannot start: {refusal_reason(e)}")
        if self._stopping:
            await self._stop_child(child)
            return RunEnd(failure=False, what="stopped")
        not_ready = await self._await_ready(child)
        if not_ready is not None:
            return not_ready
        seconds = self._clock.monotonic() - child.started_monotonic
        self.ready_at = self._clock.monotonic()
        self._set(ComponentState.RUNNING, "")
        self._host.event(f"{self.name}: ready in {seconds:.2f}s (pid {child.pid})")
        self._report_first_result(True, "ready", seconds)
        return await self._watch(child)

    async def _launch(self) -> Process:
        environ = self._host.environ_for(self.name)
        cwd = self._host.spec_dir / (self.spec.working_dir or ".")
        try:
            is_dir = cwd.is_dir()
        except OSError as e:  # a path too long, a loop of links: was "supervisor error: OSError"
            raise ComponentLaunchError(
                f"component '{self.name}': working_dir {cwd} cannot be used ({e.strerror or e})"
            ) from e
        if not is_dir:
            raise ComponentLaunchError(
                f"component '{self.name}': working_dir {cwd} does not exist "
                "(a relative working_dir is taken from the spec's folder)"
            )
        argv = resolve_command(self.name, self.spec.command, cwd, environ.get("PATH", os.defpath))
        output = self._host.output_for(self.name)
        output.redact.use(self._host.masked_values(environ))
        child = await self._spawn(self.name, argv, env=environ, cwd=cwd, on_output=output.feed)
        output.attach(child.output_transport)
        self.child = child
        self._oom_kills_at_launch = oom_kills()
        self._host.launched(self.name, child)
        check = effective_ready(self.spec, self._host.control)
        criterion = readiness_criterion(check, self.ports)
        self._host.event(f"{self.name}: started pid {child.pid}, waiting for {criterion}")
        return child

    async def _await_ready(self, child: Process) -> RunEnd | None:
        deadline = child.started_monotonic + self.spec.start_timeout
        while not self._stopping:
            # Each pass: the default check follows the controller (an external one may go).
            check = effective_ready(self.spec, self._host.control)
            self._set(ComponentState.STARTING, readiness_criterion(check, self.ports))
            if child.returncode is not None:
                return await self._ended(child, before_ready=True)
            if await is_ready(self.name, check, self._host.control, child.started_at, self.ports):
                return None
            if self._clock.monotonic() >= deadline:
                await self._stop_child(child)
                timeout = self.spec.start_timeout
                what = (
                    f"not ready after {timeout:g}s (start_timeout): no {self.waiting_for}"
                    f"{not_ready_hint(check, self.spec)}"
                )
                return RunEnd(failure=True, what=what, detail=_quoted(self._tail()))
            await asyncio.wait(self._exit_or_wake(child), timeout=READY_POLL_SECONDS)
        await asyncio.wait([child.exited])  # stop() is ending it, with SIGKILL if need be
        return RunEnd(failure=False, what="stopped")

    async def _watch(self, child: Process) -> RunEnd:
        tick = min(MAX_WATCH_TICK_SECONDS, self._host.body().controller.heartbeat_interval)
        gaps = LoopGaps(self._awake_clock)
        resumed_epoch = 0.0  # when the runner last came back from a stall of its own
        while True:
            # On the tick's boundary, so every component checks in the same loop pass and
            # they share one snapshot of the controller instead of taking one each.
            pause_seconds = tick - self._clock.monotonic() % tick
            await asyncio.wait(self._exit_or_wake(child), timeout=pause_seconds)
            if child.returncode is not None:
                return await self._ended(child, before_ready=False)
            if self._stopping:
                await asyncio.wait([child.exited])  # stop() is ending it, with SIGKILL if need be
                continue
            now, now_epoch = self._clock.monotonic(), self._clock.time()
            self.tracker.ready_for(now - (self.ready_at or now))
            registered = self._host.control.service(self.name)
            ttl_seconds = self.spec.liveness_ttl(
                self._host.body().controller.heartbeat_ttl,
                own_pace=registered is not None and registered.own_pace,
            )
            # The runner (with the embedded controller that takes the heartbeats) may have
            # been stopped or suspended since the last check: what the component sent
            # meanwhile may wait unread, so it gets a whole ttl from now to be heard.
            stalled_seconds = gaps.stalled(tick, ttl_seconds)
            if stalled_seconds is not None:
                resumed_epoch = now_epoch
                self._host.event(
                    f"{self.name}: the runner did not run for about {stalled_seconds:.1f}s "
                    "(stopped, paused or suspended): heartbeats missed meanwhile do not "
                    f"count, it has heartbeat_ttl {ttl_seconds:g}s from now"
                )
            lost = heartbeat_lost(
                self.name,
                self._host.control,
                ttl_seconds,
                child.started_at,
                now_epoch=now_epoch,
                check=effective_ready(self.spec, self._host.control),
                resumed_epoch=resumed_epoch,
            )
            if lost is not None:
                self._host.event(f"{self.name}: {lost}; restarting it")
                await self._stop_child(child)
                return RunEnd(failure=True, what=lost, exit_code=child.returncode)

    async def _ended(self, child: Process, *, before_ready: bool) -> RunEnd:
        code = child.returncode if child.returncode is not None else -1
        if not self._stopping:  # not "running" while the rest of its group is stopped
            self._set(ComponentState.BACKOFF, _ending(code))
        left = await child.reap_group(self.spec.stop_grace)
        self._host.exited(self.name, child)
        self._host.output_for(self.name).flush()
        if self._stopping:
            return RunEnd(failure=False, what="stopped", exit_code=code)
        what = describe_exit(code, before_ready=before_ready, left_behind=left)
        what += out_of_memory_hint(code, self._oom_kills_at_launch, oom_kills())
        tail = self._tail()
        if code != 0:
            what += missing_module_hint(tail, self.spec.command[0])
        return RunEnd(failure=code != 0, what=what, detail=_quoted(tail), exit_code=code)

    async def _after(self, ended: RunEnd) -> bool:
        """Apply the restart policy; True to run again."""
        self.exit_code = ended.exit_code
        self.last_error = ended.what + ended.detail if ended.failure else None
        if ended.fatal:
            return self._give_up(ComponentState.FAILED, ended.what, ended.detail)
        decision = self.tracker.decide(
            self._clock.monotonic(), failure=ended.failure, what=ended.what
        )
        if decision.verdict is Verdict.FAILED:
            return self._give_up(ComponentState.FAILED, decision.reason, ended.detail)
        if decision.verdict is Verdict.STOPPED:
            return self._give_up(ComponentState.STOPPED, decision.reason, ended.detail)
        self._set(ComponentState.BACKOFF, f"restart in {decision.delay_seconds:.1f}s")
        self._host.event(f"{self.name}: {decision.reason}{ended.detail}")
        self._report_first_result(False, f"{ended.what} (retrying){ended.detail}")
        await asyncio.wait([self._wake], timeout=decision.delay_seconds)
        if self._stopping:
            return False
        self.restarts += 1
        return True

    def _give_up(self, state: ComponentState, reason: str, detail: str) -> bool:
        self.last_error = reason + detail if state is ComponentState.FAILED else self.last_error
        self._set(state, "")
        self._host.event(f"{self.name}: {state.value}: {reason}{detail}")
        self._report_first_result(False, reason + detail)
        return False

    # -- helpers ----------------------------------------------------------------------------
    async def _stop_child(self, child: Process) -> bool:
        killed = await child.stop(self.spec.stop_grace)
        if killed:
            self._host.event(
                f"{self.name}: did not stop within stop_grace {self.spec.stop_grace:g}s: "
                "killed (SIGKILL)"
            )
        self._host.exited(self.name, child)
        self._host.output_for(self.name).flush()
        return killed

    def _exit_or_wake(self, child: Process) -> list[asyncio.Future[Any]]:
        return [child.exited, self._wake]

    def _health_endpoint(self) -> str | None:
        port = self.ports.health_port
        return f"127.0.0.1:{port}" if port else None

    def _waiting_on(self, missing: list[str]) -> str:
        """`inputs: a, b; depends_on: c`: what it waits for, by the key that says so."""
        parts = []
        for key, names in (("inputs", self.spec.inputs), ("depends_on", self.spec.depends_on)):
            waiting = [name for name in missing if name in names]
            if waiting:
                parts.append(f"{key}: {', '.join(waiting)}")
        return "; ".join(parts)

    def _tail(self) -> str:
        """The last lines the component printed."""
        return self._host.output_for(self.name).tail_text()

    def _set(self, state: ComponentState, waiting_for: str) -> None:
        changed = state is not self.state or waiting_for != self.waiting_for
        self.state, self.waiting_for = state, waiting_for
        if changed:
            self._host.state_changed(self)

    def _report_first_result(self, ready: bool, message: str, seconds: float = 0.0) -> None:
        if not self.first_result.done():
            self.first_result.set_result(StartResult(self.name, ready, message, seconds))


def _quoted(tail: str) -> str:
    """A component's last lines, to read under the reason it failed."""
    if not tail:
        return " (it printed nothing)"
    indented = "\n".join(f"    {line}" for line in tail.splitlines())
    return f"{LOG_TAIL_MARK}\n{indented}"


def _ending(code: int | None) -> str:
    """How a stopped process ended, in the words of every other line: killed by SIGTERM."""
    if code is None:
        return "exit code unknown"
    return describe_exit(code, before_ready=False, left_behind=0)
