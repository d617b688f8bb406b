"""examples/monitoring/: every metric the dashboard queries is one the code exports, from
the process the query's job scrapes, and the scrape config targets the shipped spec's ports.

What is exported is read from real registries built the way the processes build them:
the runner's (a started embedded Controller plus RunnerMetrics on one registry) and each
Stellar component's (the component constructed from the settings the runner gives it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flowrun.spec.loader import LoadedSpec, load_spec
from metric_registries import component_registries, exposed_names, runner_registry
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "examples" / "monitoring"
DASHBOARD = MONITORING / "grafana-dashboard.json"
PROMETHEUS = MONITORING / "prometheus.yml"
SPEC = REPO / "specs" / "stellar-ttp.yaml"
RUNNER_JOB, COMPONENTS_JOB = "flowrun", "flowrun-components"


@pytest.fixture(scope="module")
def loaded() -> LoadedSpec:
    return load_spec(SPEC)


@pytest.fixture(scope="module")
def exported(loaded: LoadedSpec, tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """{job: sample names its targets expose}."""
    spec_dir = tmp_path_factory.mktemp("spec")
    components: set[str] = set()
    for _name, names in component_registries(loaded, spec_dir):
        components |= names
    return {RUNNER_JOB: runner_registry(), COMPONENTS_JOB: components}


# ----------------------------------------------------------------- what the dashboard asks

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
KEYWORDS |= {"and", "or", "unless", "offset", "inf", "nan"}
IDENTIFIER = re.compile(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*")
SELECTOR = re.compile(r"(?<![\w$])([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}")
JOB_MATCHER = re.compile(r'\bjob\s*=\s*"([^"]*)"')


def _without_label_lists(expr: str) -> str:
    text = re.sub(r"label_values\(\s*(.*?)\s*,\s*[A-Za-z_]\w*\s*\)", r"\1", expr)
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    return re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression reads (functions, keywords, labels left out)."""
    text = _without_label_lists(expr)
    names = set()
    for match in IDENTIFIER.finditer(text):
        word = match.group()
        if text[match.end() :].lstrip().startswith("(") or word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def job_selectors(expr: str) -> set[tuple[str, str]]:
    """(metric, job) for every selector that names its job."""
    pairs = set()
    for match in SELECTOR.finditer(expr):
        job = JOB_MATCHER.search(match.group(2))
        if job is not None and match.group(1) not in KEYWORDS:
            pairs.add((match.group(1), job.group(1)))
    return pairs


def dashboard_expressions(node: Any) -> Iterator[str]:
    """Every PromQL expression: panel targets (nested rows too) and query variables."""
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            yield node["expr"]
        if node.get("type") == "query":
            query = node.get("query")
            yield query["query"] if isinstance(query, dict) else str(query)
        for value in node.values():
            yield from dashboard_expressions(value)
    elif isinstance(node, list):
        for value in node:
            yield from dashboard_expressions(value)


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


@pytest.fixture(scope="module")
def scrape_config() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(PROMETHEUS.read_text())
    return data


# ----------------------------------------------------------------- the extractor itself


def test_metric_names_strip_functions_labels_windows_and_grouping() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (component, le) (rate(a_seconds_bucket{job="x", '
        'component=~"$component"}[$__rate_interval]))) / on(instance) group_left b_total '
        "offset 5m and bool c:recorded"
    )
    assert metric_names(expr) == {"a_seconds_bucket", "b_total", "c:recorded"}
    assert metric_names("label_values(flowctl_inflight{job='x'}, component)") == {
        "flowctl_inflight"
    }
    assert job_selectors('rate(a_total{job="flowrun", x="y"}[1m]) + b') == {("a_total", "flowrun")}


def test_suffixes_follow_the_family_type() -> None:
    registry = CollectorRegistry()
    Counter("c", "c", registry=registry)
    Gauge("g", "g", registry=registry)
    Histogram("h_seconds", "h", registry=registry)
    names = exposed_names(registry)
    assert {"c_total", "g", "h_seconds_bucket", "h_seconds_sum", "h_seconds_count"} <= names
    assert not {"c", "g_total", "h_seconds", "h_seconds_total"} & names


# ----------------------------------------------------------------- the dashboard


def test_dashboard_is_a_grafana_dashboard_with_a_prometheus_datasource_variable(
    dashboard: dict[str, Any],
) -> None:
    assert dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_every_metric_the_dashboard_queries_is_exported(
    dashboard: dict[str, Any], exported: dict[str, set[str]]
) -> None:
    everything = set().union(*exported.values())
    queried = set().union(*(metric_names(e) for e in dashboard_expressions(dashboard)))
    assert len(queried) >= 30
    assert sorted(queried - everything) == []


def test_every_job_selector_reads_a_metric_of_the_process_that_job_scrapes(
    dashboard: dict[str, Any], exported: dict[str, set[str]], scrape_config: dict[str, Any]
) -> None:
    jobs = {job["job_name"] for job in scrape_config["scrape_configs"]}
    pairs = set().union(*(job_selectors(e) for e in dashboard_expressions(dashboard)))
    assert {job for _, job in pairs} <= jobs
    wrong = sorted((metric, job) for metric, job in pairs if metric not in exported[job])
    assert wrong == []


def test_dashboard_covers_the_topics_of_the_issue(dashboard: dict[str, Any]) -> None:
    queried = set().union(*(metric_names(e) for e in dashboard_expressions(dashboard)))
    for needed in (
        "flowctl_pipeline_throughput_total",
        "flowctl_pipeline_latency_seconds_bucket",
        "flowctl_service_load_ratio",
        "flowctl_backpressure_active",
        "flowctl_throttle_rate",
        "flowrun_component_restarts_total",
        "flowctl_pool_total_connections",
        "stellar_source_ledgers_processed_total",
        "ttp_processor_events_extracted_total",
        "analytics_sink_events_written_total",
        "analytics_sink_lag_ledgers",
    ):
        assert needed in queried


# ----------------------------------------------------------------- the scrape config


def _targets(job: dict[str, Any]) -> Iterator[tuple[int, dict[str, str]]]:
    for group in job["static_configs"]:
        for target in group["targets"]:
            yield int(target.rsplit(":", 1)[1]), group.get("labels", {})


def test_scrape_config_targets_the_ports_of_the_monitoring_profile(
    scrape_config: dict[str, Any],
) -> None:
    """The README runs `flowrun up specs/stellar-ttp.yaml --profile monitoring`: the base
    spec picks free ports (0) so that copies run side by side, which static targets cannot
    find (docs audit: four targets, all down)."""
    body = load_spec(SPEC, "monitoring").body
    jobs = {job["job_name"]: job for job in scrape_config["scrape_configs"]}
    assert set(jobs) == {RUNNER_JOB, COMPONENTS_JOB}
    [(runner_port, _)] = _targets(jobs[RUNNER_JOB])
    assert body.monitoring.metrics_port == runner_port
    labelled = {labels["component"]: port for port, labels in _targets(jobs[COMPONENTS_JOB])}
    assert labelled == {name: spec.health_port for name, spec in body.components.items()}
    interval = f"{body.monitoring.interval:g}s"
    assert scrape_config["global"]["scrape_interval"] == interval
