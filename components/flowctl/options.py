"""Typed reads of a component's `config` mapping, with errors that name the key.

`config` is free-form in the spec (each component defines its own keys), so every
component needs the same reads: an integer with a floor, a choice among names, a
boolean written the YAML way or as text... and an error that says `config.KEY=VALUE:
expected ...`, which run_component reports before exiting 2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from flowctl.errors import FlowctlError


class ConfigError(FlowctlError, ValueError):
    """A config key of the component has a value it cannot use."""


class MissingConfigError(ConfigError, KeyError):
    """A key read as `self.config[KEY]` that the spec's `config:` does not give."""

    def __str__(self) -> str:
        # KeyError's own str() is the repr of its argument: quotes around a whole sentence.
        return str(self.args[0])


class ComponentConfig(dict[str, Any]):
    """`self.config`: a plain dict, but a key it lacks, read as `config[KEY]`, raises a
    MissingConfigError naming the key and where it goes in the spec. run_component reports
    that in one line (exit 2), where a bare `KeyError: 'KEY'` traceback named neither the
    spec nor the fix. `.get()` and `in` are unchanged."""

    def __init__(self, values: Mapping[str, Any], component_id: str) -> None:
        super().__init__(values)
        self.component_id = component_id

    def __missing__(self, key: str) -> NoReturn:
        raise MissingConfigError(
            f"config.{key} is not set: add it under spec.components.{self.component_id}.config"
            " in the spec, or read it with a default (flowctl.options)"
        )


def where_to_fix(error: Exception, component_id: str) -> str:
    """Where the spec sets the value a ConfigError names (`config.KEY=...` alone does not
    say which component's config, nor that it is in the spec). A missing key's message
    names it already."""
    if isinstance(error, ConfigError) and not isinstance(error, MissingConfigError):
        return f" (set under spec.components.{component_id}.config in the spec)"
    return ""


def _fail(key: str, value: Any, expected: str) -> ConfigError:
    return ConfigError(f"config.{key}={value!r}: expected {expected}")


def integer(config: Mapping[str, Any], key: str, default: int, *, minimum: int = 0) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _fail(key, value, f"an integer >= {minimum}")
    try:
        number = int(value)
    except ValueError as e:
        raise _fail(key, value, f"an integer >= {minimum}") from e
    if number < minimum:
        raise _fail(key, value, f"an integer >= {minimum}")
    return number


def number(config: Mapping[str, Any], key: str, default: float, *, minimum: float = 0.0) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _fail(key, value, f"a number >= {minimum}")
    try:
        result = float(value)
    except ValueError as e:
        raise _fail(key, value, f"a number >= {minimum}") from e
    if not result >= minimum:
        raise _fail(key, value, f"a number >= {minimum}")
    return result


def text(config: Mapping[str, Any], key: str, default: str) -> str:
    value = config.get(key, default)
    if not isinstance(value, str):
        raise _fail(key, value, "a string")
    return value


def choice(config: Mapping[str, Any], key: str, default: str, choices: Sequence[str]) -> str:
    value = text(config, key, default)
    if value not in choices:
        raise _fail(key, value, "one of " + ", ".join(choices))
    return value


def boolean(config: Mapping[str, Any], key: str, default: bool) -> bool:
    value = config.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false", "yes", "no", "1", "0"}:
        return value.lower() in {"true", "yes", "1"}
    raise _fail(key, value, "true or false")


def string_list(
    config: Mapping[str, Any], key: str, default: Sequence[str], choices: Sequence[str]
) -> tuple[str, ...]:
    value = config.get(key, list(default))
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _fail(key, value, "a non-empty list of " + ", ".join(choices))
    unknown = [v for v in value if v not in choices]
    if unknown:
        raise _fail(key, value, "values among " + ", ".join(choices))
    return tuple(dict.fromkeys(value))
