"""flowctl.actions: the client side of a component's JSON Flight actions, with a fake client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from flowctl.actions import call_action
from flowctl.errors import FlowctlError


@dataclass
class FakeClient:
    """Answers every action with `answers`, and remembers what it was asked."""

    answers: list[bytes]
    asked: list[tuple[str, bytes, float | None]] = field(default_factory=list)

    def do_action(
        self, action: flight.Action, options: flight.FlightCallOptions
    ) -> Iterator[flight.Result]:
        self.asked.append((action.type, action.body.to_pybytes(), options.timeout))
        return iter(flight.Result(pa.py_buffer(answer)) for answer in self.answers)


def call(
    client: FakeClient, action: str, body: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    return call_action(client, action, body, **kwargs)


def test_an_action_answers_its_json_object_and_sends_its_body() -> None:
    client = FakeClient([json.dumps({"current_ledger": 42}).encode()])
    assert call(client, "get_current_ledger", timeout_seconds=2.0) == {"current_ledger": 42}
    assert call(client, "echo", {"say": "hi"}) == {"current_ledger": 42}
    no_timeout = -1.0  # how pyarrow's FlightCallOptions reads timeout=None
    assert client.asked == [
        ("get_current_ledger", b"", 2.0),
        ("echo", b'{"say": "hi"}', no_timeout),
    ]


def test_an_action_that_answers_nothing_answers_an_empty_object() -> None:
    assert call(FakeClient([]), "get_status") == {}


@pytest.mark.parametrize(
    ("answer", "message"), [(b"[1, 2]", "answered list"), (b"{oops", "not JSON")]
)
def test_an_answer_that_is_not_a_json_object_is_a_flowctl_error(
    answer: bytes, message: str
) -> None:
    with pytest.raises(FlowctlError, match=message):
        call(FakeClient([answer]), "get_status")
