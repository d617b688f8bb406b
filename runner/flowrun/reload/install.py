"""Plugging hot reload into a runner: the reload handler, the admin routes, the watcher."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowrun.reload.reloader import TRIGGER_ADMIN, Reloader
from flowrun.runtime.admin import Request, Response

if TYPE_CHECKING:
    from flowrun.runtime.app import Runner


def install(runner: Runner, *, watch: bool = True) -> Reloader:
    """Reload on SIGHUP, on `POST /reload` and (with `watch`) on every edit of the spec;
    answer `POST /plan` with what a reload would do."""
    reloader = Reloader(runner)
    runner.reload_handler = reloader.on_reload_request

    async def reload_route(request: Request) -> Response:
        return Response(200, await reloader.reload(TRIGGER_ADMIN))

    async def plan_route(request: Request) -> Response:
        body = request.body if isinstance(request.body, dict) else {}
        profile = body.get("profile")
        return Response(200, await reloader.plan(profile if isinstance(profile, str) else None))

    runner.admin.route("POST", "/reload", reload_route)
    runner.admin.route("POST", "/plan", plan_route)
    if watch:
        runner.background_jobs.append(reloader.watch)
    return reloader
