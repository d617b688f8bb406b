"""Regenerate the Python stubs of proto/ into components/flowctl (`make proto`).

The stubs are committed; tests/unit/test_proto_stubs.py fails when they are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
OUTPUT_ROOT = PROTO_ROOT.parent / "components"


def generate(output_root: Path = OUTPUT_ROOT) -> list[Path]:
    """Run protoc on every .proto under proto/; return the files it wrote."""
    sources = sorted(PROTO_ROOT.rglob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={output_root}",
        f"--pyi_out={output_root}",
        f"--grpc_python_out={output_root}",
        *(str(source.relative_to(PROTO_ROOT)) for source in sources),
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    stems = [source.relative_to(PROTO_ROOT).with_suffix("") for source in sources]
    _make_packages(output_root, stems)
    suffixes = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")
    return [output_root / f"{stem}{suffix}" for stem in stems for suffix in suffixes]


def _make_packages(output_root: Path, stems: list[Path]) -> None:
    """Give every folder below the top one (flowctl/v1) an __init__.py, so the generated
    `from flowctl.v1 import common_pb2` imports resolve as a regular package."""
    for stem in stems:
        for folder in stem.parents[:-2]:  # below flowctl/, which is the SDK package itself
            init = output_root / folder / "__init__.py"
            if not init.exists():
                init.write_text(f'"""Generated stubs of proto/{folder} (`make proto`)."""\n')


if __name__ == "__main__":
    for path in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT_ROOT):
        print(path)
