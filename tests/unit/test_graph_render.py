"""`flowrun graph`: the exact Mermaid and DOT of a small spec, live states colouring the
nodes, the README's picture kept equal to the command's output, and the message when
Graphviz is missing for SVG/PNG."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowrun.cli import graph_command
from flowrun.cli.graph_render import Live, dot, graph_of, mermaid
from flowrun.cli.main import cli
from flowrun.spec.loader import load_spec

REPO = Path(__file__).resolve().parents[2]
SPEC = """\
apiVersion: flowctl/v1
kind: Pipeline
metadata: {name: small}
spec:
  controller: {mode: embedded, endpoint: "127.0.0.1:0"}
  components:
    sink:
      type: sink
      command: [python, sink.py]
      endpoint: "127.0.0.1:7003"
      inputs: [in-put]
      depends_on: [in_put]
    in-put:
      type: source
      command: [python, source.py]
      endpoint: "127.0.0.1:0"
      health_port: 0
    in_put:
      type: processor
      command: [python, proc.py]
      endpoint: "127.0.0.1:7002"
      health_port: 9102
      inputs: [in-put]
"""

MERMAID = """\
flowchart LR
    in_put(["<b>in-put</b><br/>source<br/>flight 127.0.0.1:auto<br/>health :auto"])
    in_put_2["<b>in_put</b><br/>processor<br/>flight 127.0.0.1:7002<br/>health :9102"]
    sink[("<b>sink</b><br/>sink<br/>flight 127.0.0.1:7003")]
    in_put -->|Arrow Flight| in_put_2
    in_put -->|Arrow Flight| sink
    in_put_2 -.->|starts after| sink
"""

DOT = """\
digraph "small" {
    rankdir=LR;
    node [fontname="Helvetica", fontsize=11];
    edge [fontname="Helvetica", fontsize=9];
    "in-put" [shape=box, label="in-put\\nsource\\nflight 127.0.0.1:auto\\nhealth :auto", style="rounded"];
    "in_put" [shape=box, label="in_put\\nprocessor\\nflight 127.0.0.1:7002\\nhealth :9102"];
    "sink" [shape=cylinder, label="sink\\nsink\\nflight 127.0.0.1:7003"];
    "in-put" -> "in_put" [label="Arrow Flight"];
    "in-put" -> "sink" [label="Arrow Flight"];
    "in_put" -> "sink" [label="starts after", style=dashed];
}
"""  # noqa: E501


@pytest.fixture(name="spec")
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SPEC)
    return path


def test_mermaid_and_dot_of_a_small_spec(spec: Path) -> None:
    loaded = load_spec(spec)
    graph = graph_of(loaded.name, loaded.body.components)
    assert mermaid(graph) == MERMAID
    assert dot(graph) == DOT


def test_live_states_colour_the_nodes_and_show_the_picked_ports(spec: Path) -> None:
    loaded = load_spec(spec)
    live = {
        "in-put": Live("running", 4242, "127.0.0.1:40001"),
        "sink": Live("backoff", None, "127.0.0.1:7003"),
    }
    text = mermaid(graph_of(loaded.name, loaded.body.components, live))
    assert "flight 127.0.0.1:40001<br/>health :auto<br/>running pid 4242" in text
    assert text.endswith(
        "    classDef backoff fill:#f8d7da,stroke:#dc3545\n"
        "    classDef running fill:#d4edda,stroke:#28a745\n"
        "    class in_put running\n"
        "    class sink backoff\n"
    )
    drawn = dot(graph_of(loaded.name, loaded.body.components, live))
    assert 'style="rounded,filled", fillcolor="#d4edda", color="#28a745"' in drawn


def test_the_command_prints_or_writes_the_text(spec: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(cli, ["graph", str(spec)])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout == MERMAID  # not running: the spec alone
    target = tmp_path / "small.dot"
    written = runner.invoke(cli, ["graph", str(spec), "--format", "dot", "-o", str(target)])
    assert written.exit_code == 0, written.output
    assert target.read_text() == DOT


def test_svg_without_graphviz_says_what_to_install(
    spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graph_command.shutil, "which", lambda name: None)
    with pytest.raises(graph_command.GraphvizMissingError) as raised:
        CliRunner().invoke(
            cli,
            ["graph", str(spec), "--format", "svg"],
            standalone_mode=False,
            catch_exceptions=False,
        )
    message = str(raised.value)
    assert "--format svg needs Graphviz's `dot` program, which is not on PATH" in message
    assert "install graphviz" in message and "--format mermaid or --format dot" in message


def test_the_readme_shows_the_shipped_pipeline_as_the_command_draws_it() -> None:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```mermaid\n(.*?)```", readme, flags=re.DOTALL)
    result = CliRunner().invoke(
        cli, ["graph", str(REPO / "specs" / "stellar-ttp.yaml"), "--no-live"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout in blocks, (
        "README.md's mermaid block differs from `flowrun graph specs/stellar-ttp.yaml "
        "--no-live`: paste the command's output into it"
    )
