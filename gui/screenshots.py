"""Render screenshots of the main window at telling steps of the tour, for the README.

Run: ``python3 -m gui.screenshots [OUTPUT_DIR]`` (default ``resources/screenshots``).
Works offscreen; never shows a window on a real display.  One picture uses a dark
palette, the way a dark system theme looks.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from engine.trace import Flag, Trace

SIZE = (1440, 900)

# (file name, the flag the step must carry, which centre tab, which inspector tab, dark?)
SHOTS: tuple[tuple[str, Flag, str, str, bool], ...] = (
    ("tour-preloaded-route.png", Flag.PRELOADED, "Graph", "Routes", False),
    ("tour-strict-router.png", Flag.LOOSE_TO_STRICT, "Graph", "Changes", False),
    ("tour-ladder-dark.png", Flag.STRICT_TO_LOOSE, "Ladder", "Changes", True),
    ("tour-preloaded-config.png", Flag.PRELOADED, "Graph", "Config", False),
)


def first_step_with(trace: Trace, flag: Flag) -> int:
    """Index of the first step carrying ``flag`` (0 when none does)."""
    return next((s.index for s in trace.steps if flag in s.flags), 0)


def dark_palette() -> object:
    """A dark palette like a dark desktop theme's, for all three colour groups: the
    Disabled group greys out, links and placeholder text stay readable on it."""
    from PySide6.QtGui import QColor, QPalette

    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#2B2B2B",
        QPalette.ColorRole.WindowText: "#E6E6E6",
        QPalette.ColorRole.Base: "#1E1E1E",
        QPalette.ColorRole.AlternateBase: "#262626",
        QPalette.ColorRole.Text: "#E6E6E6",
        QPalette.ColorRole.Button: "#353535",
        QPalette.ColorRole.ButtonText: "#E6E6E6",
        QPalette.ColorRole.BrightText: "#FF8A8A",
        QPalette.ColorRole.Highlight: "#2F65CA",
        QPalette.ColorRole.HighlightedText: "#FFFFFF",
        QPalette.ColorRole.ToolTipBase: "#353535",
        QPalette.ColorRole.ToolTipText: "#E6E6E6",
        QPalette.ColorRole.Link: "#7FB8FF",
        QPalette.ColorRole.LinkVisited: "#C7A6FF",
        QPalette.ColorRole.PlaceholderText: "#9A9A9A",
        QPalette.ColorRole.Light: "#4A4A4A",
        QPalette.ColorRole.Midlight: "#3E3E3E",
        QPalette.ColorRole.Mid: "#262626",
        QPalette.ColorRole.Dark: "#1A1A1A",
        QPalette.ColorRole.Shadow: "#000000",
    }
    # Disabled: the words dimmed (still 3:1 on the window, as a disabled control may be).
    disabled = {
        QPalette.ColorRole.WindowText: "#8A8A8A",
        QPalette.ColorRole.Text: "#8A8A8A",
        QPalette.ColorRole.ButtonText: "#8A8A8A",
        QPalette.ColorRole.Highlight: "#3A3A3A",
        QPalette.ColorRole.HighlightedText: "#8A8A8A",
        QPalette.ColorRole.Base: "#242424",
        QPalette.ColorRole.Button: "#2F2F2F",
        QPalette.ColorRole.PlaceholderText: "#7A7A7A",
        QPalette.ColorRole.Link: "#5A7FAF",
    }
    for group in (
        QPalette.ColorGroup.Active,
        QPalette.ColorGroup.Inactive,
        QPalette.ColorGroup.Disabled,
    ):
        for role, color in roles.items():
            pal.setColor(group, role, QColor(color))
    for role, color in disabled.items():
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(color))
    return pal


def render(out_dir: Path) -> list[Path]:
    """Write the screenshots; returns their paths."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from gui import resources, theme
    from gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    light = app.palette()
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="routelab-shots-")
    written = []
    for name, flag, centre, tab, dark in SHOTS:
        pal = dark_palette() if dark else light
        assert isinstance(pal, QPalette)
        app.setPalette(pal)
        theme.palette_changed()
        settings = QSettings(f"{scratch}/{name}.ini", QSettings.Format.IniFormat)
        window = MainWindow(settings=settings)
        window.resize(*SIZE)
        window.show()
        window.session.open_file(resources.scenario_file(resources.TOUR))
        window.session.path = None
        window._update_title()
        window.session.set_step(first_step_with(window.session.trace, flag))
        for i in range(window.centre.count()):
            if window.centre.tabText(i) == centre:
                window.centre.setCurrentIndex(i)
        inspector_tabs = window.inspector.tabs
        for i in range(inspector_tabs.count()):
            if inspector_tabs.tabText(i) == tab:
                inspector_tabs.setCurrentIndex(i)
        for _ in range(5):
            app.processEvents()
        window.view.fit()
        app.processEvents()
        path = out_dir / name
        window.grab().save(str(path))
        written.append(path)
        window.close()
        window.deleteLater()
        app.processEvents()
    app.setPalette(light)
    theme.palette_changed()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from gui import resources

    out = Path(args[0]) if args else resources.root() / "screenshots"
    for path in render(out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
