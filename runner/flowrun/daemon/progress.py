"""While a pipeline starts: who is waiting for what, said when it changes.

Both the foreground runner (from its own state, every `interval`) and `up -d` (from the
status JSON it polls) print the same lines, e.g.
`waiting: ttp-arrow-processor for inputs: stellar-arrow-source; sink for registration`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

STILL_WAITING_SECONDS = 2.0


def waits(components: Iterable[dict[str, Any]]) -> list[str]:
    """`name (what it waits for)` for every component not running yet."""
    found = []
    for component in components:
        if component["state"] in ("starting", "backoff"):
            found.append(
                f"{component['name']} ({component.get('waiting_for') or component['state']})"
            )
    return found


def change_lines(
    previous: dict[str, tuple[str, str]], components: Iterable[dict[str, Any]]
) -> list[str]:
    """One line per component whose state or wait changed since `previous` (updated)."""
    lines = []
    for component in components:
        key = (component["state"], component.get("waiting_for") or "")
        if previous.get(component["name"]) == key:
            continue
        previous[component["name"]] = key
        detail = key[1] if component["state"] in ("starting", "backoff") else ""
        if component["state"] == "failed" and component.get("last_error"):
            detail = str(component["last_error"]).splitlines()[0]
        suffix = f": {detail}" if detail else ""
        lines.append(f"{component['name']}: {component['state']}{suffix}")
    return lines


async def report_waits(
    snapshot: Callable[[], list[dict[str, Any]]],
    say: Callable[[str], None],
    interval: float = STILL_WAITING_SECONDS,
) -> None:
    """Until cancelled: every interval, say who is still waiting (nothing when nobody is)."""
    while True:
        await asyncio.sleep(interval)
        pending = waits(snapshot())
        if pending:
            say("waiting: " + "; ".join(pending))
