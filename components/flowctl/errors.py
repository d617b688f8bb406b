"""Errors of the flowctl SDK: one base, `FlowctlError`, with narrow subclasses.

flowctl is the bottom layer (it imports nothing of flowrun), so its errors are its own:
the runner, where it calls flowctl, wraps one into a FlowrunError for its CLI to report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowctl.contract import Problem


class FlowctlError(Exception):
    """Base of every error the SDK raises to a component author."""


class FlowControlError(FlowctlError):
    """Inflight accounting misused: a release without its acquire, a bad limit."""


class TicketError(FlowctlError):
    """A Flight ticket that is not a flowctl StreamTicket."""


class PoolError(FlowctlError):
    """No connection could be had from a pool (endpoint down, pool closed, timeout)."""


class SettingsError(FlowctlError, ValueError):
    """A setting of the runner/component contract is missing, malformed or out of range.

    `problems` lists every rule broken (`flowctl.contract.Problem`), so that a caller can
    word them for its own source: a spec key, an environment variable, a flag.
    """

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[Problem, ...] = tuple(problems)
