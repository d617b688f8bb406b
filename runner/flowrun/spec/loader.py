"""Loading a spec: read, parse with positions, apply the profile, interpolate, validate.

Every problem of every stage is collected and raised at once as a SpecError whose issues
each read `FILE:LINE:COL: dotted.path: message`; only an unreadable file stops early
(SpecFileError). Values interpolated from secret-looking variables never show in an issue.
Each component's env_file is read here too (its variables merged under `env`), and a
component's program that cannot be found is a warning (`LoadedSpec.missing_commands`).
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flowrun.errors import SpecError, SpecFileError, SpecIssue
from flowrun.secrets import mask_text
from flowrun.spec.commands import missing_programs
from flowrun.spec.env_files import env_file_paths, merge_env_files
from flowrun.spec.files import read_dotenv, read_text
from flowrun.spec.interpolate import interpolate_tree
from flowrun.spec.messages import Finding, finding_from_error
from flowrun.spec.model import PipelineBody, PipelineSpec
from flowrun.spec.nodes import (
    Loc,
    Mark,
    Node,
    Problem,
    format_loc,
    locate,
    to_data,
    without_extensions,
)
from flowrun.spec.positions import compose
from flowrun.spec.profiles import (
    PROFILES,
    apply_profile,
    check_profiles,
    normalise_profiles,
    profile_names,
)
from flowrun.spec.render import render_yaml
from flowrun.spec.rules import check_rules

__all__ = ["LoadedSpec", "load_spec", "render_yaml", "revision_of"]

PROFILE_VARIABLE = "FLOWRUN_PROFILE"
EXTENSION_PLACES: tuple[Loc, ...] = ((), ("spec",))
_EMPTY = "the spec is empty; a pipeline spec starts with 'apiVersion: flowctl/v1'"


@dataclass(frozen=True)
class LoadedSpec:
    path: Path
    """Absolute path of the spec file."""
    spec_dir: Path
    """Its folder: relative paths in the spec resolve against it."""
    profile: str | None
    spec: PipelineSpec
    """Profile merged, `${}` interpolated, validated."""
    revision: str
    """12 hex chars identifying the effective spec (profiles and formatting left out)."""
    sources: tuple[Path, ...]
    """Every file read: the spec, the .env beside it if present, and env_file files."""
    secret_values: frozenset[str] = frozenset()
    """Values interpolated from secret-looking variables, and those of env_file entries
    with secret-looking names: masked wherever they show."""
    missing_commands: tuple[SpecIssue, ...] = ()
    """Components whose program is not found here: warnings for `validate`, refused by
    `up` (`require_commands`)."""

    @property
    def warnings(self) -> tuple[SpecIssue, ...]:
        """What `validate` reports without failing."""
        return self.missing_commands

    def require_commands(self) -> None:
        """SpecError naming every component whose program is missing: `up` starts nothing
        then, rather than failing halfway."""
        if self.missing_commands:
            raise SpecError(list(self.missing_commands))

    @property
    def body(self) -> PipelineBody:
        """The pipeline itself (`spec:` of the document): controller, components..."""
        return self.spec.spec

    @property
    def name(self) -> str:
        return self.spec.metadata.name


def load_spec(
    path: str | os.PathLike[str],
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedSpec:
    """The validated effective spec, or SpecFileError / SpecError with every issue."""
    with _collector_paused():
        return _load(os.fspath(path), profile, environ)


def written_profiles(path: str | os.PathLike[str]) -> list[str]:
    """The names of the profiles the spec file writes, read even from an invalid spec
    (`validate --all-profiles` checks each of them whatever the spec alone says)."""
    try:
        root, _problems = compose(read_text(Path(os.path.abspath(path)), os.fspath(path)))
    except SpecFileError:
        return []
    return [] if root is None else profile_names(root)


@contextmanager
def _collector_paused() -> Iterator[None]:
    # Loading allocates tens of thousands of small objects that all stay alive until the
    # end; the cyclic collector rescanning them doubles the time of a large spec.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load(shown: str, profile: str | None, environ: Mapping[str, str] | None) -> LoadedSpec:
    spec_path = Path(os.path.abspath(shown))
    text = read_text(spec_path, shown)
    variables, sources, issues = _variables(spec_path, shown, environ)
    chosen, chosen_by = _choose_profile(profile, variables)
    root, problems = compose(text)
    if root is None:
        problems = problems or [Problem((), Mark(1, 1), _EMPTY)]
        raise SpecError(_sorted([*issues, *_to_issues(shown, problems)]))
    spec, root, data, problems, secrets = _evaluate(root, chosen, chosen_by, variables, problems)
    env_files = merge_env_files(spec, data, spec_path.parent, shown)
    spec, secrets = env_files.spec, secrets | env_files.secrets
    problems += [_place(root, finding) for finding in env_files.findings]
    issues += env_files.issues
    sources = (*sources, *env_files.sources)
    issues += _to_issues(shown, problems, secrets)
    if issues or spec is None:
        raise SpecError(_sorted(issues), tuple(env_file_paths(data, spec_path.parent)))
    environment = os.environ if environ is None else environ
    findings = missing_programs(spec.spec, spec_path.parent, environment)
    missing = [_place(root, finding) for finding in findings]
    return LoadedSpec(
        path=spec_path,
        spec_dir=spec_path.parent,
        profile=chosen,
        spec=spec,
        revision=revision_of(spec),
        sources=sources,
        secret_values=secrets,
        missing_commands=tuple(_sorted(_to_issues(shown, missing, secrets))),
    )


def revision_of(spec: PipelineSpec) -> str:
    """sha256 of the canonical JSON of the effective spec, 12 hex chars."""
    data = spec.model_dump(mode="json", by_alias=True, exclude={"spec": {"profiles"}})
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _variables(
    spec_path: Path, shown: str, environ: Mapping[str, str] | None
) -> tuple[dict[str, str], tuple[Path, ...], list[SpecIssue]]:
    """Interpolation variables: the environment over a .env beside the spec."""
    environment = os.environ if environ is None else environ
    dotenv_path = spec_path.parent / ".env"
    if not dotenv_path.is_file():
        return dict(environment), (spec_path,), []
    dotenv_shown = os.path.join(os.path.dirname(shown), ".env")
    dotenv, problems = read_dotenv(dotenv_path, dotenv_shown)
    return {**dotenv, **environment}, (spec_path, dotenv_path), _to_issues(dotenv_shown, problems)


def _choose_profile(profile: str | None, variables: Mapping[str, str]) -> tuple[str | None, str]:
    if profile:
        return profile, "--profile"
    return variables.get(PROFILE_VARIABLE) or None, PROFILE_VARIABLE


def _evaluate(
    root: Node,
    profile: str | None,
    chosen_by: str,
    variables: Mapping[str, str],
    problems: list[Problem],
) -> tuple[PipelineSpec | None, Node, Any, list[Problem], frozenset[str]]:
    """The validated spec, the document it was read from (profile merged, `${}` replaced:
    where later findings are placed) and its plain data, every problem and the secret
    values."""
    root = normalise_profiles(without_extensions(root, EXTENSION_PLACES))
    problems = [*problems, *check_profiles(root, profile)]
    if profile is not None:
        root, unknown = apply_profile(root, profile, chosen_by)
        problems += unknown
    root, unset, secrets = interpolate_tree(root, variables, skip=frozenset({PROFILES}))
    data = to_data(root)
    spec, findings = _validate(data, secrets)
    findings += check_rules(data)
    # A node already reported (a bad tag, a failed ${}) is not reported again for the
    # type it then has.
    problems += unset
    reported = {problem.mark for problem in problems}
    placed = [_place(root, finding) for finding in findings]
    problems += [problem for problem in placed if problem.mark not in reported]
    return spec, root, data, problems, secrets


def _validate(data: object, secrets: frozenset[str]) -> tuple[PipelineSpec | None, list[Finding]]:
    try:
        return PipelineSpec.model_validate(data), []
    except ValidationError as error:
        errors = error.errors(include_url=False)
        for detail in errors:
            # Masked before a message quotes it, which may cut a long value (and a secret).
            detail["input"] = _masked_value(detail.get("input"), secrets)
        return None, [finding_from_error(detail, PipelineSpec) for detail in errors]


def _masked_value(value: Any, secrets: frozenset[str]) -> Any:
    return mask_text(value, secrets) if isinstance(value, str) else value


def _place(root: Node, finding: Finding) -> Problem:
    mark, profile = locate(root, finding.loc, at_key=finding.at_key)
    return Problem(finding.loc, mark, finding.message, profile)


def _to_issues(
    file: str, problems: Iterable[Problem], secrets: frozenset[str] = frozenset()
) -> list[SpecIssue]:
    return [
        SpecIssue(
            file,
            p.mark.line,
            p.mark.column,
            format_loc(p.loc),
            mask_text(p.message, secrets),
            p.profile,
        )
        for p in problems
    ]


def _sorted(issues: list[SpecIssue]) -> list[SpecIssue]:
    """In file order, each issue once."""
    unique = dict.fromkeys(issues)
    return sorted(unique, key=lambda issue: (issue.file, issue.line, issue.column))
