"""Property: whatever the file holds, load_spec returns a spec or raises a FlowrunError.

Mutated valid specs, random YAML-ish text and random bytes; never another exception,
and every issue points at a real place of the file.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flowrun.errors import FlowrunError, SpecError
from flowrun.spec.loader import LoadedSpec, load_spec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

STELLAR = Path(__file__).resolve().parents[2] / "specs" / "stellar-ttp.yaml"
PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["5s", "250ms", "127.0.0.1:8815", "source", "sink", "${X}", "${X:-1}", "$"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _mutate(data: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    if not path:
        return value if action == "replace" else data
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if action == "delete":
        del parent[path[-1]]
    elif action == "replace":
        parent[path[-1]] = value
    elif isinstance(parent, dict):
        parent[f"{path[-1]}_extra"] = value
    return data


def _check(path: Path, profile: str | None, environ: dict[str, str]) -> None:
    try:
        loaded = load_spec(path, profile=profile, environ=environ)
    except SpecError as error:
        lines = path.read_bytes().count(b"\n") + 2
        assert error.issues
        for issue in error.issues:
            assert 1 <= issue.line <= lines and issue.column >= 1, str(issue)
            assert str(issue).startswith(f"{issue.file}:{issue.line}:{issue.column}: ")
    except FlowrunError as error:
        assert "\n" not in str(error)
    else:
        assert isinstance(loaded, LoadedSpec) and len(loaded.revision) == 12


@PROPERTY
@given(
    choice=st.data(),
    action=st.sampled_from(["delete", "replace", "insert"]),
    value=values,
    profile=st.sampled_from([None, "local", "development", "production", "nope"]),
)
def test_mutated_specs(
    folder: Path, choice: st.DataObject, action: str, value: Any, profile: str | None
) -> None:
    original = yaml.safe_load(STELLAR.read_text())
    path = choice.draw(st.sampled_from(_paths(original)))
    mutated = _mutate(copy.deepcopy(original), path, action, value)
    target = folder / "mutated.yaml"
    target.write_text(yaml.safe_dump(mutated, sort_keys=False))
    _check(target, profile, {"X": "7"})


@PROPERTY
@given(
    position=st.integers(min_value=0, max_value=3000),
    removed=st.integers(min_value=0, max_value=40),
    inserted=st.text(alphabet=":-[]{}&*!|>'\"#,? \n\tab0$", max_size=12),
)
def test_text_edits_of_the_shipped_spec(
    folder: Path, position: int, removed: int, inserted: str
) -> None:
    text = STELLAR.read_text()
    position = min(position, len(text))
    target = folder / "edited.yaml"
    target.write_text(text[:position] + inserted + text[position + removed :])
    _check(target, None, {})


@PROPERTY
@given(text=st.text(alphabet=":-[]{}&*!|>'\"#%@`,? \n\tabcx0$<", max_size=200))
def test_random_yaml_text(folder: Path, text: str) -> None:
    target = folder / "random.yaml"
    target.write_text(text)
    _check(target, None, {})


@PROPERTY
@given(data=st.binary(max_size=300))
def test_random_bytes(folder: Path, data: bytes) -> None:
    target = folder / "bytes.yaml"
    target.write_bytes(data)
    _check(target, None, {})
