"""When a component counts as ready, when it counts as dead, and how to say why.

Ready: by the component's `ready:` check (`flowrun.spec.readiness`), or by default:
registered with the controller by the current process (a registration left by a previous
run does not count) while a controller answers; else its endpoint accepts TCP
connections; with neither, as soon as it runs. Probes go to the ports the component was
given (a port written 0 is the one the runner picked).
Dead while its process lives: no heartbeat for longer than heartbeat_ttl (liveness), for
a component that registers: one expected to (`registered`), or one that did anyway. A
component that registered and never heartbeated (the flowctl-sdk v0.1.3 sink, whose
heartbeat ticker never fires) is alive as long as its process is: the runner sees the
process, and the controller has nothing to judge it by. Silence while the runner itself did
not run does not count (its heartbeats may wait unread): after a stall of its own, the runner
gives every component a whole heartbeat_ttl from the moment it resumed.
"""

from __future__ import annotations

import signal

from flowrun.spec.model import ComponentSpec, ControllerMode
from flowrun.spec.readiness import ReadyCheck, ReadyKind
from flowrun.supervision.controlplane import ControlPlane
from flowrun.supervision.port_book import HEALTH_HOST, ComponentPorts
from flowrun.supervision.ports import accepts_connections, http_answers

# Both usual causes: an SDK component is also silent to the controller while its own
# `__init__` waits on something (run_component serves only after it), and `ready: tcp`
# would not help that one.
NOT_REGISTERING_HINT = (
    "; an SDK component registers only once its `__init__` returned (one stuck in it, "
    "waiting on something, never does); a program that does not use the "
    "flowctl SDK never registers: give it `ready: tcp`, `ready: {http: /health}` or "
    "`ready: started` in the spec"
)


def _uses_controller(control: ControlPlane) -> bool:
    return control.mode is not ControllerMode.DISABLED and control.reachable


def effective_ready(spec: ComponentSpec, control: ControlPlane) -> ReadyCheck:
    """The spec's `ready:`, or the default rule of its field description."""
    if spec.ready is not None:
        return spec.ready
    if _uses_controller(control) and spec.protocol.registers:
        return ReadyCheck(ReadyKind.REGISTERED)
    if spec.endpoint:
        return ReadyCheck(ReadyKind.TCP)
    return ReadyCheck(ReadyKind.STARTED)


def readiness_criterion(check: ReadyCheck, ports: ComponentPorts) -> str:
    """What the runner waits for, as `waiting_for` and the start-timeout message say it."""
    if check.kind is ReadyKind.REGISTERED:
        return "registration with the controller"
    if check.kind is ReadyKind.TCP:
        return f"connection on {ports.endpoint}"
    if check.kind is ReadyKind.HTTP:
        return f"2xx answer from http://{HEALTH_HOST}:{ports.health_port}{check.path}"
    return "nothing (ready once started)"


# A port written 0 is picked by the runner: a program that serves a port of its own never
# sees a connection there, and the author does not know where the runner's port is given.
NOT_LISTENING_HINT = (
    "; the component is given that address in FLOWRUN_ENDPOINT (its `:port` in PORT): "
    "serve there, or write the port it serves on as its endpoint in the spec"
)


def not_ready_hint(check: ReadyCheck, spec: ComponentSpec) -> str:
    """Said after a start timeout: how to fix the usual cause."""
    if check.kind is ReadyKind.REGISTERED and spec.ready is None:
        return NOT_REGISTERING_HINT
    if check.kind is ReadyKind.TCP:
        return NOT_LISTENING_HINT
    return ""


async def is_ready(
    name: str, check: ReadyCheck, control: ControlPlane, started_at: float, ports: ComponentPorts
) -> bool:
    if check.kind is ReadyKind.REGISTERED:
        return _registered_since(name, control, started_at)
    if check.kind is ReadyKind.TCP:
        return ports.endpoint is not None and await accepts_connections(ports.endpoint)
    if check.kind is ReadyKind.HTTP:
        port, path = ports.health_port, check.path or "/"
        return port is not None and await http_answers(HEALTH_HOST, port, path)
    return True


def _registered_since(name: str, control: ControlPlane, started_at: float) -> bool:
    snapshot = control.service(name)
    return snapshot is not None and snapshot.seen_since(started_at)


def heartbeat_lost(
    name: str,
    control: ControlPlane,
    ttl_seconds: float,
    started_at: float,
    *,
    now_epoch: float,
    check: ReadyCheck,
    resumed_epoch: float = 0.0,
) -> str | None:
    """Why the live process counts as dead at `now_epoch`, or None while it heartbeats (or
    is not one that registers). `resumed_epoch`: when the runner last came back from a
    stall of its own; silence before it, or before an external controller answered again,
    is not held against the component."""
    if not _uses_controller(control):
        return None
    snapshot = control.service(name)
    if snapshot is None or not snapshot.seen_since(started_at):
        if check.kind is not ReadyKind.REGISTERED:
            return None  # a plain program: its liveness is its process
        # Unknown to the controller: count from the start of the process, or from the return
        # of a controller that restarted meanwhile (it forgot everyone; they re-register).
        last = max(started_at, control.reachable_since)
    elif not snapshot.heartbeated:
        return None  # registered by this process and never heartbeats: its process tells
    else:
        last = max(snapshot.last_heartbeat or 0.0, snapshot.registered_at or 0.0)
    # Nor silence while an external controller was away (stopped, partitioned): what was
    # sent meanwhile reaches it only now, and its last snapshot predates it.
    since = max(last, resumed_epoch, control.reachable_since)
    if now_epoch - since <= ttl_seconds:
        return None
    ttl = f"heartbeat_ttl {ttl_seconds:g}s"
    if since > last:  # silent for a whole ttl after a stall of the runner or the controller
        ttl += f", counted from the end of a pause {now_epoch - since:.1f}s ago"
    return f"no heartbeat for {now_epoch - last:.1f}s ({ttl}) while its process runs"


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
