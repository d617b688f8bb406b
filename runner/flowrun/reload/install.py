"""Plugging hot reload into a runner: the reload handler, the admin routes, the watcher."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from flowrun.daemon.admin import Request, Response
from flowrun.reload.reloader import TRIGGER_ADMIN, Reloader

if TYPE_CHECKING:
    from flowrun.daemon.app import Runner


# Set to 0/false/no/off to reload only on SIGHUP and `flowrun reload` (deployments that
# want an edit to apply only when they say so).
WATCH_VARIABLE = "FLOWRUN_WATCH"


def watch_wanted(environ: Mapping[str, str]) -> bool:
    return environ.get(WATCH_VARIABLE, "").strip().lower() not in {"0", "false", "no", "off"}


def install(runner: Runner, *, watch: bool | None = None) -> Reloader:
    """Reload on SIGHUP, on `POST /reload` and (with `watch`, by default unless
    FLOWRUN_WATCH says no) on every edit of the spec; answer `POST /plan`."""
    reloader = Reloader(runner)
    reloader.watching = watch_wanted(os.environ) if watch is None else watch
    runner.reload_handler = reloader.on_reload_request

    async def reload_route(request: Request) -> Response:
        return Response(200, await reloader.reload(TRIGGER_ADMIN))

    async def plan_route(request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        profile = body.get("profile")
        return Response(200, await reloader.plan(profile if isinstance(profile, str) else None))

    runner.admin.route("POST", "/reload", reload_route)
    runner.admin.route("POST", "/plan", plan_route)
    runner.background_jobs.append(reloader.watch)
    return reloader
