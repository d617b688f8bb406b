"""`run_component(cls)`: the `python -m my_component` entry point."""

from __future__ import annotations

import faulthandler
import logging
import sys

from flowctl.component import Component
from flowctl.errors import FlowctlError, SettingsError
from flowctl.lifecycle import install_signal_handlers, set_parent_death_signal
from flowctl.options import where_to_fix
from flowctl.settings import ComponentSettings


def configure_logging(level: int = logging.INFO) -> None:
    # A crash in native code (Arrow, gRPC) then leaves every thread's Python stack in the
    # log instead of a bare "killed by SIGSEGV".
    faulthandler.enable(sys.stderr)
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def run_component(cls: type[Component], settings: ComponentSettings | None = None) -> int:
    """Build `cls` from the environment, serve until SIGTERM/SIGINT or the runner dies.

    Returns the exit code: 0 after a clean stop, 1 when work() failed, 2 for bad
    settings (the message names the variable) or a start refused (its endpoint taken).
    """
    configure_logging()
    log = logging.getLogger("flowctl")
    try:
        settings = settings or ComponentSettings.from_environ()
    except SettingsError as e:
        log.error("bad settings: %s", e)
        return 2
    set_parent_death_signal(settings.runner_pid)
    try:
        component = cls(settings)
    except FlowctlError as e:
        where = where_to_fix(e, settings.component_id)
        log.error("cannot start %s: %s%s", settings.component_id, e, where)
        return 2
    except ValueError as e:
        # A value the component checked itself, or a bug (`int("ten")`): the one line alone
        # would not say which, nor where; the traceback names the file and line.
        log.exception("cannot start %s: %s", settings.component_id, e)
        return 2
    install_signal_handlers(component.stop)
    try:
        return component.serve_forever()
    except FlowctlError as e:
        log.error("cannot start %s: %s", settings.component_id, e)
        return 2
