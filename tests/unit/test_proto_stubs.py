"""The committed gRPC stubs must be what proto/generate.py makes of proto/ today."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


def load_generator(repo_root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("proto_generate", repo_root / "proto/generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_stubs_match_the_proto_sources(repo_root: Path, tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    generator = load_generator(repo_root)
    fresh_files = generator.generate(tmp_path)
    assert fresh_files, "proto/generate.py produced nothing"
    stale = []
    for fresh in fresh_files:
        relative = fresh.relative_to(tmp_path)
        committed = repo_root / "components" / relative
        if not committed.exists() or committed.read_bytes() != fresh.read_bytes():
            stale.append(str(relative))
    assert not stale, f"stale generated stubs {stale}: run `make proto` and commit the result"
