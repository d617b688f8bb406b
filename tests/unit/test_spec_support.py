"""Helpers shared by the spec tests (this module holds no tests of its own)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest
from flowrun.errors import SpecError
from flowrun.spec.loader import LoadedSpec, load_spec

VALID = """\
apiVersion: flowctl/v1
kind: Pipeline
metadata:
  name: demo
spec:
  components:
    src:
      type: source
      command: [python, -m, src]
      endpoint: 127.0.0.1:9001
    sink:
      type: sink
      command: [python, -m, sink]
      inputs: [src]
"""


def write(folder: Path, text: str, name: str = "pipeline.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def load_text(
    folder: Path,
    text: str,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedSpec:
    return load_spec(write(folder, text), profile=profile, environ=environ or {})


def issues_of(
    folder: Path,
    text: str,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """Every issue of an invalid spec, as printed, with the folder left out of the file."""
    with pytest.raises(SpecError) as caught:
        load_text(folder, text, profile, environ)
    return [str(issue).replace(f"{folder}/", "") for issue in caught.value.issues]


def component(name: str, body: str, indent: int = 4) -> str:
    """A component entry to append under `components:`."""
    lines = [f"{name}:", *textwrap.dedent(body).strip().splitlines()]
    head, rest = lines[0], ["  " + line for line in lines[1:]]
    return "\n".join(" " * indent + line for line in [head, *rest]) + "\n"
