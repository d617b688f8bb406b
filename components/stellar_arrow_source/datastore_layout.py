"""The SEP-54 ledger data store layout (what Galexie writes, stellar/go `support/datastore`).

A store holds a `.config.json` manifest and one object per batch of ledgers: a
zstd-compressed XDR `LedgerCloseMetaBatch`. The key of the object holding ledger L is
computed from L alone (DataStoreSchema.GetObjectKeyFromSequenceNumber):

    file start  = L - L % ledgersPerBatch, file end = start + ledgersPerBatch - 1
    partition   = ledgersPerBatch x batchesPerPartition ledgers, when batchesPerPartition > 1:
                  folder "%08X--%d-%d/" % (0xFFFFFFFF - partition start, start, end)
    file        = "%08X--%d" % (0xFFFFFFFF - file start, file start), then "-%d" % file end
                  when a file holds more than one ledger, then ".xdr." + extension

The extension is `zst`; stores written before stellar/go switched names use `zstd`, so
a reader tries both (stellar/go finds it by listing the store).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stellar_arrow_source.errors import LedgerDataError

MANIFEST_NAME = ".config.json"
EXTENSIONS = ("zst", "zstd")  # the current name first
_MAX_UINT32 = 0xFFFFFFFF


@dataclass(frozen=True)
class Manifest:
    """The `.config.json` of a store."""

    network_passphrase: str
    ledgers_per_batch: int
    batches_per_partition: int
    compression: str = "zstd"
    version: str = ""

    @classmethod
    def parse(cls, raw: bytes, where: str) -> Manifest:
        """The manifest in `raw`, read from `where` (named in errors)."""
        try:
            value: Any = json.loads(raw)
        except ValueError as e:
            raise LedgerDataError(f"{where}: the store manifest is not JSON ({e})") from e
        if not isinstance(value, dict):
            raise LedgerDataError(f"{where}: the store manifest is not a JSON object")
        passphrase = value.get("networkPassphrase")
        per_batch = value.get("ledgersPerBatch")
        per_partition = value.get("batchesPerPartition", 1)
        compression = value.get("compression", "zstd")
        if not isinstance(passphrase, str) or not passphrase:
            raise LedgerDataError(f"{where}: networkPassphrase is missing from the manifest")
        for key, number in (("ledgersPerBatch", per_batch), ("batchesPerPartition", per_partition)):
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise LedgerDataError(f"{where}: {key}={number!r}, expected an integer >= 1")
        if compression != "zstd":
            raise LedgerDataError(
                f"{where}: compression={compression!r}; this source reads zstd stores only"
            )
        assert isinstance(per_batch, int) and isinstance(per_partition, int)
        return cls(passphrase, per_batch, per_partition, compression, str(value.get("version", "")))

    def file_bounds(self, ledger: int) -> tuple[int, int]:
        """First and last ledger of the file that holds `ledger`."""
        start = ledger - ledger % self.ledgers_per_batch
        return start, start + self.ledgers_per_batch - 1

    def object_key(self, ledger: int, extension: str = EXTENSIONS[0]) -> str:
        """The key, relative to the store's root, of the object that holds `ledger`."""
        key = ""
        if self.batches_per_partition > 1:
            size = self.ledgers_per_batch * self.batches_per_partition
            start = ledger - ledger % size
            key = f"{_MAX_UINT32 - start:08X}--{start}-{start + size - 1}/"
        first, last = self.file_bounds(ledger)
        key += f"{_MAX_UINT32 - first:08X}--{first}"
        if last != first:
            key += f"-{last}"
        return f"{key}.xdr.{extension}"
