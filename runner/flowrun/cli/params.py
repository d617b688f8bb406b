"""The arguments several commands share: SPEC, COMPONENT names (completed from the spec),
and `--since` moments.

SPEC refuses a directory with the one message the spec reader gives (`validate` and
`render` read the file through it too), so every command says the same thing. Completion
reads the spec with plain YAML, never the full model: it must be fast and must not fail.
"""

from __future__ import annotations

import datetime
import re
import time
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem


class SpecPath(click.ParamType):  # type: ignore[type-arg, unused-ignore]
    """The path of a spec file; it need not exist (a runner may serve a deleted spec)."""

    name = "spec"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Path:
        path = Path(value)
        try:
            unusable = path.is_dir()
        except OSError:  # a name too long, a loop of links: was a traceback in every command
            unusable = True
        if unusable:
            from flowrun.spec.files import read_text

            read_text(path, str(value))  # raises the SpecFileError that says why
        return path

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        return [CompletionItem(incomplete, type="file")]


SPEC_ARGUMENT = click.argument("spec", default="pipeline.yaml", type=SpecPath(), metavar="SPEC")


def spec_component_names(spec: Path) -> list[str]:
    """The component names of a spec file, in its order; [] if it cannot be read."""
    import yaml

    try:
        data = yaml.safe_load(spec.read_text(encoding="utf-8"))
        components = data["spec"]["components"]
    except (OSError, ValueError, yaml.YAMLError, TypeError, KeyError):
        return []
    return [str(name) for name in components] if isinstance(components, dict) else []


def _spec_of(ctx: click.Context) -> Path:
    value = ctx.params.get("spec")
    return Path(value) if value else Path("pipeline.yaml")


def complete_components(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion of a COMPONENT argument: the names in the spec."""
    names = spec_component_names(_spec_of(ctx))
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def complete_log_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Completion for `flowrun logs`: the components, and the runner's own log."""
    from flowrun.daemon.logread import RUNNER_LOG_NAME

    names = [*spec_component_names(_spec_of(ctx)), RUNNER_LOG_NAME]
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


class Since(click.ParamType):  # type: ignore[type-arg, unused-ignore]
    """A moment, as epoch seconds: a duration back from now (`10m`, `90s`, `1h`; `0s` is
    now itself, as in `docker logs --since`), a date and time (`2024-05-01T12:00:00`,
    `2024-05-01 12:00`, with or without an offset; local time without), or a time of today
    (`12:00`, `12:00:30`)."""

    name = "since"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip()
        moment = _moment(text, now=time.time())
        if moment is None:
            self.fail(
                f"{text!r} is neither a duration (10m, 90s, 1h; 0s for now) nor a time "
                "(2024-05-01T12:00:00, 12:00)",
                param,
                ctx,
            )
        return moment


def _moment(text: str, *, now: float) -> float | None:
    from flowctl.durations import UNIT_SECONDS, parse_duration
    from flowctl.errors import SettingsError

    try:
        return now - parse_duration(text)
    except SettingsError:
        pass
    # The spec's durations are intervals, never zero; back from now, zero is now itself:
    # `logs -f --since 0s` follows only what is written from here on.
    if re.fullmatch(rf"0+(\.0*)?\s*({'|'.join(UNIT_SECONDS)})", text):
        return now
    try:
        return datetime.datetime.fromisoformat(text).timestamp()  # naive: local time
    except ValueError:
        pass
    try:
        clock = datetime.time.fromisoformat(text)
    except ValueError:
        return None
    today = datetime.datetime.fromtimestamp(now).date()
    return datetime.datetime.combine(today, clock).timestamp()
