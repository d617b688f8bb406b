"""`flowrun controller`: the flowctl control plane on its own, until SIGINT or SIGTERM.

With `--spec FILE` its policy, listen address, token and TLS come from the spec (flags
override the address, token and TLS), and it follows the file: each valid edit's policy
is pushed to every component live (daemon/spec_follower.py), a bad one is logged and the
policy in force stays.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flowctl.contract import FlowControlSettings, Policy, check
from flowctl.durations import format_duration, parse_duration
from flowctl.errors import SettingsError

from flowrun.errors import ControllerError

if TYPE_CHECKING:
    from flowrun.controller.server import Controller
    from flowrun.spec.loader import LoadedSpec

LISTENING = "flowctl controller listening on"
_DEFAULTS = Policy()
_POLICY_FLAGS = (
    "heartbeat_interval",
    "heartbeat_ttl",
    "activate_at",
    "deactivate_at",
    "throttle_rate",
)


def _duration(context: click.Context, parameter: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value)
    except SettingsError as e:
        raise click.BadParameter(str(e)) from e


def _checked_policy(policy: Policy) -> Policy:
    """The policy of the flags, or a usage error naming the flag of every problem."""
    try:
        return check(policy)
    except SettingsError as e:
        listed = "; ".join(f"{_flag_of(p.path)}: {p.message()}" for p in e.problems)
        raise click.UsageError(listed) from e


def _flag_of(path: str) -> str:
    """A flag is its setting's own name: flow_control.activate_at -> --activate-at."""
    return "--" + path.rpartition(".")[2].removesuffix("_seconds").replace("_", "-")


def _is_loopback(address: str) -> bool:
    host = address.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _token_from(name: str | None) -> str | None:
    if name is None:
        return None
    token = os.environ.get(name, "")
    if not token:
        raise ControllerError(f"--token-env {name}: the environment variable is not set or empty")
    return token


@click.command("controller")
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Take the policy, listen address, token and TLS from this pipeline spec, and "
    "follow its edits live (flags override address, token and TLS).",
)
@click.option(
    "--profile",
    "-p",
    default=None,
    help="Profile of --spec to apply (default: $FLOWRUN_PROFILE).",
)
@click.option(
    "--listen",
    default="127.0.0.1:8080",
    show_default=True,
    metavar="HOST:PORT",
    help="Address to serve gRPC on (port 0: any free port). Loopback unless you say otherwise.",
)
@click.option(
    "--token-env",
    metavar="NAME",
    help="Environment variable holding the shared token clients must send "
    "(authorization: Bearer <token>).",
)
@click.option("--tls-cert", type=click.Path(dir_okay=False), help="PEM certificate for TLS.")
@click.option("--tls-key", type=click.Path(dir_okay=False), help="PEM private key for TLS.")
@click.option(
    "--heartbeat-interval",
    default=format_duration(_DEFAULTS.heartbeat_interval_seconds),
    show_default=True,
    callback=_duration,
)
@click.option(
    "--heartbeat-ttl",
    default=format_duration(_DEFAULTS.heartbeat_ttl_seconds),
    show_default=True,
    callback=_duration,
    help="A service silent for longer is unhealthy.",
)
@click.option(
    "--activate-at", type=float, default=_DEFAULTS.flow_control.activate_at, show_default=True
)
@click.option(
    "--deactivate-at", type=float, default=_DEFAULTS.flow_control.deactivate_at, show_default=True
)
@click.option(
    "--throttle-rate", type=float, default=_DEFAULTS.flow_control.throttle_rate, show_default=True
)
@click.option(
    "--metrics-listen",
    metavar="HOST:PORT",
    help="Also serve the controller's Prometheus metrics over HTTP here.",
)
@click.option(
    "--grace", default="2s", show_default=True, callback=_duration, help="Shutdown grace."
)
@click.pass_context
def controller(
    context: click.Context,
    spec_path: Path | None,
    profile: str | None,
    listen: str,
    token_env: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    heartbeat_interval: float,
    heartbeat_ttl: float,
    activate_at: float,
    deactivate_at: float,
    throttle_rate: float,
    metrics_listen: str | None,
    grace: float,
) -> None:
    """Run the flowctl control plane standalone, for components on other hosts or runners."""
    import asyncio
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    given = _given(context)
    loaded = _load(given, spec_path, profile)
    if loaded is None:
        policy = _checked_policy(
            Policy(
                flow_control=FlowControlSettings(activate_at, deactivate_at, throttle_rate),
                heartbeat_interval_seconds=heartbeat_interval,
                heartbeat_ttl_seconds=heartbeat_ttl,
            )
        )
        server = _controller(policy, listen, _token_from(token_env), tls_cert, tls_key)
        asyncio.run(_serve(server, metrics_listen, grace))
        return
    settings = loaded.body.controller
    spec_tls = (settings.tls.cert_file, settings.tls.key_file) if settings.tls else (None, None)
    tls = (tls_cert, tls_key) if {"tls_cert", "tls_key"} & given else spec_tls
    server = _controller(
        loaded.body.policy(),
        listen if "listen" in given else settings.endpoint,
        _token_from(token_env) if token_env is not None else settings.token,
        *tls,
        declared=loaded.body.paced_by_policy(),
    )
    asyncio.run(_serve(server, metrics_listen, grace, loaded))


def _given(context: click.Context) -> set[str]:
    """The parameters set on the command line or by the environment, not by default."""
    return {
        name
        for name in context.params
        if context.get_parameter_source(name)
        not in (click.core.ParameterSource.DEFAULT, click.core.ParameterSource.DEFAULT_MAP, None)
    }


def _load(given: set[str], spec_path: Path | None, profile: str | None) -> LoadedSpec | None:
    """The spec of --spec, loaded and checked; None without --spec. `given`: the
    parameters not left to their default."""
    if spec_path is None:
        if profile is not None:
            raise click.UsageError("--profile needs --spec")
        return None
    from_flags = sorted(_flag_of(name) for name in _POLICY_FLAGS if name in given)
    if from_flags:
        raise click.UsageError(
            f"{', '.join(from_flags)}: with --spec the policy comes from the spec; "
            f"edit {spec_path} instead"
        )
    from flowrun.spec.loader import load_spec

    return load_spec(spec_path, profile)


def _controller(
    policy: Policy,
    listen: str,
    token: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    *,
    declared: list[str] | None = None,
) -> Controller:
    from flowrun.controller.server import Controller

    if not _is_loopback(listen) and token is None:
        click.echo(
            f"warning: {listen} is reachable from other hosts and no token is set: "
            "anyone who can reach it can register services and change the policy",
            err=True,
        )
    return Controller(
        policy,
        listen=listen,
        token=token,
        tls_cert=tls_cert,
        tls_key=tls_key,
        declared_components=declared or (),
    )


async def _serve(
    server: Controller, metrics_listen: str | None, grace: float, loaded: LoadedSpec | None = None
) -> None:
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    address = await server.start()
    metrics_server = None
    try:
        said = f"{LISTENING} {address}"
        if metrics_listen:
            metrics_server = _serve_metrics(server, metrics_listen)
            host = metrics_listen.rpartition(":")[0]  # as written; the port as bound (0: any)
            said += f"\nprometheus metrics on http://{host}:{metrics_server.server_port}/metrics"
        click.echo(said)
        if loaded is None:
            await stop.wait()
        else:
            await _follow_until(stop, server, loaded)
    finally:
        await server.stop(grace)
        if metrics_server is not None:
            metrics_server.shutdown()
    click.echo("flowctl controller stopped")


async def _follow_until(stop: Any, server: Controller, loaded: LoadedSpec) -> None:
    """Follow the spec's edits until `stop` (an asyncio.Event) is set."""
    import asyncio
    import contextlib

    from flowrun.daemon.spec_follower import SpecFollower

    spec_follower = SpecFollower(server, loaded)
    follower = asyncio.create_task(spec_follower.run())
    try:
        # Said once the folders are watched: an edit from then on is seen.
        await _first_of(stop.wait(), spec_follower.watcher.ready.wait())
        if not stop.is_set():
            click.echo(f"following {loaded.path}")
        await stop.wait()
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower


async def _first_of(*waits: Any) -> None:
    import asyncio

    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def _serve_metrics(server: Controller, address: str) -> Any:
    from prometheus_client import start_http_server

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ControllerError(f"--metrics-listen {address!r}: expected HOST:PORT")
    try:
        http_server, _thread = start_http_server(
            int(port), addr=host.strip("[]"), registry=server.metrics_registry
        )
    except OSError as e:
        raise ControllerError(f"--metrics-listen {address}: {e.strerror or e}") from e
    return http_server


COMMANDS: list[click.Command] = [controller]
