"""The spec's `Duration`: written `250ms`, `10s`, `5m`, `1h`, held as float seconds.

Parsed by flowctl's one duration parser in its strict form: the spec requires the unit,
so a bare `10` is refused rather than guessed. Serialised back in its shortest spelling.
"""

from __future__ import annotations

from typing import Annotated

from flowctl.durations import DURATION_PATTERN, EXAMPLES, format_duration, parse_duration
from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": list(EXAMPLES)}),
]
