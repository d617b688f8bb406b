"""Every shipped pipeline spec validates, alone and with each of its profiles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flowrun.spec.loader import load_spec

REPO = Path(__file__).resolve().parents[2]
SCHEMA_LINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$", re.MULTILINE)


def shipped_specs() -> list[Path]:
    candidates = [*REPO.glob("specs/*.yaml"), *REPO.glob("examples/**/*.yaml")]
    return sorted(p for p in candidates if re.search(r"^kind: *Pipeline *$", p.read_text(), re.M))


def test_the_stellar_spec_is_shipped() -> None:
    assert REPO / "specs" / "stellar-ttp.yaml" in shipped_specs()


@pytest.mark.parametrize("path", shipped_specs(), ids=lambda p: str(p.relative_to(REPO)))
def test_shipped_spec_validates_with_every_profile(path: Path) -> None:
    base = load_spec(path, environ={})
    for profile in base.body.profiles:
        assert load_spec(path, profile=profile, environ={}).profile == profile


@pytest.mark.parametrize("path", shipped_specs(), ids=lambda p: str(p.relative_to(REPO)))
def test_shipped_spec_points_editors_at_the_schema(path: Path) -> None:
    match = SCHEMA_LINE.search(path.read_text())
    assert match, f"{path}: add '# yaml-language-server: $schema=...' as its first line"
    assert (path.parent / match.group(1)).resolve() == REPO / "schemas" / "pipeline.schema.json"


def test_stellar_profiles_do_what_the_handoff_says() -> None:
    path = REPO / "specs" / "stellar-ttp.yaml"
    specs = {name: load_spec(path, name, environ={}).body for name in ("local", "flowctl")}
    specs |= {
        name: load_spec(path, name, environ={}).body for name in ("development", "production")
    }
    base = load_spec(path, environ={})
    assert list(base.body.profiles) == [
        "local",
        "flowctl",
        "development",
        "production",
        "monitoring",
        "fixtures",
    ]
    assert specs["local"].controller.mode == "disabled"
    assert specs["flowctl"] == base.body
    development, production = specs["development"], specs["production"]
    assert development.controller.heartbeat_interval == 0.5
    assert development.monitoring.interval == 1.0
    assert (development.pool.min_connections, development.pool.max_connections) == (1, 5)
    assert (production.pool.min_connections, production.pool.max_connections) == (5, 20)
    assert production.pool.idle_timeout == 900.0
    assert base.body.components["arrow-analytics-sink"].inputs == ["ttp-arrow-processor"]
