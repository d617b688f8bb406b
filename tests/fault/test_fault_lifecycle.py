"""Operational churn: the same Stellar spec brought up and down five times in a row leaves
no process, no bound port and no stray file behind, and every cycle works."""

from __future__ import annotations

import socket
from pathlib import Path

import psutil
import pytest
import yaml
from fixtures.fault_stellar import (
    assert_exact_output,
    checkpoint_ledger,
    output_dir,
    pipeline_pids,
    poll_until,
    stellar_spec,
)
from fixtures.runner_harness import Pipeline, alive, pipeline_processes

pytestmark = pytest.mark.timeout(300)
CYCLES = 5


def _spec_ports(spec: Path) -> list[int]:
    body = yaml.safe_load(spec.read_text())["spec"]
    ports = [int(body["controller"]["endpoint"].rsplit(":", 1)[1])]
    ports.append(int(body["monitoring"]["metrics_port"]))
    for component in body["components"].values():
        ports += [int(component["endpoint"].rsplit(":", 1)[1]), int(component["health_port"])]
    return ports


def _bindable(port: int) -> bool:
    """A server could listen here now (SO_REUSEADDR, as servers bind: TIME_WAIT is fine)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
    return True


def _files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def test_five_up_down_cycles_leave_no_process_port_or_file(
    tmp_path: Path, pipelines: list[Pipeline], monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"  # TMPDIR of the runner and its components: must stay empty
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    last = 200
    spec = stellar_spec(tmp_path, last_ledger=last)
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    ports = _spec_ports(spec)
    output = output_dir(pipeline)
    state_after_first: set[str] | None = None

    for cycle in range(CYCLES):
        up = pipeline.up()
        assert up.returncode == 0, f"cycle {cycle}: {up.stdout}{up.stderr}"
        pids = pipeline_pids(pipeline)
        runner_pid = pids["runner"]
        info = pipeline.runner_info()
        assert info is not None
        admin_port = int(str(info["admin"]).rsplit(":", 1)[1])
        children = {
            child.pid for pid in pids.values() for child in psutil.Process(pid).children(True)
        }
        if cycle == 0:
            poll_until(lambda: checkpoint_ledger(output) == last, 120, "the range committed")

        down = pipeline.down()

        assert down.returncode == 0, f"cycle {cycle}: {down.stdout}{down.stderr}"
        assert "stopped 3 components" in down.stdout
        left = sorted(pid for pid in {*pids.values(), *children} if alive(pid))
        assert left == [], f"cycle {cycle}: processes left: {left}"
        assert pipeline_processes({runner_pid}) == []
        taken = [port for port in [*ports, admin_port] if not _bindable(port)]
        assert taken == [], f"cycle {cycle}: ports still bound: {taken}"
        state = _files(pipeline.state_dir)
        assert "runner.json" not in state
        assert not [name for name in state if name.endswith(".tmp")], state
        if state_after_first is None:
            state_after_first = state
        assert state == state_after_first, f"cycle {cycle}: the state directory changed shape"
        assert list(scratch.iterdir()) == [], f"cycle {cycle}: temp files left"

    assert state_after_first == {
        "runner.lock",
        "runner.log",
        "logs/stellar-arrow-source.log",
        "logs/ttp-arrow-processor.log",
        "logs/arrow-analytics-sink.log",
        # where each second's output starts, for `logs --since`
        "logs/stellar-arrow-source.log.idx",
        "logs/ttp-arrow-processor.log.idx",
        "logs/arrow-analytics-sink.log.idx",
    }
    assert_exact_output(output, last)  # each restart resumed at the checkpoint: no repeat
    log = (pipeline.state_dir / "runner.log").read_text()
    assert log.count("pipeline: 3/3 components ready") == CYCLES
    assert log.count("stopped 3 components") == CYCLES
