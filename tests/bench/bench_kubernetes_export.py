"""Kubernetes export benchmarks: `build_objects` + `render_yaml` of a 500-component spec.

    pytest -m bench tests/bench/bench_kubernetes_export.py    # pytest-benchmark, in process
    python tests/bench/bench_kubernetes_export.py [--runs 5]  # the same, printed

The spec is bench_validate's generated one (sources, two layers of processors, sinks, with
fan-in, env and config): 500 Deployments, Services and NetworkPolicies, 50 volume claims.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pytest
from bench_validate import generate_spec
from flowrun.deploy.kubernetes.manifests import ExportOptions, build_objects, render_yaml
from flowrun.spec.loader import LoadedSpec, load_spec
from pytest_benchmark.fixture import BenchmarkFixture

COMPONENTS = 500


def export_text(loaded: LoadedSpec) -> str:
    return render_yaml(build_objects(loaded, ExportOptions()))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> LoadedSpec:
    path = tmp_path_factory.mktemp("bench") / "generated.yaml"
    path.write_text(generate_spec(COMPONENTS))
    return load_spec(path, None, {})


def test_export_500_components(benchmark: BenchmarkFixture, generated: LoadedSpec) -> None:
    """The objects and their YAML (the spec already loaded)."""
    text = benchmark(export_text, generated)
    assert text.count("\nkind: Deployment\n") == COMPONENTS + 1  # and the controller


def test_build_objects_500_components(benchmark: BenchmarkFixture, generated: LoadedSpec) -> None:
    objects = benchmark(build_objects, generated, ExportOptions())
    assert sum(item["kind"] == "Service" for item in objects) == COMPONENTS + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "generated.yaml"
        path.write_text(generate_spec(COMPONENTS))
        start = time.perf_counter()
        loaded = load_spec(path, None, {})
        load_seconds = time.perf_counter() - start
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        text = export_text(loaded)
        times.append(time.perf_counter() - start)
    print(f"load_spec, {COMPONENTS} components: {load_seconds * 1000:.0f} ms")
    print(
        f"export ({len(text) / 1e6:.1f} MB of YAML): median {statistics.median(times) * 1000:.0f}"
        f" ms, min {min(times) * 1000:.0f} ms over {runs} runs"
    )


if __name__ == "__main__":
    main()
