"""The ladder view: a sequence diagram of every message, time downwards.

One lifeline per element, one arrow per step (requests solid, responses
dashed), the rr return code and the flags at the arrow's start.  The whole
diagram is one item that paints only the rows in the exposed rectangle, so
50 elements and thousands of messages scroll smoothly.  :class:`LadderView`
keeps the element names and the step numbers in sight while scrolling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QMouseEvent,
    QPainter,
    QPen,
    QPolygonF,
    QResizeEvent,
    QShowEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from engine.trace import StepKind, Trace, TraceStep
from gui.items import badge_width, paint_badge
from gui.theme import FLAG_STYLES, accent, font_pt, is_dark, rc_text

COLUMN = 170.0
ROW = 46.0
HEADER = 56.0
MARGIN = 90.0
LABEL_SCALE = 8.0 / 9  # the labels' size, relative to the application font (8 pt at 9 pt)
BOX_H = 38.0


def arrow_label(step: TraceStep) -> str:
    """The text on an arrow: request line or status line, shortened."""
    text = step.message_out or step.message_in
    first = text.split("\r\n", 1)[0] if text else step.method
    if first.endswith(" SIP/2.0"):
        first = first[: -len(" SIP/2.0")]
    if first.startswith("SIP/2.0 "):
        first = first[len("SIP/2.0 ") :]
    return first if len(first) <= 48 else first[:47] + "…"


@dataclass(frozen=True, slots=True)
class Arrow:
    """Where one step is drawn: from ``x1`` to ``x2`` at height ``y``.

    ``x2`` is None when the message ends at its element (delivered to a user agent,
    or a dead end): a circle on the lifeline.  Responses are dashed.
    """

    row: int
    x1: float
    x2: float | None
    y: float
    response: bool
    label: str


def label_font(base: QFont | None = None) -> QFont:
    """The font of the arrows' labels and the step numbers: a little smaller than the
    application font, and following it."""
    font = QFont(base) if base is not None else QFont()
    font.setPointSizeF(font_pt(LABEL_SCALE))
    return font


def _palette() -> tuple[QColor, QColor]:
    """Lifeline and text colours for the current palette."""
    if is_dark():
        return QColor("#7D8894"), QColor("#F2F2F2")
    return QColor("#9AA3AC"), QColor("#111111")


def paint_name_box(painter: QPainter, box: QRectF, name: str, line: QColor, text: QColor) -> None:
    """One element's name in its box (shared by the diagram and the view's sticky header)."""
    painter.setPen(QPen(line, 1.2))
    painter.setBrush(QColor("#2B3A4A") if is_dark() else QColor("#E8F0F8"))
    painter.drawRoundedRect(box, 6, 6)
    painter.setPen(text)
    shown = QFontMetricsF(painter.font()).elidedText(
        name, Qt.TextElideMode.ElideMiddle, box.width() - 8
    )
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, shown)


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
        self._label_metrics: tuple[float, QFontMetricsF] | None = None

    @property
    def _metrics(self) -> QFontMetricsF:
        """The labels' font metrics (measured again when the application font changes)."""
        size = font_pt(LABEL_SCALE)
        if self._label_metrics is None or self._label_metrics[0] != size:
            self._label_metrics = (size, QFontMetricsF(label_font()))
        return self._label_metrics[1]

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

    def arrow(self, row: int) -> Arrow:
        """Where step ``row`` is drawn."""
        step = self.steps[row]
        # A reply shown in one step (a summarised response, a proxy's own answer) spans its
        # whole way back, as on the graph.
        end = step.path[-1] if step.path else step.next_element
        x2 = None
        if end and end in self.columns and end != step.element:
            x2 = self.x_of(end)
        return Arrow(
            row,
            self.x_of(step.element),
            x2,
            self.y_of(row),
            step.kind is StepKind.RESPONSE or step.status is not None,
            arrow_label(step),
        )

    def _label_span(self, arrow: Arrow) -> tuple[float, float]:
        """Left and right of an arrow's label."""
        width = self._metrics.horizontalAdvance(arrow.label) + 6
        if arrow.x2 is not None:
            left, right = min(arrow.x1, arrow.x2), max(arrow.x1, arrow.x2)
            width = max(right - left, width)
            return (left + right) / 2 - width / 2, (left + right) / 2 + width / 2
        # A message that ends here: its label beside the circle, on the side with room.
        if arrow.x1 + 14 + width > self.boundingRect().right() - 4:
            return arrow.x1 - 14 - width, arrow.x1 - 14
        return arrow.x1 + 14, arrow.x1 + 14 + width

    def arrow_rect(self, row: int) -> QRectF:
        """The rectangle of one step's arrow, label and marks (to scroll to)."""
        if not 0 <= row < len(self.steps):
            return QRectF()
        arrow = self.arrow(row)
        left, right = self._label_span(arrow)
        xs = [arrow.x1, left, right, arrow.x1 + 140]
        if arrow.x2 is not None:
            xs.append(arrow.x2)
        return QRectF(min(xs), arrow.y - ROW / 2, max(xs) - min(xs), ROW)

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
        exposed: QRectF = option.exposedRect
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        line, text = _palette()
        bottom = self.boundingRect().height()
        # Lifelines: only the exposed stretch, and without antialiasing (a vertical line
        # gains nothing from it, and a long antialiased dash pattern is slow to draw).
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pen = QPen(line, 1.2, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        period = sum(pen.dashPattern()) * pen.widthF()
        # Start on a whole dash period from the top, so partial repaints line up.
        top = HEADER + max(0, math.floor((exposed.top() - HEADER) / period) - 1) * period
        end = min(bottom - HEADER + 8, exposed.bottom() + period)
        for name in self.names:
            x = self.x_of(name)
            if exposed.left() - 2 <= x <= exposed.right() + 2 and top < end:
                painter.drawLine(QPointF(x, top), QPointF(x, end))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        for y in (6.0, bottom - HEADER + 10):
            if y + 40 < exposed.top() or y > exposed.bottom():
                continue
            for name in self.names:
                box = QRectF(self.x_of(name) - COLUMN / 2 + 8, y, COLUMN - 16, BOX_H)
                if box.right() >= exposed.left() and box.left() <= exposed.right():
                    paint_name_box(painter, box, name, line, text)
        first = max(0, math.floor((exposed.top() - HEADER - 24) / ROW) - 1)
        last = min(len(self.steps) - 1, math.ceil((exposed.bottom() - HEADER - 24) / ROW) + 1)
        small = label_font(painter.font())
        small.setBold(False)
        painter.setFont(small)
        metrics = QFontMetricsF(small)
        for row in range(first, last + 1):
            self._paint_row(painter, row, text, metrics)

    def _paint_row(self, painter: QPainter, row: int, text: QColor, metrics: QFontMetricsF) -> None:
        step = self.steps[row]
        arrow = self.arrow(row)
        y, x1 = arrow.y, arrow.x1
        current = row == self.current
        color = accent() if current else (QColor("#C8CDD2") if is_dark() else QColor("#2F3A45"))
        if current:
            band = QColor(accent())
            band.setAlpha(40)
            painter.fillRect(QRectF(0, y - ROW / 2, self.boundingRect().width(), ROW), band)
        line_h = max(16.0, metrics.height())  # (taller for a large application font)
        painter.setPen(text)
        painter.drawText(
            QRectF(4, y - line_h / 2 - 1, MARGIN - 34, line_h + 2),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            str(row + 1),
        )
        if arrow.x2 is not None:
            x2 = arrow.x2
            style = Qt.PenStyle.DashLine if arrow.response else Qt.PenStyle.SolidLine
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
            left, right = self._label_span(arrow)
        else:
            # The message ends here (delivered to a UA, or a dead end).
            painter.setPen(QPen(color, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(x1, y), 6, 6)
            left, right = self._label_span(arrow)
        painter.setPen(color if current else text)
        painter.drawText(
            QRectF(left, y - 3 - line_h, right - left, line_h),
            Qt.AlignmentFlag.AlignCenter,
            arrow.label,
        )
        badges = [FLAG_STYLES[f] for f in step.flags]
        rc = rc_text(step.rc)
        bx = x1 + (6 if arrow.x2 is not None else 10)
        marks_y = y + 3
        if rc:
            painter.setPen(text)
            rc_label = f"rc {rc}"
            w = metrics.horizontalAdvance(rc_label) + 2
            painter.drawText(
                QRectF(bx, marks_y, w, line_h),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                rc_label,
            )
            bx += w + 4
        for badge in badges:
            w = badge_width(badge, 16)
            paint_badge(painter, QRectF(bx, marks_y, w, 16), badge)
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
        """Highlight a step; returns its arrow's rectangle with its label and marks, to
        scroll to (:meth:`LadderView.reveal`); empty when there is no such step."""
        self.canvas.set_current(index)
        return self.canvas.arrow_rect(index)


class LadderView(QGraphicsView):
    """A view of a :class:`LadderScene` that keeps the element names (top) and the step
    numbers (left) in sight while the diagram scrolls under them."""

    BAND = BOX_H + 12.0
    GUTTER = 44.0

    #: The view changed size (a tab shown, a dock moved): the owner may scroll again.
    resized = Signal()

    #: Zoom limits, and how far "fit" shrinks a wide ladder (below that, names and labels
    #: are too small to read: the view scrolls sideways instead).
    MIN_SCALE = 0.3
    MAX_SCALE = 4.0
    MIN_FIT = 0.5

    def __init__(self, scene: LadderScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.ladder = scene
        # Keep the ladder's width fitted on resize, as the graph is, until the user zooms.
        self.auto_fit = True
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self._shown = False
        scene.sceneRectChanged.connect(self._on_scene_scene_rect_changed)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.auto_fit:
            self._fit()
        self.resized.emit()

    def zoom(self, factor: float) -> None:
        """Zoom by ``factor``, within :attr:`MIN_SCALE` and :attr:`MAX_SCALE` (stops
        automatic fitting)."""
        self.auto_fit = False
        if self.MIN_SCALE <= self.transform().m11() * factor <= self.MAX_SCALE:
            self.scale(factor, factor)

    def fit(self) -> None:
        """Fit the ladder's width into the view and keep it fitted on resize: a wide
        ladder shrinks down to :attr:`MIN_FIT`, a narrow one is shown at its own size."""
        self.auto_fit = True
        self._fit()

    def _fit(self) -> None:
        width = self.sceneRect().width()
        if width <= 0:
            return
        scale = min(1.0, max(self.MIN_FIT, self.viewport().width() / width))
        self.setTransform(QTransform.fromScale(scale, scale))

    def wheelEvent(self, event: QWheelEvent) -> None:
        # The wheel scrolls a ladder (it is long); with Ctrl it zooms, as in a browser.
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(1.15 if event.angleDelta().y() > 0 else 1 / 1.15)
            event.accept()
            return
        super().wheelEvent(event)

    def reveal(self, rect: QRectF) -> None:
        """Scroll so that ``rect`` (scene coordinates; see :meth:`LadderScene.set_current`)
        is in sight, and not under the sticky names (above) or step numbers (left)."""
        if rect.isEmpty():
            return
        scale = self.transform().m11()
        self.ensureVisible(rect.adjusted(-self.GUTTER / scale, -self.BAND / scale, 0, 0), 40, 40)

    def scroll_to_start(self) -> None:
        """Show the top left: the names and the first steps."""
        for bar in (self.horizontalScrollBar(), self.verticalScrollBar()):
            bar.setValue(bar.minimum())

    @Slot(QRectF)
    def _on_scene_scene_rect_changed(self, _rect: QRectF) -> None:
        if self.auto_fit:
            self._fit()  # a wider or narrower ladder: fitted again
        self.scroll_to_start()  # a new trace starts at its beginning

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._shown:
            # QGraphicsView centres a big scene when first shown; a ladder starts at the top.
            self._shown = True
            if self.auto_fit:
                self._fit()  # opened fitted to its width, not at 1:1 with lifelines cut off
            self.scroll_to_start()

    def visible_scene_rect(self) -> QRectF:
        """The part of the scene the viewport shows."""
        return self.mapToScene(self.viewport().rect()).boundingRect()

    def sticky_header(self) -> bool:
        """True when the names are drawn over the diagram (scrolled down)."""
        return self.visible_scene_rect().top() > 1.0

    def sticky_gutter(self) -> bool:
        """True when the step numbers are drawn over the diagram (scrolled right)."""
        return self.visible_scene_rect().left() > 1.0

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        # The viewport scrolled its pixels, sticky parts included: paint those again.
        vp = self.viewport()
        vp.update(QRect(0, 0, vp.width(), int(self.BAND) + abs(dy) + 2))
        vp.update(QRect(0, 0, int(self.GUTTER) + abs(dx) + 2, vp.height()))

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        super().drawForeground(painter, rect)
        header, gutter = self.sticky_header(), self.sticky_gutter()
        if not (header or gutter):
            return
        canvas = self.ladder.canvas
        line, text = _palette()
        back = self.palette().base().color()
        vp = self.viewport().rect()
        painter.save()
        painter.resetTransform()  # from here on: viewport pixels
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if gutter:
            visible = self.visible_scene_rect()
            strip = QRectF(0, 0, self.GUTTER, vp.height())
            painter.fillRect(strip, back)
            painter.setPen(QPen(line, 1))
            painter.drawLine(QPointF(self.GUTTER, 0), QPointF(self.GUTTER, vp.height()))
            painter.setFont(label_font(painter.font()))
            first = max(0, math.floor((visible.top() - HEADER - 24) / ROW) - 1)
            last = min(len(canvas.steps) - 1, math.ceil((visible.bottom() - HEADER - 24) / ROW))
            for row in range(first, last + 1):
                y = self.mapFromScene(QPointF(0, canvas.y_of(row))).y()
                painter.setPen(accent() if row == canvas.current else text)
                painter.drawText(
                    QRectF(2, y - 9, self.GUTTER - 8, 18),
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                    str(row + 1),
                )
        if header:
            band = QRectF(0, 0, vp.width(), self.BAND)
            painter.fillRect(band, back)
            painter.setPen(QPen(line, 1))
            painter.drawLine(QPointF(0, self.BAND), QPointF(vp.width(), self.BAND))
            font = QFont(painter.font())
            font.setBold(True)
            font.setPointSizeF(QFont().pointSizeF())
            painter.setFont(font)
            scale = self.transform().m11()
            for name in canvas.names:
                x = self.mapFromScene(QPointF(canvas.x_of(name), 0)).x()
                width = (COLUMN - 16) * scale
                if x + width / 2 < 0 or x - width / 2 > vp.width():
                    continue
                box = QRectF(x - width / 2, 6, width, BOX_H)
                paint_name_box(painter, box, name, line, text)
        painter.restore()

    def on_sticky_part(self, pos: QPoint) -> bool:
        """True when a viewport position is on the sticky names or step numbers."""
        return (self.sticky_header() and pos.y() < self.BAND) or (
            self.sticky_gutter() and pos.x() < self.GUTTER
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.on_sticky_part(event.position().toPoint()):
            event.accept()  # a click on the sticky names or numbers selects nothing behind them
            return
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.on_sticky_part(event.position().toPoint()):
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def row_at(self, pos: QPoint) -> int:
        """The step under a viewport position (-1 when none)."""
        return self.ladder.canvas.step_at(self.mapToScene(pos))
