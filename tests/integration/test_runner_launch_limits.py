"""The system's limits on a launch, met for real: the environment past what exec takes, and
no process to spare.

One variable past 128 KiB is refused when the spec is read (flowrun.spec.rules); many that
each fit can still pass the total the kernel takes (a quarter of the stack limit), and the
launch said `Argument list too long: '/usr/bin/setpriv'` for a command of one argument."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.cgroups import pids_cgroup
from flowrun.errors import ComponentLaunchError
from flowrun.supervision.process import spawn


def test_an_environment_past_the_systems_total_is_said_in_words_the_spec_can_act_on(
    tmp_path: Path,
) -> None:
    # Each variable fits (100 KiB), all of them do not: more than the default 8 MiB stack's
    # quarter, and past any ARG_MAX a 64-bit Linux gives by default.
    environ = {**os.environ, **{f"PART_{index}": "x" * 100_000 for index in range(100)}}

    async def launch() -> None:
        await spawn("wide", ["true"], env=environ, cwd=tmp_path, on_output=lambda data: None)

    with pytest.raises(ComponentLaunchError) as refused:
        asyncio.run(launch())
    message = str(refused.value)
    assert message.startswith("component 'wide': cannot start true: its command and environment")
    assert "Argument list too long" in message and "pass large values in files" in message
    assert "setpriv" not in message


SPAWN_WITHOUT_PROCESSES = """
import asyncio, os, sys
from pathlib import Path
from flowrun.errors import ComponentLaunchError
from flowrun.supervision.open_files import refusal_reason, refused_for_now
from flowrun.supervision.process import spawn

cgroup = Path(sys.argv[1])
(cgroup / "cgroup.procs").write_text(str(os.getpid()))
# As many tasks as it has now: no new process, as under `ulimit -u` or pids.max.
(cgroup / "pids.max").write_text(str(len(os.listdir(f"/proc/{os.getpid()}/task"))))


async def launch() -> None:
    await spawn("src", ["true"], env=dict(os.environ), cwd=Path.cwd(), on_output=print)

try:
    asyncio.run(launch())
except ComponentLaunchError as e:
    print("fatal:", e)
except OSError as e:
    print("for now:" if refused_for_now(e) else "other:", refusal_reason(e))
finally:
    (cgroup / "pids.max").write_text("max")
"""


def test_a_launch_without_a_process_to_spare_is_refused_for_now(tmp_path: Path) -> None:
    """A real pids cgroup at its limit: fork fails with EAGAIN. It was a ComponentLaunchError
    (`cannot start python: [Errno 11] Resource temporarily unavailable`), fatal as a missing
    program is; it is left for the supervisor to retry (SupervisedComponent)."""
    with pids_cgroup() as cgroup:
        result = subprocess.run(
            [sys.executable, "-c", SPAWN_WITHOUT_PROCESSES, str(cgroup)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.stdout.strip() == (
        "for now: Resource temporarily unavailable: the system refused a new process (the "
        "user's process limit, `ulimit -u`, or the container's pids.max)"
    ), result.stdout + result.stderr
