"""The topology view's items paint only inside their boundingRect().

Qt repaints an item's old and new boundingRect() when it moves or changes; whatever
paint() draws outside it stays on screen as a stray line after the next step (seen
under Xvfb: the top edge of the hop label left behind), and a cached item
(DeviceCoordinateCache) loses it altogether.  Offscreen ``grab()`` renders the whole
scene afresh, so it never shows that: these tests paint each item alone and look
for pixels outside its bounding rectangle.
"""

from __future__ import annotations

import itertools
import math

import pytest
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QImage, QPainter
from PySide6.QtWidgets import QApplication, QStyleOptionGraphicsItem
from pytestqt.qtbot import QtBot

from engine.trace import Flag
from gui.items import (
    BADGE,
    NODE_H,
    NODE_W,
    HopItem,
    LinkItem,
    NodeItem,
    NodeSpec,
    badge_path,
    badge_text,
    badge_width,
    fitted_address,
)
from gui.theme import FLAG_STYLES

MARGIN = 60


def painted_outside(item: HopItem | NodeItem | LinkItem) -> list[tuple[int, int]]:
    """Pixels (in item coordinates) that paint() touches outside boundingRect()."""
    bounds = item.boundingRect()
    size = bounds.size().toSize()
    image = QImage(
        size.width() + 2 * MARGIN, size.height() + 2 * MARGIN, QImage.Format.Format_ARGB32
    )
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.translate(MARGIN - bounds.left(), MARGIN - bounds.top())
    item.paint(painter, QStyleOptionGraphicsItem(), None)
    # Clear what may be painted (half a pixel of antialiasing around it is Qt's own
    # margin when it repaints), then anything left is outside.
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Clear)
    painter.fillRect(bounds.adjusted(-1, -1, 1, 1), Qt.GlobalColor.transparent)
    painter.end()
    blank = QImage(image.size(), image.format())
    blank.fill(Qt.GlobalColor.transparent)
    if image == blank:
        return []
    return [
        (x - MARGIN + int(bounds.left()), y - MARGIN + int(bounds.top()))
        for y in range(image.height())
        for x in range(image.width())
        if image.pixelColor(x, y).alpha()
    ]


def node(kind: str = "proxy", warnings: tuple[str, ...] = ()) -> NodeItem:
    spec = NodeSpec("P1", kind, "192.0.2.1:5060", "P1", 0.0, 0.0, warnings, more_addresses=2)
    return NodeItem(spec)


@pytest.mark.parametrize("below", [False, True], ids=["request", "response"])
@pytest.mark.parametrize(
    "dst",
    [QPointF(300, 0), QPointF(-300, 0), QPointF(0, 220), QPointF(0, -220), QPointF(260, 180)],
    ids=["right", "left", "down", "up", "diagonal"],
)
@pytest.mark.parametrize("label", ["INVITE", "481 (SUBSCRIBE)"])
def test_hop_arrow_and_label_stay_inside(
    qtbot: QtBot, below: bool, dst: QPointF, label: str
) -> None:
    hop = HopItem()
    hop.set_hop([QPointF(0, 0), dst], label, below=below, pen_style=Qt.PenStyle.SolidLine)
    assert painted_outside(hop) == []


@pytest.mark.parametrize("below", [False, True], ids=["request", "response"])
def test_a_summarised_response_goes_link_by_link(qtbot: QtBot, below: bool) -> None:
    """One step for a response's whole way back: a curve and a head on every link."""
    points = [QPointF(0, 200), QPointF(200, 200), QPointF(400, 200), QPointF(400, 0)]
    hop = HopItem()
    hop.set_hop(points, "180 (INVITE)", below=below, pen_style=Qt.PenStyle.SolidLine)
    assert (hop.src, hop.dst) == (points[0], points[-1])
    assert painted_outside(hop) == []
    # One curve a link, from box to box (never one curve straight from the first element
    # to the last).
    links = list(itertools.pairwise(points))
    curves = hop._curves()
    assert len(curves) == len(links)
    near_box = math.hypot(NODE_W / 2 + 4, NODE_H / 2 + 4)
    for (path, _control, end), (a, b) in zip(curves, links, strict=True):
        assert QLineF(path.pointAtPercent(0.0), a).length() <= near_box
        assert QLineF(end, b).length() <= near_box
        assert hop.boundingRect().contains(path.pointAtPercent(0.5))


def test_hops_up_or_down_leave_the_badges_clear_and_bend_apart(qtbot: QtBot) -> None:
    """A hop up or down the graph starts and ends at the sides of the boxes, clear of the
    flag badges above them; a request and its response bend to opposite sides,
    each label beside its own curve, off the link."""
    top, bottom = QPointF(0, 0), QPointF(0, 200)
    request, response = HopItem(), HopItem()
    request.set_hop([top, bottom], "INVITE", below=False, pen_style=Qt.PenStyle.SolidLine)
    response.set_hop([bottom, top], "200 (INVITE)", below=True, pen_style=Qt.PenStyle.SolidLine)
    # The bottom box with three badges (the tour's P1: local Route removed, -3, RR) in
    # their row above it, where the request arrives and the response leaves.
    lower = node()
    lower.setPos(bottom)
    lower.set_state(
        active=False,
        on_path=True,
        flags=(Flag.LOCAL_ROUTE_REMOVED, Flag.PRELOADED, Flag.RECORD_ROUTE),
    )
    badges = [lower.mapRectToScene(r).adjusted(-3, -3, 3, 3) for r in lower.badge_rects()]
    sides = []
    for hop in (request, response):
        (path, _control, end), *_ = hop._curves()
        start = path.pointAtPercent(0.0)
        for point in (start, end):
            assert abs(point.x()) > NODE_W / 2  # at a side of the box
        assert not any(path.intersects(b) for b in badges)
        sides.append(path.pointAtPercent(0.5).x())
        label = hop._label_box(hop._curves(), hop._label_font(QFont()))
        assert not label.contains(QPointF(0, 100))  # not across the link
        assert painted_outside(hop) == []
    assert sides[0] > 0 > sides[1]  # requests to the right, responses to the left


def test_the_check_sees_paint_outside(qtbot: QtBot) -> None:
    """The check itself can fail: an item whose rectangle misses its label is caught."""

    class Clipped(HopItem):
        def boundingRect(self) -> QRectF:
            return super().boundingRect().adjusted(0, 12, 0, -12)

    hop = Clipped()
    hop.set_hop(
        [QPointF(0, 0), QPointF(300, 0)], "INVITE", below=False, pen_style=Qt.PenStyle.SolidLine
    )
    assert painted_outside(hop)


@pytest.mark.parametrize("kind", ["proxy", "ua"])
def test_node_with_every_badge_stays_inside(qtbot: QtBot, kind: str) -> None:
    item = node(kind, warnings=("preloaded Route to a foreign host",))
    item.set_state(active=True, on_path=True, flags=tuple(FLAG_STYLES))
    item._hover = True  # the widest outline: active and hovered
    assert painted_outside(item) == []


def test_used_link_stays_inside(qtbot: QtBot) -> None:
    a, b = node(), node()
    b.setPos(250, 120)
    link = LinkItem(a, b)
    link.set_state(used=True, pen_style=Qt.PenStyle.DashLine)
    assert painted_outside(link) == []


@pytest.mark.parametrize("height", [BADGE, 16.0], ids=["graph", "ladder"])
@pytest.mark.parametrize("flag", list(Flag), ids=lambda f: f.name.lower())
def test_badge_symbol_fits_inside_its_shape(qtbot: QtBot, flag: Flag, height: float) -> None:
    """The symbol (``−3`` in its hexagon, ``L→S`` in its diamond ...) stays off the outline."""
    style = FLAG_STYLES[flag]
    rect = QRectF(0, 0, badge_width(style, height), height)
    ink = badge_text(QFont(), rect, style).ink
    outline = badge_path(style.shape, rect)
    corners = (ink.topLeft(), ink.topRight(), ink.bottomLeft(), ink.bottomRight())
    assert all(outline.contains(c) for c in corners), (style.symbol, style.shape, ink, rect)
    # Legible: shrunk, where the shape is tight, to no less than a third of the height.
    assert badge_text(QFont(), rect, style).font.pointSizeF() >= max(5.5, 0.34 * height)


def test_an_address_that_does_not_fit_loses_its_default_port_first(qtbot: QtBot) -> None:
    font = QFont()
    font.setPointSizeF(8.0)
    metrics = QFontMetricsF(font)
    v6 = "[2001:db8::4]:5060"
    assert fitted_address(v6, metrics, 1000) == v6
    # Too wide: the port goes, the part that tells two addresses apart stays.
    short = metrics.horizontalAdvance("[2001:db8::4]")
    assert fitted_address(v6, metrics, short + 1) == "[2001:db8::4]"
    # Narrower still, or a port that says something: elided in the middle.
    assert fitted_address(v6, metrics, short / 2).count("…") == 1
    other = "[2001:db8::4]:5080"
    assert "…" in fitted_address(other, metrics, short + 1)


def test_the_words_follow_the_application_font(qtbot: QtBot, qapp: QApplication) -> None:
    from PySide6.QtGui import QFont

    from gui import theme
    from gui.items import HOP_LABEL_SCALE

    before = qapp.font()
    try:
        for size in (9.0, 14.0):
            font = QFont(before)
            font.setPointSizeF(size)
            qapp.setFont(font)
            assert theme.font_pt(1.0) == size
            assert HopItem()._label_font(QFont()).pointSizeF() == pytest.approx(
                size * HOP_LABEL_SCALE
            )
            # Larger words still stay inside the box's bounds.
            item = node("ua", warnings=("preloaded Route to a foreign host",))
            item.set_state(active=True, on_path=True, flags=tuple(FLAG_STYLES))
            assert painted_outside(item) == []
    finally:
        qapp.setFont(before)
