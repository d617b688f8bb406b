"""The source component on real ledgers: the fixture data store served over real Flight
on loopback, decoded by a pool of worker processes, resumed after a position."""

from __future__ import annotations

from pathlib import Path

import pyarrow.flight as flight
import pytest
from flowctl.options import ConfigError
from flowctl.positions import read_marks
from flowctl.settings import ComponentSettings
from flowctl.tickets import StreamTicket
from stellar_arrow_source.server import StellarArrowSource
from stellar_common.spans import LedgerSpan

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stellar"


def source(config: dict[str, object]) -> StellarArrowSource:
    settings = ComponentSettings(
        component_id="source",
        service_id="source",
        component_type="source",
        endpoint="127.0.0.1:0",
        config=config,
        max_inflight=1_000_000,
        spec_dir=str(FIXTURES),
    )
    return StellarArrowSource(settings)


def read(endpoint: str, ticket: StreamTicket) -> list[tuple[list[int], LedgerSpan]]:
    client = flight.FlightClient(f"grpc://{endpoint}")
    try:
        reader = client.do_get(ticket.to_flight())
        chunks = []
        while True:
            try:
                chunk = reader.read_chunk()
            except StopIteration:
                return chunks
            if read_marks(chunk.app_metadata).end:
                return chunks
            span = LedgerSpan.decode(chunk.app_metadata)
            assert span is not None
            chunks.append((chunk.data.column("sequence").to_pylist(), span))
    finally:
        client.close()


TESTNET = {
    "backend": "datastore",
    "datastore_url": "testnet-testbucket",  # relative to the spec's folder
    "network": "testnet",
    "start_ledger": 997,
    "end_ledger": 999,
    "batch_size": 2,
    "decode_workers": 2,
}


def test_the_data_store_is_served_in_order_by_the_worker_pool() -> None:
    component = source(TESTNET).start()
    try:
        chunks = read(component.endpoint, StreamTicket("ledgers", 0))
        resumed = read(component.endpoint, StreamTicket("ledgers", 0, after="997"))
        metrics = component.monitor.exposition().decode()
    finally:
        component.stop()
        component.shutdown()
    # One object holds one ledger here: a batch is at most an object's ledgers.
    assert [c[0] for c in chunks] == [[997], [998], [999]]
    assert [(s.first_ledger, s.last_ledger) for _, s in chunks] == [(n, n) for n in (997, 998, 999)]
    assert [c[0] for c in resumed] == [[998], [999]]
    assert "stellar_source_ledgers_decoded_total 5.0" in metrics  # 997-999, then 998-999
    assert "stellar_source_decode_seconds_count" in metrics


def test_the_pubnet_ledger_in_its_partition() -> None:
    component = source(
        {
            "backend": "datastore",
            "datastore_url": f"file://{FIXTURES / 'pubnet-53312000'}",
            "network": "pubnet",
            "start_ledger": 53312000,
            "end_ledger": 53312000,
            "decode_workers": 1,
        }
    ).start()
    try:
        chunks = read(component.endpoint, StreamTicket("ledgers", 0))
    finally:
        component.stop()
        component.shutdown()
    assert [c[0] for c in chunks] == [[53312000]]


def test_a_wrong_network_stops_the_start_with_the_key_named() -> None:
    with pytest.raises(ConfigError, match=r"config.network: the store .* holds testnet ledgers"):
        source({**TESTNET, "network": "pubnet"})
