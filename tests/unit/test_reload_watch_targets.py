"""What the spec watcher watches: the folders naming the files and every folder a symlink
leads into, and which events in them matter; the content fingerprint."""

from __future__ import annotations

import os
from pathlib import Path

from flowrun.reload.watcher import fingerprint, symlink_chain, watch_targets


def _kubernetes_layout(root: Path) -> Path:
    """/cfg/pipeline.yaml -> ..data/pipeline.yaml, ..data -> ..2024_01 (a ConfigMap volume)."""
    stamped = root / "..2024_01"
    stamped.mkdir()
    (stamped / "pipeline.yaml").write_text("a: 1\n")
    (root / "..data").symlink_to("..2024_01")
    (root / "pipeline.yaml").symlink_to("..data/pipeline.yaml")
    return root / "pipeline.yaml"


def test_a_plain_file_is_watched_through_its_folder(tmp_path: Path) -> None:
    spec = tmp_path / "pipeline.yaml"
    spec.write_text("a: 1\n")
    targets = watch_targets([spec, tmp_path / ".env"])
    assert targets.directories == {Path(os.path.realpath(tmp_path))}
    assert targets.matters(str(spec)) and targets.matters(str(tmp_path / ".env"))
    assert not targets.matters(str(tmp_path / "pipeline.yaml.swp"))
    assert not targets.matters(str(tmp_path / "out.parquet"))


def test_kubernetes_symlinks_are_followed_and_the_swap_matters(tmp_path: Path) -> None:
    spec = _kubernetes_layout(tmp_path)
    assert symlink_chain(spec) == [spec, tmp_path / "..data" / "pipeline.yaml"]
    targets = watch_targets([spec])
    assert targets.directories == {tmp_path, tmp_path / "..2024_01"}
    assert targets.matters(str(tmp_path / "..data"))  # the swap renames over this link
    assert targets.matters(str(tmp_path / "..2024_01" / "pipeline.yaml"))
    assert not targets.matters(str(tmp_path / "..data_tmp"))

    fresh = tmp_path / "..2024_02"
    fresh.mkdir()
    (fresh / "pipeline.yaml").write_text("a: 2\n")
    (tmp_path / "..data_tmp").symlink_to("..2024_02")
    os.replace(tmp_path / "..data_tmp", tmp_path / "..data")
    assert watch_targets([spec]).directories == {tmp_path, fresh}


def test_fingerprint_follows_content_not_metadata(tmp_path: Path) -> None:
    spec, dotenv = tmp_path / "pipeline.yaml", tmp_path / ".env"
    spec.write_text("a: 1\n")
    first = fingerprint([spec, dotenv])
    os.utime(spec, (1, 1))
    assert fingerprint([spec, dotenv]) == first
    dotenv.write_text("X=1\n")
    assert fingerprint([spec, dotenv]) != first
    dotenv.unlink()
    assert fingerprint([spec, dotenv]) == first
    spec.write_text("a: 2\n")
    assert fingerprint([spec, dotenv]) != first
