"""Per-component `env_file`: dotenv files read when the spec is loaded, merged under `env`.

Read at load time, not at launch, so that a missing file is a spec error with its
position (`validate` says so, `up` starts nothing), a changed file is a changed spec (the
revision, `plan` and a reload see it) and everything downstream (the process
environment, plan, render) reads one `env`. Values under secret-looking names join the
spec's secret values, masked wherever they would show.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowrun.errors import SpecFileError, SpecIssue
from flowrun.secrets import secret_values
from flowrun.spec.files import read_dotenv
from flowrun.spec.graph import COMPONENTS, components_of
from flowrun.spec.messages import Finding
from flowrun.spec.model import PipelineSpec


@dataclass
class EnvFiles:
    """What reading every component's env_file gave."""

    spec: PipelineSpec | None
    """The spec with each component's env_file variables merged under its env."""
    findings: list[Finding] = field(default_factory=list)
    """Problems at an `env_file` key (a missing or unreadable file)."""
    issues: list[SpecIssue] = field(default_factory=list)
    """Problems inside a file (a line that is no KEY=VALUE)."""
    sources: list[Path] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)


def merge_env_files(
    spec: PipelineSpec | None, data: Any, spec_dir: Path, shown_spec: str
) -> EnvFiles:
    """Read the env_file of every component of the document `data` (so that a missing
    file is reported with the spec's other problems); merge them into `spec` if valid."""
    result = EnvFiles(spec)
    read: dict[str, dict[str, str]] = {}
    for name, env_file in _named(data).items():
        variables = _read(result, name, env_file, spec_dir, shown_spec)
        if variables is not None:
            read[name] = variables
    if spec is not None and read:
        body = spec.spec
        components = {
            name: c.model_copy(update={"env": {**read[name], **c.env}}) if name in read else c
            for name, c in body.components.items()
        }
        result.spec = spec.model_copy(
            update={"spec": body.model_copy(update={"components": components})}
        )
    return result


def env_file_paths(data: Any, spec_dir: Path) -> list[Path]:
    """Where the components of the document `data` read their env_file from, whether the
    file exists or not (the reloader watches those a rejected spec names, to retry)."""
    return [_path(spec_dir, env_file) for env_file in _named(data).values()]


def _named(data: Any) -> dict[str, str]:
    """Each component's env_file as written, by component name."""
    named: dict[str, str] = {}
    for name, component in components_of(data).items():
        env_file = component.get("env_file")
        # Else absent, a type pydantic reports, or a NUL the rules report (no file has one).
        if isinstance(env_file, str) and env_file and "\0" not in env_file:
            named[name] = env_file
    return named


def _path(spec_dir: Path, env_file: str) -> Path:
    """Relative to the spec's folder, as `env_file` is documented to be."""
    return spec_dir / env_file


def _read(
    result: EnvFiles, name: str, env_file: str, spec_dir: Path, shown_spec: str
) -> dict[str, str] | None:
    path = _path(spec_dir, env_file)
    shown = os.path.join(os.path.dirname(shown_spec), env_file)
    where = (*COMPONENTS, name, "env_file")
    if not path.is_file():
        fix = "name the dotenv file in it" if path.is_dir() else "create it or fix the path"
        what = "is a directory" if path.is_dir() else "does not exist"
        message = f"{shown} {what}; {fix} (relative to the spec's folder)"
        result.findings.append(Finding(where, message))
        return None
    try:
        variables, problems = read_dotenv(path, shown)
    except SpecFileError as e:
        result.findings.append(Finding(where, str(e)))
        return None
    result.issues += [SpecIssue(shown, p.mark.line, p.mark.column, "", p.message) for p in problems]
    result.sources.append(path)
    result.secrets.update(secret_values(variables))
    return variables
