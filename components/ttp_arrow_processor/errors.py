"""Errors of the real-ledger path: a ledger the processor cannot turn into events."""

from __future__ import annotations

from typing import TypeVar

from flowctl.errors import FlowctlError

T = TypeVar("T")


class TokenTransferError(FlowctlError):
    """A real ledger whose events cannot be derived; the message names ledger, tx and op."""


class NetworkMismatchError(TokenTransferError):
    """The ledger's transactions do not hash under the configured network passphrase."""


def present(value: T | None, what: str) -> T:
    """The arm of an XDR union that its discriminant says is there (stellar-sdk types
    every arm Optional); a ledger where it is missing is malformed."""
    if value is None:
        raise TokenTransferError(f"malformed XDR: {what} is missing")
    return value
