"""A Flight call the server cancels (status CANCELLED) made by an SDK component off its
main thread: pyarrow answers it with a *simulated SIGINT* (its SignalStopHandler calls
PyErr_SetInterrupt, whichever thread made the call), so the component's SIGINT handler ran
as if Ctrl-C had been pressed, and the component stopped. Played with a real upstream that
cancels every ListActions the component's pool probes it with, and a real SDK component."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _sdk_harness import CancellingServer, component_settings, ended, spawn, wait_serving
from flowctl.actions import call_action_at
from polling import wait_for
from ports import free_port

WATCH_SECONDS = 3.0  # without the fix, the first cancelled probe stopped it within a second
READER = """
from flowctl import Component, run_component

class Reader(Component):
    def work(self):
        for _ in self.read_input():
            pass

raise SystemExit(run_component(Reader))
"""


@pytest.fixture
def upstream() -> Iterator[CancellingServer]:
    server = CancellingServer()
    yield server
    server.shutdown()


def test_a_cancelled_probe_is_no_ctrl_c_for_the_component(
    upstream: CancellingServer, tmp_path: Path
) -> None:
    program = tmp_path / "reader.py"
    program.write_text(READER)
    settings = component_settings(
        None,
        component_id="reader",
        component_type="sink",
        endpoint=f"127.0.0.1:{free_port()}",
        inputs={"up": f"127.0.0.1:{upstream.port}"},
    )
    log = tmp_path / "reader.log"
    proc = spawn(program, {**os.environ, **settings.to_environ()}, log)
    try:
        wait_serving(settings.endpoint)
        wait_for(lambda: upstream.cancelled >= 5, 30, "the pool's probes cancelled")
        cancelled_before = upstream.cancelled
        watch_until = time.monotonic() + WATCH_SECONDS
        while time.monotonic() < watch_until:  # each cancelled probe was a Ctrl-C
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        assert upstream.cancelled > cancelled_before  # probed, and cancelled, all along
        assert call_action_at(settings.endpoint, "get_status", timeout_seconds=5)
        assert "SIGINT" not in log.read_text(), log.read_text()
    finally:
        ended(proc)
