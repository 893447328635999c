"""Turn the engine's topology (networkx graph + layout data) into scene item specs."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping

import networkx as nx

from gui.items import NodeSpec

COLUMN = 205.0
ROW = 150.0
BAND_GAP = 40.0


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


def bands_for(columns: int, rows: int, aspect: float = 1.8) -> int:
    """How many bands a layout of ``columns`` x ``rows`` should be folded into.

    A long chain drawn on one line leaves the boxes tiny in a window; folding it like a
    snake (the second band runs right to left) keeps the path order readable and
    brings the overall shape close to ``aspect`` (width / height).
    """
    if columns <= 5:
        return 1  # short paths read best on one line
    best, best_score = 1, math.inf
    for bands in range(1, columns + 1):
        per_band = math.ceil(columns / bands)
        width = per_band * COLUMN
        height = bands * rows * ROW + (bands - 1) * BAND_GAP
        score = abs(math.log(width / height / aspect))
        if score < best_score - 1e-9:
            best, best_score = bands, score
    return best


def fold(
    positions: Mapping[str, tuple[float, float]], aspect: float = 1.8
) -> dict[str, tuple[float, float]]:
    """Scene coordinates for the engine's ``(column, row)`` layout, folded into bands."""
    if not positions:
        return {}
    columns = int(max(x for x, _ in positions.values())) + 1
    rows = int(max(y for _, y in positions.values())) + 1
    bands = bands_for(columns, rows, aspect)
    per_band = math.ceil(columns / bands)
    out = {}
    for name, (x, y) in positions.items():
        band, offset = divmod(int(x), per_band)
        if band % 2:
            offset = per_band - 1 - offset  # the snake turns: this band runs right to left
        out[name] = (offset * COLUMN, (band * rows + y) * ROW + band * BAND_GAP)
    return out


def node_specs(
    graph: nx.DiGraph[str], positions: Mapping[str, tuple[float, float]]
) -> tuple[list[NodeSpec], list[tuple[str, str]]]:
    """Nodes with scene coordinates, and the undirected links between them."""
    specs: list[NodeSpec] = []
    scene_pos = fold(positions)
    for name in graph.nodes:
        attrs = dict(graph.nodes[name])
        kind = str(attrs.get("kind", "proxy"))
        kind = "ua" if kind.lower() in ("ua", "user-agent", "user_agent", "uac", "uas") else "proxy"
        x, y = scene_pos.get(name, (0.0, 0.0))
        subtitle = str(attrs.get("address") or attrs.get("subtitle") or "")
        specs.append(NodeSpec(str(name), kind, subtitle, _tooltip(str(name), attrs), x, y))
    links = sorted({tuple(sorted((str(a), str(b)))) for a, b in graph.edges if a != b})
    return specs, [(a, b) for a, b in links]
