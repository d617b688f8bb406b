"""The runner's admin endpoint: HTTP + JSON on loopback, for `status`, `health`, `down`...

Loopback only, an ephemeral port, and a bearer token that only readers of the 0600
`runner.json` know. Routes are registered by whoever owns the behaviour
(`server.route("POST", "/reload", handler)`), so hot reload adds `plan` and `reload`
without touching this module. The client side is synchronous: it serves the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import http.client
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from flowrun.daemon.state_dir import RunnerInfo
from flowrun.errors import NotRunningError, RunnerError

MAX_BODY_BYTES = 1024 * 1024
READ_TIMEOUT_SECONDS = 10.0
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    500: "Internal Server Error",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any


@dataclass(frozen=True)
class Response:
    status: int
    body: Any


Handler = Callable[[Request], Awaitable[Response]]


class AdminServer:
    def __init__(self, token: str, host: str = "127.0.0.1") -> None:
        self._token = token
        self._host = host
        self._routes: dict[tuple[str, str], Handler] = {}
        self._server: asyncio.Server | None = None
        self.address = ""

    @property
    def token(self) -> str:
        return self._token

    def route(self, method: str, path: str, handler: Handler) -> None:
        self._routes[(method.upper(), path)] = handler

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, self._host, 0)
        port = self._server.sockets[0].getsockname()[1]
        self.address = f"{self._host}:{port}"
        return self.address

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            response = await self._answer(reader)
        except (
            TimeoutError,
            ValueError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ) as e:
            response = Response(400, {"error": f"bad request: {e}"})
        except ConnectionError:
            writer.close()
            return
        except Exception as e:  # a bug in one handler must not take the runner down
            response = Response(500, {"error": f"{type(e).__name__}: {e}"})
        payload = json.dumps(response.body).encode()
        head = (
            f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Error')}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode() + payload)
            await writer.drain()
        writer.close()

    async def _answer(self, reader: asyncio.StreamReader) -> Response:
        request_line = await asyncio.wait_for(reader.readline(), READ_TIMEOUT_SECONDS)
        method, path, _version = request_line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (line := await asyncio.wait_for(reader.readline(), READ_TIMEOUT_SECONDS)) not in (
            b"\r\n",
            b"\n",
            b"",
        ):
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if length > MAX_BODY_BYTES:
            raise ValueError("body too large")
        raw = (
            await asyncio.wait_for(reader.readexactly(length), READ_TIMEOUT_SECONDS)
            if length
            else b""
        )
        if not hmac.compare_digest(headers.get("authorization", ""), f"Bearer {self._token}"):
            return Response(
                401, {"error": "missing or wrong admin token (read it from runner.json)"}
            )
        handler = self._routes.get((method.upper(), path.split("?", 1)[0]))
        if handler is None:
            known = ", ".join(f"{m} {p}" for m, p in sorted(self._routes))
            return Response(
                404, {"error": f"no route {method} {path}; this runner serves: {known}"}
            )
        return await handler(Request(method.upper(), path, json.loads(raw) if raw else None))


def call(
    info: RunnerInfo, method: str, path: str, body: Any = None, timeout_seconds: float = 10.0
) -> Any:
    """One admin request from the CLI; NotRunningError when the runner does not answer."""
    host, _, port = info.admin.rpartition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout_seconds)
    payload = json.dumps(body).encode() if body is not None else b""
    headers = {"Authorization": f"Bearer {info.token}", "Content-Type": "application/json"}
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        data = json.loads(response.read() or b"null")
    except (ConnectionRefusedError, TimeoutError) as e:
        raise NotRunningError(
            f"the runner (pid {info.pid}) does not answer on {info.admin}: {e}; "
            + unanswered_advice(info.pid)
        ) from e
    except (OSError, http.client.HTTPException, ValueError) as e:
        raise RunnerError(
            f"admin request {method} {path} to the runner on {info.admin} failed: {e}"
        ) from e
    finally:
        connection.close()
    if response.status != 200:
        message = data.get("error") if isinstance(data, dict) else data
        raise RunnerError(f"the runner refused {method} {path}: {message}")
    return data


def unanswered_advice(pid: int) -> str:
    """What to do about a runner that holds its state but does not answer. A stopped one
    (SIGSTOP, Ctrl-Z) leaves a plain `kill` pending until it runs again, so it is told
    apart: resumed, it answers again (or handles a `kill` sent meanwhile: a clean stop);
    killed outright, its guardian still stops the components."""
    if process_stopped(pid):
        return (
            f"its process is stopped (state T: SIGSTOP or Ctrl-Z), so `kill {pid}` alone "
            f"stays pending; resume it with: kill -CONT {pid} (it then answers again, or handles "
            f"a stop sent meanwhile), or end it with: kill -9 {pid} (its guardian stops its "
            "components)"
        )
    return f"it may be stuck; `flowrun down` cannot reach it, stop it with: kill {pid}"


def process_stopped(pid: int) -> bool:
    """The process is stopped by a signal (`T` in /proc/PID/stat); False when it is gone or
    cannot be read."""
    # Here, not at the top: only a runner that does not answer needs psutil.
    import psutil

    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_STOPPED)
    except psutil.Error:
        return False
