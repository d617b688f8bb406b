"""Memory and CPU of each component's process, for `flowrun top` (psutil).

CPU percent is measured between two calls on the same `psutil.Process` object, so the
objects are kept per pid between samples; the first sample of a process reads 0.0. A
process that is gone (or that we may not read) has no usage, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Usage:
    memory_bytes: int
    cpu_percent: float


class ProcessUsage:
    def __init__(self) -> None:
        self._processes: dict[int, psutil.Process] = {}

    def sample(self, pids: list[int]) -> dict[int, Usage]:
        """The usage of each live pid; pids no longer asked for are forgotten."""
        usage: dict[int, Usage] = {}
        for pid in pids:
            process = self._processes.get(pid)
            try:
                if process is None:
                    process = self._processes[pid] = psutil.Process(pid)
                with process.oneshot():
                    usage[pid] = Usage(process.memory_info().rss, process.cpu_percent(None))
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                self._processes.pop(pid, None)
        for gone in set(self._processes) - set(pids):
            del self._processes[gone]
        return usage
