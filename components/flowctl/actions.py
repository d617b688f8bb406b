"""Calling a JSON Flight action of a component, from another component or a test.

Every flowctl component answers actions (`get_status`, `health`, its own) with one
Flight result holding a JSON object, and reads an optional JSON object as the body
(`flowctl.flight_service`). This is the client side of that convention, written once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pyarrow.flight as flight

from flowctl import cancelled_calls
from flowctl.errors import FlowctlError


def call_action(
    client: flight.FlightClient,
    action: str,
    body: Mapping[str, Any] | None = None,
    *,
    timeout_seconds: float | None = None,
) -> dict[str, Any]:
    """The JSON object `action` answers ({} when it answers nothing).

    Flight errors (the server refused, is down, timed out) propagate as they are; an
    answer that is not a JSON object raises FlowctlError.
    """
    payload = json.dumps(dict(body)).encode() if body else b""
    options = flight.FlightCallOptions(timeout=timeout_seconds)
    results = cancelled_calls.do_action(client, flight.Action(action, payload), options)
    if not results:
        return {}
    try:
        value = json.loads(results[0].body.to_pybytes())
    except ValueError as e:
        raise FlowctlError(f"{action} answered something that is not JSON: {e}") from e
    if not isinstance(value, dict):
        raise FlowctlError(f"{action} answered {type(value).__name__}, not a JSON object")
    return value


def call_action_at(
    endpoint: str,
    action: str,
    body: Mapping[str, Any] | None = None,
    *,
    timeout_seconds: float | None = None,
) -> dict[str, Any]:
    """`call_action` on a client of its own to `endpoint` (host:port), closed after."""
    client = flight.FlightClient(f"grpc://{endpoint}")
    try:
        return call_action(client, action, body, timeout_seconds=timeout_seconds)
    finally:
        client.close()
