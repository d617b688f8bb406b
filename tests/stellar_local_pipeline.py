"""Run source -> processor -> sink as subprocesses, without the runner.

For tests and benchmarks (it is not part of any shipped package: the runner is the one
supervisor users get): each component gets the environment the
runner would give it (`ComponentSettings.to_environ`), a fixed loopback port (kept
across restarts, so a downstream reconnects to the same endpoint) and a log file.

    with LocalPipeline(workdir, source={"end_ledger": 2000}) as pipeline:
        pipeline.start_all()
        pipeline.wait_for(lambda: pipeline.action("sink", "get_stats")["last_ledger"] >= 2000)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polling
import pyarrow.flight as flight
from flowctl.actions import call_action_at
from flowctl.settings import ComponentSettings
from ports import free_port

# name -> (module, component type, upstream name)
LAYOUT: dict[str, tuple[str, str, str | None]] = {
    "source": ("stellar_arrow_source", "source", None),
    "processor": ("ttp_arrow_processor", "processor", "source"),
    "sink": ("arrow_analytics_sink", "sink", "processor"),
}


@dataclass
class LocalPipeline:
    workdir: Path
    source: Mapping[str, Any] = field(default_factory=dict)
    processor: Mapping[str, Any] = field(default_factory=dict)
    sink: Mapping[str, Any] = field(default_factory=dict)
    max_inflight: Mapping[str, int] = field(default_factory=dict)
    extra_env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ports = {name: free_port() for name in LAYOUT}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)

    def endpoint(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def settings(self, name: str) -> ComponentSettings:
        _, kind, upstream = LAYOUT[name]
        configs = {"source": self.source, "processor": self.processor, "sink": self.sink}
        return ComponentSettings(
            component_id=name,
            service_id=name,
            component_type=kind,
            endpoint=self.endpoint(name),
            inputs={upstream: self.endpoint(upstream)} if upstream else {},
            config=dict(configs[name]),
            max_inflight=self.max_inflight.get(name, 1_000_000),
            monitoring_interval_seconds=1.0,
            spec_dir=str(self.workdir),
        )

    def log_path(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def start(self, name: str, *, wait: bool = True) -> subprocess.Popen[bytes]:
        module = LAYOUT[name][0]
        env = {**os.environ, **self.settings(name).to_environ(), **self.extra_env}
        with open(self.log_path(name), "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", module], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.processes[name] = process
        if wait:
            self.wait_ready(name)
        return process

    def start_all(self) -> None:
        for name in LAYOUT:
            self.start(name)

    def wait_ready(self, name: str, timeout_seconds: float = 60.0) -> None:
        def answers() -> bool:
            process = self.processes[name]
            if process.poll() is not None:
                log = self.log_path(name).read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{log}")
            try:
                self.action(name, "get_status", timeout_seconds=1.0)
            except flight.FlightError:
                return False
            return True

        self.wait_for(answers, timeout_seconds, f"{name} to serve Flight")

    def action(self, name: str, action: str, *, timeout_seconds: float = 5.0) -> dict[str, Any]:
        return call_action_at(self.endpoint(name), action, timeout_seconds=timeout_seconds)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[name]
        process.send_signal(sig)
        process.wait(timeout=30)

    def stop(self, name: str, timeout_seconds: float = 20.0) -> int | None:
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in reversed(list(LAYOUT)):
            self.stop(name)

    @staticmethod
    def wait_for(
        condition: Callable[[], bool], timeout_seconds: float = 120.0, what: str = "condition"
    ) -> None:
        """polling.wait_for, taking a failed call to a (re)starting component for "not yet"."""
        ignoring = (flight.FlightError, OSError, KeyError)
        polling.wait_for(condition, timeout_seconds, what, 0.1, ignoring=ignoring)

    def __enter__(self) -> LocalPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
