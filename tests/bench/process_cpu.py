"""CPU time of another process, as the benchmarks read it."""

from __future__ import annotations

import psutil


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU seconds of `process`, every thread of it."""
    times = process.cpu_times()
    return float(times.user + times.system)
