"""Ports written 0, depends_on and the `ready:` checks, through the real Supervisor on fakes
(and, for the HTTP probe and the port picker, real loopback sockets)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fixtures.supervision_fakes import component, eventually, pipeline_body, supervising
from flowrun.errors import RunnerError
from flowrun.spec.readiness import ReadyCheck, ReadyKind
from flowrun.supervision.port_book import PortBook
from flowrun.supervision.ports import free_port, http_answers
from flowrun.supervision.states import ComponentState

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(10)]

RUNNING = ComponentState.RUNNING


def test_the_port_book_picks_a_port_once_and_again_after_an_edit() -> None:
    picked = iter(range(41000, 41010))
    book = PortBook(pick=lambda host: next(picked))
    body = pipeline_body({"a": component(endpoint="0.0.0.0:0", health_port=0)})
    first = book.ports_of("a", body.components["a"])
    assert (first.endpoint, first.health_port) == ("0.0.0.0:41000", 41001)
    assert book.ports_of("a", body.components["a"]) == first  # a restart keeps them

    moved = pipeline_body({"a": component(endpoint="127.0.0.1:0", health_port=9999)})
    second = book.ports_of("a", moved.components["a"])
    assert (second.endpoint, second.health_port) == ("127.0.0.1:41002", 9999)
    fixed = pipeline_body({"a": component(endpoint="127.0.0.1:8815")})
    assert book.ports_of("a", fixed.components["a"]).endpoint == "127.0.0.1:8815"


def test_the_port_book_never_hands_out_a_port_twice() -> None:
    # The kernel may give a released port again at the next pick, before anyone binds it.
    picked = iter([41000, 41000, 41000, 41001, 41000, 41002])
    book = PortBook(pick=lambda host: next(picked))
    body = pipeline_body({name: component(endpoint="127.0.0.1:0") for name in ("a", "b", "c")})
    endpoints = [book.ports_of(name, body.components[name]).endpoint for name in ("a", "b", "c")]
    assert endpoints == ["127.0.0.1:41000", "127.0.0.1:41001", "127.0.0.1:41002"]


def test_the_port_book_gives_up_with_a_fix_when_every_pick_repeats() -> None:
    book = PortBook(pick=lambda host: 41000)
    body = pipeline_body({name: component(endpoint="127.0.0.1:0") for name in ("a", "b")})
    book.ports_of("a", body.components["a"])
    with pytest.raises(RunnerError, match="write fixed ports"):
        book.ports_of("b", body.components["b"])


def test_free_port_is_a_port_nothing_listens_on() -> None:
    port = free_port()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # free: it binds


async def test_a_port_0_endpoint_reaches_the_component_and_its_consumer_and_is_kept(
    tmp_path: Path,
) -> None:
    components = {
        "src": component(endpoint="127.0.0.1:0", health_port=0),
        "sink": component("sink", inputs=["src"]),
    }
    async with supervising(tmp_path, components) as rig:
        rig.begin()
        await eventually(lambda: rig.spawn.launched("src"), "src launched")
        rig.control.register("src")
        await eventually(lambda: rig.spawn.launched("sink"), "sink launched")
        src = rig.component("src")
        env = rig.spawn.launches[0].env
        endpoint, health = env["FLOWRUN_ENDPOINT"], env["FLOWRUN_METRICS_PORT"]
        assert not endpoint.endswith(":0") and health != "0"
        assert src.endpoint == endpoint and src.ports.health_port == int(health)
        sink_env = rig.spawn.launches[1].env
        assert json.loads(sink_env["FLOWRUN_INPUTS"]) == {"src": endpoint}

        rig.spawn.latest("src").exit(1)
        await eventually(lambda: rig.spawn.launched("src") == 2, "src launched again")
        restarted_env = rig.spawn.launches[-1].env
        assert restarted_env["FLOWRUN_ENDPOINT"] == endpoint
        assert restarted_env["FLOWRUN_METRICS_PORT"] == health


async def test_depends_on_starts_after_and_stops_before_its_dependency(tmp_path: Path) -> None:
    components = {"app": component(depends_on=["db"]), "db": component()}
    async with supervising(tmp_path, components) as rig:
        rig.begin()
        await eventually(lambda: rig.spawn.launched("db"), "db launched")
        app = rig.component("app")
        assert app.state is ComponentState.STARTING and app.waiting_for == "depends_on: db"
        assert rig.spawn.launched("app") == 0
        rig.control.register("db")
        await eventually(lambda: rig.spawn.launched("app"), "app launched after db is ready")
        rig.control.register("app")
        assert rig.starting is not None
        await rig.starting
        del rig.spawn.journal[:]

        await rig.supervisor.stop_all()

        order = rig.spawn.journal
        assert order.index("stopped app") < order.index("stop db")


async def test_ready_started_needs_no_registration_and_no_heartbeat(tmp_path: Path) -> None:
    components = {"plain": component(ready="started")}
    async with supervising(tmp_path, components, heartbeat_ttl="1s") as rig:
        rig.begin()
        await eventually(lambda: rig.spawn.launched("plain"), "plain launched")
        plain = rig.component("plain")
        result = await plain.first_result
        assert result.ready and plain.state is RUNNING
        assert rig.said("plain: started pid 4000, waiting for nothing (ready once started)")

        rig.clock.advance(5.0)  # far past heartbeat_ttl: a plain program is not judged by it
        before = rig.control.lookups
        await eventually(lambda: rig.control.lookups > before + 1, "two liveness checks")
        assert rig.spawn.launched("plain") == 1 and plain.state is RUNNING


async def test_ready_started_is_judged_by_heartbeats_once_it_registers(tmp_path: Path) -> None:
    async with supervising(tmp_path, {"c": component(ready="started")}, heartbeat_ttl="1s") as rig:
        rig.begin()
        await eventually(lambda: rig.spawn.launched("c"), "c launched")
        await rig.component("c").first_result
        rig.control.register("c")
        rig.clock.advance(1.5)
        await eventually(lambda: rig.spawn.launched("c") == 2, "c restarted")
        assert rig.said("c: no heartbeat for 1.5s (heartbeat_ttl 1s) while its process runs")


async def _serve_http(status: str) -> AsyncIterator[int]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(("status", "ready"), [("200 OK", True), ("503 Unavailable", False)])
async def test_the_http_probe_wants_a_2xx(status: str, ready: bool) -> None:
    async for port in _serve_http(status):
        assert await http_answers("127.0.0.1", port, "/health") is ready


async def test_the_http_probe_of_a_closed_port_is_not_ready() -> None:
    assert await http_answers("127.0.0.1", free_port(), "/health") is False


def test_ready_checks_describe_themselves() -> None:
    assert ReadyCheck(ReadyKind.HTTP, "/health").describe() == "{http: /health}"
    assert ReadyCheck(ReadyKind.TCP).describe() == "tcp"
