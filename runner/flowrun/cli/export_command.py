"""`flowrun export SPEC --target kubernetes`: the spec as manifests, written, not applied.

`-o -` (the default) prints them; `-o DIR` writes `DIR/<pipeline>.yaml`, replaced whole
(through a temporary file), so that `kubectl apply -f DIR` sees one export, never half of
one. The spec and manifest modules are imported inside the command, as the other
commands do, so that `flowrun --help` does not pay for them.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import click

from flowrun.cli.params import SPEC_ARGUMENT
from flowrun.cli.spec_commands import profile_option

KUBERNETES = "kubernetes"
STDOUT = "-"
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _namespace(context: click.Context, parameter: click.Parameter, value: str) -> str:
    if not _NAMESPACE.match(value):
        raise click.BadParameter(
            f"{value!r} is not a namespace name: lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return value


def _image(context: click.Context, parameter: click.Parameter, value: str | None) -> str | None:
    if value is not None and (not value.strip() or any(c.isspace() for c in value)):
        raise click.BadParameter(f"{value!r} is not an image reference (e.g. flowrun:0.1.0)")
    return value


@click.command("export")
@SPEC_ARGUMENT
@profile_option
@click.option(
    "--target",
    type=click.Choice([KUBERNETES]),
    required=True,
    help="What to export for (kubernetes: manifests for kubectl apply).",
)
@click.option(
    "--image",
    metavar="IMAGE",
    default=None,
    callback=_image,
    help="Image every pod runs (default: flowrun:<version>, what the Dockerfile builds).",
)
@click.option(
    "--namespace",
    "-n",
    default="default",
    show_default=True,
    callback=_namespace,
    help="Namespace of every object (it must exist).",
)
@click.option(
    "--output",
    "-o",
    default=STDOUT,
    show_default=True,
    metavar="DIR|-",
    help="Folder to write <pipeline>.yaml in, or - for standard output.",
)
def export(
    spec: Path, profile: str | None, target: str, image: str | None, namespace: str, output: str
) -> None:
    """Write SPEC as Kubernetes manifests: a ConfigMap of the spec, the controller, a
    Deployment and Service per component, volumes for sinks, NetworkPolicies.

    The same spec gives the same bytes. Secrets are never written: the controller token and
    env entries named like TOKEN, SECRET, PASSWORD or KEY are references to Secrets you
    create (docs/kubernetes.md).
    """
    from flowrun.deploy.kubernetes.manifests import ExportOptions, build_objects, render_yaml
    from flowrun.spec.loader import load_spec

    loaded = load_spec(spec, profile)
    options = ExportOptions(namespace=namespace)
    if image is not None:
        options = ExportOptions(image=image, namespace=namespace)
    objects = build_objects(loaded, options)
    text = render_yaml(objects)
    if output == STDOUT:
        click.echo(text, nl=False)
        return
    written = _write(Path(output), f"{loaded.name}.yaml", text)
    click.echo(f"wrote {len(objects)} objects to {written}", err=True)


def _write(folder: Path, name: str, text: str) -> Path:
    if folder.exists() and not folder.is_dir():
        raise click.BadParameter(f"{folder} is a file; give a folder", param_hint="'-o'")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
    return target


COMMANDS: list[click.Command] = [export]
