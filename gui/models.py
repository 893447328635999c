"""Item models: the step timeline.

The model only presents a :class:`~engine.trace.Trace`; it has no state of its own
besides the trace it shows.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from engine.trace import Flag, StepKind, Trace, TraceStep
from gui.items import badge_width, paint_badge
from gui.theme import FLAG_STYLES, rc_text

FLAGS_ROLE = Qt.ItemDataRole.UserRole + 1
STEP_ROLE = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex


def step_summary(step: TraceStep) -> str:
    """One line for a step: what moved where."""
    first = step.message_out or step.message_in
    line = first.split("\r\n", 1)[0] if first else step.method
    if step.kind is StepKind.RESPONSE:
        return f"{line}  →  {step.next_element or ''}".rstrip(" →")
    target = f"  →  {step.next_element}" if step.next_element else ""
    return f"{line}{target}"


class TableModel(QAbstractTableModel):
    """A flat table with fixed column titles; subclasses give ``HEADERS`` and ``row_count``."""

    HEADERS: tuple[str, ...] = ()

    def row_count(self) -> int:
        """How many rows the table has."""
        raise NotImplementedError

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.row_count()

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> object:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(self.HEADERS)
        ):
            return self.HEADERS[section]
        return None


class TraceStepModel(TableModel):
    """One row per trace step: number, request, element, message, return code, flags."""

    HEADERS = ("#", "Request", "Element", "Message", "rc", "Flags")
    COL_FLAGS = 5

    def __init__(self, trace: Trace | None = None) -> None:
        super().__init__()
        self._trace = trace or Trace(title="")

    def set_trace(self, trace: Trace) -> None:
        """Show another trace."""
        self.beginResetModel()
        self._trace = trace
        self.endResetModel()

    def step(self, row: int) -> TraceStep | None:
        """The step shown on a row."""
        steps = self._trace.steps
        return steps[row] if 0 <= row < len(steps) else None

    def row_count(self) -> int:
        return len(self._trace.steps)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        step = self.step(index.row())
        if step is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return str(step.index + 1)
            if col == 1:
                return step.label
            if col == 2:
                return step.element
            if col == 3:
                return step_summary(step)
            if col == 4:
                return rc_text(step.rc)
            if col == self.COL_FLAGS:
                return ", ".join(FLAG_STYLES[f].title for f in step.flags)
        elif role == Qt.ItemDataRole.ToolTipRole:
            if col == self.COL_FLAGS and step.flags:
                return "\n".join(
                    f"{FLAG_STYLES[f].title}: {FLAG_STYLES[f].explanation}" for f in step.flags
                )
            if col == 4 and step.rr_calls:
                return "\n".join(f"{c.call} = {c.rc}: {c.meaning}" for c in step.rr_calls)
            return step_summary(step)
        elif role == FLAGS_ROLE:
            return list(step.flags)
        elif role == STEP_ROLE:
            return step.index
        elif role == Qt.ItemDataRole.TextAlignmentRole and col in (0, 4):
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class FlagDelegate(QStyledItemDelegate):
    """Paints a step's flags as badges followed by their short titles."""

    BADGE = 20.0

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        flags = index.data(FLAGS_ROLE) or []
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if isinstance(widget, QWidget) else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        rect = QRectF(opt.rect)
        x = rect.left() + 4
        y = rect.center().y() - self.BADGE / 2
        painter.save()
        marks = [f for f in flags if isinstance(f, Flag)]
        for flag in marks:
            w = badge_width(FLAG_STYLES[flag], self.BADGE)
            paint_badge(painter, QRectF(x, y, w, self.BADGE), FLAG_STYLES[flag])
            x += w + 3
        if marks:
            # The words too: a badge alone is not enough for a learner.
            text = ", ".join(FLAG_STYLES[f].title for f in marks)
            selected = bool(opt.state & QStyle.StateFlag.State_Selected)
            role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
            painter.setPen(opt.palette.color(role))
            painter.drawText(
                QRectF(x + 4, rect.top(), rect.right() - x - 6, rect.height()),
                int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                text,
            )
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        flags = index.data(FLAGS_ROLE) or []
        width = 8 + sum(badge_width(FLAG_STYLES[f], self.BADGE) + 3 for f in flags)
        return QSize(int(width), int(self.BADGE + 6))
