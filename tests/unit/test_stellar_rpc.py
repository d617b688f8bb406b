"""The rpc backend against a local JSON-RPC server (127.0.0.1, ephemeral port) that serves
the testnet fixture ledgers the way Stellar RPC's getLedgers does: startLedger or a cursor,
a limit, `latestLedger` and `cursor` in the answer, an invalid-params error past the tip."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fixtures.stellar_ledgers import ledgers_997_to_999_testnet
from polling import wait_for
from ports import free_port
from stellar_arrow_source.decode_pool import DecodePool
from stellar_arrow_source.errors import LedgerSourceError, LedgerSourceUnavailable
from stellar_arrow_source.networks import TESTNET_PASSPHRASE
from stellar_arrow_source.real_ledgers import RealLedgers
from stellar_arrow_source.retrying import RetryPolicy
from stellar_arrow_source.rpc_reader import RpcReader

FAST = RetryPolicy(attempts=3, base_seconds=0.01, cap_seconds=0.02)


# The testnet ledgers 997-999 the fake RPC serves, read from the fixture files once.
TESTNET_METAS = ledgers_997_to_999_testnet()


class FakeRpc:
    """Ledgers 997..latest of the fixtures; `failures` answers 503 to that many requests."""

    def __init__(self, latest: int = 999, failures: int = 0) -> None:
        self.metas = TESTNET_METAS
        self.latest = latest
        self.failures = failures
        self.close_after_refusal = False
        self.requests: list[dict[str, Any]] = []
        rpc = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                rpc.requests.append(body)
                if rpc.failures:
                    rpc.failures -= 1
                    self.send_error(503)
                    return
                answer = {"jsonrpc": "2.0", "id": body["id"], **rpc.answer(body)}
                if rpc.close_after_refusal and "error" in answer:
                    rpc.latest += 1  # the next ledger closes just after the refusal
                    rpc.close_after_refusal = False
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        method, params = body["method"], body.get("params") or {}
        if method == "getNetwork":
            return {"result": {"passphrase": TESTNET_PASSPHRASE, "protocolVersion": 20}}
        if method == "getLatestLedger":
            return {"result": {"id": "x", "sequence": self.latest, "protocolVersion": 20}}
        pagination = params.get("pagination") or {}
        cursor = pagination.get("cursor")
        start = int(cursor) + 1 if cursor else int(params.get("startLedger", 0))
        if not 997 <= start <= self.latest:
            message = (
                f"start ledger must be between the oldest ledger: 997 and the latest "
                f"ledger: {self.latest} for this rpc instance"
            )
            return {"error": {"code": -32602, "message": message}}
        last = min(start + int(pagination.get("limit", 5)) - 1, self.latest)
        ledgers = [
            {
                "hash": "",
                "sequence": n,
                "ledgerCloseTime": "0",
                "headerXdr": "",
                "metadataXdr": base64.b64encode(self.metas[n]).decode(),
            }
            for n in range(start, last + 1)
        ]
        return {
            "result": {
                "ledgers": ledgers,
                "latestLedger": self.latest,
                "oldestLedger": 997,
                "cursor": str(last),
            }
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def rpc() -> Iterator[FakeRpc]:
    server = FakeRpc()
    try:
        yield server
    finally:
        server.close()


def reader(url: str, stopping: threading.Event | None = None, **kwargs: Any) -> RpcReader:
    return RpcReader(
        url,
        TESTNET_PASSPHRASE,
        retry=kwargs.pop("retry", FAST),
        stopping=stopping or threading.Event(),
        poll_seconds=0.05,
        **kwargs,
    )


def sequences(source: RpcReader, first: int, last: int | None) -> Iterator[int]:
    for batch in RealLedgers(source, DecodePool(workers=0, window=2)).batches(first, last):
        yield from batch.column("sequence").to_pylist()


def test_pages_follow_the_cursor(rpc: FakeRpc) -> None:
    assert list(sequences(reader(rpc.url, page_size=2), 997, 999)) == [997, 998, 999]
    pages = [r["params"] for r in rpc.requests if r["method"] == "getLedgers"]
    assert pages == [
        {"pagination": {"limit": 2}, "startLedger": 997},
        {"pagination": {"limit": 1, "cursor": "998"}},
    ]


def test_rows_are_the_ledgers_of_the_store(rpc: FakeRpc) -> None:
    source = reader(rpc.url)
    (batch,) = RealLedgers(source, DecodePool(workers=0, window=1)).batches(998, 998)
    row = batch.to_pylist()[0]
    assert row["sequence"] == 998 and row["ledger_close_meta"] == rpc.metas[998]
    assert row["transaction_count"] == 7


def test_following_the_tip_waits_for_new_ledgers(rpc: FakeRpc) -> None:
    rpc.latest = 998
    stopping = threading.Event()
    seen: list[int] = []
    follower = threading.Thread(
        target=lambda: seen.extend(sequences(reader(rpc.url, stopping), 997, None)), daemon=True
    )
    follower.start()
    try:
        wait_for(lambda: seen == [997, 998], 30, "the ledgers RPC has")
        wait_for(
            lambda: sum(r["method"] == "getLatestLedger" for r in rpc.requests) >= 2,
            30,
            "the reader polling for ledger 999",
        )
        rpc.latest = 999
        wait_for(lambda: seen == [997, 998, 999], 30, "ledger 999 once closed")
    finally:
        stopping.set()
        follower.join(10)
    assert not follower.is_alive()


def test_a_ledger_closing_between_a_refusal_and_the_tip_question_is_read(rpc: FakeRpc) -> None:
    """A refused getLedgers then a getLatestLedger that already counts the ledger was an
    error that ended the stream; it is the next ledger closing in between."""
    rpc.latest, rpc.close_after_refusal = 998, True
    assert list(sequences(reader(rpc.url), 999, 999)) == [999]


def test_server_errors_are_retried(rpc: FakeRpc) -> None:
    rpc.failures = 2
    assert list(sequences(reader(rpc.url), 997, 999)) == [997, 998, 999]


def test_an_unreachable_rpc_names_the_ledger_and_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(LedgerSourceUnavailable, match="ledger 997") as caught:
        list(sequences(reader(url), 997, 999))
    assert url in str(caught.value) and "failed 3 times" in str(caught.value)


def test_a_ledger_older_than_retention_is_an_error_with_the_fix(rpc: FakeRpc) -> None:
    with pytest.raises(
        LedgerSourceError, match=r"ledger 5: .* refused it: start ledger must be"
    ) as refused:
        list(sequences(reader(rpc.url), 5, 999))
    assert str(refused.value).endswith(
        "; an RPC keeps only its last ledgers (7 days by default): set config.start_ledger to "
        "one it keeps, or read older ledgers from a data store (config.backend: datastore)"
    )


def test_an_rpc_of_another_network_is_refused(rpc: FakeRpc) -> None:
    other = RpcReader(
        rpc.url,
        "Public Global Stellar Network ; September 2015",
        retry=FAST,
        stopping=threading.Event(),
    )
    with pytest.raises(LedgerSourceError, match="serves testnet, not pubnet"):
        list(sequences(other, 997, 999))
