"""The spec's `ready:`: when the runner counts a started component as ready.

Written as one of `registered`, `tcp`, `started`, or `{http: /path}`; held as a frozen
`ReadyCheck`. Left out, the runner picks by the rule in `READY_DESCRIPTION` (see
`effective_ready`), so a spec only names it for a program the rule does not fit: a
plain program (no flowctl SDK) under a controller never registers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema


class ReadyKind(StrEnum):
    REGISTERED = "registered"
    TCP = "tcp"
    HTTP = "http"
    STARTED = "started"


READY_DESCRIPTION = (
    "When the component counts as ready (its dependents start after that): "
    "'registered' (it registered with the controller: the flowctl SDK does it), "
    "'tcp' (its endpoint accepts connections), {http: /health} (that path on its "
    "health_port answers 2xx) or 'started' (as soon as its process runs). "
    "Left out: 'registered' when the controller is enabled (embedded, or external and "
    "answering) and its protocol is not none, else 'tcp' when it has an endpoint, else "
    "'started'. A program that does "
    "not use the flowctl SDK never registers: give it tcp, http or started. Heartbeat "
    "liveness (restart after heartbeat_ttl without a heartbeat) applies to components that "
    "registered."
)


@dataclass(frozen=True)
class ReadyCheck:
    kind: ReadyKind
    path: str | None = None
    """The HTTP path probed (kind http only)."""

    def describe(self) -> str:
        return f"{{http: {self.path}}}" if self.kind is ReadyKind.HTTP else self.kind.value


_CHOICES = "registered, tcp, started or {http: /health}"


def parse_ready(value: Any) -> Any:
    """A ReadyCheck from what the spec says; ValueError naming the accepted forms."""
    if isinstance(value, ReadyCheck) or value is None:
        return value
    if isinstance(value, str) and value in (k.value for k in ReadyKind):
        if value == ReadyKind.HTTP:
            raise ValueError("http needs the path it probes: write {http: /health}")
        return ReadyCheck(ReadyKind(value))
    if isinstance(value, dict) and list(value) == ["http"]:
        path = value["http"]
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"the http path must start with '/', like /health; got {path!r}")
        return ReadyCheck(ReadyKind.HTTP, path)
    if isinstance(value, dict):
        shown = "a mapping with keys " + ", ".join(map(str, value))
    else:
        shown = repr(value)
    raise ValueError(f"must be {_CHOICES}; got {shown}")


def _serialise(check: ReadyCheck) -> Any:
    return {"http": check.path} if check.kind is ReadyKind.HTTP else check.kind.value


_JSON_SCHEMA = {
    "oneOf": [
        {"enum": [ReadyKind.REGISTERED.value, ReadyKind.TCP.value, ReadyKind.STARTED.value]},
        {
            "type": "object",
            "properties": {"http": {"type": "string", "pattern": "^/", "examples": ["/health"]}},
            "required": ["http"],
            "additionalProperties": False,
        },
    ]
}

Ready = Annotated[
    ReadyCheck,
    BeforeValidator(parse_ready),
    PlainSerializer(_serialise),
    WithJsonSchema(_JSON_SCHEMA),
]
