"""While a pipeline starts: who is waiting for what, said when it changes.

Both the foreground runner (from its own state, every `interval`) and `up -d` (from the
status JSON it polls) print the same lines, e.g.
`waiting: ttp-arrow-processor for inputs: stellar-arrow-source; sink for registration`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from flowrun.daemon.status_types import ComponentStatus
from flowrun.supervision.states import ComponentState

STILL_WAITING_SECONDS = 2.0
_WAITING = (ComponentState.STARTING, ComponentState.BACKOFF)


def waits(components: Iterable[ComponentStatus]) -> list[str]:
    """`name (what it waits for)` for every component not running yet."""
    return [
        f"{component.name} ({component.waiting_for or component.state.value})"
        for component in components
        if component.state in _WAITING
    ]


def change_lines(
    previous: dict[str, tuple[ComponentState, str]], components: Iterable[ComponentStatus]
) -> list[str]:
    """One line per component whose state or wait changed since `previous` (updated)."""
    lines = []
    for component in components:
        key = (component.state, component.waiting_for or "")
        if previous.get(component.name) == key:
            continue
        previous[component.name] = key
        detail = key[1] if component.state in _WAITING else ""
        if component.state is ComponentState.FAILED and component.last_error:
            detail = component.last_error.splitlines()[0]
        suffix = f": {detail}" if detail else ""
        lines.append(f"{component.name}: {component.state.value}{suffix}")
    return lines


async def report_waits(
    snapshot: Callable[[], Iterable[ComponentStatus]],
    say: Callable[[str], None],
    interval_seconds: float = STILL_WAITING_SECONDS,
) -> None:
    """Until cancelled: every interval, say who is still waiting (nothing when nobody is)."""
    while True:
        await asyncio.sleep(interval_seconds)
        pending = waits(snapshot())
        if pending:
            say("waiting: " + "; ".join(pending))
