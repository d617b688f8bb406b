"""What the runner's admin endpoint answers: the routes `flowrun status`, `health`, `down`,
`plan`, `reload` and `restart` call, each turning a typed answer into JSON.

JSON exists only here (and in the CLI reading it back): the runner, the reloader and the
health verdict hand over typed values.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from flowrun.daemon.admin import AdminServer, Request, Response
from flowrun.daemon.health import health_report
from flowrun.daemon.status_types import PipelineStatus, RestartReport, StopReport
from flowrun.daemon.top_view import TopSampler, Watched
from flowrun.errors import RunnerError
from flowrun.reload.reloader import TRIGGER_ADMIN, Reloader


class Operated(Watched, Protocol):
    """What the routes need of the runner (`Watched`: what `GET /top` reads)."""

    @property
    def reloader(self) -> Reloader: ...

    def status(self) -> PipelineStatus: ...

    async def stop_and_report(self) -> StopReport:
        """Stop the pipeline; what stopped, what had to be killed, how long it took."""
        ...

    async def restart_components(self, names: Collection[str]) -> RestartReport:
        """Restart these components (all for none); RunnerError for an unknown name."""
        ...


class AdminRoutes:
    def __init__(self, runner: Operated) -> None:
        self._runner = runner
        self._top = TopSampler(runner)  # keeps the last samples: rates need two

    def register(self, admin: AdminServer) -> None:
        admin.route("GET", "/status", self.status)
        admin.route("GET", "/health", self.health)
        admin.route("POST", "/down", self.down)
        admin.route("POST", "/reload", self.reload)
        admin.route("POST", "/plan", self.plan)
        admin.route("POST", "/restart", self.restart)
        admin.route("GET", "/top", self.top)

    async def status(self, request: Request) -> Response:
        return Response(200, self._runner.status().to_json())

    async def health(self, request: Request) -> Response:
        return Response(200, health_report(self._runner.status()).to_json())

    async def top(self, request: Request) -> Response:
        return Response(200, (await self._top.view()).to_json())

    async def down(self, request: Request) -> Response:
        return Response(200, (await self._runner.stop_and_report()).to_json())

    async def reload(self, request: Request) -> Response:
        return Response(200, (await self._runner.reloader.reload(TRIGGER_ADMIN)).to_json())

    async def plan(self, request: Request) -> Response:
        """The body may name a profile to plan with (default: the one in force)."""
        body = request.body if isinstance(request.body, dict) else {}
        profile = body.get("profile")
        answer = await self._runner.reloader.plan(profile if isinstance(profile, str) else None)
        return Response(200, answer.to_json())

    async def restart(self, request: Request) -> Response:
        """The body names the components: {"components": [...]}, none for all."""
        body = request.body if isinstance(request.body, dict) else {}
        names = body.get("components") or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return Response(400, {"error": "components must be a list of component names"})
        try:
            report = await self._runner.restart_components(names)
        except RunnerError as e:
            return Response(400, {"error": str(e)})
        return Response(200, report.to_json())
