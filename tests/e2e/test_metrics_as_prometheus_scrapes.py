"""Every /metrics of a running pipeline as a Prometheus server scrapes it: the runner's (its
own and the embedded controller's) and each component's health_port, asked for with the
Accept headers of Prometheus 2.x and 3.x and for the plain text format, and parsed with
prometheus_client's parsers. Then what `promtool check metrics` and the naming guide ask:
HELP and TYPE, counters named _total, base units, no NaN or Inf, cumulative histograms whose
+Inf bucket is their count, bounded label sets, one TYPE per name across the endpoints,
counters that never fall (across a component's restart and a pipeline-wide restart too),
and the tables of docs/operations.md naming exactly what is served."""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from fixtures.reload_harness import all_running, edit, up_without_watching
from fixtures.runner_harness import (
    Pipeline,
    alive,
    component,
    free_port,
    pipeline_processes,
    wait_for,
    write_spec,
)
from fixtures.shipped_spec import (
    REPO,
    shipped_specs_with_fixtures,
    sink_checkpoint,
    sink_output_dir,
    stellar_spec_at_full_speed,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text

pytestmark = pytest.mark.timeout(240)

PROMETHEUS_2_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
PROMETHEUS_3_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
    "application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;"
    "escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)
PLAIN_ACCEPT = "text/plain;version=0.0.4"
SCRAPE_TIMEOUT_SECONDS = 10.0  # Prometheus's default scrape_timeout
SCRAPE_GAP_SECONDS = 2.0  # two scrapes seconds apart, as a short scrape_interval has them
LEDGERS = 400_000  # ~8 s at full speed on two cores: the scrapes happen while it runs
SOURCE, PROCESSOR, SINK = "stellar-arrow-source", "ttp-arrow-processor", "arrow-analytics-sink"
REAL_BACKEND_ONLY = {"stellar_source_decode_seconds", "stellar_source_ledgers_decoded_total"}
"""Served by the source only with a real-ledger backend (the fixtures profile's)."""
MAX_SERIES_PER_FAMILY = 40  # components x states at most: a per-ledger label breaks it
UNBOUNDED_LABELS = {"ledger", "ledger_sequence", "sequence", "batch", "batch_id", "pid", "span"}
NON_BASE_UNITS = re.compile(
    r"_(milli|micro|nano)seconds|_(minutes|hours|days|millis)\b|_(kilo|mega|giga)bytes|_percent"
)
NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Scrape:
    endpoint: str
    openmetrics: bool
    seconds: float
    families: list[Metric]


def scrape(endpoint: str, port: int, accept: str) -> Scrape:
    """One scrape as Prometheus does it; a parse error fails the test, naming the endpoint."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Accept": accept})
    began = time.monotonic()
    with urllib.request.urlopen(request, timeout=SCRAPE_TIMEOUT_SECONDS) as page:
        body, content_type = page.read().decode(), page.headers.get("Content-Type", "")
    seconds = time.monotonic() - began
    openmetrics = content_type.startswith("application/openmetrics-text")
    try:
        families = list((parse_om if openmetrics else parse_text)(body))
    except ValueError as e:
        raise AssertionError(f"{endpoint} ({content_type}): {e}\n{body}") from e
    return Scrape(endpoint, openmetrics, seconds, families)


def scrape_all(ports: dict[str, int], accept: str) -> list[Scrape]:
    scrapes = [scrape(endpoint, port, accept) for endpoint, port in ports.items()]
    assert all(s.openmetrics == (accept != PLAIN_ACCEPT) for s in scrapes), "negotiation"
    slow = [(s.endpoint, s.seconds) for s in scrapes if s.seconds >= SCRAPE_TIMEOUT_SECONDS]
    assert slow == [], f"past a {SCRAPE_TIMEOUT_SECONDS:g} s scrape_timeout"
    return scrapes


def lint(scraped: Scrape) -> list[str]:
    """promtool check metrics and the naming guide, on one scrape: the problems found."""
    problems = []
    for family in scraped.families:
        name, kind = family.name, family.type
        where = f"{scraped.endpoint}: {name} ({kind})"
        if not family.documentation or kind == "unknown":
            problems.append(f"{where}: no HELP or no TYPE")
        if not NAME.match(name) or NON_BASE_UNITS.search(name):
            problems.append(f"{where}: not snake_case in base units")
        if kind == "counter" and any(
            not s.name.endswith(("_total", "_created")) for s in family.samples
        ):
            problems.append(f"{where}: a counter not named _total")
        if kind != "counter" and name.endswith("_total"):
            problems.append(f"{where}: _total on a {kind}")
        if kind not in ("histogram", "summary") and name.endswith(("_count", "_sum", "_bucket")):
            problems.append(f"{where}: a histogram's suffix on a {kind}")
        problems += _sample_problems(where, family)
        if kind == "histogram":
            problems += _histogram_problems(where, family)
    return problems


def _sample_problems(where: str, family: Metric) -> list[str]:
    problems = [
        f"{where}: {s.name} {s.value}" for s in family.samples if not math.isfinite(s.value)
    ]
    series = {
        tuple(sorted((k, v) for k, v in s.labels.items() if k != "le")) for s in family.samples
    }
    if len(series) > MAX_SERIES_PER_FAMILY:
        problems.append(f"{where}: {len(series)} label sets")
    for labels in series:
        for label, value in labels:
            if not NAME.match(label.lower()) or label.startswith("__"):
                problems.append(f"{where}: label name {label!r}")
            if label in UNBOUNDED_LABELS or value.isdigit():
                problems.append(f"{where}: unbounded label {label}={value!r}")
    return problems


def _histogram_problems(where: str, family: Metric) -> list[str]:
    problems = []
    buckets: dict[tuple[Any, ...], list[tuple[float, float]]] = defaultdict(list)
    counts: dict[tuple[Any, ...], float] = {}
    for sample in family.samples:
        key = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
        if sample.name.endswith("_bucket"):
            buckets[key].append((float(sample.labels["le"]), sample.value))
        elif sample.name.endswith("_count"):
            counts[key] = sample.value
        elif sample.name.endswith("_sum") and sample.value < 0:  # every one is a duration
            problems.append(f"{where}{dict(key)}: negative _sum {sample.value}")
    for key, bounds in buckets.items():
        values = [value for _, value in sorted(bounds)]
        if values != sorted(values):
            problems.append(f"{where}{dict(key)}: buckets not cumulative {sorted(bounds)}")
        if max(bounds)[0] != math.inf or max(bounds)[1] != counts.get(key):
            problems.append(f"{where}{dict(key)}: +Inf bucket is not _count")
    return problems


def types_across(scrapes: Iterable[Scrape]) -> dict[str, set[tuple[str, str]]]:
    """{sample name: {(type, endpoint)}}: Prometheus keeps one namespace for all targets."""
    seen: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for scraped in scrapes:
        for family in scraped.families:
            for sample in family.samples:
                seen[sample.name].add((family.type, scraped.endpoint))
    return {name: kinds for name, kinds in seen.items() if len({t for t, _ in kinds}) > 1}


def totals(scraped: Scrape) -> dict[tuple[str, tuple[Any, ...]], float]:
    """Every sample Prometheus reads as a counter: _total, and histograms' parts."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in scraped.families
        for s in family.samples
        if s.name.endswith(("_total", "_bucket", "_count", "_sum"))
    }


def fallen(before: Scrape, after: Scrape) -> list[str]:
    now = totals(after)
    return [
        f"{before.endpoint}: {name}{dict(labels)} {value} -> {now.get((name, labels))}"
        for (name, labels), value in totals(before).items()
        if now.get((name, labels), -1.0) < value
    ]


def documented() -> dict[str, str]:
    """{metric: type} of the tables under docs/operations.md's "## Metrics"."""
    text = (REPO / "docs" / "operations.md").read_text()
    section = text[text.index("## Metrics") : text.index("## What reloads live")]
    return dict(re.findall(r"^\| `([a-z_]+)` \| (\w+) \|", section, re.MULTILINE))


def served(scrapes: Iterable[Scrape]) -> dict[str, str]:
    """{metric: type} as a user queries them (OpenMetrics families; counters with _total)."""
    return {
        family.name + ("_total" if family.type == "counter" else ""): family.type
        for scraped in scrapes
        for family in scraped.families
    }


def endpoints(pipeline: Pipeline) -> dict[str, int]:
    """{"runner" or component: its /metrics port}, as `status --json` tells a user: a
    component's is its health_port. (It is also the one the component was given.)"""
    status = pipeline.status()
    ports = {"runner": int(status["runner"]["metrics_port"])}
    for entry in status["components"]:
        environ = psutil.Process(entry["pid"]).environ()
        assert entry["health_port"] == int(environ["FLOWRUN_METRICS_PORT"]), entry
        ports[entry["name"]] = entry["health_port"]
    return ports


def audit(ports: dict[str, int]) -> list[Scrape]:
    """Scrape every endpoint in each format; lint each; one TYPE per name; served is
    documented. Returns the scrapes of Prometheus 2's header (OpenMetrics, its default)."""
    openmetrics, prometheus_3, plain = (
        scrape_all(ports, accept)
        for accept in (PROMETHEUS_2_ACCEPT, PROMETHEUS_3_ACCEPT, PLAIN_ACCEPT)
    )
    for scrapes in (openmetrics, prometheus_3, plain):
        assert [p for s in scrapes for p in lint(s)] == []
        assert types_across(scrapes) == {}
    table, names = documented(), served(openmetrics)
    assert sorted(set(names) - set(table)) == [], "served, not in docs/operations.md"
    assert {name: kind for name, kind in names.items() if table[name] != kind} == {}
    return openmetrics


def down_leaving_nothing(pipeline: Pipeline) -> None:
    assert pipeline.down().returncode == 0
    runners = set(pipeline.runner_pids)
    wait_for(
        lambda: not pipeline_processes(runners) and not any(alive(pid) for pid in runners),
        30,
        "every process of the pipeline gone",
    )


def test_a_pipeline_at_full_speed_scrapes_as_prometheus_expects(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    spec = stellar_spec_at_full_speed(tmp_path, LEDGERS)
    pipeline = Pipeline(spec)
    pipelines.append(pipeline)
    assert (started := pipeline.up()).returncode == 0, started.stdout + started.stderr
    wait_for(lambda: sink_checkpoint(spec).last_ledger > 0, 60, "the sink's first commit")
    ports = endpoints(pipeline)
    assert set(ports) == {"runner", SOURCE, PROCESSOR, SINK}

    first = audit(ports)
    assert sink_checkpoint(spec).last_ledger < LEDGERS, "scraped while the pipeline runs"
    missing = set(documented()) - set(served(first)) - REAL_BACKEND_ONLY
    assert missing == set(), "documented, not served"
    scraped_at = time.monotonic()
    wait_for(lambda: time.monotonic() - scraped_at >= SCRAPE_GAP_SECONDS, 10, "a scrape gap")
    second = audit(ports)
    assert [p for a, b in zip(first, second, strict=True) for p in fallen(a, b)] == []

    restarted = pipeline.flowrun("restart", str(spec), PROCESSOR)
    assert restarted.returncode == 0, restarted.stderr
    ports = endpoints(pipeline)
    third = audit(ports)
    # The restarted process counts afresh (a reset Prometheus handles); nothing else may fall.
    kept = [(a, b) for a, b in zip(second, third, strict=True) if a.endpoint != PROCESSOR]
    assert [p for a, b in kept for p in fallen(a, b)] == []
    starts = ("flowrun_component_start_seconds_count", (("component", PROCESSOR),))
    assert totals(third[0])[starts] == totals(second[0])[starts] + 1

    down_leaving_nothing(pipeline)
    shutil.rmtree(sink_output_dir(spec))  # a few hundred MB of events nobody reads


def test_the_real_ledger_backend_scrapes_cleanly_and_is_documented(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = Pipeline(shipped_specs_with_fixtures(tmp_path))
    pipelines.append(pipeline)
    assert (started := pipeline.up("--profile", "fixtures")).returncode == 0, started.stderr
    wait_for(lambda: sink_checkpoint(pipeline.spec).last_ledger > 0, 120, "the ledger committed")

    scrapes = audit(endpoints(pipeline))

    assert set(served(scrapes)) >= REAL_BACKEND_ONLY
    down_leaving_nothing(pipeline)


def _restarts(port: int) -> dict[str, float]:
    runner = scrape("runner", port, PROMETHEUS_2_ACCEPT)
    return {
        dict(labels)["component"]: value
        for (name, labels), value in totals(runner).items()
        if name == "flowrun_component_restarts_total"
    }


def _controller_totals(port: int) -> dict[str, float]:
    runner = scrape("runner", port, PROMETHEUS_2_ACCEPT)
    return {
        name: value
        for (name, _labels), value in totals(runner).items()
        if name.startswith("flowctl_controller_") and name.endswith("_total")
    }


def test_counters_go_on_across_a_pipeline_wide_restart(
    tmp_path: Path, pipelines: list[Pipeline]
) -> None:
    pipeline = Pipeline(
        write_spec(
            tmp_path,
            {"src": component(), "sink": component("sink", inputs=["src"], endpoint=False)},
            metrics=True,
        )
    )
    pipelines.append(pipeline)
    up_without_watching(pipeline)
    crashed = all_running(pipeline, {"src", "sink"})["src"]
    port = int(pipeline.status()["runner"]["metrics_port"])
    os.kill(crashed, signal.SIGKILL)  # a crash: the runner restarts it, restarts_total 1
    pipeline.wait_component("src", lambda c: c["restarts"] == 1 and c["state"] == "running")
    assert _restarts(port) == {"src": 1.0, "sink": 0.0}

    before = _controller_totals(port)
    assert before["flowctl_controller_registrations_total"] >= 3  # 2 components, 1 restarted

    # A moved controller restarts the whole pipeline: the counts go on, in status too; the
    # new controller's go on from the old one's (they fell to 0: Prometheus read a reset).
    edit(pipeline.spec, lambda body: body["controller"].update(endpoint=f"127.0.0.1:{free_port()}"))
    reloaded = pipeline.flowrun("reload", str(pipeline.spec))
    assert reloaded.returncode == 0 and "full restart" in reloaded.stdout, reloaded.stdout
    all_running(pipeline, {"src", "sink"})

    after = _controller_totals(port)
    assert set(after) == set(before)
    assert all(after[name] >= before[name] for name in before), (before, after)
    registered = before["flowctl_controller_registrations_total"] + 2  # both registered anew
    assert after["flowctl_controller_registrations_total"] >= registered
    assert _restarts(port) == {"src": 1.0, "sink": 0.0}
    assert {c["name"]: c["restarts"] for c in pipeline.status()["components"]} == {
        "src": 1,
        "sink": 0,
    }
    down_leaving_nothing(pipeline)
