"""Token transfer events of real ledgers: the protocol-28 load-test ledgers reconciled, and
the processor reading a real data store through the source over Flight on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from fixtures.stellar_ledgers import LOAD_TEST_PASSPHRASE, ROOT, load_test_ledgers, pubnet_ledger
from flowctl.actions import call_action_at
from flowctl.component import Component
from flowctl.positions import read_marks
from flowctl.settings import ComponentSettings
from flowctl.tickets import StreamTicket
from stellar_arrow_source.server import StellarArrowSource
from ttp_arrow_processor.event_rows import events_batch
from ttp_arrow_processor.ledger_reader import decode_ledger
from ttp_arrow_processor.reconcile import reconcile_ledger
from ttp_arrow_processor.server import TtpArrowProcessor
from ttp_arrow_processor.token_transfer import ledger_events

PUBNET_LEDGER = 53312000


def test_every_protocol_28_ledger_reconciles() -> None:
    """Soroban-heavy ledgers (meta v4, parallel phases, refunds after apply)."""
    sequences = []
    for raw in load_test_ledgers():
        ledger = decode_ledger(raw, LOAD_TEST_PASSPHRASE)
        events = ledger_events(ledger)
        assert reconcile_ledger(ledger, events) == [], f"ledger {ledger.sequence}"
        # From protocol 23 every refund comes after every operation's events.
        kinds = [event.kind == "fee" and event.amount < 0 for event in events]
        assert kinds == sorted(kinds)
        sequences.append(ledger.sequence)
    assert sequences == list(range(10048, 10078))


def build(
    cls: type[Component],
    name: str,
    kind: str,
    config: dict[str, object],
    inputs: dict[str, str] | None = None,
) -> Component:
    settings = ComponentSettings(
        component_id=name,
        service_id=name,
        component_type=kind,
        endpoint="127.0.0.1:0",
        inputs=inputs or {},
        config=config,
        max_inflight=1_000,
        spec_dir=str(ROOT),
    )
    return cls(settings).start()


@contextmanager
def running(*components: Component) -> Iterator[None]:
    try:
        yield
    finally:
        for component in reversed(components):
            component.stop()
            component.shutdown()


def read_events(endpoint: str, start: int) -> pa.Table:
    client = flight.FlightClient(f"grpc://{endpoint}")
    try:
        reader = client.do_get(StreamTicket("ttp_events", start).to_flight())
        batches = []
        while True:
            try:
                chunk = reader.read_chunk()
            except StopIteration:
                break
            if not read_marks(chunk.app_metadata).end:
                batches.append(chunk.data)
    finally:
        client.close()
    return pa.Table.from_batches(batches)


@pytest.mark.timeout(120)
def test_the_processor_turns_a_real_data_store_into_the_reference_events() -> None:
    source = build(
        StellarArrowSource,
        "source",
        "source",
        {
            "backend": "datastore",
            "datastore_url": "pubnet-53312000",
            "network": "pubnet",
            "start_ledger": PUBNET_LEDGER,
            "end_ledger": PUBNET_LEDGER,
            "decode_workers": 0,
        },
    )
    processor = build(
        TtpArrowProcessor,
        "processor",
        "processor",
        {"network": "pubnet"},
        {"source": source.endpoint},
    )
    with running(source, processor):
        served = read_events(processor.endpoint, PUBNET_LEDGER)
        stats = call_action_at(processor.endpoint, "get_stats")
    expected = events_batch(ledger_events(decode_ledger(pubnet_ledger())))
    assert served.combine_chunks().to_batches()[0].equals(expected)
    assert stats["real_ledgers"] == 1
    assert stats["events_by_type"] == {"fee": 164, "transfer": 132}
