"""docs/sdk.md is the SDK's reference: every public name of flowctl and every variable
of the environment contract is in it, so a new export cannot land undocumented."""

from __future__ import annotations

import re
from pathlib import Path

import flowctl
import flowctl.settings
import pytest

SDK_DOC = (Path(__file__).resolve().parents[2] / "docs" / "sdk.md").read_text()
VARIABLES = sorted(
    value
    for name, value in vars(flowctl.settings).items()
    if re.fullmatch(r"(FLOWCTL|FLOWRUN|ENABLE)_[A-Z_]+", name) and isinstance(value, str)
)


@pytest.mark.parametrize("name", flowctl.__all__)
def test_every_public_name_is_documented(name: str) -> None:
    assert re.search(rf"`{name}\b", SDK_DOC), f"docs/sdk.md does not mention `{name}`"


@pytest.mark.parametrize("variable", VARIABLES)
def test_every_environment_variable_is_documented(variable: str) -> None:
    assert f"`{variable}`" in SDK_DOC, f"docs/sdk.md does not list `{variable}`"


def test_the_examples_it_points_to_exist() -> None:
    root = Path(__file__).resolve().parents[2]
    for path in re.findall(r"`((?:examples|tests)/[\w/.]+)`", SDK_DOC):
        assert (root / path).exists(), path


def test_every_error_it_lists_is_importable_from_flowctl() -> None:
    """Its Errors section is what a component author raises and catches, imported the way
    its top says every name is (`from flowctl import ConfigError`)."""
    errors = SDK_DOC.split("## Errors", 1)[1].split("\n## ", 1)[0]
    listed = sorted(set(re.findall(r"`(\w+Error)`", errors)))
    assert "ConfigError" in listed
    assert [name for name in listed if name not in flowctl.__all__] == []
