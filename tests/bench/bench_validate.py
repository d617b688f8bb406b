"""Spec validation benchmarks.

    pytest -m bench tests/bench/bench_validate.py    # load_spec in process (pytest-benchmark)
    python tests/bench/bench_validate.py [--runs 7]  # wall time of `flowrun validate` processes

The generated spec has 500 components (sources, two layers of processors, sinks, with
fan-in, env, config, restart policies and two profiles), the size of a large deployment.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from flowrun.spec.loader import load_spec, render_yaml
from pytest_benchmark.fixture import BenchmarkFixture

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "specs" / "stellar-ttp.yaml"
FLOWRUN = Path(sys.executable).parent / "flowrun"


def _component(index: int, kind: str, inputs: list[str]) -> str:
    lines = [
        f"    c{index:04d}:",
        f"      type: {kind}",
        f"      command: [python, -m, comp_{kind}, --index, '{index}']",
        f"      endpoint: 127.0.0.1:{20000 + index}",
        f"      health_port: {40000 + index}",
        f"      max_inflight: {100 + index}",
        "      env: {LOG_LEVEL: info, REGION: '${REGION:-eu}'}",
        f"      config: {{batch_size: {index % 7 + 1}, formats: [parquet, jsonl], tag: t{index}}}",
        "      restart: {policy: on-failure, max_restarts: 3, backoff: 500ms}",
        "      stop_grace: 5s",
    ]
    if inputs:
        lines.append(f"      inputs: [{', '.join(inputs)}]")
    return "\n".join(lines) + "\n"


def generate_spec(components: int = 500) -> str:
    """A valid spec of `components` components: 10% sources, 80% processors, 10% sinks."""
    sources = max(1, components // 10)
    sinks = max(1, components // 10)
    processors = components - sources - sinks
    half = sources + processors // 2
    parts = [
        "apiVersion: flowctl/v1\nkind: Pipeline\nmetadata: {name: generated}\nspec:\n",
        "  controller: {heartbeat_interval: 1s, heartbeat_ttl: 5s}\n",
        "  flow_control: {activate_at: 0.8, deactivate_at: 0.6, throttle_rate: 0.5}\n",
        "  components:\n",
    ]
    for index in range(components):
        if index < sources:
            kind, inputs = "source", []
        elif index < sources + processors:
            low, high = (0, sources) if index < half else (sources, half)
            kind = "processor"
            inputs = [
                f"c{low + index % (high - low):04d}",
                f"c{low + (index * 7) % (high - low):04d}",
            ]
        else:
            kind, inputs = "sink", [f"c{half + index % (sources + processors - half):04d}"]
        parts.append(_component(index, kind, sorted(set(inputs))))
    parts.append(
        "  profiles:\n"
        "    development: {pool: {min_connections: 1, max_connections: 5}}\n"
        "    production:\n      pool: {max_connections: 20}\n      components:\n"
        "        c0000: {max_inflight: 5000}\n"
    )
    return "".join(parts)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "generated.yaml"
    path.write_text(generate_spec())
    return path


def test_load_shipped_spec(benchmark: BenchmarkFixture) -> None:
    """load_spec on specs/stellar-ttp.yaml (3 components, 4 profiles)."""
    loaded = benchmark(load_spec, SHIPPED, None, {})
    assert len(loaded.body.components) == 3


def test_load_shipped_spec_with_profile(benchmark: BenchmarkFixture) -> None:
    loaded = benchmark(load_spec, SHIPPED, "development", {})
    assert loaded.body.pool.max_connections == 5


def test_load_500_components(benchmark: BenchmarkFixture, generated: Path) -> None:
    """load_spec on the generated 500-component spec."""
    loaded = benchmark(load_spec, generated, "production", {})
    assert len(loaded.body.components) == 500


def test_render_500_components(benchmark: BenchmarkFixture, generated: Path) -> None:
    loaded = load_spec(generated, None, {})
    text = benchmark(render_yaml, loaded)
    assert text.count("type: processor") == 400


def _wall_times(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
        times.append(time.perf_counter() - start)
        if result.returncode not in (0, 1):
            raise SystemExit(f"{command}: exit {result.returncode}\n{result.stderr}")
    return times


def _bad_files(folder: Path) -> dict[str, Path]:
    bomb = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        bomb.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
    files = {
        "yaml bomb": "\n".join(bomb) + "\n",
        "10 MB file": "# " + "x" * (10 * 1024 * 1024) + "\n",
        "binary": bytes(range(256)).decode("latin-1"),
    }
    paths = {}
    for label, content in files.items():
        paths[label] = folder / f"{label.replace(' ', '_')}.yaml"
        paths[label].write_text(content, encoding="latin-1")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        generated = folder / "generated-500.yaml"
        generated.write_text(generate_spec())
        cases = {
            "python -c pass (interpreter start)": [sys.executable, "-c", "pass"],
            "flowrun --help": [str(FLOWRUN), "--help"],
            "flowrun validate specs/stellar-ttp.yaml": [str(FLOWRUN), "validate", str(SHIPPED)],
            "flowrun validate (500 components)": [str(FLOWRUN), "validate", str(generated)],
        }
        for label, path in _bad_files(folder).items():
            cases[f"flowrun validate ({label})"] = [str(FLOWRUN), "validate", str(path)]
        print(f"wall time of {runs} runs each (seconds): min / median / max")
        for label, command in cases.items():
            times = _wall_times(command, runs)
            figures = f"{min(times):.3f} / {statistics.median(times):.3f} / {max(times):.3f}"
            print(f"  {label:<48} {figures}")


if __name__ == "__main__":
    main()
