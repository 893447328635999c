"""The ladder view: a sequence diagram of every message, time downwards.

One lifeline per element, one arrow per step (requests solid, responses
dashed), the rr return code and the flags at the arrow's start.  The whole
diagram is one item that paints only the rows in the exposed rectangle, so
50 elements and thousands of messages scroll smoothly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from engine.trace import StepKind, Trace, TraceStep
from gui.items import badge_width, paint_badge
from gui.theme import FLAG_STYLES, accent, is_dark, rc_text

COLUMN = 170.0
ROW = 46.0
HEADER = 56.0
MARGIN = 90.0


def arrow_label(step: TraceStep) -> str:
    """The text on an arrow: request line or status line, shortened."""
    text = step.message_out or step.message_in
    first = text.split("\r\n", 1)[0] if text else step.method
    if first.endswith(" SIP/2.0"):
        first = first[: -len(" SIP/2.0")]
    if first.startswith("SIP/2.0 "):
        first = first[len("SIP/2.0 ") :]
    return first if len(first) <= 48 else first[:47] + "…"


class LadderCanvas(QGraphicsObject):
    """The whole ladder as one item; ``step_clicked`` reports the clicked arrow's step."""

    step_clicked = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.columns: dict[str, int] = {}
        self.names: list[str] = []
        self.steps: tuple[TraceStep, ...] = ()
        self.current = -1

    def set_trace(self, trace: Trace, order: Sequence[str]) -> None:
        """Show a trace with lifelines in ``order`` (elements missing from it go last)."""
        self.prepareGeometryChange()
        names = list(dict.fromkeys(order))
        for step in trace.steps:
            for name in (step.element, step.next_element):
                if name and name not in names:
                    names.append(name)
        self.names = names
        self.columns = {n: i for i, n in enumerate(names)}
        self.steps = trace.steps
        self.current = -1
        self.update()

    def set_current(self, index: int) -> None:
        """Highlight the arrow of step ``index``."""
        if index != self.current:
            old = self.current
            self.current = index
            self.update(self.row_rect(old))
            self.update(self.row_rect(index))

    def x_of(self, name: str) -> float:
        """The lifeline x of an element."""
        return MARGIN + self.columns.get(name, 0) * COLUMN

    def y_of(self, row: int) -> float:
        """The y of step ``row``'s arrow."""
        return HEADER + 24 + row * ROW

    def row_rect(self, row: int) -> QRectF:
        """The band of one row (for partial repaints)."""
        if row < 0:
            return QRectF()
        return QRectF(0, self.y_of(row) - ROW / 2 - 4, self.boundingRect().width(), ROW + 8)

    def boundingRect(self) -> QRectF:
        width = MARGIN * 2 + max(0, len(self.names) - 1) * COLUMN
        height = HEADER + 48 + len(self.steps) * ROW + HEADER
        return QRectF(0, 0, width, height)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionGraphicsItem,
        widget: QWidget | None = None,
    ) -> None:
        dark = is_dark()
        exposed: QRectF = option.exposedRect
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        line = QColor("#7D8894") if dark else QColor("#9AA3AC")
        text = QColor("#F2F2F2") if dark else QColor("#111111")
        bottom = self.boundingRect().height()
        painter.setPen(QPen(line, 1.2, Qt.PenStyle.DashLine))
        for name in self.names:
            x = self.x_of(name)
            if exposed.left() - 2 <= x <= exposed.right() + 2:
                painter.drawLine(QPointF(x, HEADER), QPointF(x, bottom - HEADER + 8))
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        for y in (6.0, bottom - HEADER + 10):
            if y + 40 < exposed.top() or y > exposed.bottom():
                continue
            for name in self.names:
                box = QRectF(self.x_of(name) - COLUMN / 2 + 8, y, COLUMN - 16, 38)
                painter.setPen(QPen(line, 1.2))
                painter.setBrush(QColor("#2B3A4A") if dark else QColor("#E8F0F8"))
                painter.drawRoundedRect(box, 6, 6)
                painter.setPen(text)
                painter.drawText(box, Qt.AlignmentFlag.AlignCenter, name)
        first = max(0, math.floor((exposed.top() - HEADER - 24) / ROW) - 1)
        last = min(len(self.steps) - 1, math.ceil((exposed.bottom() - HEADER - 24) / ROW) + 1)
        small = QFont(painter.font())
        small.setBold(False)
        small.setPointSizeF(8.0)
        painter.setFont(small)
        metrics = QFontMetricsF(small)
        for row in range(first, last + 1):
            self._paint_row(painter, row, text, metrics)

    def _paint_row(self, painter: QPainter, row: int, text: QColor, metrics: QFontMetricsF) -> None:
        step = self.steps[row]
        y = self.y_of(row)
        x1 = self.x_of(step.element)
        current = row == self.current
        color = accent() if current else (QColor("#C8CDD2") if is_dark() else QColor("#2F3A45"))
        if current:
            band = QColor(accent())
            band.setAlpha(40)
            painter.fillRect(QRectF(0, y - ROW / 2, self.boundingRect().width(), ROW), band)
        painter.setPen(text)
        painter.drawText(
            QRectF(4, y - 9, MARGIN - 34, 18), Qt.AlignmentFlag.AlignRight, str(row + 1)
        )
        label = arrow_label(step)
        if (
            step.next_element
            and step.next_element in self.columns
            and step.next_element != step.element
        ):
            x2 = self.x_of(step.next_element)
            style = (
                Qt.PenStyle.DashLine if step.kind is StepKind.RESPONSE else Qt.PenStyle.SolidLine
            )
            painter.setPen(QPen(color, 3.0 if current else 1.6, style))
            painter.drawLine(QPointF(x1, y), QPointF(x2, y))
            direction = 1 if x2 > x1 else -1
            head = QPolygonF(
                [
                    QPointF(x2, y),
                    QPointF(x2 - direction * 10, y - 5),
                    QPointF(x2 - direction * 10, y + 5),
                ]
            )
            painter.setPen(QPen(color, 1))
            painter.setBrush(color)
            painter.drawPolygon(head)
            left, right = min(x1, x2), max(x1, x2)
        else:
            # The message ends here (delivered to a UA, or a dead end).
            painter.setPen(QPen(color, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(x1, y), 6, 6)
            left, right = x1 + 10, x1 + 10 + metrics.horizontalAdvance(label) + 10
        painter.setPen(color if current else text)
        width = max(right - left, metrics.horizontalAdvance(label) + 6)
        painter.drawText(
            QRectF((left + right) / 2 - width / 2, y - 19, width, 16),
            Qt.AlignmentFlag.AlignCenter,
            label,
        )
        badges = [FLAG_STYLES[f] for f in step.flags]
        rc = rc_text(step.rc)
        bx = x1 + 6
        if rc:
            painter.setPen(text)
            painter.drawText(QRectF(bx, y + 3, 28, 16), Qt.AlignmentFlag.AlignLeft, f"rc {rc}")
            bx += 34
        for badge in badges:
            w = badge_width(badge, 16)
            paint_badge(painter, QRectF(bx, y + 3, w, 16), badge)
            bx += w + 2

    def step_at(self, pos: QPointF) -> int:
        """The step whose row contains ``pos`` (-1 when none)."""
        row = round((pos.y() - HEADER - 24) / ROW)
        return row if 0 <= row < len(self.steps) else -1

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        row = self.step_at(event.pos())
        if row >= 0 and event.button() == Qt.MouseButton.LeftButton:
            self.step_clicked.emit(row)
            event.accept()
            return
        super().mousePressEvent(event)


class LadderScene(QGraphicsScene):
    """A scene holding one :class:`LadderCanvas`."""

    step_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = LadderCanvas()
        self.canvas.step_clicked.connect(self.step_clicked)
        self.addItem(self.canvas)

    def set_trace(self, trace: Trace, order: Sequence[str]) -> None:
        """Show a trace."""
        self.canvas.set_trace(trace, order)
        self.setSceneRect(self.canvas.boundingRect())

    def set_current(self, index: int) -> QRectF:
        """Highlight a step; returns its row rectangle (to scroll to)."""
        self.canvas.set_current(index)
        return self.canvas.row_rect(index)
