"""flowctl.waits: waits and gRPC calls that end when the component stops."""

from __future__ import annotations

import threading

import grpc
from flowctl.waits import any_set, grpc_result, sleep_unless_stopped, wait_unless_stopped

HELD_SECONDS = 30.0  # longer than any test: a wait this long that returns was cut short


class PendingFuture:
    """A gRPC future whose answer comes when `answer` is set (never, by default)."""

    def __init__(self) -> None:
        self.answer: object = None
        self.answered = threading.Event()
        self.cancelled = False

    def result(self, timeout: float | None = None) -> object:
        if not self.answered.wait(timeout):
            raise grpc.FutureTimeoutError()
        return self.answer

    def cancel(self) -> bool:
        self.cancelled = True
        return True


def test_any_set_follows_every_event_and_skips_none() -> None:
    first, second = threading.Event(), threading.Event()
    stopped = any_set((first, None, second))
    assert not stopped()
    second.set()
    assert stopped()


def test_a_wait_ends_when_the_stop_comes_from_another_thread() -> None:
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    assert sleep_unless_stopped(HELD_SECONDS, stop.is_set)  # returns: cut short
    assert stop.is_set()


def test_a_wait_ends_on_its_event_or_runs_out() -> None:
    event = threading.Event()
    assert not wait_unless_stopped(event, 0.01, lambda: False)
    event.set()
    assert wait_unless_stopped(event, None, lambda: False)


def test_a_pending_grpc_call_is_cancelled_on_stop() -> None:
    future = PendingFuture()
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    assert grpc_result(future, stop.is_set) is None  # type: ignore[arg-type]
    assert future.cancelled


def test_an_answered_grpc_call_gives_its_answer() -> None:
    future = PendingFuture()
    future.answer = "ack"
    future.answered.set()
    assert grpc_result(future, lambda: False) == "ack"  # type: ignore[arg-type]
    assert not future.cancelled
