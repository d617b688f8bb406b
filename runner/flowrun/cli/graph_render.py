"""The pipeline as a picture: Mermaid (GitHub renders it in Markdown) and Graphviz DOT.

A `PipelineGraph` is built from the spec (components, their type and ports, the data
edges of `inputs` and the start-order edges of `depends_on`) and, when the pipeline
runs, the runner's status (each node's state and pid, and the ports the runner picked
for those written 0). Rendering is pure text, deterministic: the README's picture is
this module's output for specs/stellar-ttp.yaml, and a test keeps them equal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from flowrun.spec.graph import topological_order
from flowrun.spec.model import ComponentSpec

DATA_EDGE_LABEL = "Arrow Flight"
ORDER_EDGE_LABEL = "starts after"
STATE_COLOURS = {  # fill, stroke: the same in Mermaid and DOT
    "running": ("#d4edda", "#28a745"),
    "starting": ("#fff3cd", "#d39e00"),
    "backoff": ("#f8d7da", "#dc3545"),
    "failed": ("#f8d7da", "#dc3545"),
    "stopped": ("#e2e3e5", "#6c757d"),
}
_MERMAID_SHAPES = {"source": ('(["', '"])'), "processor": ('["', '"]'), "sink": ('[("', '")]')}
_DOT_SHAPES = {"source": "box", "processor": "box", "sink": "cylinder"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_MERMAID_KEYWORDS = frozenset({"end", "subgraph", "graph", "flowchart"})


@dataclass(frozen=True)
class Live:
    """What the runner says of one component now."""

    state: str
    pid: int | None
    endpoint: str | None


@dataclass(frozen=True)
class Node:
    name: str
    type: str
    endpoint: str | None
    health_port: int | None
    live: Live | None = None

    def lines(self) -> list[str]:
        """The label: name, type, ports (`auto` for a port the runner picks), state."""
        lines = [self.name, self.type]
        endpoint = self.live.endpoint if self.live and self.live.endpoint else self.endpoint
        if endpoint:
            host, _, port = endpoint.rpartition(":")
            lines.append(f"flight {host}:{'auto' if port == '0' else port}")
        if self.health_port is not None:
            lines.append(f"health :{self.health_port or 'auto'}")
        if self.live is not None:
            pid = f" pid {self.live.pid}" if self.live.pid else ""
            lines.append(f"{self.live.state}{pid}")
        return lines


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    data: bool
    """True for `inputs` (data flows), False for `depends_on` (start order only)."""


@dataclass(frozen=True)
class PipelineGraph:
    name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def graph_of(
    name: str, components: Mapping[str, ComponentSpec], live: Mapping[str, Live] | None = None
) -> PipelineGraph:
    """Nodes upstream first; edges in the order of each component's lists."""
    order = topological_order(components)
    nodes = tuple(
        Node(
            name=n,
            type=components[n].type.value,
            endpoint=components[n].endpoint,
            health_port=components[n].health_port,
            live=(live or {}).get(n),
        )
        for n in order
    )
    edges = tuple(
        Edge(upstream, n, data)
        for n in order
        for data, upstreams in ((True, components[n].inputs), (False, components[n].depends_on))
        for upstream in upstreams
        if upstream in components
    )
    return PipelineGraph(name, nodes, edges)


def _identifiers(graph: PipelineGraph) -> dict[str, str]:
    """A safe identifier per component: its name with `_` for other characters and after
    a Mermaid keyword, made unique (`a-b` and `a_b` may both be names)."""
    ids: dict[str, str] = {}
    for node in graph.nodes:
        base = candidate = _UNSAFE.sub("_", node.name)
        if base.lower() in _MERMAID_KEYWORDS:  # `end` as a node id ends the chart there
            base = candidate = f"{base}_"
        count = 1
        while candidate in ids.values():
            count += 1
            candidate = f"{base}_{count}"
        ids[node.name] = candidate
    return ids


def mermaid(graph: PipelineGraph) -> str:
    ids = _identifiers(graph)
    lines = ["flowchart LR"]
    for node in graph.nodes:
        opening, closing = _MERMAID_SHAPES.get(node.type, ('["', '"]'))
        label = "<br/>".join([f"<b>{node.name}</b>", *node.lines()[1:]])
        lines.append(f"    {ids[node.name]}{opening}{label}{closing}")
    for edge in graph.edges:
        arrow = f"-->|{DATA_EDGE_LABEL}|" if edge.data else f"-.->|{ORDER_EDGE_LABEL}|"
        lines.append(f"    {ids[edge.source]} {arrow} {ids[edge.target]}")
    states = sorted({node.live.state for node in graph.nodes if node.live is not None})
    for state in states:
        fill, stroke = STATE_COLOURS.get(state, ("#ffffff", "#333333"))
        lines.append(f"    classDef {state} fill:{fill},stroke:{stroke}")
    for node in graph.nodes:
        if node.live is not None:
            lines.append(f"    class {ids[node.name]} {node.live.state}")
    return "\n".join(lines) + "\n"


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _quoted(text: str) -> str:
    return f'"{_escaped(text)}"'


def _label(lines: list[str]) -> str:
    """A DOT label of several lines (DOT's own `\\n` between them)."""
    return '"' + "\\n".join(_escaped(line) for line in lines) + '"'


def dot(graph: PipelineGraph) -> str:
    lines = [
        f"digraph {_quoted(graph.name)} {{",
        "    rankdir=LR;",
        '    node [fontname="Helvetica", fontsize=11];',
        '    edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in graph.nodes:
        attributes = [
            f"shape={_DOT_SHAPES.get(node.type, 'box')}",
            f"label={_label(node.lines())}",
        ]
        if node.type == "source":
            attributes.append('style="rounded"')
        if node.live is not None:
            fill, stroke = STATE_COLOURS.get(node.live.state, ("#ffffff", "#333333"))
            style = "rounded,filled" if node.type == "source" else "filled"
            attributes = [a for a in attributes if not a.startswith("style=")]
            attributes += [f'style="{style}"', f'fillcolor="{fill}"', f'color="{stroke}"']
        lines.append(f"    {_quoted(node.name)} [{', '.join(attributes)}];")
    for edge in graph.edges:
        label = DATA_EDGE_LABEL if edge.data else ORDER_EDGE_LABEL
        style = "" if edge.data else ", style=dashed"
        lines.append(
            f"    {_quoted(edge.source)} -> {_quoted(edge.target)} [label={_quoted(label)}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
