"""The SEP-54 data store backend on the real fixture ledgers: keys, manifest, decoding,
and every way a store can be wrong (fakes: none needed, the store is a local folder)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flowctl.options import ConfigError
from polling import wait_for
from stellar_arrow_source.datastore_layout import Manifest
from stellar_arrow_source.datastore_reader import DataStoreReader
from stellar_arrow_source.decode_pool import DecodePool
from stellar_arrow_source.errors import LedgerDataError, LedgerNotFound, LedgerSourceError
from stellar_arrow_source.ledger_decode import decode_job
from stellar_arrow_source.networks import PUBNET_PASSPHRASE, TESTNET_PASSPHRASE
from stellar_arrow_source.real_ledgers import RealLedgers
from stellar_arrow_source.retrying import RetryPolicy
from stellar_arrow_source.source_config import SourceConfig
from stellar_common.ledger_schema import STELLAR_LEDGER_SCHEMA
from stellar_sdk import xdr

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stellar"
PUBNET = FIXTURES / "pubnet-53312000"
TESTNET = FIXTURES / "testnet-testbucket"
TESTNET_PARTITION = "FFFFFFFF--0-63999"
FAST = RetryPolicy(attempts=2, base_seconds=0.01, cap_seconds=0.02)


def reader(
    url: Path | str, passphrase: str, stopping: threading.Event | None = None
) -> DataStoreReader:
    return DataStoreReader(
        str(url), passphrase, retry=FAST, stopping=stopping or threading.Event(), poll_seconds=0.05
    )


def ledgers(store: DataStoreReader, first: int, last: int | None) -> Iterator[dict[str, object]]:
    real = RealLedgers(store, DecodePool(workers=0, window=2))
    for batch in real.batches(first, last):
        yield from batch.to_pylist()


def store_copy(tmp_path: Path, ledgers_kept: tuple[int, ...] = (997, 998, 999)) -> Path:
    store = tmp_path / "store"
    (store / TESTNET_PARTITION).mkdir(parents=True)
    shutil.copy(TESTNET / ".config.json", store)
    for ledger in ledgers_kept:
        name = f"{0xFFFFFFFF - ledger:08X}--{ledger}.xdr.zst"
        shutil.copy(TESTNET / TESTNET_PARTITION / name, store / TESTNET_PARTITION / name)
    return store


def test_object_keys_are_the_ones_galexie_writes() -> None:
    pubnet = Manifest(PUBNET_PASSPHRASE, ledgers_per_batch=1, batches_per_partition=64000)
    assert pubnet.object_key(53312000, "zstd") == (
        "FCD285FF--53312000-53375999/FCD285FF--53312000.xdr.zstd"
    )
    assert pubnet.object_key(999) == "FFFFFFFF--0-63999/FFFFFC18--999.xdr.zst"
    batched = Manifest(TESTNET_PASSPHRASE, ledgers_per_batch=64, batches_per_partition=10)
    assert batched.object_key(100) == "FFFFFFFF--0-639/FFFFFFBF--64-127.xdr.zst"
    assert batched.object_key(640) == "FFFFFD7F--640-1279/FFFFFD7F--640-703.xdr.zst"
    flat = Manifest(TESTNET_PASSPHRASE, ledgers_per_batch=1, batches_per_partition=1)
    assert flat.object_key(5) == "FFFFFFFA--5.xdr.zst"


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (b"not json", "not JSON"),
        (b'{"ledgersPerBatch": 1}', "networkPassphrase is missing"),
        (b'{"networkPassphrase": "x", "ledgersPerBatch": 0}', "ledgersPerBatch=0"),
        (b'{"networkPassphrase": "x", "ledgersPerBatch": 1, "compression": "gzip"}', "zstd"),
    ],
)
def test_a_bad_manifest_is_named(manifest: bytes, message: str) -> None:
    with pytest.raises(LedgerDataError, match=message) as caught:
        Manifest.parse(manifest, "store/.config.json")
    assert "store/.config.json" in str(caught.value)


def test_the_pubnet_ledger_carries_what_synthetic_ledgers_carry() -> None:
    (row,) = ledgers(reader(PUBNET, PUBNET_PASSPHRASE), 53312000, 53312000)
    assert row["sequence"] == 53312000
    assert row["hash"] == "2a56300b28dd50abf3776786a69de1d8ffe068355d8d2aee4643389f21d7b13a"
    assert row["protocol_version"] == 21
    assert row["transaction_count"] == 163
    assert row["successful_transaction_count"] + row["failed_transaction_count"] == 163
    assert row["base_fee"] == 100
    transactions = row["transactions"]
    assert isinstance(transactions, list) and len(transactions) == 163
    assert row["operation_count"] == sum(tx["operation_count"] for tx in transactions)
    assert row["total_fees"] == sum(tx["fee_charged"] for tx in transactions)
    kinds = {op["type"] for tx in transactions for op in tx["operations"]}
    assert {"payment", "path_payment_strict_send", "manage_sell_offer"} <= kinds
    meta = xdr.LedgerCloseMeta.from_xdr_bytes(row["ledger_close_meta"])  # type: ignore[arg-type]
    assert meta.v1 is not None and meta.v1.ledger_header.header.ledger_seq.uint32 == 53312000


def test_testnet_ledgers_come_in_order_and_chain_by_hash() -> None:
    rows = list(ledgers(reader(TESTNET, TESTNET_PASSPHRASE), 997, 999))
    assert [r["sequence"] for r in rows] == [997, 998, 999]
    assert rows[1]["previous_hash"] == rows[0]["hash"]
    assert rows[2]["previous_hash"] == rows[1]["hash"]
    assert [r["protocol_version"] for r in rows] == [20, 20, 20]


def test_a_range_starting_inside_the_store_starts_exactly_there() -> None:
    assert [r["sequence"] for r in ledgers(reader(TESTNET, TESTNET_PASSPHRASE), 998, 999)] == [
        998,
        999,
    ]


def test_a_store_of_another_network_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="holds testnet ledgers, not pubnet"):
        reader(TESTNET, PUBNET_PASSPHRASE)


def test_a_folder_without_manifest_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no \.config\.json there"):
        reader(tmp_path, PUBNET_PASSPHRASE)


def test_a_missing_ledger_names_its_key(tmp_path: Path) -> None:
    store = store_copy(tmp_path, (997, 999))
    with pytest.raises(LedgerNotFound, match=r"ledger 998: no object .*FFFFFC19--998\.xdr\.zst"):
        list(ledgers(reader(store, TESTNET_PASSPHRASE), 997, 999))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) // 2], "truncated zstd"),
        (lambda data: data[:20] + bytes(len(data) - 20), "cannot decode"),
    ],
)
def test_a_damaged_file_names_the_ledger_and_key(
    tmp_path: Path, damage: object, message: str
) -> None:
    store = store_copy(tmp_path)
    path = store / TESTNET_PARTITION / "FFFFFC19--998.xdr.zst"
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(LedgerDataError, match=message) as caught:
        list(ledgers(reader(store, TESTNET_PASSPHRASE), 997, 999))
    assert "ledger 998" in str(caught.value) and "FFFFFC19--998.xdr.zst" in str(caught.value)


def test_a_file_holding_another_ledger_is_refused(tmp_path: Path) -> None:
    store = store_copy(tmp_path, (997,))
    partition = store / TESTNET_PARTITION
    shutil.copy(partition / "FFFFFC1A--997.xdr.zst", partition / "FFFFFC19--998.xdr.zst")
    with pytest.raises(LedgerDataError, match=r"ledger 998 .*997-997"):
        list(ledgers(reader(store, TESTNET_PASSPHRASE), 998, 998))


def test_following_waits_for_files_not_written_yet(tmp_path: Path) -> None:
    store = store_copy(tmp_path, (997,))
    stopping = threading.Event()
    seen: list[int] = []
    failures: list[BaseException] = []

    def follow() -> None:
        try:
            for row in ledgers(reader(store, TESTNET_PASSPHRASE, stopping), 997, None):
                seen.append(int(row["sequence"]))  # type: ignore[call-overload]
        except BaseException as e:
            failures.append(e)

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    try:
        wait_for(lambda: seen == [997], 30, "ledger 997")
        for ledger in (998, 999):
            name = f"{0xFFFFFFFF - ledger:08X}--{ledger}.xdr.zst"
            shutil.copy(TESTNET / TESTNET_PARTITION / name, store / TESTNET_PARTITION / name)
        wait_for(lambda: seen == [997, 998, 999], 30, "ledgers 998 and 999 once written")
    finally:
        stopping.set()
        follower.join(10)
    assert not follower.is_alive() and not failures


def test_decoded_rows_match_the_schema() -> None:
    store = reader(TESTNET, TESTNET_PASSPHRASE)
    job = next(store.jobs(997, 997))
    assert decode_job(job).schema.equals(STELLAR_LEDGER_SCHEMA)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"backend": "datastore", "network": "pubnet"}, "config.datastore_url is required"),
        ({"backend": "datastore", "datastore_url": "x"}, "config.network is required"),
        ({"backend": "rpc", "network": "testnet", "rpc_url": "localhost"}, "config.rpc_url"),
        ({"backend": "nope"}, "config.backend='nope'"),
    ],
)
def test_config_errors_name_the_key(config: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SourceConfig.parse(config)


def test_a_network_name_or_passphrase_is_accepted() -> None:
    named = SourceConfig.parse({"backend": "datastore", "datastore_url": "x", "network": "pubnet"})
    spelled = SourceConfig.parse(
        {"backend": "rpc", "rpc_url": "http://h", "network": TESTNET_PASSPHRASE}
    )
    assert named.real is not None and named.real.network_passphrase == PUBNET_PASSPHRASE
    assert spelled.real is not None and spelled.real.network_passphrase == TESTNET_PASSPHRASE


def test_source_errors_are_flowctl_errors() -> None:
    from flowctl.errors import FlowctlError

    assert issubclass(LedgerSourceError, FlowctlError)
