"""Hot reload: edit the spec, and the running pipeline follows.

`install_hot_reload(runner)` is the one call a runner makes at startup. The pieces:
`diff` (changed fields and their `x-reload` class), `plan` (what a reload would do),
`render` (plans and outcomes as text, from JSON), `watcher` (editor-proof file watching),
`apply` (applying a plan, rolling back what did not come up) and `reloader` (the
coordinator). Imports are deferred: `flowrun plan` only needs `render`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowrun.daemon.app import Runner
    from flowrun.reload.reloader import Reloader


def install_hot_reload(runner: Runner, *, watch: bool | None = None) -> Reloader:
    """Reload on SIGHUP, `flowrun reload` and spec edits (unless `watch` is False, or None
    and FLOWRUN_WATCH=0); serve `flowrun plan`."""
    from flowrun.reload.install import install

    return install(runner, watch=watch)
