"""A bug in a user's component (an exception that is not a FlowctlError, raised by its
`stream()` or one of its actions), over real Flight: its traceback goes to the component's
own log, and the client gets a one-line reason, not a Python traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from _sdk_harness import component_settings, serving
from flowctl import Component, StreamTicket
from flowctl.flight_service import Action

SCHEMA = pa.schema([("seq", pa.int64())])


class Sensor(Component):
    """One batch, then its sensor fails; its `calibrate` action fails too."""

    def schema(self) -> pa.Schema:
        return SCHEMA

    def stream(self, ticket: StreamTicket) -> Iterator[pa.RecordBatch]:
        yield pa.record_batch([pa.array([1, 2], pa.int64())], schema=SCHEMA)
        raise OSError("cannot read sensor 57")

    def actions(self) -> Mapping[str, Action]:
        return {"calibrate": lambda body: {"offset": body["offset"]}}


@pytest.fixture
def sensor() -> Iterator[Sensor]:
    with serving(Sensor(component_settings(None, component_id="sensor"))) as component:
        yield component


def test_a_failing_stream_logs_its_traceback_and_tells_the_reader_why(
    sensor: Sensor, caplog: pytest.LogCaptureFixture
) -> None:
    client = flight.FlightClient(f"grpc://{sensor.endpoint}")
    reader = client.do_get(StreamTicket("default").to_flight())
    assert reader.read_chunk().data.num_rows == 2
    with (
        caplog.at_level(logging.ERROR, logger="sensor"),
        pytest.raises(flight.FlightServerError) as failed,
    ):
        reader.read_chunk()
    assert "stream() failed: OSError('cannot read sensor 57')" in str(failed.value)
    assert "Traceback" not in str(failed.value)
    (record,) = [r for r in caplog.records if r.name == "sensor"]
    assert record.getMessage() == "stream() failed"
    assert record.exc_info is not None and "cannot read sensor 57" in str(record.exc_info[1])
    client.close()


def test_a_failing_action_logs_its_traceback_and_answers_why(
    sensor: Sensor, caplog: pytest.LogCaptureFixture
) -> None:
    client = flight.FlightClient(f"grpc://{sensor.endpoint}")
    with (
        caplog.at_level(logging.ERROR, logger="sensor"),
        pytest.raises(flight.FlightServerError) as failed,
    ):
        list(client.do_action(flight.Action("calibrate", b'{"gain": 2}')))
    assert "calibrate failed: KeyError('offset')" in str(failed.value)
    assert "Traceback" not in str(failed.value)
    (record,) = [r for r in caplog.records if r.name == "sensor"]
    assert record.getMessage() == "action calibrate failed" and record.exc_info is not None
    client.close()
