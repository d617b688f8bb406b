"""Mistakes real user components make, and what the SDK and the runner tell their author:
the method, the file and line, and the fix.

- `stream()` yields a batch of another schema than `schema()` declares: Arrow refuses it
  after the SDK has handed it over, so it was said only in the readers' logs, in Arrow's
  words ("GeneratorStream"), while the component at fault logged nothing.
- A bug in `__init__` that raises a ValueError (`int("ten")`): reported like a bad config
  value, one line without a traceback, so nothing said where it was raised.
- `work()` that never looks at `self.stopping`: SIGTERM waited for it until the runner
  killed the process, with nothing in its log to say what it waited for.
- An SDK component stuck in `__init__` misses its start_timeout: the runner's hint spoke
  only of programs that do not use the SDK.
- A plain program serving a port of its own: the timeout did not say where the runner's
  port is given. A crash at start: its quote held the run before it too.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from _sdk_harness import component_settings, ended, serving, spawn, wait_serving
from fixtures.runner_harness import PORT_0, Pipeline, component, write_spec
from flowctl import Component, StreamTicket
from polling import wait_for
from ports import free_port

SCHEMA = pa.schema([("ledger", pa.int64()), ("txs", pa.int64())])


class Renamer(Component):
    """Declares `SCHEMA`, then yields a batch whose one column is named otherwise."""

    def schema(self) -> pa.Schema:
        return SCHEMA

    def stream(self, ticket: StreamTicket) -> Iterator[pa.RecordBatch]:
        yield pa.record_batch([pa.array(["x", "y"])], names=["oops"])


@pytest.fixture
def renamer() -> Iterator[Renamer]:
    with serving(Renamer(component_settings(None, component_id="renamer"))) as component:
        yield component


def test_a_batch_of_another_schema_is_said_by_the_component_that_yields_it(
    renamer: Renamer, caplog: pytest.LogCaptureFixture
) -> None:
    client = flight.FlightClient(f"grpc://{renamer.endpoint}")
    reader = client.do_get(StreamTicket("default").to_flight())
    with (
        caplog.at_level(logging.ERROR, logger="renamer"),
        pytest.raises(flight.FlightServerError) as failed,
    ):
        reader.read_chunk()
    reason = str(failed.value)
    assert "Renamer.stream() yielded a batch with the schema (oops: string)" in reason, reason
    assert "its schema() declares (ledger: int64, txs: int64)" in reason, reason
    assert "GeneratorStream" not in reason
    messages = [r.getMessage() for r in caplog.records if r.name == "renamer"]
    assert any("Renamer.stream() yielded a batch with the schema" in m for m in messages)
    client.close()


def program(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


def component_env(component_id: str) -> dict[str, str]:
    settings = component_settings(
        None,
        component_id=component_id,
        service_id=component_id,
        component_type="sink",
        endpoint=f"127.0.0.1:{free_port()}",
        inputs={"upstream": f"127.0.0.1:{free_port()}"},
    )
    return {**os.environ, **settings.to_environ()}


def run_to_exit(program_path: Path, env: dict[str, str], log: Path) -> tuple[int, str]:
    """Run a component program that should exit at once: its exit code and its log."""
    proc = spawn(program_path, env, log)
    try:
        code = proc.wait(30)
    finally:
        ended(proc)
    return code, log.read_text()


@contextmanager
def serving_program(
    program_path: Path, component_id: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a component program until it serves; it is ended (and reaped) after."""
    env = component_env(component_id)
    proc = spawn(program_path, env, log)
    try:
        wait_serving(env["FLOWRUN_ENDPOINT"])
        yield proc
    finally:
        ended(proc)


def test_a_bad_config_value_is_one_line_naming_where_the_spec_sets_it(tmp_path: Path) -> None:
    sink = program(
        tmp_path,
        "sink_with_bad_config.py",
        """\
        from flowctl import Component, options, run_component


        class Sink(Component):
            def __init__(self, settings=None):
                super().__init__(settings)
                self.every = options.integer(self.config, "every", 10, minimum=1)


        raise SystemExit(run_component(Sink))
        """,
    )
    env = {**component_env("bad-config"), "FLOWRUN_CONFIG": json.dumps({"every": "ten"})}
    code, text = run_to_exit(sink, env, tmp_path / "sink.log")
    assert code == 2, text
    assert (
        "cannot start bad-config: config.every='ten': expected an integer >= 1 "
        "(set under spec.components.bad-config.config in the spec)"
    ) in text, text
    assert "Traceback" not in text, text


def test_a_value_error_in_init_keeps_its_traceback(tmp_path: Path) -> None:
    sink = program(
        tmp_path,
        "sink_with_bad_int.py",
        """\
        import os
        from flowctl import Component, run_component


        class Sink(Component):
            def __init__(self, settings=None):
                super().__init__(settings)
                self.every = int(os.environ.get("LOG_EVERY", "ten"))


        raise SystemExit(run_component(Sink))
        """,
    )
    code, text = run_to_exit(sink, component_env("bad-int"), tmp_path / "sink.log")
    assert code == 2, text
    assert "cannot start bad-int: invalid literal for int() with base 10: 'ten'" in text
    assert 'sink_with_bad_int.py", line 8, in __init__' in text, text


SINK_IGNORING_THE_STOP = """\
import time
from flowctl import Component, run_component


class Sink(Component):
    def work(self):
        while True:
            time.sleep(0.1)


raise SystemExit(run_component(Sink))
"""


def test_a_work_that_ignores_the_stop_is_named_where_it_is_stuck(tmp_path: Path) -> None:
    sink = program(tmp_path, "sink_that_sleeps.py", SINK_IGNORING_THE_STOP)
    log = tmp_path / "sink.log"
    with serving_program(sink, "sleeper", log) as proc:
        proc.send_signal(signal.SIGTERM)
        # Said well before the runner's stop_grace (10 s by default) kills it.
        wait_for(
            lambda: "work() has not returned" in log.read_text(),
            what="the stuck work() in the log",
            timeout=5,
        )
        text = log.read_text()
        assert 'sink_that_sleeps.py", line 8, in work' in text, text
        assert "self.stopping" in text, text


def test_a_component_stuck_before_it_serves_is_not_told_it_lacks_the_sdk(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """The start timeout's hint said only that a program without the SDK never registers,
    to the author of an SDK component whose __init__ waits for something forever."""
    stuck = program(
        tmp_path,
        "stuck_in_init.py",
        """\
        import threading
        from flowctl import Component, run_component


        class Source(Component):
            def __init__(self, settings=None):
                super().__init__(settings)
                threading.Event().wait()  # a database that never answers


        raise SystemExit(run_component(Source))
        """,
    )
    entry = component(command=["python", str(stuck)], endpoint=False, start_timeout="2s")
    pipeline = Pipeline(write_spec(tmp_path, {"src": {**entry, "endpoint": PORT_0}}))
    pipelines.append(pipeline)
    pipeline.up()
    seen = pipeline.wait_component(
        "src", lambda c: "start_timeout" in json.dumps(c), what="src past its start_timeout"
    )
    said = json.dumps(seen)
    assert "an SDK component registers only once its `__init__` returned" in said, said


def test_a_program_serving_another_port_is_told_where_its_port_is(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """A plain program with its port written in its code, under a spec whose endpoint the
    runner picks: the timeout named a port the author never chose, and not where it is."""
    own_port = free_port()
    server = program(
        tmp_path,
        "fixed_port_server.py",
        f"""\
        import socket
        import time

        listener = socket.create_server(("127.0.0.1", {own_port}))
        print("serving on {own_port}", flush=True)
        time.sleep(3600)
        """,
    )
    entry = component(
        command=["python", str(server)],
        endpoint=False,
        protocol="none",
        ready="tcp",
        start_timeout="2s",
    )
    pipeline = Pipeline(write_spec(tmp_path, {"server": {**entry, "endpoint": PORT_0}}))
    pipelines.append(pipeline)
    pipeline.up()
    seen = pipeline.wait_component(
        "server", lambda c: "start_timeout" in json.dumps(c), what="server past start_timeout"
    )
    said = json.dumps(seen)
    assert "FLOWRUN_ENDPOINT" in said and "serving on" in said, said


def test_the_log_lines_quoted_for_a_crash_are_those_of_that_run(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    """A typo in an import crashes every run in the same few lines: the quote of the last
    one held the run before it too, the same traceback twice, as if it had failed twice."""
    typo = program(
        tmp_path,
        "typo.py",
        """\
        import os

        print(f"run {os.getpid()}", flush=True)
        import pyarow  # noqa: F401
        """,
    )
    entry = component(command=["python", str(typo)], endpoint=False)
    pipeline = Pipeline(write_spec(tmp_path, {"typo": entry}))
    pipelines.append(pipeline)
    pipeline.up()
    seen = pipeline.wait_component(
        "typo", lambda c: c["restarts"] >= 1 and c["state"] == "backoff", what="a second crash"
    )
    quoted = seen["last_error"]
    assert quoted.count("run ") == 1 and quoted.count("No module named 'pyarow'") == 1, quoted


def test_two_senders_signalling_at_once_are_one_graceful_stop(tmp_path: Path) -> None:
    """systemd (KillMode=control-group, its default) sends SIGTERM to every process of the
    unit as the runner sends its own: the second signal made the component leave at once,
    exit 143, in the middle of whatever it was committing."""
    sink = program(
        tmp_path,
        "sink_that_stops_slowly.py",
        """\
        import time
        from flowctl import Component, run_component


        class Sink(Component):
            def work(self):
                self.stopping.wait()
                time.sleep(0.5)  # what it must finish before leaving: a commit, a flush
                print("finished its last commit", flush=True)


        raise SystemExit(run_component(Sink))
        """,
    )
    log = tmp_path / "sink.log"
    with serving_program(sink, "two-senders", log) as proc:
        proc.send_signal(signal.SIGTERM)  # systemd's
        proc.send_signal(signal.SIGTERM)  # the runner's, the same instant
        assert proc.wait(20) == 0, log.read_text()
        assert "finished its last commit" in log.read_text()


def test_asked_again_later_while_the_stop_hangs_it_leaves_at_once(tmp_path: Path) -> None:
    sink = program(
        tmp_path,
        "sink_that_hangs.py",
        SINK_IGNORING_THE_STOP,
    )
    log = tmp_path / "sink.log"
    with serving_program(sink, "hangs", log) as proc:
        proc.send_signal(signal.SIGINT)
        wait_for(lambda: "stopping" in log.read_text(), what="the first stop", timeout=10)
        time.sleep(1.2)  # a person pressing Ctrl-C again
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 128 + signal.SIGINT
