"""The scenario and its trace as a graph, and a layered layout computed as plain data.

Rule 1 (networkx style): free functions that take the graph first; :func:`topology` builds a
fresh :class:`networkx.DiGraph` and freezes it, so no caller can change a graph another one
holds.  Nodes are the user agents and proxies with their attributes; an edge ``a -> b`` is a
hop the trace took, with the step numbers, methods and flags of every message that took it.
Rule 2: :func:`layout` returns ``{node: (column, row)}`` floats, nothing drawn and no numpy:
the caller on the left (column 0), the callee on the right, the proxies between them in the
order the dialog-creating request visited them; other elements are placed by their
breadth-first distance from the caller (:func:`networkx.bfs_layers`) in rows below.

>>> from engine.scenario import loads
>>> from engine.simulate import simulate
>>> s = loads('''{"format": 1, "title": "Via one proxy",
...   "user_agents": [
...     {"name": "Alice", "address": "udp:192.0.2.10:5060", "contact": "sip:alice@192.0.2.10",
...      "outbound_proxy": "sip:192.0.2.1"},
...     {"name": "Bob", "address": "udp:192.0.2.20:5060", "contact": "sip:bob@192.0.2.20"}],
...   "proxies": [{"name": "P1", "listen": ["udp:192.0.2.1:5060"]}],
...   "dialog": {"method": "INVITE", "from": "Alice", "to": "Bob"}}''')
>>> g = topology(s, simulate(s))
>>> sorted(g.edges), g.nodes["P1"]["kind"]
([('Alice', 'P1'), ('Bob', 'P1'), ('P1', 'Alice'), ('P1', 'Bob')], 'proxy')
>>> layout(g)
{'Alice': (0.0, 0.0), 'P1': (1.0, 0.0), 'Bob': (2.0, 0.0)}
"""

from __future__ import annotations

import networkx as nx

from engine.profiles import PROFILES
from engine.scenario import Scenario
from engine.trace import Flag, StepKind, Trace

_FLAG_ORDER = {f.value: i for i, f in enumerate(Flag)}


def topology(scenario: Scenario, trace: Trace) -> nx.DiGraph[str]:
    """The elements and the hops taken, as a frozen directed graph.

    Node attributes: ``kind`` (``"ua"`` or ``"proxy"``), ``role`` (``"caller"``, ``"callee"``,
    ``"ua"`` or ``"proxy"``), ``address`` (the sockets, one string), and per kind ``contact``,
    ``aor`` or ``profile``, ``profile_title``, ``aliases``, ``loose_route_mode``.  Edge
    attributes: ``steps`` (step indexes, in order), ``requests`` (request indexes), ``methods``,
    ``kinds`` (``"request"`` / ``"response"``) and ``flags`` (flag values of the steps that sent
    a message along the edge).  Graph attributes: ``title``, ``caller``, ``callee`` and ``path``
    (the elements the dialog-creating request visited, in order).
    """
    graph: nx.DiGraph[str] = nx.DiGraph()
    caller = scenario.dialog.sender
    callee = _callee(scenario, trace)
    graph.graph.update(
        title=scenario.title, caller=caller, callee=callee, path=_initial_path(trace)
    )
    for ua in scenario.user_agents:
        role = "caller" if ua.name == caller else "callee" if ua.name == callee else "ua"
        graph.add_node(
            ua.name,
            kind="ua",
            role=role,
            address=str(ua.address),
            contact=ua.contact,
            aor=ua.address_of_record,
        )
    for p in scenario.proxies:
        profile = PROFILES[p.profile]
        graph.add_node(
            p.name,
            kind="proxy",
            role="proxy",
            address=", ".join(str(s) for s in p.listen),
            profile=p.profile,
            profile_title=profile.title,
            aliases=tuple(str(a) for a in p.aliases),
            loose_route_mode=p.loose_route_mode,
        )
    for step in trace.steps:
        hops: list[tuple[str, str]] = []
        if step.path:
            hops = list(zip(step.path, step.path[1:], strict=False))
        elif step.next_element:
            hops = [(step.element, step.next_element)]
        kind = "response" if step.kind is StepKind.RESPONSE or step.status else "request"
        for a, b in hops:
            if a not in graph or b not in graph:
                continue
            if not graph.has_edge(a, b):
                graph.add_edge(a, b, steps=(), requests=(), methods=(), kinds=(), flags=())
            data = graph.edges[a, b]
            data["steps"] = (*data["steps"], step.index)
            data["requests"] = _add(data["requests"], step.request)
            data["methods"] = _add(data["methods"], step.method)
            data["kinds"] = _add(data["kinds"], kind)
            flags = set(data["flags"]) | {f.value for f in step.flags}
            data["flags"] = tuple(sorted(flags, key=_FLAG_ORDER.__getitem__))
    frozen: nx.DiGraph[str] = nx.freeze(graph)
    return frozen


def _add(values: tuple[object, ...], value: object) -> tuple[object, ...]:
    return values if value in values else (*values, value)


def _callee(scenario: Scenario, trace: Trace) -> str:
    for step in trace.steps_of(0):
        if step.kind is StepKind.UAS:
            return step.element
    return scenario.dialog.recipient


def _initial_path(trace: Trace) -> tuple[str, ...]:
    path: list[str] = []
    for step in trace.steps_of(0):
        if step.kind is StepKind.RESPONSE:
            break
        if step.element not in path:
            path.append(step.element)
    return tuple(path)


def layout(graph: nx.DiGraph[str]) -> dict[str, tuple[float, float]]:
    """A stable layered layout as data: ``{node: (column, row)}``.

    Row 0 holds the dialog-creating request's path (caller, proxies in path order, callee);
    every other element goes into the column of its breadth-first distance from the caller and
    the first free row below.  Unreached elements share the middle columns at the bottom.
    """
    caller = graph.graph.get("caller")
    callee = graph.graph.get("callee")
    path = [n for n in graph.graph.get("path", ()) if n in graph]
    if caller in graph and caller not in path:
        path.insert(0, caller)
    if callee in graph:
        if callee in path:
            path.remove(callee)
        path.append(callee)
    pos: dict[str, tuple[float, float]] = {n: (float(i), 0.0) for i, n in enumerate(path)}
    last = max(len(path) - 1, 1)
    rows: dict[int, int] = {}
    rest = [n for n in graph.nodes if n not in pos]
    if rest and caller in graph:
        undirected = graph.to_undirected(as_view=True)
        for depth, layer in enumerate(nx.bfs_layers(undirected, [caller])):
            column = min(max(depth, 1), last - 1) if last > 1 else depth
            for n in sorted(layer, key=list(graph.nodes).index):
                if n in pos:
                    continue
                rows[column] = rows.get(column, 0) + 1
                pos[n] = (float(column), float(rows[column]))
    bottom = max((y for _, y in pos.values()), default=0.0) + 1.0
    for i, n in enumerate(n for n in graph.nodes if n not in pos):
        pos[n] = (float(1 + i % max(last - 1, 1)), bottom + i // max(last - 1, 1))
    return {n: pos[n] for n in sorted(pos, key=lambda n: (pos[n][0], pos[n][1], n))}


__all__ = ["layout", "topology"]
