"""Headless rendering: the graph and ladder of a scenario as Qt scenes, never in a window.

Rule: nothing here shows a window.  :func:`ensure_app` starts Qt on the ``offscreen``
platform unless the environment already chose one, so ``routelab render`` works on a
machine without a display; the scenes are the app's own :class:`~gui.scene.TopologyScene`
and :class:`~gui.ladder.LadderScene`, so a rendered picture looks exactly like the app.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from engine.errors import EngineError
from engine.scenario import Scenario
from engine.simulate import simulate
from engine.topology import layout, topology
from engine.trace import Trace
from gui.ladder import LadderScene
from gui.scene import TopologyScene
from gui.topology_view import node_specs


def ensure_app() -> QApplication:
    """The running QApplication, or a new one on the offscreen platform (no window ever)."""
    app = QCoreApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication([sys.argv[0] if sys.argv and sys.argv[0] else "routelab"])
    if not isinstance(app, QApplication):
        raise RuntimeError("rendering needs a QApplication, and a QCoreApplication is running")
    return app


@dataclass(frozen=True)
class Document:
    """A scenario with everything derived from it, as :class:`gui.session.Session` holds it."""

    scenario: Scenario
    trace: Trace
    graph: nx.DiGraph[str]
    positions: Mapping[str, tuple[float, float]]


def document(scenario: Scenario) -> Document:
    """Simulate a scenario and lay out its topology (EngineError on a broken scenario)."""
    trace = simulate(scenario)
    graph = topology(scenario, trace)
    return Document(scenario, trace, graph, layout(graph))


def ladder_order(positions: Mapping[str, tuple[float, float]]) -> list[str]:
    """Lifelines left to right: the engine layout's columns, then its rows.

    >>> ladder_order({"Bob": (2.0, 0.0), "P1": (1.0, 0.0), "Alice": (0.0, 0.0), "P9": (1.0, 1.0)})
    ['Alice', 'P1', 'P9', 'Bob']
    """
    return sorted(positions, key=lambda n: (positions[n][0], positions[n][1]))


def check_step(trace: Trace, step: int | None) -> int | None:
    """The 0-based index of 1-based ``step`` (None stays None); EngineError when out of range."""
    if step is None:
        return None
    count = len(trace.steps)
    if not 1 <= step <= count:
        raise EngineError(
            f"step {step} is out of range: the trace has {count} step{'s' * (count != 1)}"
            + (f" (1..{count})" if count else "")
        )
    return step - 1


def graph_scene(doc: Document, index: int | None = None) -> TopologyScene:
    """The topology scene, showing step ``index`` (0-based) as the app does, or no step."""
    ensure_app()
    scene = TopologyScene()
    specs, links = node_specs(doc.graph, doc.positions)
    scene.set_topology(specs, links)
    steps = doc.trace.steps
    if index is not None and 0 <= index < len(steps):
        step = steps[index]
        scene.show_step(step, doc.trace.steps_of(step.request))
    else:
        scene.show_step(None, ())
    return scene


def ladder_scene(trace: Trace, order: Sequence[str], index: int | None = None) -> LadderScene:
    """The ladder scene of a trace, with step ``index`` (0-based) highlighted if given."""
    ensure_app()
    scene = LadderScene()
    scene.set_trace(trace, order)
    if index is not None:
        scene.set_current(index)
    return scene


__all__ = [
    "Document",
    "check_step",
    "document",
    "ensure_app",
    "graph_scene",
    "ladder_order",
    "ladder_scene",
]
