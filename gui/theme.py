"""How each trace flag looks: colour, line style, glyph and words.

Rule: every mark is readable without colour.  Each flag has its own glyph
(drawn as a badge shape with a short symbol) and, on edges, its own line
style; colour only reinforces it.  Colours come in a light and a dark
variant and are picked from the application palette at paint time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette, QShowEvent, QTextCharFormat
from PySide6.QtWidgets import QApplication, QLabel, QWidget

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
        Qt.PenStyle.DashLine,
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


_dark_cache: list[tuple[int, bool]] = []  # (the palette's cacheKey, dark?)


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

    Painting asks this thousands of times a second, so the answer is cached for the
    palette it was worked out from (a new palette is noticed at once, whichever widget
    hears of the change first; :func:`palette_changed` forgets it outright).
    """
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return False
    pal = app.palette()
    key = pal.cacheKey()
    if _dark_cache and _dark_cache[0][0] == key:
        return _dark_cache[0][1]
    dark = (
        pal.color(QPalette.ColorRole.Window).lightness()
        < pal.color(QPalette.ColorRole.WindowText).lightness()
    )
    _dark_cache[:] = [(key, dark)]
    return dark


def palette_changed() -> None:
    """Forget the cached light/dark answer (call on QEvent.ApplicationPaletteChange)."""
    _dark_cache.clear()


class ErrorLabel(QLabel):
    """A label whose words are in :func:`error_color`, following light/dark palette
    changes while it is shown."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setStyleSheet(error_style())

    def follow_palette(self) -> None:
        """Take the error colour of the current palette.  (A label with a style sheet
        hears of no palette change itself: its window calls this.)"""
        style = error_style()
        if style != self.styleSheet():  # (setting it sends a palette change again)
            self.setStyleSheet(style)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.ApplicationPaletteChange, QEvent.Type.PaletteChange):
            self.follow_palette()

    def showEvent(self, event: QShowEvent) -> None:
        self.follow_palette()  # (the palette may have changed while it was hidden)
        super().showEvent(event)


def role(name: QPalette.ColorRole) -> QColor:
    """A colour of the current application palette."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app.palette().color(name)
    return QColor("black")


def error_color() -> QColor:
    """The colour of an error's words (a field's message, a parse error): a dark red on a
    light palette, a light one on a dark palette, either at least 4.5:1 against the window
    and the fields' background (WCAG AA)."""
    return QColor("#FF8A8A") if is_dark() else QColor("#B00020")


def error_style() -> str:
    """A style sheet giving a label :func:`error_color`'s words."""
    return f"color: {error_color().name()};"


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21).

    >>> round(contrast_ratio(QColor("black"), QColor("white")), 1)
    21.0
    """

    def luminance(c: QColor) -> float:
        def channel(v: int) -> float:
            x = v / 255
            return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(c.red()) + 0.7152 * channel(c.green()) + 0.0722 * channel(c.blue())

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def font_pt(scale: float) -> float:
    """A point size ``scale`` times the application font's (drawings follow the user's
    font size: 1.0 is the size of the text in the widgets)."""
    base = QApplication.font().pointSizeF()
    return (base if base > 0 else 9.0) * scale


def accent() -> QColor:
    """The highlight colour for the current hop."""
    return QColor("#F0A202") if is_dark() else QColor("#C97800")


def rc_text(rc: int | None) -> str:
    """A return code as shown in lists (typographic minus)."""
    if rc is None:
        return ""
    return f"−{-rc}" if rc < 0 else str(rc)
