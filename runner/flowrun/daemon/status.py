"""Building the status of a running pipeline from what the runner holds: its supervised
components, the control plane's view of each, the spec in force and the reload history.

On the event loop only (it reads live objects the loop owns); what it returns is an
immutable `PipelineStatus` the admin endpoint turns into JSON.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

from flowrun.daemon.component_health import ComponentHealth, HealthTarget, with_reported_status
from flowrun.daemon.status_types import (
    ComponentStatus,
    ControllerStatus,
    FlowControlStatus,
    PipelineStatus,
    RunnerPhase,
    RunnerStatus,
)
from flowrun.reload.history import ReloadHistory
from flowrun.spec.loader import LoadedSpec
from flowrun.spec.model import ControllerMode, PipelineBody
from flowrun.supervision.controlplane import ControlPlane, ServiceSnapshot
from flowrun.supervision.log_writes import RefusedLog
from flowrun.supervision.states import ComponentState
from flowrun.supervision.supervised import SupervisedComponent

HealthOf = Callable[[str, int | None], ComponentHealth | None]


def component_status(
    component: SupervisedComponent, control: ControlPlane, health_of: HealthOf
) -> ComponentStatus:
    snapshot = control.service(component.name)
    child = component.child
    current = snapshot is not None and child is not None and snapshot.seen_since(child.started_at)
    known = snapshot if current else None
    running = component.state is ComponentState.RUNNING
    uptime = component.uptime_seconds()
    own = health_of(component.name, component.pid) if running else None
    reported = known.reported_status if running and known is not None else None
    health, health_reasons = with_reported_status(own, reported)
    return ComponentStatus(
        name=component.name,
        type=component.spec.type,
        state=component.state,
        pid=component.pid,
        restarts=component.restarts,
        registered=known is not None,
        healthy=running and _healthy_to_the_controller(component, control, known),
        load=known.load if known is not None else None,
        throttle_rate=known.throttle_rate if known is not None else None,
        uptime_seconds=round(uptime, 3) if uptime is not None else None,
        waiting_for=component.waiting_for or None,
        exit_code=component.exit_code,
        last_error=component.last_error,
        endpoint=component.endpoint,
        inputs=tuple(component.spec.inputs),
        health=health,
        health_reasons=health_reasons,
        health_port=component.ports.health_port,
    )


def _healthy_to_the_controller(
    component: SupervisedComponent, control: ControlPlane, known: ServiceSnapshot | None
) -> bool:
    """Whether the controller, as the supervisor reads it, lets a running component count as
    healthy. Registered by this process: the controller's verdict on its heartbeats. Not
    registered: a fault only for a component whose protocol registers; a `protocol: none`
    program never does by design, and the supervisor judges it by its process alone
    (`ComponentProtocol.registers` is the rule of both), so status must not call it
    unhealthy forever. Without a controller every component lives by its process."""
    if control.mode is ControllerMode.DISABLED:
        return True
    if known is not None:
        return known.healthy
    return not component.spec.protocol.registers


def component_statuses(
    components: Mapping[str, SupervisedComponent],
    body: PipelineBody,
    control: ControlPlane,
    health_of: HealthOf,
) -> tuple[ComponentStatus, ...]:
    """Every component, in the order of the spec."""
    order = [name for name in body.components if name in components]
    return tuple(component_status(components[name], control, health_of) for name in order)


def health_targets(
    components: Mapping[str, SupervisedComponent], control: ControlPlane
) -> list[HealthTarget]:
    """The health endpoint of every running component: the URL its process registered with
    the controller, else the SDK's /health on its `health_port`."""
    targets = []
    for component in components.values():
        pid, child = component.pid, component.child
        if component.state is not ComponentState.RUNNING or pid is None or child is None:
            continue
        snapshot = control.service(component.name)
        url = None
        if snapshot is not None and snapshot.seen_since(child.started_at):
            url = snapshot.health_endpoint
        if url is None and component.ports.health_port:
            url = f"http://127.0.0.1:{component.ports.health_port}/health"
        if url is not None:
            targets.append(HealthTarget(component.name, pid, url))
    return targets


def pipeline_status(
    loaded: LoadedSpec,
    runner: RunnerStatus,
    control: ControlPlane,
    components: tuple[ComponentStatus, ...],
    reload: ReloadHistory,
) -> PipelineStatus:
    flow = loaded.body.flow_control
    return PipelineStatus(
        pipeline=loaded.name,
        profile=loaded.profile,
        revision=loaded.revision,
        spec=str(loaded.path),
        runner=runner,
        controller=ControllerStatus(
            control.mode, control.endpoint, control.reachable, control.last_error
        ),
        flow_control=FlowControlStatus(
            activate_at=flow.activate_at,
            deactivate_at=flow.deactivate_at,
            throttle_rate=flow.throttle_rate,
            backpressure_active=control.backpressure_active,
        ),
        components=components,
        reload=reload,
    )


def runner_status(
    phase: RunnerPhase,
    *,
    started_at: float,
    admin: str,
    metrics_port: int | None,
    state_dir: str,
    refused_logs: tuple[RefusedLog, ...] = (),
) -> RunnerStatus:
    """This process, as the runner of a pipeline."""
    return RunnerStatus(
        pid=os.getpid(),
        phase=phase,
        started_at=started_at,
        admin=admin,
        metrics_port=metrics_port,
        state_dir=state_dir,
        uptime_seconds=round(uptime_since(started_at), 3),
        refused_logs=refused_logs,
    )


def uptime_since(epoch: float) -> float:
    return max(0.0, time.time() - epoch)
