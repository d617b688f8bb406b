"""When a component counts as ready, when it counts as dead, and how to say why.

Ready: registered with the controller by the current process (a registration left by a
previous run does not count); with the controller disabled (or an external one that does
not answer), its endpoint accepts TCP connections; with neither, as soon as it runs.
Dead while its process lives: no heartbeat for longer than heartbeat_ttl (liveness).
"""

from __future__ import annotations

import signal

from flowrun.spec.model import ComponentSpec, ControllerMode
from flowrun.supervision.controlplane import ControlPlane
from flowrun.supervision.ports import accepts_connections, split_endpoint


def _uses_controller(control: ControlPlane) -> bool:
    return control.mode is not ControllerMode.DISABLED and control.reachable


def _fixed_endpoint(spec: ComponentSpec) -> str | None:
    """The endpoint to probe; none when absent or on port 0 (the component picks one)."""
    if spec.endpoint and split_endpoint(spec.endpoint)[1] != 0:
        return spec.endpoint
    return None


def readiness_criterion(spec: ComponentSpec, control: ControlPlane) -> str:
    if _uses_controller(control):
        return "registration with the controller"
    endpoint = _fixed_endpoint(spec)
    if endpoint:
        return f"a connection on {endpoint}"
    return "nothing (no controller, no fixed endpoint)"


async def is_ready(
    name: str, spec: ComponentSpec, control: ControlPlane, started_at: float
) -> bool:
    if _uses_controller(control):
        snapshot = control.service(name)
        return snapshot is not None and snapshot.seen_since(started_at)
    endpoint = _fixed_endpoint(spec)
    if endpoint:
        return await accepts_connections(endpoint)
    return True


def heartbeat_lost(
    name: str, control: ControlPlane, ttl_seconds: float, started_at: float, *, now_epoch: float
) -> str | None:
    """Why the live process counts as dead at `now_epoch`, or None while it heartbeats."""
    if not _uses_controller(control):
        return None
    snapshot = control.service(name)
    if snapshot is None or not snapshot.seen_since(started_at):
        # Unknown to the controller: count from the start of the process, or from the return
        # of a controller that restarted meanwhile (it forgot everyone; they re-register).
        last = max(started_at, control.reachable_since)
    else:
        last = max(snapshot.last_heartbeat or 0.0, snapshot.registered_at or 0.0)
    silent = now_epoch - last
    if silent <= ttl_seconds:
        return None
    return f"no heartbeat for {silent:.1f}s (heartbeat_ttl {ttl_seconds:g}s) while its process runs"


def describe_exit(code: int, *, before_ready: bool, left_behind: int) -> str:
    when = " before it was ready" if before_ready else ""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        what = f"killed by {name}{when}"
    else:
        what = f"exited with code {code}{when}"
    if left_behind:
        what += f"; it left {left_behind} process(es) of its group running, which were stopped"
    return what
