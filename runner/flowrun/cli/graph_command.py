"""`flowrun graph SPEC`: the pipeline as a picture (Mermaid, DOT, or SVG/PNG by Graphviz).

When a runner serves the spec, each node is coloured by the state the runner reports
(and shows the ports it picked); otherwise the picture is the spec's alone. SVG and PNG
are drawn by Graphviz's `dot` program, when it is installed; without it the command says
so and names the text formats that need nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import click

from flowrun.cli.params import SPEC_ARGUMENT
from flowrun.errors import FlowrunError, NotRunningError, RunnerError

__all__ = ["COMMANDS", "GraphvizMissingError"]

TEXT_FORMATS = ("mermaid", "dot")
IMAGE_FORMATS = ("svg", "png")
STATUS_TIMEOUT_SECONDS = 5.0
GRAPHVIZ_TIMEOUT_SECONDS = 60.0


class GraphvizMissingError(FlowrunError):
    """SVG or PNG asked for, and Graphviz's `dot` is not on PATH."""


class GraphvizFailedError(FlowrunError):
    """Graphviz's `dot` ran and refused the graph."""


def _live_states(spec: Path) -> dict[str, Any] | None:
    """{component: Live} from the runner serving this spec; None when none does."""
    from flowrun.cli.graph_render import Live
    from flowrun.daemon import admin
    from flowrun.daemon.state_dir import StateDir
    from flowrun.daemon.status_types import PipelineStatus

    try:
        info = StateDir.for_spec(spec).live_info(spec)
        answer = admin.call(info, "GET", "/status", timeout_seconds=STATUS_TIMEOUT_SECONDS)
    except (NotRunningError, RunnerError):
        return None  # not running (or not answering): the spec alone
    status = PipelineStatus.from_json(answer)
    return {c.name: Live(c.state.value, c.pid, c.endpoint) for c in status.components}


def render_graph(spec: Path, profile: str | None, text_format: str, *, live: bool) -> str:
    from flowrun.cli.graph_render import dot, graph_of, mermaid
    from flowrun.spec.loader import load_spec

    loaded = load_spec(spec, profile)
    states = _live_states(loaded.path) if live else None
    graph = graph_of(loaded.name, loaded.body.components, states)
    return mermaid(graph) if text_format == "mermaid" else dot(graph)


def draw_with_graphviz(dot_text: str, image_format: str) -> bytes:
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissingError(
            f"--format {image_format} needs Graphviz's `dot` program, which is not on PATH: "
            "install graphviz (apt install graphviz, brew install graphviz, "
            "https://graphviz.org/download/), or use --format mermaid or --format dot "
            "(text, nothing to install)"
        )
    try:
        done = subprocess.run(
            [program, f"-T{image_format}"],
            input=dot_text.encode(),
            capture_output=True,
            timeout=GRAPHVIZ_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise GraphvizFailedError(f"running {program} -T{image_format} failed: {e}") from e
    if done.returncode != 0:
        raise GraphvizFailedError(
            f"{program} -T{image_format} refused the graph: {done.stderr.decode().strip()}"
        )
    return done.stdout


@click.command("graph")
@SPEC_ARGUMENT
@click.option(
    "--format",
    "output_format",
    type=click.Choice([*TEXT_FORMATS, *IMAGE_FORMATS]),
    default="mermaid",
    show_default=True,
    help="Mermaid and DOT are text; SVG and PNG are drawn by Graphviz (`dot`).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (default: standard output; needed for png).",
)
@click.option("--profile", "-p", default=None, help="Profile to apply.")
@click.option("--no-live", is_flag=True, help="The spec alone, even when the pipeline is running.")
def graph(
    spec: Path, output_format: str, output: Path | None, profile: str | None, no_live: bool
) -> None:
    """Draw the pipeline: components, data edges, ports, types (and live states)."""
    if output_format == "png" and output is None:
        raise click.UsageError("--format png writes a binary image: name the file with -o")
    text_format = output_format if output_format in TEXT_FORMATS else "dot"
    text = render_graph(spec, profile, text_format, live=not no_live)
    if output_format in IMAGE_FORMATS:
        image = draw_with_graphviz(text, output_format)
        if output is None:
            click.echo(image.decode(), nl=False)
        else:
            _write(output, image)
        return
    if output is None:
        click.echo(text, nl=False)
    else:
        _write(output, text.encode())


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as e:
        raise RunnerError(f"cannot write {path}: {e.strerror or e}; choose another -o") from e
    click.echo(f"wrote {path}", err=True)


COMMANDS: list[click.Command] = [graph]
