"""DirectiveWatcher.stop is prompt whatever the watcher is doing (a fake client and streams).

The real ControllerClient.stop sets `stopped`, then calls `watcher.stop(5.0)`. Here each test
puts the watcher in one state, lets a stop arrive (`stop(timeout=0)`: it does not wait), and
checks the thread ends well before the 5 s a real stop would wait for it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from flowctl import directives
from flowctl.directives import DirectiveWatcher
from polling import wait_for

PROMPT_SECONDS = 1.0  # a stop that is not prompt waits for the caller's timeout (5 s)
HELD_SECONDS = 30.0  # how long a fake blocks when nothing releases it: longer than any test


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__(code.name)
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


class FakeStream:
    """A WatchDirectives call: stays open until cancelled, or breaks at once with `breaks`."""

    def __init__(self, breaks: grpc.StatusCode | None = None) -> None:
        self.breaks = breaks
        self.reading = threading.Event()
        self.cancelled = threading.Event()

    def cancel(self) -> bool:
        self.cancelled.set()
        return True

    def __iter__(self) -> Iterator[Any]:
        self.reading.set()
        if self.breaks is not None:
            raise FakeRpcError(self.breaks)
        if not self.cancelled.wait(HELD_SECONDS):
            raise AssertionError("the stream was never cancelled")
        raise FakeRpcError(grpc.StatusCode.CANCELLED)
        yield  # an iterator: the loop above never gets here


class FakeClient:
    """What DirectiveWatcher uses of ControllerClient. `watch_stream` hands out `streams` in
    order; while `opening` is clear, it blocks (a stream being opened)."""

    def __init__(self, *streams: FakeStream, registered: bool = True) -> None:
        self.stopped = threading.Event()
        self.registered_event = threading.Event()
        if registered:
            self.registered_event.set()
        self.heartbeat_interval = 1.0
        self.streams = list(streams)
        self.opening = threading.Event()
        self.opening.set()
        self.in_watch_stream = threading.Event()
        self.component_stopping = threading.Event()

    def is_stopping(self) -> bool:
        return self.stopped.is_set() or self.component_stopping.is_set()

    def watch_stream(self) -> FakeStream:
        self.in_watch_stream.set()
        self.opening.wait(HELD_SECONDS)
        return self.streams.pop(0) if self.streams else FakeStream()


def started(client: FakeClient) -> DirectiveWatcher:
    watcher = DirectiveWatcher(client, on_policy=None)  # type: ignore[arg-type]
    watcher.start()
    return watcher


def stop_arrives(client: FakeClient, watcher: DirectiveWatcher) -> None:
    """What ControllerClient.stop does, without waiting for the thread."""
    client.stopped.set()
    watcher.stop(timeout=0)


def assert_ends_promptly(watcher: DirectiveWatcher) -> None:
    wait_for(
        lambda: not watcher.running,
        timeout=PROMPT_SECONDS,
        what="the directive thread to end after stop()",
        interval=0.01,
    )


def test_stop_while_waiting_for_registration() -> None:
    client = FakeClient(registered=False)
    watcher = started(client)
    assert watcher.running
    stop_arrives(client, watcher)
    assert_ends_promptly(watcher)
    assert not client.in_watch_stream.is_set()


def test_the_components_stop_ends_it_without_a_call_to_stop() -> None:
    """A SIGTERM sets the component's stopping event; the watcher sees it by itself."""
    client = FakeClient(registered=False)
    watcher = started(client)
    client.component_stopping.set()
    assert_ends_promptly(watcher)
    assert not client.in_watch_stream.is_set()


def test_stop_while_a_stream_is_being_opened() -> None:
    """The race: stop() finds no stream to cancel, then the stream being opened appears."""
    opened = FakeStream()
    client = FakeClient(opened)
    client.opening.clear()
    watcher = started(client)
    assert client.in_watch_stream.wait(HELD_SECONDS)
    stop_arrives(client, watcher)
    client.opening.set()
    assert_ends_promptly(watcher)
    assert opened.cancelled.is_set()


def test_stop_while_reading_a_stream() -> None:
    stream = FakeStream()
    client = FakeClient(stream)
    watcher = started(client)
    assert stream.reading.wait(HELD_SECONDS)
    stop_arrives(client, watcher)
    assert_ends_promptly(watcher)
    assert stream.cancelled.is_set()


def test_stop_while_backing_off_after_a_break(monkeypatch: pytest.MonkeyPatch) -> None:
    backing_off = threading.Event()

    class LongBackoff(directives.Backoff):
        def next_delay(self) -> float:
            backing_off.set()
            return HELD_SECONDS

    monkeypatch.setattr(directives, "Backoff", LongBackoff)
    client = FakeClient(FakeStream(breaks=grpc.StatusCode.UNAVAILABLE))
    watcher = started(client)
    assert backing_off.wait(HELD_SECONDS)
    stop_arrives(client, watcher)
    assert_ends_promptly(watcher)


def test_stop_after_the_controller_said_it_has_no_flow_control() -> None:
    stream = FakeStream(breaks=grpc.StatusCode.UNIMPLEMENTED)
    client = FakeClient(stream)
    watcher = started(client)
    assert stream.reading.wait(HELD_SECONDS)
    stop_arrives(client, watcher)
    assert_ends_promptly(watcher)
