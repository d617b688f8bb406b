"""The system's limits on a launch, met for real: the environment past what exec takes.

One variable past 128 KiB is refused when the spec is read (flowrun.spec.rules); many that
each fit can still pass the total the kernel takes (a quarter of the stack limit), and the
launch said `Argument list too long: '/usr/bin/setpriv'` for a command of one argument."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
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
