"""Turn the engine's topology (networkx graph + layout data) into scene item specs."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import networkx as nx

from engine.scenario import Scenario
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


def configuration_html(scenario: Scenario | None, name: str) -> list[str]:
    """A proxy's or user agent's configuration, as tooltip lines."""
    if scenario is None:
        return []
    rows: list[str] = []
    for node in scenario.proxies:
        if node.name != name:
            continue
        rows.append("listen: " + ", ".join(s.describe() for s in node.listen))
        if node.aliases:
            rows.append("aliases: " + ", ".join(str(a) for a in node.aliases))
        rows.append(f"profile: {node.profile}")
        changed = node.rr.changed()
        rows.append(
            "rr modparams: "
            + (", ".join(f"{k}={v}" for k, v in changed.items()) if changed else "defaults")
        )
        if node.loose_route_mode:
            rows.append(f"loose_route_mode({node.loose_route_mode})")
        if node.outbound is not None:
            rows.append("outbound module loaded")
    for ua in scenario.user_agents:
        if ua.name == name:
            rows.append(f"address: {ua.address}")
            rows.append(f"Contact: {ua.contact}")
            if ua.outbound_proxy:
                rows.append(f"outbound proxy: {ua.outbound_proxy}")
    return [html.escape(r) for r in rows]


def box_address(address: str) -> tuple[str, int]:
    """What a box shows of an element's sockets: the first one, and how many more.

    UDP is the default, so the box names only other transports; the hover text lists
    every socket.

    >>> box_address("udp:192.0.2.2:5060, udp:[2001:db8::2]:5060, tls:192.0.2.2:5061")
    ('192.0.2.2:5060', 2)
    >>> box_address("tcp:192.0.2.9:5060")
    ('tcp:192.0.2.9:5060', 0)
    """
    first, *more = address.split(", ")
    if first.startswith("udp:"):
        first = first[4:]
    return first, len(more)


def node_specs(
    graph: nx.DiGraph[str],
    positions: Mapping[str, tuple[float, float]],
    scenario: Scenario | None = None,
    warnings: Sequence[str] = (),
) -> tuple[list[NodeSpec], list[tuple[str, str]]]:
    """Nodes with scene coordinates, and the undirected links between them.

    ``warnings`` are the scenario's configuration warnings (``"P2: ..."``); each is
    attached to the element it names, which shows it as a persistent badge.
    """
    specs: list[NodeSpec] = []
    scene_pos = fold(positions)
    for name in graph.nodes:
        attrs = dict(graph.nodes[name])
        kind = str(attrs.get("kind", "proxy"))
        kind = "ua" if kind.lower() in ("ua", "user-agent", "user_agent", "uac", "uas") else "proxy"
        x, y = scene_pos.get(name, (0.0, 0.0))
        subtitle, more = box_address(str(attrs.get("address") or attrs.get("subtitle") or ""))
        own = tuple(w.split(": ", 1)[1] for w in warnings if w.startswith(f"{name}: "))
        tip = [f"<b>{html.escape(str(name))}</b>", *configuration_html(scenario, str(name))]
        if len(tip) == 1:
            tip = [_tooltip(str(name), attrs)]
        tip.extend(f"<br><b>⚠ {html.escape(w)}</b>" for w in own)
        specs.append(NodeSpec(str(name), kind, subtitle, "<br>".join(tip), x, y, own, more))
    links = sorted({tuple(sorted((str(a), str(b)))) for a, b in graph.edges if a != b})
    return specs, [(a, b) for a, b in links]
