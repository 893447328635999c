"""The topology view: elements and links from the networkx model, and the current hop.

Rule: the scene is rebuilt only when the topology changes; stepping only
updates item states, so one step repaints in well under a frame.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView, QWidget

from engine.trace import Flag, StepKind, TraceStep
from gui.items import HopItem, LinkItem, NodeItem, NodeSpec
from gui.theme import FLAG_STYLES

# Which flag decides a hop's line style, most telling first.
_STYLE_ORDER = (
    Flag.MISMATCH,
    Flag.LOOP,
    Flag.DEAD_END,
    Flag.LOOSE_TO_STRICT,
    Flag.STRICT_TO_STRICT,
    Flag.STRICT_TO_LOOSE,
    Flag.PRELOADED,
    Flag.NOT_ROUTED,
)


def hop_pen_style(flags: Sequence[Flag]) -> Qt.PenStyle:
    """The line style of a hop: the style of its most telling flag, else solid."""
    for flag in _STYLE_ORDER:
        if flag in flags:
            return FLAG_STYLES[flag].pen
    return Qt.PenStyle.SolidLine


class TopologyScene(QGraphicsScene):
    """Elements as nodes, links between elements that talk, and the current hop arrow."""

    node_clicked = Signal(str)
    link_clicked = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.nodes: dict[str, NodeItem] = {}
        self.links: dict[frozenset[str], LinkItem] = {}
        self.hop = HopItem()
        self.addItem(self.hop)
        self.current: TraceStep | None = None

    def set_topology(self, nodes: Sequence[NodeSpec], links: Sequence[tuple[str, str]]) -> None:
        """Replace every element and link."""
        for item in [*self.nodes.values(), *self.links.values()]:
            self.removeItem(item)
        self.nodes.clear()
        self.links.clear()
        for spec in nodes:
            node = NodeItem(spec)
            node.clicked.connect(self.node_clicked)
            self.addItem(node)
            self.nodes[spec.name] = node
        for a, b in links:
            key = frozenset((a, b))
            if a == b or key in self.links or a not in self.nodes or b not in self.nodes:
                continue
            link = LinkItem(self.nodes[a], self.nodes[b])
            link.clicked.connect(self.link_clicked)
            self.addItem(link)
            self.links[key] = link
        self.hop.setVisible(False)
        self.current = None
        rect = QRectF()
        for item in [*self.nodes.values(), *self.links.values()]:
            rect = rect.united(item.sceneBoundingRect())
        self.setSceneRect(rect.adjusted(-80, -90, 80, 80))

    def show_step(self, step: TraceStep | None, request_steps: Sequence[TraceStep]) -> None:
        """Highlight one step; ``request_steps`` are the steps of its request, in order."""
        self.current = step
        upto = [s for s in request_steps if step is None or s.index <= step.index]
        flags_at: dict[str, list[Flag]] = {}
        used: dict[frozenset[str], Qt.PenStyle] = {}
        for s in upto:
            bucket = flags_at.setdefault(s.element, [])
            bucket.extend(f for f in s.flags if f not in bucket)
            for a, b in _hops(s):
                used[frozenset((a, b))] = hop_pen_style(s.flags)
        on_path = {name for s in request_steps for hop in _hops(s) for name in hop} | {
            s.element for s in request_steps
        }
        for name, node in self.nodes.items():
            node.set_state(
                active=step is not None and name == step.element,
                on_path=name in on_path,
                flags=flags_at.get(name, ()),
            )
        for key, link in self.links.items():
            link.set_state(used=key in used, pen_style=used.get(key, Qt.PenStyle.SolidLine))
        if (
            step is None
            or step.next_element not in self.nodes
            or step.element not in self.nodes
            or step.next_element == step.element  # sent to itself: the loop badge says so
        ):
            self.hop.setVisible(False)
            return
        # A summarised response goes along every element it passed, where all are drawn.
        names = _passed(step) if all(name in self.nodes for name in step.path) else ()
        names = names or (step.element, step.next_element)
        label = step.method if step.status is None else f"{step.status} ({step.method})"
        self.hop.set_hop(
            [self.nodes[name].pos() for name in names],
            label,
            below=step.kind is StepKind.RESPONSE or step.status is not None,  # an answer
            pen_style=hop_pen_style(step.flags),
        )

    def refresh_colours(self) -> None:
        """Paint every item again in the current palette's colours (a light/dark switch).

        Elements and links keep a pixmap of themselves (``DeviceCoordinateCache``): an
        update alone would blit the old colours, so each cache is dropped first.
        """
        for item in self.items():
            mode = item.cacheMode()
            if mode is not QGraphicsItem.CacheMode.NoCache:
                item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
                item.setCacheMode(mode)
            item.update()
        self.update()

    def node_position(self, name: str) -> QPointF | None:
        """Where an element is drawn (None when absent)."""
        node = self.nodes.get(name)
        return node.pos() if node else None


class GraphView(QGraphicsView):
    """A view with wheel zoom (Ctrl not needed), drag to pan, and fit to view."""

    def __init__(self, scene: QGraphicsScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setMinimumSize(320, 200)
        # The view keeps fitting the topology (on resize, new scenario) until the user zooms.
        self.auto_fit = True
        # Said in the middle of the view while it shows nothing (a draft being fixed).
        self.placeholder = ""

    def set_placeholder(self, text: str) -> None:
        """Words to show while there is nothing to draw (``""``: none)."""
        if text != self.placeholder:
            self.placeholder = text
            self.viewport().update()

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        super().drawForeground(painter, rect)
        if not self.placeholder:
            return
        painter.save()
        painter.resetTransform()  # viewport pixels
        painter.setPen(self.palette().placeholderText().color())
        box = QRectF(self.viewport().rect()).adjusted(24, 24, -24, -24)
        painter.drawText(
            box, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder
        )
        painter.restore()

    def wheelEvent(self, event: QWheelEvent) -> None:
        factor = 1.15 if event.angleDelta().y() > 0 else 1 / 1.15
        self.zoom(factor)
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.auto_fit:
            self._fit()

    def zoom(self, factor: float) -> None:
        """Zoom by ``factor``, within sane limits (stops automatic fitting)."""
        self.auto_fit = False
        current = self.transform().m11()
        if 0.1 < current * factor < 8:
            self.scale(factor, factor)

    def fit(self) -> None:
        """Fit the whole topology into the view, and keep it fitted on resize."""
        self.auto_fit = True
        self._fit()

    def _fit(self) -> None:
        rect: QRectF = self.scene().sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.transform().m11() > 1.3:
            self.resetTransform()
            self.scale(1.3, 1.3)
            self.centerOn(rect.center())


def _passed(step: TraceStep) -> tuple[str, ...]:
    """The elements a summarised response passed, each once where it stayed in one (a
    proxy that sent the request to itself); empty for any other step."""
    return tuple(name for name, _ in itertools.groupby(step.path))


def _hops(step: TraceStep) -> list[tuple[str, str]]:
    """The links a step's message crossed: along its path when it has one (a summarised
    response), else from its element to the next."""
    passed = _passed(step)
    if len(passed) > 1:
        return list(itertools.pairwise(passed))
    return [(step.element, step.next_element)] if step.next_element else []
