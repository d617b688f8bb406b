"""The runner: one asyncio program hosting the controller, the supervisor and the admin
endpoint for one pipeline, from `up` to the last process stopped.

Signal handlers only queue a request (SIGINT/SIGTERM: shut down, a second SIGINT: kill
now, SIGHUP: reload); the main loop acts on them in order. The runner builds its own
`Reloader` and is the `RunningPipeline` it reloads (`apply()`, `restart_pipeline()`,
`started`...); it routes SIGHUP, `flowrun reload` and `flowrun plan` to it, and runs its
spec watcher beside the pipeline. Every second it also checks that its state directory is
still the one it holds, and records itself there again if not (state_dir.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import time
from collections.abc import Callable, Collection

from prometheus_client import CollectorRegistry

from flowrun.controller.state import Counters
from flowrun.daemon.admin import AdminServer
from flowrun.daemon.component_health import ComponentHealthPoller, HealthTarget
from flowrun.daemon.metrics import MetricsEndpoint, metrics_port_taken
from flowrun.daemon.progress import report_waits
from flowrun.daemon.registry import RunnerRegistry
from flowrun.daemon.requests import (
    INTERRUPT,
    RELOAD,
    SHUTDOWN,
    StartingTerminal,
    queue_signals,
)
from flowrun.daemon.routes import AdminRoutes
from flowrun.daemon.service_manager import ServiceManager
from flowrun.daemon.state_dir import RunnerInfo, RunnerLock, StateDir, shell_path
from flowrun.daemon.status import (
    component_statuses,
    health_targets,
    pipeline_status,
    runner_status,
)
from flowrun.daemon.status_types import (
    ComponentStatus,
    PipelineStatus,
    RestartReport,
    RunnerPhase,
    StopReport,
    counted,
)
from flowrun.errors import ControllerError, RunnerError
from flowrun.reload.reloader import TRIGGER_SIGNAL, Reloader
from flowrun.spec.graph import topological_order
from flowrun.spec.loader import LoadedSpec
from flowrun.spec.model import ControllerMode, PipelineBody
from flowrun.supervision.controlplane import ControlPlane, control_plane_for
from flowrun.supervision.guardian import Guardian
from flowrun.supervision.log_writes import LogWrites
from flowrun.supervision.open_files import open_files_limit, too_few_files
from flowrun.supervision.output import Console, EventLog, RotatingLogFile, forward_library_logs
from flowrun.supervision.ports import port_holder, port_in_use, split_endpoint
from flowrun.supervision.states import ComponentState
from flowrun.supervision.supervised import SupervisedComponent
from flowrun.supervision.supervisor import ApplyResult, Supervisor

STATE_CHECK_SECONDS = 1.0


class Runner:
    def __init__(
        self,
        loaded: LoadedSpec,
        *,
        state: StateDir,
        console: Console | None,
        watch_spec_file: bool = False,
    ) -> None:
        """`watch_spec_file`: reload on every edit of the spec (else on SIGHUP and
        `flowrun reload` only)."""
        self.loaded = loaded
        self.state = state
        self.console = console
        self.phase = RunnerPhase.STARTING
        # Set when start-up is over: every component settled, or a stop came first.
        self.started = asyncio.Event()
        self.started_at = time.time()
        # Held by every change of the running pipeline, so a reload and a shutdown never overlap.
        self.changes = asyncio.Lock()
        self._restore_signals: Callable[[], None] = lambda: None
        self.admin = AdminServer(secrets.token_urlsafe(24))
        self.registry = CollectorRegistry()
        self.log_writes = LogWrites(state.root, announce=self.event)
        # The embedded controller's running totals, carried to the next one a full restart
        # starts (as the supervisor carries restarts): Prometheus reads a fall as a reset.
        self.controller_counters = Counters()
        self.control: ControlPlane = control_plane_for(
            self.body, self.registry, self.controller_counters
        )
        self.supervisor: Supervisor | None = None
        self._events: EventLog | None = None
        self._lock: RunnerLock | None = None
        self._info: RunnerInfo | None = None
        self._state_warning: str | None = None  # the last one said, not to repeat it every check
        self._guardian: Guardian | None = None
        self._requests: asyncio.Queue[str] = asyncio.Queue()
        self._stopped: asyncio.Future[StopReport] = asyncio.get_running_loop().create_future()
        self.metrics = MetricsEndpoint(
            self.registry, self._component_list, self.event, self.log_writes.unwritten_totals
        )
        self.reloader = Reloader(self, watch_files=watch_spec_file)
        self.component_health = ComponentHealthPoller(
            self._health_targets, interval_seconds=self.body.monitoring.interval
        )
        self.registry_entry = RunnerRegistry.from_environ()
        self.service_manager = ServiceManager(os.environ)
        self._terminal = StartingTerminal()

    @property
    def body(self) -> PipelineBody:
        return self.loaded.body

    def event(self, text: str) -> None:
        if self._events is not None:
            self._events(text)

    def request(self, kind: str) -> None:
        """Queue a request (SHUTDOWN, INTERRUPT, RELOAD); safe from a signal handler."""
        self._requests.put_nowait(kind)

    # -- the whole life ------------------------------------------------------------------------
    async def run(self) -> None:
        self._lock = self.state.acquire(self.loaded.path)
        try:
            self._events = EventLog(self.state.runner_log, self.console, writes=self.log_writes)
            forwarding = forward_library_logs(self._events)
            self._restore_signals = queue_signals(self.request)
            self._guardian = Guardian.start(self.state.runner_log)
            try:
                await self._start_services()
                startup = asyncio.ensure_future(self._startup())
                watch = asyncio.ensure_future(self.reloader.watch())
                watch.add_done_callback(self._report_watch_end)
                polls = asyncio.ensure_future(self.component_health.run())
                recording = asyncio.ensure_future(self._keep_recorded())
                watchdog = asyncio.ensure_future(self.service_manager.keep_watchdog_fed())
                await self._serve_requests()
                for task in (startup, watch, polls, recording, watchdog):
                    task.cancel()
                await self._shutdown()
            finally:
                await self._close_services()
        finally:
            self.registry_entry.remove(os.getpid())
            if self._lock.still_at_path():  # else the record there is not ours to remove
                self.state.remove_info()
            self._lock.release()
            if self._events is not None:
                logging.getLogger("flowrun").removeHandler(forwarding)
                self._events.close()

    def _report_watch_end(self, task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.event(f"watching the spec failed: {task.exception()!r}")

    async def _start_services(self) -> None:
        body = self.body
        self.event(
            f"runner pid {os.getpid()}: {self.loaded.path} (profile {self.loaded.profile or '-'}, "
            f"revision {self.loaded.revision})"
        )
        short = too_few_files(len(body.components), open_files_limit())
        if short:
            self.event(short)
        await self._start_control_plane()
        self.metrics.serve(body.monitoring.metrics_port)
        AdminRoutes(self).register(self.admin)
        await self.admin.start()
        info = RunnerInfo(
            pid=os.getpid(),
            admin=self.admin.address,
            token=self.admin.token,
            started_at=self.started_at,
            spec_path=str(self.loaded.path),
            profile=self.loaded.profile,
        )
        try:
            self.state.write_info(info)
        except OSError as e:  # a full disk: the message, not the runner's traceback
            raise self.state.error(e) from e
        self._info = info
        unrecorded = self.registry_entry.add(
            info, pipeline=self.loaded.name, state_dir=self.state.root
        )
        if unrecorded is not None:
            self.event(unrecorded)
        self.supervisor = self._new_supervisor()

    async def _keep_recorded(self, interval_seconds: float = STATE_CHECK_SECONDS) -> None:
        """Record this runner again when its state directory goes away under it (a deploy
        swapping the spec folder, `git clean -fdx`): else `status` and `down` find no runner
        and a second `up` starts a twin on the same pipeline."""
        while True:
            await asyncio.sleep(interval_seconds)
            if self._lock is not None and not self._lock.still_at_path():
                self._record_again(interval_seconds)

    def _record_again(self, interval_seconds: float) -> None:
        assert self._lock is not None and self._info is not None
        root = self.state.root
        how = "replaced" if os.path.exists(self.state.lock_file) else "removed"
        try:
            lock = self.state.republish(self._info)
        except OSError as e:
            self._warn_about_state(
                f"warning: state directory {root} was {how} and cannot be made again "
                f"({e.strerror or e}): retrying every {interval_seconds:g}s"
            )
            return
        if lock is None:
            holder = self.state.read_info()
            if holder is not None and holder.pid != os.getpid():  # None: a probe, or starting
                self._warn_about_state(
                    f"warning: state directory {root} was {how} and runner pid {holder.pid} "
                    f"serves {self.loaded.path} from it now; this runner (pid {os.getpid()}) "
                    f"goes on without a record: stop it with `kill {os.getpid()}`"
                )
            return
        self._lock.release()  # the old file, removed or moved away: it guards nothing
        self._lock = lock
        self._state_warning = None
        # The component logs follow their path by themselves at their next write
        # (RotatingLogFile); runner.log is reopened here, for the line that says why.
        if self._events is not None:
            try:
                self._events.reopen()
            except OSError as e:
                self.event(f"warning: cannot reopen {self.state.runner_log}: {e}")
        self.event(f"state directory {root} was {how}: recorded again there")

    def _warn_about_state(self, text: str) -> None:
        if text != self._state_warning:
            self._state_warning = text
            self.event(text)

    async def _start_control_plane(self) -> None:
        try:
            await self.control.start()
        except ControllerError as e:
            taken = _controller_port_taken(self.body)
            if taken is not None:
                raise ControllerError(taken) from e
            raise
        if self.control.mode is not ControllerMode.DISABLED:
            self.event(f"controller ({self.control.mode.value}) on {self.control.endpoint}")

    def _new_supervisor(self) -> Supervisor:
        supervisor = Supervisor(
            self.body,
            control=self.control,
            spec_dir=self.loaded.spec_dir,
            open_log=self._open_log,
            events=self.event,
            console=self.console,
            guardian=self._guardian,
            spec_secrets=lambda: self.loaded.secret_values,
        )
        supervisor.listeners.append(self.metrics.component_changed)
        if self.console is not None:
            self.console.set_names(list(self.body.components))
        return supervisor

    def _open_log(self, component: str) -> RotatingLogFile:
        return RotatingLogFile(self.state.log_file(component), writes=self.log_writes)

    async def _startup(self) -> None:
        assert self.supervisor is not None
        waits = asyncio.ensure_future(report_waits(self._component_statuses, self.event))
        try:
            await self.supervisor.start()
        finally:
            waits.cancel()
        if self.phase is RunnerPhase.STARTING:
            self._enter(RunnerPhase.RUNNING)
            self._tell_ready()

    def _tell_ready(self, after: str = "") -> None:
        """READY=1 to the service manager, with how many components run (and `after`)."""
        statuses = self._component_statuses()
        running = sum(c.state is ComponentState.RUNNING for c in statuses)
        status = f"{running}/{len(statuses)} components running{after}"
        self.service_manager.notify({"READY": "1", "STATUS": status})

    def _enter(self, phase: RunnerPhase) -> None:
        self.phase = phase
        if phase is not RunnerPhase.STARTING:
            self.started.set()

    async def _serve_requests(self) -> None:
        while True:
            kind = await self._requests.get()
            if kind in (SHUTDOWN, INTERRUPT):
                self.event(f"stopping ({'signal' if kind == INTERRUPT else 'requested'})")
                return
            if kind == RELOAD and self._terminal.hung_up():
                self.event(
                    "the terminal closed (SIGHUP): the pipeline runs on without it; "
                    f"`flowrun down {shell_path(self.loaded.path)}` stops it"
                )
            elif kind == RELOAD:
                self.service_manager.reloading()
                outcome = await self.reloader.reload(TRIGGER_SIGNAL)
                self._tell_ready(f", reload {outcome.status.value.replace('_', ' ')}")

    async def _shutdown(self) -> None:
        async with self.changes:
            await self._stop_everything()

    async def _stop_everything(self) -> None:
        self._enter(RunnerPhase.STOPPING)
        self.service_manager.notify({"STOPPING": "1", "STATUS": "stopping"})
        forcer = asyncio.ensure_future(self._kill_on_second_interrupt())
        report = StopReport()
        try:
            if self.supervisor is not None:
                started = time.monotonic()
                killed = await self.supervisor.stop_all()
                report = StopReport(
                    stopped=tuple(sorted(killed)),
                    killed=tuple(sorted(name for name, was_killed in killed.items() if was_killed)),
                    seconds=round(time.monotonic() - started, 3),
                )
                self.event(f"stopped {counted(len(killed), 'component')} in {report.seconds:.2f}s")
        finally:
            forcer.cancel()
            if not self._stopped.done():
                self._stopped.set_result(report)

    async def _kill_on_second_interrupt(self) -> None:
        while await self._requests.get() != INTERRUPT:
            continue
        self.event("second interrupt: killing every component now")
        for component in self._component_list():
            if component.child is not None:
                component.child.signal_group(signal.SIGKILL)

    async def _close_services(self) -> None:
        if self.supervisor is not None:
            self.supervisor.close()
        with contextlib.suppress(Exception):
            await self.control.stop()
        await self.admin.stop()
        self.metrics.close()
        if self._guardian is not None:
            self._guardian.close()
        self._restore_signals()

    async def stop_and_report(self) -> StopReport:
        """Stop the pipeline (as SIGTERM does); what stopped, once it has."""
        self.request(SHUTDOWN)
        return await asyncio.shield(self._stopped)

    # -- what status shows -----------------------------------------------------------------
    def _component_list(self) -> list[SupervisedComponent]:
        return list(self.supervisor.components.values()) if self.supervisor is not None else []

    def _component_statuses(self) -> tuple[ComponentStatus, ...]:
        if self.supervisor is None:
            return ()
        return component_statuses(
            self.supervisor.components, self.body, self.control, self.component_health.latest
        )

    def _health_targets(self) -> list[HealthTarget]:
        if self.supervisor is None:
            return []
        return health_targets(self.supervisor.components, self.control)

    def status(self) -> PipelineStatus:
        """The status of `flowrun status` (DESIGN.md section 4)."""
        runner = runner_status(
            self.phase,
            started_at=self.started_at,
            admin=self.admin.address,
            metrics_port=self.metrics.port,
            state_dir=str(self.state.root),
            refused_logs=self.log_writes.refused_now(),
        )
        return pipeline_status(
            self.loaded, runner, self.control, self._component_statuses(), self.reloader.history
        )

    # -- the RunningPipeline that hot reload drives ------------------------------------------
    async def apply(self, loaded: LoadedSpec, *, restart: Collection[str] = ()) -> ApplyResult:
        """Move the running pipeline to `loaded`: push the live policy to the controller (and
        through it to every component), then let the supervisor restart, start and stop
        components. Changes of controller mode or endpoint need `restart_pipeline`."""
        async with self.changes:
            supervisor = self._accepting_changes()
            await self.control.update_policy(loaded.body)
            self.loaded = loaded
            self.component_health.interval_seconds = loaded.body.monitoring.interval
            if self.console is not None:
                self.console.set_names(list(loaded.body.components))
            result = await supervisor.apply(loaded.body, restart=restart)
            self.metrics.components_changed()  # removed components leave the snapshot
            return result

    def full_restart_blocker(self, loaded: LoadedSpec) -> str | None:
        """A port of `loaded` that another program holds: the runner's own ports are free
        to move onto once it stops them, but a full restart onto a taken one would stop the
        whole pipeline, then fail."""
        served = self.control.endpoint
        moves = served is None or _port(loaded.body.controller.endpoint) != _port(served)
        if moves and (taken := _controller_port_taken(loaded.body)) is not None:
            return taken
        metrics_port = loaded.body.monitoring.metrics_port
        if metrics_port and metrics_port != self.metrics.port:
            return metrics_port_taken(metrics_port)
        return None

    async def restart_pipeline(self, loaded: LoadedSpec) -> None:
        """Full ordered restart on a new spec: components down, controller replaced, all up.
        A ControllerError (the new endpoint is taken) leaves no component running: roll back
        by calling this again with the previous spec."""
        async with self.changes:
            supervisor = self._accepting_changes()
            restarts = {name: c.restarts for name, c in supervisor.components.items()}
            await supervisor.stop_all()
            supervisor.close()
            await self.control.stop()
            self.loaded = loaded
            self.control = control_plane_for(self.body, self.registry, self.controller_counters)
            await self._start_control_plane()
            self.metrics.serve(self.body.monitoring.metrics_port)
            self.supervisor = self._new_supervisor()
            await self.supervisor.start(restarts)

    async def restart_components(self, names: Collection[str]) -> RestartReport:
        """Restart these components (all when none is named), each alone and upstream
        first, as a reload that changed them would; the count of restarts goes on."""
        unknown = sorted(set(names) - set(self.body.components))
        if unknown:
            raise RunnerError(
                f"no component {', '.join(map(repr, unknown))} in {self.loaded.path} "
                f"(components: {', '.join(self.body.components)})"
            )
        await self.started.wait()  # a restart amid the start-up would race with it
        async with self.changes:
            supervisor = self._accepting_changes()
            chosen = set(names) or set(self.body.components)
            order = [name for name in topological_order(self.body.components) if name in chosen]
            self.event(f"restart requested: {', '.join(order)}")
            outcomes = [await supervisor.restart(name) for name in order]
        return RestartReport.of(outcomes)

    def components_not_running(self) -> list[str]:
        return [c.name for c in self._component_list() if c.state is not ComponentState.RUNNING]

    def _accepting_changes(self) -> Supervisor:
        if self.phase is RunnerPhase.STOPPING or self.supervisor is None:
            raise RunnerError("the pipeline is stopping (or not started): no change applies now")
        return self.supervisor


def _port(endpoint: str) -> int:
    return split_endpoint(endpoint)[1]


def _controller_port_taken(body: PipelineBody) -> str | None:
    """Why the embedded controller cannot listen where the spec says, if another program
    holds that port."""
    endpoint = body.controller.endpoint
    if body.controller.mode is not ControllerMode.EMBEDDED or not port_in_use(endpoint):
        return None
    holder = port_holder(_port(endpoint))
    return (
        f"cannot start the embedded controller: {endpoint} (spec.controller.endpoint) "
        f"is already in use by {holder}; stop it, change the endpoint (127.0.0.1:0: "
        "a free port, which the components are told), or use controller.mode "
        "external to join a controller that is already running"
    )
