"""Small file-system facts shared by the runner's layers (stdlib only: `flowrun status`
imports this, and must start fast)."""

from __future__ import annotations

import os
from pathlib import Path


def is_file_at(fd: int, path: Path) -> bool:
    """The open file `fd` is the one at `path`: not removed, nor moved away with its folder
    (false too when `path` cannot be reached)."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False
