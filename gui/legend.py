"""The legend: every mark the graph and the timeline use, with its meaning."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from engine.trace import Flag
from gui.items import badge_width, paint_badge
from gui.theme import FLAG_STYLES

HEIGHT = 26.0  # a badge's height, as on the graph


# The marks a learner meets first come first; the strict transitions, the outbound codes
# and the warnings after them.
LEGEND_ORDER = (
    Flag.LOCAL_ROUTE_REMOVED,
    Flag.RECORD_ROUTE,
    Flag.DOUBLE_RECORD_ROUTE,
    Flag.PRELOADED,
    Flag.NOT_ROUTED,
    Flag.LOOSE_TO_STRICT,
    Flag.STRICT_TO_LOOSE,
    Flag.STRICT_TO_STRICT,
    Flag.FLOW_TOKEN_USED,
    Flag.FLOW_TOKEN_REJECTED,
    Flag.DEAD_END,
    Flag.SPIRAL,
    Flag.LOOP,
    Flag.SECURITY,
    Flag.MISMATCH,
)


class BadgeWidget(QWidget):
    """One badge, painted exactly as on the graph."""

    def __init__(self, flag: Flag, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.flag = flag
        # As wide as the widest badge, so that the legend's column lines up.
        widest = max(badge_width(style, HEIGHT) for style in FLAG_STYLES.values())
        self.setFixedSize(QSize(math.ceil(widest) + 8, 30))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        style = FLAG_STYLES[self.flag]
        w = badge_width(style, HEIGHT)
        paint_badge(painter, QRectF((self.width() - w) / 2, 2, w, HEIGHT), style)
        painter.end()


class Legend(QScrollArea):
    """The marks and their meaning, then the scenario's configuration warnings."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("legend")
        self.setWidgetResizable(True)
        body = QWidget()
        outer = QVBoxLayout(body)
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        for row, flag in enumerate(LEGEND_ORDER):
            style = FLAG_STYLES[flag]
            grid.addWidget(BadgeWidget(flag), row, 0)
            text = QLabel(f"<b>{style.title}</b><br>{style.explanation}")
            text.setWordWrap(True)
            grid.addWidget(text, row, 1)
        outer.addLayout(grid)
        hint = QLabel(
            "<p><b>Graph</b>: user agents are rounded boxes, proxies are hexagonal. The element "
            "processing the current step has a thick orange outline; the orange arrow is the "
            "current hop (requests curve above the link, responses below; a response shown in one "
            "step curves along every link it crosses on its way back). A hop's line style "
            "repeats its most telling mark: dashed for a strict next hop (loose-to-strict, "
            "strict-to-strict), dash-dot for strict-to-loose, dash-dot-dot for loops, dotted "
            "for −3 and −1.</p>"
        )
        hint.setWordWrap(True)
        outer.addWidget(hint)
        self.warnings = QLabel()
        self.warnings.setObjectName("warnings")
        self.warnings.setWordWrap(True)
        outer.addWidget(self.warnings)
        outer.addStretch(1)
        self.setWidget(body)

    def show_warnings(self, warnings: Sequence[str]) -> None:
        """List the scenario's configuration warnings (security teaching)."""
        if not warnings:
            self.warnings.setText("")
            return
        items = "".join(f"<li>{w}</li>" for w in warnings)
        self.warnings.setText(f"<p><b>⚠ Configuration warnings</b></p><ul>{items}</ul>")
