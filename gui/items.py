"""Graphics items of the topology view: elements, links, the current hop, flag badges.

Items paint what the trace says; they never make routing decisions.  Qt
overrides keep Qt's exact names (``paint``, ``boundingRect``, ``shape``,
``mousePressEvent``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from engine.trace import Flag
from gui.theme import FLAG_STYLES, BadgeShape, FlagStyle, accent, font_pt, is_dark

NODE_W = 134.0
NODE_H = 66.0
BADGE = 26.0

# Text sizes in a box and on the hop's label, relative to the application font (at the
# usual 9 pt: 10.5, 8 and 8.5 pt), so that the drawing follows the user's font size.
NAME_SCALE = 10.5 / 9
SUBTITLE_SCALE = 8.0 / 9
HOP_LABEL_SCALE = 8.5 / 9


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """What the scene needs to know about one element."""

    name: str
    kind: str  # "ua" or "proxy"
    subtitle: str
    tooltip: str
    x: float
    y: float
    warnings: tuple[str, ...] = ()  # configuration warnings shown as a persistent badge
    more_addresses: int = 0  # sockets beyond the one in ``subtitle``, shown as "+N"


def badge_width(style: FlagStyle, height: float) -> float:
    """A badge is as wide as its symbol needs: one height for ``2`` or ``!``, more for
    ``−3`` in a hexagon or ``L→S`` in a diamond (at most 2.6 heights)."""
    return _badge_width(QFont().toString(), style.symbol, style.shape, round(height, 2))


def badge_path(shape: BadgeShape, rect: QRectF) -> QPainterPath:
    """The outline of a badge of that shape inside ``rect`` (stretched to its width)."""
    path = QPainterPath()
    c = rect.center()
    rx, ry = rect.width() / 2, rect.height() / 2
    if shape is BadgeShape.CIRCLE:
        path.addEllipse(c, rx, ry)
        return path
    if shape is BadgeShape.SQUARE:
        path.addRoundedRect(rect.adjusted(1, 1, -1, -1), 3, 3)
        return path
    if shape is BadgeShape.TRIANGLE:  # apex up, the whole rect (room for the symbol)
        path.addPolygon(
            QPolygonF([QPointF(c.x(), rect.top()), rect.bottomRight(), rect.bottomLeft()])
        )
        path.closeSubpath()
        return path
    if shape is BadgeShape.HEXAGON:  # flat top and bottom, the whole rect, like a proxy's box
        d = min(rx, ry * math.tan(math.pi / 6))
        path.addPolygon(
            QPolygonF(
                [
                    QPointF(rect.left(), c.y()),
                    QPointF(rect.left() + d, rect.top()),
                    QPointF(rect.right() - d, rect.top()),
                    QPointF(rect.right(), c.y()),
                    QPointF(rect.right() - d, rect.bottom()),
                    QPointF(rect.left() + d, rect.bottom()),
                ]
            )
        )
        path.closeSubpath()
        return path
    corners = 4 if shape is BadgeShape.DIAMOND else 8
    start = -math.pi / 2 if shape is BadgeShape.DIAMOND else -math.pi / 8
    pts = [
        QPointF(
            c.x() + rx * math.cos(start + i * 2 * math.pi / corners),
            c.y() + ry * math.sin(start + i * 2 * math.pi / corners),
        )
        for i in range(corners)
    ]
    path.addPolygon(QPolygonF(pts))
    path.closeSubpath()
    return path


_MIN_SYMBOL_PT = 5.5
# Room left between a badge's symbol and its outline (which is drawn 1.4 px wide).
_SYMBOL_CLEARANCE = 1.2


class BadgeText(NamedTuple):
    """How a badge's symbol is drawn: its font, the baseline origin for
    ``QPainter.drawText(origin, symbol)``, and where its ink lands."""

    font: QFont
    origin: QPointF
    ink: QRectF


def badge_text(base: QFont, rect: QRectF, style: FlagStyle) -> BadgeText:
    """The symbol of a badge in ``rect``, as large as fits inside its shape.

    The ink (not the line box) is centred on the shape, then moved up or down a
    little where that leaves more room (a triangle's is low), and the font shrinks
    until every corner of the ink keeps clear of the outline: ``−3`` in its hexagon
    and ``L→S`` in its diamond never touch the edges.
    """
    font = QFont(base)
    font.setBold(True)
    size, dx, dy = _fit_symbol(
        font.toString(), style.symbol, style.shape, round(rect.width(), 2), round(rect.height(), 2)
    )
    font.setPointSizeF(size)
    ink = QFontMetricsF(font).tightBoundingRect(style.symbol)
    origin = QPointF(rect.left() + dx, rect.top() + dy)
    return BadgeText(font, origin, ink.translated(origin))


@lru_cache(maxsize=256)
def _fit_symbol(
    font_spec: str, symbol: str, shape: BadgeShape, width: float, height: float
) -> tuple[float, float, float]:
    """Point size and baseline origin (from the rect's top left) of a badge's symbol.

    Badges are painted for every visible timeline row and ladder arrow: the search
    runs once per font (``QFont.toString()``), symbol, shape and size.
    """
    size = _symbol_size(symbol, height)
    while True:
        origin = _placement(font_spec, symbol, shape, width, height, size)
        if origin is not None:
            return size, origin.x(), origin.y()
        if size <= _MIN_SYMBOL_PT:  # no room anywhere: centred, at the smallest size
            origin = QPointF(width / 2, height / 2) - _symbol_ink(font_spec, symbol, size).center()
            return size, origin.x(), origin.y()
        size = max(_MIN_SYMBOL_PT, size - 0.25)


@lru_cache(maxsize=256)
def _badge_width(font_spec: str, symbol: str, shape: BadgeShape, height: float) -> float:
    size = _symbol_size(symbol, height)
    for tenths in range(10, 27):
        width = height * tenths / 10
        if _placement(font_spec, symbol, shape, width, height, size) is not None:
            return width
    return height * 2.6


def _symbol_size(symbol: str, height: float) -> float:
    """The point size a badge's symbol is meant to have (smaller only where it cannot fit)."""
    return max(_MIN_SYMBOL_PT, height * (0.42 if len(symbol) == 1 else 0.36))


def _symbol_ink(font_spec: str, symbol: str, size: float) -> QRectF:
    """Where the symbol's ink lies around its baseline origin, in the bold font at ``size``."""
    font = QFont()
    font.fromString(font_spec)
    font.setBold(True)
    font.setPointSizeF(size)
    return QFontMetricsF(font).tightBoundingRect(symbol)


def _placement(
    font_spec: str, symbol: str, shape: BadgeShape, width: float, height: float, size: float
) -> QPointF | None:
    """The baseline origin that puts the symbol's ink inside the outline, keeping clear of
    it, or None when there is no room at that size.  The ink is centred, or moved up or
    down a little where that leaves more room (a triangle's room is low)."""
    outline = badge_path(shape, QRectF(0, 0, width, height))
    ink = _symbol_ink(font_spec, symbol, size)
    room = _SYMBOL_CLEARANCE
    for shift in (0.0, 0.06, -0.06, 0.12, -0.12, 0.18, 0.24):
        origin = QPointF(width / 2, height * (0.5 + shift)) - ink.center()
        box = ink.translated(origin).adjusted(-room, -room, room, room)
        if all(
            outline.contains(corner)
            for corner in (box.topLeft(), box.topRight(), box.bottomLeft(), box.bottomRight())
        ):
            return origin
    return None


def fitted_address(text: str, metrics: QFontMetricsF, width: float) -> str:
    """``text`` (an address) as it fits in ``width``: whole; else without the default port
    (``[2001:db8::4]:5060`` shows as ``[2001:db8::4]``, the part that tells it apart); else
    elided in the middle."""
    if metrics.horizontalAdvance(text) <= width:
        return text
    if text.endswith(":5060"):
        text = text[: -len(":5060")]
        if metrics.horizontalAdvance(text) <= width:
            return text
    return metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, width)


def paint_badge(painter: QPainter, rect: QRectF, style: FlagStyle) -> None:
    """Draw one flag badge: coloured shape, dark outline, symbol in the middle."""
    color = style.color()
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor("#202020") if not is_dark() else QColor("#F0F0F0"), 1.4))
    painter.setBrush(QBrush(color))
    painter.drawPath(badge_path(style.shape, rect))
    text = badge_text(painter.font(), rect, style)
    painter.setFont(text.font)
    painter.setPen(QColor("white") if color.lightness() < 150 else QColor("black"))
    painter.drawText(text.origin, style.symbol)
    painter.restore()


class NodeItem(QGraphicsObject):
    """A user agent (rounded rectangle) or a proxy (hexagonal box), with name and address."""

    clicked = Signal(str)

    def __init__(self, spec: NodeSpec) -> None:
        super().__init__()
        self.spec = spec
        self.active = False
        self.on_path = False
        self.marks: tuple[Flag, ...] = ()
        self.setPos(spec.x, spec.y)
        self.setToolTip(spec.tooltip)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setZValue(2)
        self._hover = False
        # Nodes change only when stepping touches them: paint once, then blit.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_state(self, *, active: bool, on_path: bool, flags: Sequence[Flag]) -> None:
        """Highlight as the element processing the current step, with its flags."""
        flags = tuple(flags)
        if (active, on_path, flags) == (self.active, self.on_path, self.marks):
            return
        self.prepareGeometryChange()
        self.active, self.on_path, self.marks = active, on_path, flags
        self.update()

    def body_rect(self) -> QRectF:
        """The element's box, centred on its position."""
        return QRectF(-NODE_W / 2, -NODE_H / 2, NODE_W, NODE_H)

    def badge_rects(self) -> list[QRectF]:
        """Where each flag badge goes: a row above the box."""
        gap = 4.0
        widths = [badge_width(FLAG_STYLES[f], BADGE) for f in self.marks]
        total = sum(widths) + max(0, len(widths) - 1) * gap
        x = -total / 2
        y = -NODE_H / 2 - BADGE - 6
        rects = []
        for w in widths:
            rects.append(QRectF(x, y, w, BADGE))
            x += w + gap
        return rects

    def warning_rect(self) -> QRectF:
        """The persistent security badge, on the box's lower right corner."""
        body = self.body_rect()
        return QRectF(body.right() - BADGE * 0.6, body.bottom() - BADGE * 0.6, BADGE, BADGE)

    def boundingRect(self) -> QRectF:
        rect = self.body_rect().adjusted(-6, -6, 6, 6)
        if self.spec.warnings:
            rect = rect.united(self.warning_rect().adjusted(-2, -2, 2, 2))
        for b in self.badge_rects():
            rect = rect.united(b.adjusted(-2, -2, 2, 2))
        return rect

    def _outline(self) -> QPainterPath:
        rect = self.body_rect()
        path = QPainterPath()
        if self.spec.kind == "proxy":
            d = 14.0
            pts = [
                QPointF(rect.left() + d, rect.top()),
                QPointF(rect.right() - d, rect.top()),
                QPointF(rect.right(), rect.center().y()),
                QPointF(rect.right() - d, rect.bottom()),
                QPointF(rect.left() + d, rect.bottom()),
                QPointF(rect.left(), rect.center().y()),
            ]
            path.addPolygon(QPolygonF(pts))
            path.closeSubpath()
        else:
            path.addRoundedRect(rect, 18, 18)
        return path

    def shape(self) -> QPainterPath:
        return self._outline()

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        dark = is_dark()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.spec.kind == "proxy":
            fill = QColor("#2B3A4A") if dark else QColor("#E8F0F8")
        else:
            fill = QColor("#3A3350") if dark else QColor("#F3EEFA")
        border = QColor("#9AA7B4") if dark else QColor("#5A6775")
        width = 1.5
        style = Qt.PenStyle.SolidLine
        if self.on_path:
            width = 2.2
        if self.active:
            border, width = accent(), 4.0
        if self._hover and not self.active:
            width += 1.0
        painter.setPen(QPen(border, width, style))
        painter.setBrush(fill)
        painter.drawPath(self._outline())
        text = QColor("#F2F2F2") if dark else QColor("#111111")
        sub = QColor("#C8CDD2") if dark else QColor("#4A4F55")
        rect = self.body_rect()
        name_font = QFont(painter.font())
        name_font.setBold(True)
        name_font.setPointSizeF(font_pt(NAME_SCALE))
        small = QFont(painter.font())
        small.setBold(False)
        small.setPointSizeF(font_pt(SUBTITLE_SCALE))
        name_h = QFontMetricsF(name_font).height()
        metrics = QFontMetricsF(small)
        small_h = metrics.height()
        # Three lines (name, address, kind) 16 px apart at the usual font size; further
        # apart for a larger font, and without the kind (the outline says it too) when
        # the three no longer fit in the box.
        gap_name = max(18.0, (name_h + small_h) / 2)
        gap_small = max(16.0, small_h)
        show_kind = gap_name + gap_small + (name_h + small_h) / 2 <= rect.height() - 2
        centre = rect.center().y() + (1.0 if show_kind else 0.0)
        if show_kind:
            name_y, sub_y = centre - gap_name, centre
        else:
            name_y = centre - gap_name / 2
            sub_y = name_y + gap_name
        width = rect.width() - 16
        painter.setFont(name_font)
        painter.setPen(text)
        shown = QFontMetricsF(name_font).elidedText(
            self.spec.name, Qt.TextElideMode.ElideRight, width
        )
        painter.drawText(
            QRectF(rect.left() + 8, name_y - name_h / 2, width, name_h),
            Qt.AlignmentFlag.AlignCenter,
            shown,
        )
        painter.setFont(small)
        painter.setPen(sub)
        # Elide the address, never the "+N" of the sockets beyond it.
        more = self.spec.more_addresses
        suffix = f" +{more}" if more else ""
        room = rect.width() - 20 - metrics.horizontalAdvance(suffix)
        subtitle = fitted_address(self.spec.subtitle, metrics, room) + suffix
        painter.drawText(
            QRectF(rect.left() + 8, sub_y - small_h / 2, width, small_h),
            Qt.AlignmentFlag.AlignCenter,
            subtitle,
        )
        if show_kind:
            kind = "proxy" if self.spec.kind == "proxy" else "UA"
            painter.drawText(
                QRectF(rect.left() + 8, sub_y + gap_small - small_h / 2, width, small_h),
                Qt.AlignmentFlag.AlignCenter,
                kind,
            )
        for flag, brect in zip(self.marks, self.badge_rects(), strict=True):
            paint_badge(painter, brect, FLAG_STYLES[flag])
        if self.spec.warnings:
            # Always shown, whatever the step: this element's configuration is risky.
            paint_badge(painter, self.warning_rect(), FLAG_STYLES[Flag.SECURITY])

    def hoverEnterEvent(self, event: object) -> None:
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event: object) -> None:
        self._hover = False
        self.update()

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.spec.name)
            event.accept()
            return
        super().mousePressEvent(event)


class LinkItem(QGraphicsObject):
    """A link between two elements that exchanged messages; clickable."""

    clicked = Signal(str, str)

    def __init__(self, a: NodeItem, b: NodeItem) -> None:
        super().__init__()
        self.a, self.b = a, b
        self.used = False
        self.pen_style = Qt.PenStyle.SolidLine
        self.setZValue(0)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"{a.spec.name} ↔ {b.spec.name}: click to select the first hop")
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_state(self, *, used: bool, pen_style: Qt.PenStyle) -> None:
        """Whether the current request crossed this link, and with which line style."""
        if (used, pen_style) != (self.used, self.pen_style):
            self.used, self.pen_style = used, pen_style
            self.update()

    def _line(self) -> tuple[QPointF, QPointF]:
        return self.a.pos(), self.b.pos()

    def shape(self) -> QPainterPath:
        p1, p2 = self._line()
        path = QPainterPath(p1)
        path.lineTo(p2)
        stroker = QPainterPathStroker()
        stroker.setWidth(14)
        return stroker.createStroke(path)

    def boundingRect(self) -> QRectF:
        p1, p2 = self._line()
        return QRectF(p1, p2).normalized().adjusted(-10, -10, 10, 10)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        dark = is_dark()
        color = QColor("#7D8894") if dark else QColor("#8A949E")
        if not self.used:
            color.setAlpha(130)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, 2.6 if self.used else 1.6, self.pen_style))
        p1, p2 = self._line()
        painter.drawLine(p1, p2)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.a.spec.name, self.b.spec.name)
            event.accept()
            return
        super().mousePressEvent(event)


class HopItem(QGraphicsObject):
    """The current hop: a curved arrow from the sending element to the next one.

    Requests curve above the link, responses below (right and left of a link up or down
    the graph), so direction reads even in black and white; the line style is the one of
    the hop's most telling flag.  A summarised response (one step for its whole way back)
    is drawn along every element it passed, one curve per link, so it never cuts across
    the graph.
    """

    def __init__(self) -> None:
        super().__init__()
        self.points: tuple[QPointF, ...] = ()
        self.label = ""
        self.below = False
        self.pen_style = Qt.PenStyle.SolidLine
        self.setZValue(3)
        self.setVisible(False)

    @property
    def src(self) -> QPointF:
        """Where the hop starts (the sending element)."""
        return self.points[0] if self.points else QPointF()

    @property
    def dst(self) -> QPointF:
        """Where the hop ends (the element the message reaches)."""
        return self.points[-1] if self.points else QPointF()

    def set_hop(
        self,
        points: Sequence[QPointF],
        label: str,
        *,
        below: bool,
        pen_style: Qt.PenStyle,
    ) -> None:
        """Show the arrow through ``points``: the sender, any elements passed, the receiver."""
        self.prepareGeometryChange()
        self.points, self.label = tuple(QPointF(p) for p in points), label
        self.below, self.pen_style = below, pen_style
        self.setVisible(True)
        self.update()

    def _curves(self) -> list[tuple[QPainterPath, QPointF, QPointF]]:
        """Each link's curve, with its control point and its end (where the head goes)."""
        pairs = zip(self.points, self.points[1:], strict=False)
        return [_curve(src, dst, below=self.below) for src, dst in pairs] or [
            _curve(self.src, self.src, below=self.below)
        ]

    def _label_font(self, base: QFont) -> QFont:
        font = QFont(base)
        font.setPointSizeF(font_pt(HOP_LABEL_SCALE))
        font.setBold(True)
        return font

    def _label_box(
        self, curves: list[tuple[QPainterPath, QPointF, QPointF]], font: QFont
    ) -> QRectF:
        """The label's box by the middle curve: above it for requests, below for responses."""
        path, mid, end = curves[len(curves) // 2]
        metrics = QFontMetricsF(font)
        w = metrics.horizontalAdvance(self.label) + 12
        h = metrics.height() + 6
        start = path.pointAtPercent(0.0)
        if abs(end.y() - start.y()) > abs(end.x() - start.x()):
            # Up or down the graph: on the curve's outermost point (the box hides that bit
            # of it), off the link it bends away from, and within the room the scene
            # keeps beside the outermost boxes.
            apex = path.pointAtPercent(0.5)
            return QRectF(apex.x() - w / 2, apex.y() - h / 2, w, h)
        # Across the graph: beyond the control point, clear of the boxes' lower corners
        # (and their warning badges) between two neighbours.
        offset = 14 if self.below else -14 - h
        return QRectF(mid.x() - w / 2, mid.y() + offset, w, h)

    def boundingRect(self) -> QRectF:
        if not self.isVisible():
            return QRectF()
        curves = self._curves()
        rect = QRectF()
        for path, _mid, _end in curves:
            # The curve's pen and its arrow head reach at most 14 px beyond the path.
            rect = rect.united(path.boundingRect().adjusted(-16, -16, 16, 16))
        if self.label:
            box = self._label_box(curves, self._label_font(QFont()))
            rect = rect.united(box.adjusted(-2, -2, 2, 2))  # and its 1.2 px outline
        return rect

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        curves = self._curves()
        color = accent()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(color, 3.2, self.pen_style)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        for path, _mid, end in curves:
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            # Arrow head along the tangent at the end.
            angle = math.radians(-path.angleAtPercent(1.0))
            size = 13.0
            p1 = QPointF(
                end.x() - size * math.cos(angle - 0.45), end.y() - size * math.sin(angle - 0.45)
            )
            p2 = QPointF(
                end.x() - size * math.cos(angle + 0.45), end.y() - size * math.sin(angle + 0.45)
            )
            painter.setPen(QPen(color, 1.0))
            painter.setBrush(color)
            painter.drawPolygon(QPolygonF([end, p1, p2]))
        if self.label:
            font = self._label_font(painter.font())
            painter.setFont(font)
            box = self._label_box(curves, font)
            bg = QColor("#1E1E1E") if is_dark() else QColor("#FFFFFF")
            bg.setAlpha(225)
            painter.setPen(QPen(color, 1.2))
            painter.setBrush(bg)
            painter.drawRoundedRect(box, 4, 4)
            painter.setPen(QColor("#F2F2F2") if is_dark() else QColor("#111111"))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.label)


def _curve(src: QPointF, dst: QPointF, *, below: bool) -> tuple[QPainterPath, QPointF, QPointF]:
    """A hop's curve from box to box: the path, its control point and its end."""
    dx, dy = dst.x() - src.x(), dst.y() - src.y()
    length = math.hypot(dx, dy)
    if length < 1.0:
        # Nothing to draw (hidden, or a hop onto itself): a point, never NaN.
        return QPainterPath(src), QPointF(src), QPointF(src)
    ux, uy = dx / length, dy / length
    # Leave the boxes: start and end at their edges (approximately).
    margin_x, margin_y = NODE_W / 2 + 4, NODE_H / 2 + 4
    t = min(
        margin_x / abs(ux) if ux else math.inf,
        margin_y / abs(uy) if uy else math.inf,
    )
    start = QPointF(src.x() + ux * t, src.y() + uy * t)
    end = QPointF(dst.x() - ux * t, dst.y() - uy * t)
    # The side the curve bends to, a unit normal of the link: across the graph requests
    # bend above it and responses below; up or down the graph requests bend to its right
    # and responses to its left.  Either way a request and its response (the same link,
    # the other way) bend to opposite sides, so they read apart in black and white.
    nx, ny = -uy, ux
    across = abs(ux) >= abs(uy)
    if (ny > 0) != below if across else (nx > 0) == below:
        nx, ny = -nx, -ny
    if not across:
        # Leave and reach the boxes at their sides, on the side the curve bends to: the top
        # and bottom edges are where the flag badges stand.
        side = math.copysign(margin_x, nx)
        start = QPointF(src.x() + side, src.y())
        end = QPointF(dst.x() + side, dst.y())
    bend = min(60.0, 0.25 * length)
    mid = QPointF(
        (start.x() + end.x()) / 2 + nx * bend,
        (start.y() + end.y()) / 2 + ny * bend,
    )
    path = QPainterPath(start)
    path.quadTo(mid, end)
    return path, mid, end
