"""Errors of the flowctl SDK, narrow subclasses of flowrun's one hierarchy."""

from __future__ import annotations

from flowrun.errors import FlowrunError


class FlowctlError(FlowrunError):
    """Base of every error the SDK raises to a component author."""


class FlowControlError(FlowctlError):
    """Inflight accounting misused: a release without its acquire, a bad limit."""


class TicketError(FlowctlError):
    """A Flight ticket that is not a flowctl StreamTicket."""


class PoolError(FlowctlError):
    """No connection could be had from a pool (endpoint down, pool closed, timeout)."""
