"""Graphics items of the topology view: elements, links, the current hop, flag badges.

Items paint what the trace says; they never make routing decisions.  Qt
overrides keep Qt's exact names (``paint``, ``boundingRect``, ``shape``,
``mousePressEvent``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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
from gui.theme import FLAG_STYLES, BadgeShape, FlagStyle, accent, is_dark

NODE_W = 134.0
NODE_H = 66.0
BADGE = 26.0


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
    """Badges with a three-character symbol (``L→S``) are wider, so the text fits."""
    return height * (1.55 if len(style.symbol) > 2 else 1.0)


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
    corners = {
        BadgeShape.DIAMOND: 4,
        BadgeShape.TRIANGLE: 3,
        BadgeShape.HEXAGON: 6,
        BadgeShape.OCTAGON: 8,
    }[shape]
    start = -math.pi / 2 if shape is not BadgeShape.OCTAGON else -math.pi / 8
    if shape is BadgeShape.HEXAGON:
        start = 0.0  # flat top and bottom: room for the text
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


def paint_badge(painter: QPainter, rect: QRectF, style: FlagStyle) -> None:
    """Draw one flag badge: coloured shape, dark outline, symbol in the middle."""
    color = style.color()
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor("#202020") if not is_dark() else QColor("#F0F0F0"), 1.4))
    painter.setBrush(QBrush(color))
    painter.drawPath(badge_path(style.shape, rect))
    font = QFont(painter.font())
    font.setBold(True)
    small = len(style.symbol) > 2 or style.shape in (BadgeShape.DIAMOND, BadgeShape.TRIANGLE)
    font.setPointSizeF(max(5.5, rect.height() * (0.30 if small else 0.42)))
    painter.setFont(font)
    painter.setPen(QColor("white") if color.lightness() < 150 else QColor("black"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, style.symbol)
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
        font = QFont(painter.font())
        font.setBold(True)
        font.setPointSizeF(10.5)
        painter.setFont(font)
        painter.setPen(text)
        kind = "proxy" if self.spec.kind == "proxy" else "UA"
        top = QRectF(rect.left() + 8, rect.top() + 6, rect.width() - 16, 22)
        painter.drawText(top, Qt.AlignmentFlag.AlignCenter, self.spec.name)
        font.setBold(False)
        font.setPointSizeF(8.0)
        painter.setFont(font)
        painter.setPen(sub)
        metrics = QFontMetricsF(font)
        # Elide the address, never the "+N" of the sockets beyond it.
        more = self.spec.more_addresses
        suffix = f" +{more}" if more else ""
        width = rect.width() - 20 - metrics.horizontalAdvance(suffix)
        subtitle = metrics.elidedText(self.spec.subtitle, Qt.TextElideMode.ElideMiddle, width)
        subtitle += suffix
        painter.drawText(
            QRectF(rect.left() + 8, rect.top() + 27, rect.width() - 16, 16),
            Qt.AlignmentFlag.AlignCenter,
            subtitle,
        )
        painter.drawText(
            QRectF(rect.left() + 8, rect.top() + 43, rect.width() - 16, 16),
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

    Requests curve above the link, responses below, so direction reads even in
    black and white; the line style is the one of the hop's most telling flag.
    """

    def __init__(self) -> None:
        super().__init__()
        self.src = QPointF()
        self.dst = QPointF()
        self.label = ""
        self.below = False
        self.pen_style = Qt.PenStyle.SolidLine
        self.setZValue(3)
        self.setVisible(False)

    def set_hop(
        self,
        src: QPointF,
        dst: QPointF,
        label: str,
        *,
        below: bool,
        pen_style: Qt.PenStyle,
    ) -> None:
        """Show the arrow from ``src`` to ``dst``."""
        self.prepareGeometryChange()
        self.src, self.dst, self.label = QPointF(src), QPointF(dst), label
        self.below, self.pen_style = below, pen_style
        self.setVisible(True)
        self.update()

    def _path(self) -> tuple[QPainterPath, QPointF, QPointF]:
        src, dst = self.src, self.dst
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
        sign = 1 if self.below else -1
        bend = min(60.0, 0.25 * length)
        mid = QPointF(
            (start.x() + end.x()) / 2 - uy * bend * sign * -1,
            (start.y() + end.y()) / 2 + sign * bend * (1 if abs(ux) >= abs(uy) else 0),
        )
        path = QPainterPath(start)
        path.quadTo(mid, end)
        return path, mid, end

    def boundingRect(self) -> QRectF:
        if not self.isVisible():
            return QRectF()
        path, mid, _end = self._path()
        rect = path.boundingRect().adjusted(-16, -16, 16, 16)
        metrics = QFontMetricsF(QFont())
        w = metrics.horizontalAdvance(self.label) + 20
        return rect.united(QRectF(mid.x() - w / 2, mid.y() - 30, w, 60))

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        path, mid, end = self._path()
        color = accent()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(color, 3.2, self.pen_style)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
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
            font = QFont(painter.font())
            font.setPointSizeF(8.5)
            font.setBold(True)
            painter.setFont(font)
            metrics = QFontMetricsF(font)
            w = metrics.horizontalAdvance(self.label) + 12
            h = metrics.height() + 6
            offset = 14 if self.below else -14 - h
            box = QRectF(mid.x() - w / 2, mid.y() + offset, w, h)
            bg = QColor("#1E1E1E") if is_dark() else QColor("#FFFFFF")
            bg.setAlpha(225)
            painter.setPen(QPen(color, 1.2))
            painter.setBrush(bg)
            painter.drawRoundedRect(box, 4, 4)
            painter.setPen(QColor("#F2F2F2") if is_dark() else QColor("#111111"))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.label)
