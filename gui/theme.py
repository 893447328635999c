"""How each trace flag looks: colour, line style, glyph and words.

Rule: every mark is readable without colour.  Each flag has its own glyph
(drawn as a badge shape with a short symbol) and, on edges, its own line
style; colour only reinforces it.  Colours come in a light and a dark
variant and are picked from the application palette at paint time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette, QTextCharFormat
from PySide6.QtWidgets import QApplication

from engine.trace import Flag


class BadgeShape(enum.Enum):
    """The outline of a flag badge."""

    CIRCLE = "circle"
    SQUARE = "square"
    DIAMOND = "diamond"
    TRIANGLE = "triangle"
    HEXAGON = "hexagon"
    OCTAGON = "octagon"


@dataclass(frozen=True, slots=True)
class FlagStyle:
    """The look and the words of one flag."""

    symbol: str
    shape: BadgeShape
    light: str
    dark: str
    pen: Qt.PenStyle
    title: str
    explanation: str

    def color(self) -> QColor:
        """The colour for the current palette (light or dark)."""
        return QColor(self.dark if is_dark() else self.light)


# Okabe-Ito derived palette: distinguishable for the common colour-vision deficiencies.
FLAG_STYLES: dict[Flag, FlagStyle] = {
    Flag.STRICT_TO_LOOSE: FlagStyle(
        "S→L",
        BadgeShape.DIAMOND,
        "#0072B2",
        "#56B4E9",
        Qt.PenStyle.DashDotLine,
        "Strict-to-loose",
        "The R-URI named this proxy (the previous hop was a strict router): the last Route "
        "became the R-URI again (RFC 3261 16.4, Kamailio's strict-previous-hop path).",
    ),
    Flag.LOOSE_TO_STRICT: FlagStyle(
        "L→S",
        BadgeShape.DIAMOND,
        "#D55E00",
        "#FF8C42",
        Qt.PenStyle.DashLine,
        "Loose-to-strict",
        "The next hop is a strict router: its Route went into the R-URI and the old R-URI "
        "was appended as the last Route (RFC 3261 16.6 step 6).",
    ),
    Flag.STRICT_TO_STRICT: FlagStyle(
        "S→S",
        BadgeShape.DIAMOND,
        "#CC79A7",
        "#E8A3CB",
        Qt.PenStyle.DashDotDotLine,
        "Strict-to-strict",
        "The R-URI named this proxy (the previous hop was a strict router) and the next Route "
        "is a strict router too: that Route became the R-URI and the request leaves in strict "
        "form, as a strict router would send it.",
    ),
    Flag.LOCAL_ROUTE_REMOVED: FlagStyle(
        "✂",
        BadgeShape.SQUARE,
        "#009E73",
        "#3DD9A6",
        Qt.PenStyle.SolidLine,
        "Local Route removed",
        "A Route header value that names this proxy was removed (RFC 3261 16.4).",
    ),
    Flag.PRELOADED: FlagStyle(
        "−3",
        BadgeShape.HEXAGON,
        "#CC79A7",
        "#E8A3CB",
        Qt.PenStyle.DotLine,
        "Preloaded route (−3)",
        "loose_route() returned −3: an out-of-dialog request whose only Route named this "
        "proxy; it was removed and routing continues on the R-URI.",
    ),
    Flag.FLOW_TOKEN_USED: FlagStyle(
        "2",
        BadgeShape.CIRCLE,
        "#0072B2",
        "#56B4E9",
        Qt.PenStyle.SolidLine,
        "Flow token used (2)",
        "loose_route() returned 2: the Route carried a valid outbound flow token (RFC 5626); "
        "the request goes down that flow.",
    ),
    Flag.FLOW_TOKEN_REJECTED: FlagStyle(
        "−2",
        BadgeShape.OCTAGON,
        "#D55E00",
        "#FF8C42",
        Qt.PenStyle.SolidLine,
        "Flow token rejected (−2)",
        "loose_route() returned −2: the flow token failed its HMAC check (tampered) or names "
        "a socket this proxy does not have.",
    ),
    Flag.NOT_ROUTED: FlagStyle(
        "−1",
        BadgeShape.TRIANGLE,
        "#E69F00",
        "#F5C242",
        Qt.PenStyle.DotLine,
        "Not routed (−1)",
        "loose_route() returned −1: no usable Route header (or a dead end on the "
        "strict-previous-hop path).",
    ),
    Flag.RECORD_ROUTE: FlagStyle(
        "RR",
        BadgeShape.SQUARE,
        "#56B4E9",
        "#8FD0F5",
        Qt.PenStyle.SolidLine,
        "Record-Route",
        "The proxy inserted a Record-Route header, so it stays on the dialog's path.",
    ),
    Flag.DOUBLE_RECORD_ROUTE: FlagStyle(
        "RR²",
        BadgeShape.SQUARE,
        "#0072B2",
        "#8FD0F5",
        Qt.PenStyle.SolidLine,
        "Double Record-Route",
        "Two Record-Route values (r2=on), one per interface, because the request changed "
        "socket, transport or address family (RFC 5658).",
    ),
    Flag.DEAD_END: FlagStyle(
        "✕",
        BadgeShape.OCTAGON,
        "#B00020",
        "#FF6B81",
        Qt.PenStyle.SolidLine,
        "Dead end",
        "The request could not go on: a 403/404/483 reply, no resolvable next hop, or an ACK "
        "that tm absorbed because the INVITE it followed was never answered.",
    ),
    Flag.LOOP: FlagStyle(
        "↻",
        BadgeShape.CIRCLE,
        "#B00020",
        "#FF6B81",
        Qt.PenStyle.DashDotDotLine,
        "Loop",
        "The same request reached the same element again, unchanged: it would go round until "
        "Max-Forwards runs out (RFC 3261 16.3). RouteLab stops it there.",
    ),
    Flag.SPIRAL: FlagStyle(
        "↺",
        BadgeShape.CIRCLE,
        "#E69F00",
        "#F5C242",
        Qt.PenStyle.SolidLine,
        "Spiral",
        "The request came back to an element that already handled it, with a new R-URI or "
        "Route set (RFC 3261 16.3: a spiral, not a loop), and is processed again. Often "
        "legitimate; in a dialog's route set it usually means a wasted hop.",
    ),
    Flag.SECURITY: FlagStyle(
        "!",
        BadgeShape.TRIANGLE,
        "#B00020",
        "#FF6B81",
        Qt.PenStyle.SolidLine,
        "Security warning",
        "This configuration lets a caller steer the proxy (for example past authorization "
        "with a preloaded Route to a foreign host).",
    ),
    Flag.MISMATCH: FlagStyle(
        "≠",
        BadgeShape.OCTAGON,
        "#7B2CBF",
        "#C77DFF",
        Qt.PenStyle.DashDotDotLine,
        "Predicted ≠ observed",
        "In a capture: this proxy did not do what loose_route() says it should have done "
        "with this in-dialog request (a different next hop, R-URI or Route set, or it "
        "forwarded a request loose_route() would not route).",
    ),
}


_dark_cache: list[bool] = []


# The colours of highlighted text (SIP messages, Kamailio configs): (dark palette, light).
_SYNTAX = {
    "heading": ("#F0A202", "#8A4B00"),  # a start line, a config keyword
    "name": ("#7FD1FF", "#005A9C"),  # Route/Record-Route, a config function
    "header": ("#B0B8C0", "#444444"),  # other header names
    "value": ("#9FE870", "#1B6E20"),  # a URI, a config string
    "param": ("#FF9EC7", "#A0005A"),  # a routing parameter, a config variable
    "comment": ("#9AA0A6", "#6A737D"),
}


def syntax(kind: str, *, bold: bool = False, italic: bool = False) -> QTextCharFormat:
    """The text format of ``kind`` (a key of the table above) in the current palette."""
    fmt = QTextCharFormat()
    fmt.setForeground(QColor(_SYNTAX[kind][0 if is_dark() else 1]))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setFontItalic(italic)
    return fmt


def mono_font() -> QFont:
    """The system fixed-width font."""
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def is_dark() -> bool:
    """True when the application palette is dark (window darker than its text).

    Painting asks this thousands of times a second, so the answer is cached until
    :func:`palette_changed` is called (the main window does on a palette change).
    """
    if _dark_cache:
        return _dark_cache[0]
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return False
    pal = app.palette()
    dark = (
        pal.color(QPalette.ColorRole.Window).lightness()
        < pal.color(QPalette.ColorRole.WindowText).lightness()
    )
    _dark_cache.append(dark)
    return dark


def palette_changed() -> None:
    """Forget the cached light/dark answer (call on QEvent.ApplicationPaletteChange)."""
    _dark_cache.clear()


def role(name: QPalette.ColorRole) -> QColor:
    """A colour of the current application palette."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app.palette().color(name)
    return QColor("black")


def accent() -> QColor:
    """The highlight colour for the current hop."""
    return QColor("#F0A202") if is_dark() else QColor("#C97800")


def rc_text(rc: int | None) -> str:
    """A return code as shown in lists (typographic minus)."""
    if rc is None:
        return ""
    return f"−{-rc}" if rc < 0 else str(rc)
