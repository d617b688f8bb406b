"""Read a SEP-54 ledger data store: a local folder or any URL fsspec opens.

`DataStoreReader(url, passphrase)` reads the `.config.json` manifest and checks that the
store holds the network asked for. `jobs(first, last)` yields one DecodeJob per object
covering first..last, fetched `prefetch` objects ahead on threads (object stores answer
in tens of milliseconds; decoding overlaps the next fetches).

A missing object is an error naming the ledger and key (a store has no holes), except
when following the tip (`last` None): then the object is not written yet, and the reader
waits for it, polling with backoff up to `poll_seconds`. Network errors are retried with
backoff (RetryPolicy) before they become LedgerSourceUnavailable.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import fsspec  # type: ignore[import-untyped]
from flowctl.backoff import Backoff
from flowctl.options import ConfigError

from stellar_arrow_source.datastore_layout import EXTENSIONS, MANIFEST_NAME, Manifest
from stellar_arrow_source.errors import LedgerNotFound, LedgerSourceError
from stellar_arrow_source.ledger_decode import DecodeJob
from stellar_arrow_source.networks import network_name
from stellar_arrow_source.retrying import RetryPolicy, Stopped, retrying

log = logging.getLogger("stellar.datastore")
_WAIT_LOG_SECONDS = 60.0  # while following, say once a minute what is awaited


@dataclass(frozen=True)
class StoreObject:
    first: int
    last: int
    key: str
    data: bytes | None  # None: not in the store (yet)


class DataStoreReader:
    def __init__(
        self,
        url: str,
        passphrase: str,
        *,
        retry: RetryPolicy,
        stopping: threading.Event,
        prefetch: int = 4,
        poll_seconds: float = 5.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.passphrase = passphrase
        self.retry = retry
        self.stopping = stopping
        self.prefetch = max(1, prefetch)
        self.poll_seconds = poll_seconds
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url)
        except (ValueError, ImportError) as e:
            raise ConfigError(f"config.datastore_url={url!r}: cannot be opened ({e})") from e
        self.manifest = self._read_manifest()
        self._extension: str | None = None

    def _read_manifest(self) -> Manifest:
        where = f"{self.url}/{MANIFEST_NAME}"
        try:
            raw = retrying(lambda: self._cat(MANIFEST_NAME), where, self.retry, self.stopping)
        except FileNotFoundError:
            raise ConfigError(
                f"config.datastore_url={self.url!r}: no {MANIFEST_NAME} there; is it the "
                "root of a ledger data store (the folder Galexie writes to)?"
            ) from None
        manifest = Manifest.parse(raw, where)
        if manifest.network_passphrase != self.passphrase:
            raise ConfigError(
                f"config.network: the store {self.url!r} holds "
                f"{network_name(manifest.network_passphrase)} ledgers, not "
                f"{network_name(self.passphrase)}; set config.network to match the store"
            )
        return manifest

    def where(self, key: str) -> str:
        return f"{self.url}/{key}"

    def jobs(self, first: int, last: int | None) -> Iterator[DecodeJob]:
        """One job per object from the one holding `first`, through `last` (None: follow)."""
        starts = self._file_starts(first, last)
        with ThreadPoolExecutor(self.prefetch, thread_name_prefix="datastore") as fetchers:
            ahead: collections.deque[Future[StoreObject]] = collections.deque()
            try:
                while True:
                    while len(ahead) < self.prefetch:
                        start = next(starts, None)
                        if start is None:
                            break
                        ahead.append(fetchers.submit(self._fetch, start))
                    if not ahead:
                        return
                    stored = ahead.popleft().result()
                    if stored.data is None:
                        if last is not None:
                            raise LedgerNotFound(
                                f"ledger {stored.first}: no object {self.where(stored.key)} "
                                f"(also looked for .xdr.{'/.xdr.'.join(EXTENSIONS)})"
                            )
                        # Following: the objects fetched ahead are not written either.
                        for future in ahead:
                            future.cancel()
                        ahead.clear()
                        stored = self._await(stored)
                        starts = self._file_starts(stored.last + 1, last)
                    yield DecodeJob(
                        stored.first,
                        stored.last,
                        self.where(stored.key),
                        self.passphrase,
                        compressed=stored.data,
                    )
            finally:
                for future in ahead:
                    future.cancel()

    def _file_starts(self, first: int, last: int | None) -> Iterator[int]:
        start = self.manifest.file_bounds(first)[0]
        while last is None or start <= last:
            yield start
            start += self.manifest.ledgers_per_batch

    def _await(self, missing: StoreObject) -> StoreObject:
        """Poll for an object not written yet, until it is (or the component stops)."""
        backoff = Backoff(base_seconds=0.2, cap_seconds=self.poll_seconds)
        logged_at = 0.0
        while True:
            now = time.monotonic()
            if now - logged_at >= _WAIT_LOG_SECONDS:
                log.info("waiting for ledger %d (%s)", missing.first, self.where(missing.key))
                logged_at = now
            if self.stopping.wait(backoff.next_delay()):
                raise Stopped(f"ledger {missing.first}")
            stored = self._fetch(missing.first)
            if stored.data is not None:
                return stored

    def _fetch(self, start: int) -> StoreObject:
        """The object that starts at ledger `start`; data None when the store has none."""
        first, last = self.manifest.file_bounds(start)
        extensions = (self._extension,) if self._extension else EXTENSIONS
        for extension in extensions:
            key = self.manifest.object_key(start, extension)
            try:
                data = retrying(
                    lambda key=key: self._cat(key),  # type: ignore[misc]
                    f"ledger {start}: {self.where(key)}",
                    self.retry,
                    self.stopping,
                )
            except FileNotFoundError:
                continue
            self._extension = extension
            return StoreObject(first, last, key, data)
        return StoreObject(first, last, self.manifest.object_key(start, extensions[0]), None)

    def _cat(self, key: str) -> bytes:
        try:
            data: Any = self.fs.cat_file(f"{self.root}/{key}")
        except PermissionError as e:  # a FileNotFoundError goes up to the caller
            raise LedgerSourceError(f"{self.where(key)}: permission denied ({e})") from None
        return bytes(data)
