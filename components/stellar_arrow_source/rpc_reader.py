"""Read ledgers from Stellar RPC's `getLedgers` (JSON-RPC 2.0 over HTTP POST).

The first request asks for `startLedger`; the next ones page with the answer's `cursor`
(the last ledger returned) and `limit`. Each ledger's `metadataXdr` is the base64 XDR of
its LedgerCloseMeta. RPC refuses a start or cursor past its latest ledger (an invalid
params error): the reader then asks `getLatestLedger`, and when the ledger wanted is not
closed yet it waits, polling with backoff up to `poll_seconds` (following the tip, or
a range that ends in the future); a ledger older than RPC's retention is an error.
Network errors and HTTP 429/5xx are retried with backoff (RetryPolicy).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

from flowctl.backoff import Backoff

from stellar_arrow_source.errors import LedgerDataError, LedgerSourceError
from stellar_arrow_source.ledger_decode import DecodeJob
from stellar_arrow_source.networks import network_name
from stellar_arrow_source.retrying import RetryPolicy, Stopped, retrying

log = logging.getLogger("stellar.rpc")
_RETRIED_HTTP = {429, 500, 502, 503, 504}
# A closed ledger RPC refuses is one older than it keeps: only its last few days (7 by
# default on the public RPCs), where a SEP-54 data store keeps the whole history.
RETENTION_HINT = (
    "; an RPC keeps only its last ledgers (7 days by default): set config.start_ledger to "
    "one it keeps, or read older ledgers from a data store (config.backend: datastore)"
)


class RpcAnswerError(LedgerSourceError):
    """RPC answered the request with a JSON-RPC error."""

    def __init__(self, method: str, url: str, code: int, message: str) -> None:
        super().__init__(f"{url} {method}: error {code}: {message}")
        self.code = code
        self.message = message


class RpcReader:
    def __init__(
        self,
        url: str,
        passphrase: str,
        *,
        retry: RetryPolicy,
        stopping: threading.Event,
        page_size: int = 10,
        poll_seconds: float = 5.0,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.url = url
        self.passphrase = passphrase
        self.retry = retry
        self.stopping = stopping
        self.page_size = page_size
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self._ids = itertools.count(1)
        self._network_checked = False

    def jobs(self, first: int, last: int | None) -> Iterator[DecodeJob]:
        """One job per page of ledgers from `first` through `last` (None: follow the tip)."""
        self._check_network(first)
        following = Backoff(base_seconds=0.2, cap_seconds=self.poll_seconds)
        sequence, cursor = first, None
        while last is None or sequence <= last:
            limit = self.page_size if last is None else min(self.page_size, last - sequence + 1)
            page = self._page(sequence, cursor, limit)
            if page is None or not page["ledgers"]:
                self._wait(sequence, following)
                continue
            following.reset()
            job = self._job(sequence, page["ledgers"][:limit])
            yield job
            sequence, cursor = job.last + 1, str(page.get("cursor") or job.last)

    def _page(self, sequence: int, cursor: str | None, limit: int) -> dict[str, Any] | None:
        """The answer for ledgers from `sequence`; None when it is not closed yet."""
        params: dict[str, Any] = {"pagination": {"limit": limit}}
        if cursor is None:
            params["startLedger"] = sequence
        else:
            params["pagination"]["cursor"] = cursor
        for asked in range(2):
            try:
                return self.call("getLedgers", params, f"ledger {sequence}")
            except RpcAnswerError as refused:
                latest = int(self.call("getLatestLedger", {}, f"ledger {sequence}")["sequence"])
                if sequence > latest:
                    return None
                if asked:
                    raise LedgerSourceError(
                        f"ledger {sequence}: {self.url} getLedgers refused it: {refused.message}"
                        f"{RETENTION_HINT}"
                    ) from None
                # The ledger may have closed between the refusal and the question (one
                # closes every ~5 s): ask once more before calling the refusal an error.
        raise AssertionError("unreachable")  # pragma: no cover

    def _job(self, sequence: int, ledgers: list[dict[str, Any]]) -> DecodeJob:
        where = f"{self.url} getLedgers"
        metas = []
        for offset, ledger in enumerate(ledgers):
            expected = sequence + offset
            if ledger.get("sequence") != expected:
                raise LedgerDataError(
                    f"ledger {expected}: {where} answered ledger {ledger.get('sequence')!r} "
                    "in its place"
                )
            try:
                metas.append(base64.b64decode(ledger["metadataXdr"], validate=True))
            except (KeyError, TypeError, binascii.Error) as e:
                raise LedgerDataError(
                    f"ledger {expected}: {where}: metadataXdr is not base64 XDR ({e})"
                ) from None
        return DecodeJob(
            sequence, sequence + len(metas) - 1, where, self.passphrase, metas=tuple(metas)
        )

    def _wait(self, sequence: int, backoff: Backoff) -> None:
        if backoff.attempts == 0:
            log.info("waiting for ledger %d to close (%s)", sequence, self.url)
        if self.stopping.wait(backoff.next_delay()):
            raise Stopped(f"ledger {sequence}")

    def _check_network(self, first: int) -> None:
        if self._network_checked:
            return
        answer = self.call("getNetwork", {}, f"ledger {first}")
        passphrase = answer.get("passphrase")
        if passphrase != self.passphrase:
            raise LedgerSourceError(
                f"config.network: {self.url} serves {network_name(str(passphrase))}, not "
                f"{network_name(self.passphrase)}; set config.network to match the RPC"
            )
        self._network_checked = True

    def call(self, method: str, params: dict[str, Any], what: str) -> dict[str, Any]:
        """The `result` of one JSON-RPC call, retried on network errors."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        answer = retrying(
            lambda: self._post(body),
            f"{what}: {self.url} {method}",
            self.retry,
            self.stopping,
        )
        error = answer.get("error")
        if error is not None:
            raise RpcAnswerError(
                method, self.url, int(error.get("code", 0)), str(error.get("message", error))
            )
        result = answer.get("result")
        if not isinstance(result, dict):
            raise LedgerDataError(f"{what}: {self.url} {method}: no result in the answer")
        return result

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                answer: Any = json.loads(response.read())
        except urllib.error.HTTPError as e:
            if e.code in _RETRIED_HTTP:
                raise  # retried
            raise LedgerSourceError(f"{self.url}: HTTP {e.code} {e.reason}") from None
        if not isinstance(answer, dict):
            raise LedgerDataError(f"{self.url}: the answer is not a JSON-RPC object")
        return answer
