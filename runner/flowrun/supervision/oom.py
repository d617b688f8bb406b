"""Whether the kernel's out-of-memory killer ended a component: its count of kills
(`oom_kill` in /proc/vmstat, Linux 4.13+), read when the component starts and again when it
dies of SIGKILL.

A process the OOM killer ends (the machine's memory, or its cgroup's: a container's limit)
dies of SIGKILL with nothing in its own log, and the runner said only "killed by SIGKILL",
which reads like someone's `kill -9`. The count is the machine's (a container sees the
host's), so a rise while the component ran says an OOM kill happened then: very likely of
it, and `dmesg` names the process.
"""

from __future__ import annotations

import signal
from pathlib import Path

VMSTAT = Path("/proc/vmstat")
OUT_OF_MEMORY_HINT = (
    "; the kernel's out-of-memory killer ended a process meanwhile (oom_kill in "
    "/proc/vmstat), very likely this one: give it more memory (the machine's, or its "
    "container's limit) or make it hold less; `dmesg` names the process"
)


def oom_kills(vmstat: Path = VMSTAT) -> int | None:
    """The kernel's count of OOM kills so far; None where it does not say."""
    try:
        for line in vmstat.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == "oom_kill":
                return int(value)
    except (OSError, ValueError):
        return None
    return None


def out_of_memory_hint(code: int, kills_at_start: int | None, kills_now: int | None) -> str:
    """The hint for an exit `code` (negative: the signal) when an OOM kill came meanwhile."""
    if code != -signal.SIGKILL or kills_at_start is None or kills_now is None:
        return ""
    return OUT_OF_MEMORY_HINT if kills_now > kills_at_start else ""
