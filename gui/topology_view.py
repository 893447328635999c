"""Turn the engine's topology (networkx graph + layout data) into scene item specs."""

from __future__ import annotations

import html
from collections.abc import Mapping

import networkx as nx

from gui.items import NodeSpec

COLUMN = 170.0
ROW = 150.0


def _tooltip(name: str, attrs: Mapping[str, object]) -> str:
    rows = [f"<b>{html.escape(name)}</b>"]
    for key, value in attrs.items():
        if key in ("x", "y", "label", "pos") or value in (None, "", (), [], {}):
            continue
        if isinstance(value, list | tuple):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, Mapping):
            text = ", ".join(f"{k}={v}" for k, v in value.items())
        else:
            text = str(value)
        rows.append(f"{html.escape(key.replace('_', ' '))}: {html.escape(text)}")
    return "<br>".join(rows)


def node_specs(
    graph: nx.DiGraph[str], positions: Mapping[str, tuple[float, float]]
) -> tuple[list[NodeSpec], list[tuple[str, str]]]:
    """Nodes with scene coordinates, and the undirected links between them."""
    specs: list[NodeSpec] = []
    for name in graph.nodes:
        attrs = dict(graph.nodes[name])
        kind = str(attrs.get("kind", "proxy"))
        kind = "ua" if kind.lower() in ("ua", "user-agent", "user_agent", "uac", "uas") else "proxy"
        x, y = positions.get(name, (0.0, 0.0))
        subtitle = str(attrs.get("address") or attrs.get("subtitle") or "")
        specs.append(
            NodeSpec(str(name), kind, subtitle, _tooltip(str(name), attrs), x * COLUMN, y * ROW)
        )
    links = sorted({tuple(sorted((str(a), str(b)))) for a, b in graph.edges if a != b})
    return specs, [(a, b) for a, b in links]
