"""What a service registered as, read from either API into one validated, bounded value.

Both APIs land here so that the rest of the controller never knows which one a service
used. Real clients name things their own way, and each is read as it is meant:

- endpoint: metadata `endpoint` (flowrun SDK), else the first of `endpoints` (the legacy
  obsrvr client, comma-separated), else `ComponentInfo.endpoint` (flowctl.v1).
- upstream links: metadata `inputs` (component ids, flowrun SDK) and `source_endpoint`
  (the endpoint of the upstream, legacy obsrvr client), which the backpressure decision
  matches against the endpoints services registered (`endpoint_key`). A service that
  names neither (flowctl-sdk sends no link at all) reads from whoever produces its input
  event types (`event_type_key`).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import islice

from flowctl import control_plane_pb2 as cp
from flowctl.v1 import control_plane_pb2 as v1

from flowrun.controller.sanitize import (
    MAX_INPUTS,
    MAX_TEXT_LENGTH,
    clean_metadata,
    clean_text,
    parse_inputs,
)

ENDPOINT_KEY = "endpoint"
ENDPOINTS_KEY = "endpoints"
INPUTS_KEY = "inputs"
SOURCE_ENDPOINT_KEY = "source_endpoint"
TOPIC_VERSION_SUFFIX = ".v1"
# The two APIs number their types alike (SOURCE 1, PROCESSOR 2, SINK/CONSUMER 3); only the
# legacy one has PIPELINE (4), which flowctl.v1 shows as unspecified.
_KNOWN_TYPES = frozenset(cp.ServiceType.values())
_LOOPBACK_HOSTS = frozenset({"", "localhost", "127.0.0.1", "0.0.0.0", "::", "::1", "[::]", "[::1]"})
_ENDPOINT_MARK = "@"  # endpoint and event type keys cannot collide with component ids
_EVENT_TYPE_MARK = "#"


class RegistrationError(Exception):
    """A registration the controller refuses as sent (answered INVALID_ARGUMENT)."""


class Api(enum.Enum):
    LEGACY = "flowctl"
    V1 = "flowctl.v1"


@dataclass(frozen=True, slots=True)
class Registration:
    """A validated, bounded copy of a ServiceInfo or a flowctl.v1 RegisterRequest."""

    service_id: str
    component_id: str
    service_type: int
    endpoint: str
    max_inflight: int
    metadata: dict[str, str]
    inputs: tuple[str, ...]
    """Upstream names: component ids, and `endpoint_key`s of upstream endpoints."""
    health_endpoint: str = ""
    input_event_types: tuple[str, ...] = ()
    output_event_types: tuple[str, ...] = ()
    api: Api = Api.LEGACY
    id_assigned: bool = False
    """The client named no id (the older obsrvr client): the controller made one up."""
    name: str = ""
    description: str = ""
    version: str = ""

    @classmethod
    def from_proto(cls, info: cp.ServiceInfo) -> Registration:
        """Read a legacy ServiceInfo; an empty service id gets one assigned (the ack
        returns it). A service id too long is refused, as in `from_v1`: cut, it could be
        another service's."""
        metadata = clean_metadata(info.metadata)
        service_id = _checked_id("service_id", info.service_id) or _assigned_id(info.component_id)
        return cls(
            service_id=service_id,
            component_id=clean_text(info.component_id) or service_id,
            service_type=_known_type(info.service_type),
            endpoint=endpoint_of(metadata),
            max_inflight=max(0, info.max_inflight),
            metadata=metadata,
            inputs=upstream_of(metadata, _texts(info.input_event_types)),
            health_endpoint=clean_text(info.health_endpoint),
            input_event_types=_texts(info.input_event_types),
            output_event_types=_texts(info.output_event_types),
            id_assigned=not clean_text(info.service_id) and not clean_text(info.component_id),
        )

    @classmethod
    def from_v1(cls, request: v1.RegisterRequest) -> Registration:
        """Read a flowctl.v1 RegisterRequest. The service id is the id the client asked
        for (`component_id`, else `component.id`): a flowctl-sdk sink ignores the response
        and heartbeats under the id it asked for, so an id too long is refused rather than
        cut: the cut id would be another service's, and its heartbeats NOT_FOUND."""
        component = request.component
        metadata = clean_metadata(component.metadata)
        service_id = _asked_id(request) or _assigned_id(component.name)
        return cls(
            service_id=service_id,
            component_id=service_id,
            service_type=_known_type(component.type),
            endpoint=endpoint_of(metadata) or clean_text(component.endpoint),
            max_inflight=0,
            metadata=metadata,
            inputs=upstream_of(metadata, _texts(component.input_event_types)),
            input_event_types=_texts(component.input_event_types),
            output_event_types=_texts(component.output_event_types),
            api=Api.V1,
            name=clean_text(component.name),
            description=clean_text(component.description),
            version=clean_text(component.version),
        )

    def topic_names(self) -> list[str]:
        """The topics flowctl's server assigns: one per event type the service produces
        (a sink: consumes), as `<event type>.v1`."""
        event_types = self.output_event_types or self.input_event_types
        return [f"{event_type}{TOPIC_VERSION_SUFFIX}" for event_type in event_types]

    def names(self) -> tuple[str, ...]:
        """The names a downstream service may list as its input: component id, endpoint and
        the event types it produces."""
        key = endpoint_key(self.endpoint)
        produced = (event_type_key(event_type) for event_type in self.output_event_types)
        return (self.component_id, *((key,) if key else ()), *produced)


def endpoint_of(metadata: Mapping[str, str]) -> str:
    explicit = metadata.get(ENDPOINT_KEY, "").strip()
    if explicit:
        return explicit
    listed = parse_inputs(metadata.get(ENDPOINTS_KEY, ""))
    return listed[0] if listed else ""


def upstream_of(
    metadata: Mapping[str, str], input_event_types: tuple[str, ...] = ()
) -> tuple[str, ...]:
    names = list(parse_inputs(metadata.get(INPUTS_KEY, "")))
    for endpoint in parse_inputs(metadata.get(SOURCE_ENDPOINT_KEY, "")):
        if key := endpoint_key(endpoint):
            names.append(key)
    if not names:
        names = [event_type_key(event_type) for event_type in input_event_types if event_type]
    return tuple(dict.fromkeys(names))[:MAX_INPUTS]


def event_type_key(event_type: str) -> str:
    return f"{_EVENT_TYPE_MARK}{event_type}"


class EndpointClaims:
    """Which component the runner started on which endpoint. A registration that names no
    id (the older obsrvr client registers with an empty one and its address in metadata)
    is the component started where it serves, so the runner finds it by its spec name."""

    def __init__(self) -> None:
        self._by_endpoint: dict[str, str] = {}

    def claim(self, component_id: str, endpoint: str) -> None:
        if key := endpoint_key(endpoint):
            self._by_endpoint[key] = component_id

    def component_of(self, endpoint: str, *, id_assigned: bool) -> str | None:
        """The component a registration on `endpoint` is, when it named no id."""
        return self._by_endpoint.get(endpoint_key(endpoint)) if id_assigned else None


def endpoint_key(endpoint: str) -> str:
    """One spelling per endpoint, so `source_endpoint: localhost:8815` finds the service
    that registered `grpc://127.0.0.1:8815` or `:8815`: scheme and path dropped, every
    loopback or wildcard host read as the same host. "" when there is no port."""
    text = endpoint.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0]
    host, separator, port = text.rpartition(":")
    if not separator or not port.isdigit():
        return ""
    host = host.lower()
    if host in _LOOPBACK_HOSTS:
        host = "localhost"
    return f"{_ENDPOINT_MARK}{host}:{int(port)}"


def _asked_id(request: v1.RegisterRequest) -> str:
    if request.component_id:
        return _checked_id("component_id", request.component_id)
    return _checked_id("component.id", request.component.id)


def _checked_id(field: str, asked: str) -> str:
    if len(asked) > MAX_TEXT_LENGTH:
        raise RegistrationError(
            f"{field} is {len(asked)} characters long, past the limit of {MAX_TEXT_LENGTH}:"
            " register with a shorter id"
        )
    return asked


def _known_type(service_type: int) -> int:
    return service_type if service_type in _KNOWN_TYPES else 0


def _assigned_id(prefix: str) -> str:
    return f"{clean_text(prefix) or 'service'}-{uuid.uuid4().hex[:8]}"


def _texts(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(clean_text(value) for value in islice(values, MAX_INPUTS))
