"""`--driver` and the cluster options `up`, `down`, `status` and `logs` share, and what each
command does with the Kubernetes driver (deploy/kubernetes/driver.py).

`--driver local` (the default) is the runner on this machine; `--driver kubernetes` puts the
same spec on a cluster, chosen as kubectl chooses it or by `--kubeconfig`/`--context`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from flowrun.deploy.kubernetes.driver import KubernetesDriver

F = TypeVar("F", bound=Callable[..., Any])

LOCAL = "local"
KUBERNETES = "kubernetes"
CLUSTER_ONLY = ("kubeconfig", "context", "namespace")


def driver_options(command: F) -> F:
    """Adds --driver, --kubeconfig, --context and --namespace (as `cluster`) to a command."""
    options = [
        click.option(
            "--driver",
            type=click.Choice([LOCAL, KUBERNETES]),
            default=LOCAL,
            show_default=True,
            help="Where the pipeline runs: this machine, or the Kubernetes cluster of the "
            "current kubectl context.",
        ),
        click.option(
            "--kubeconfig",
            type=click.Path(dir_okay=False),
            default=None,
            help="[kubernetes] kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster).",
        ),
        click.option("--context", default=None, help="[kubernetes] kubeconfig context to use."),
        click.option(
            "--namespace",
            default=None,
            help="[kubernetes] namespace (default: the context's, else `default`).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def kubernetes_driver(
    driver: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    *,
    image: str | None = None,
) -> KubernetesDriver | None:
    """The Kubernetes driver when chosen; None for the local one, which refuses the
    cluster options rather than ignore them."""
    if driver == LOCAL:
        given = [
            f"--{name}"
            for name, value in zip(CLUSTER_ONLY, (kubeconfig, context, namespace), strict=True)
            if value is not None
        ]
        if image is not None:
            given.append("--image")
        if given:
            raise click.UsageError(f"{', '.join(given)} apply to --driver kubernetes only")
        return None
    from flowrun.deploy.kubernetes.cluster import ClusterChoice
    from flowrun.deploy.kubernetes.driver import KubernetesDriver

    return KubernetesDriver(ClusterChoice(kubeconfig, context, namespace), image=image)


def pipeline_name(spec: Path) -> str:
    """The pipeline's name, which labels its objects on the cluster."""
    from flowrun.spec.loader import load_spec

    return load_spec(spec).name


def cluster_up(driver: KubernetesDriver, spec: Path, profile: str | None) -> None:
    from flowrun.spec.loader import load_spec

    loaded = load_spec(spec, profile)  # programs run in the image: not looked for here
    report = driver.up(loaded)
    for line in report.lines():
        click.echo(line)
    click.echo(
        f"pipeline {loaded.name}: {len(report.applied)} objects applied, "
        f"{len(report.deleted)} pruned (`flowrun status {spec} --driver kubernetes`)"
    )


def cluster_down(driver: KubernetesDriver, spec: Path) -> None:
    name = pipeline_name(spec)
    report = driver.down(name)
    for line in report.lines():
        click.echo(line)
    click.echo(f"pipeline {name}: {len(report.deleted)} objects deleted")


def cluster_status(driver: KubernetesDriver, spec: Path, as_json: bool) -> None:
    from dataclasses import asdict

    name = pipeline_name(spec)
    rows, table = driver.status(name)
    if as_json:
        click.echo(
            json.dumps({"pipeline": name, "deployments": [asdict(r) for r in rows]}, indent=2)
        )
    else:
        click.echo(table)


def cluster_logs(
    driver: KubernetesDriver,
    spec: Path,
    component: str | None,
    *,
    tail: int | None,
    since: float | None,
    follow: bool,
) -> None:
    if follow:
        raise click.UsageError(
            "--follow is not supported with --driver kubernetes (use kubectl logs -f)"
        )
    lines = list(driver.logs(pipeline_name(spec), component, tail=tail, since=since))
    prefixed = len({pod for pod, _ in lines}) > 1  # as the local logs prefix components
    for pod, line in lines:
        click.echo(f"{pod} | {line}" if prefixed else line)
