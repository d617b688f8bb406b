"""Errors of the real-ledger backends (data store, RPC).

They are FlowctlErrors: raised from `stream()`, the SDK logs the message and the reader
gets it as a FlightServerError; raised while the component starts, `run_component`
reports it in one line and exits 2. Every message names the ledger and where it was
looked for (the object key and store URL, or the RPC URL), so it says what to fix.
"""

from __future__ import annotations

from flowctl.errors import FlowctlError


class LedgerSourceError(FlowctlError):
    """A ledger could not be read; the stream stops rather than skip it."""


class LedgerNotFound(LedgerSourceError):
    """The store has no object for a ledger (and the source does not follow the tip)."""


class LedgerDataError(LedgerSourceError):
    """An object or answer that is there but is not the ledger expected: a truncated or
    corrupt file, XDR that does not decode, a sequence other than the one asked for."""


class LedgerSourceUnavailable(LedgerSourceError):
    """The store or RPC could not be reached, after retrying with backoff."""
