"""``routelab`` with a window: the QApplication, the main window, the first scenario."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gui.main_window import MainWindow

START = time.perf_counter()


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="routelab",
        description="RouteLab desktop app",
        epilog="Without a window: routelab rr (loose_route() and friends on one request or a "
        "file of vectors), trace, render, import and config; 'routelab COMMAND --help' "
        "says more of each.",
    )
    parser.add_argument(
        "scenario",
        nargs="?",
        help="a scenario file (.json) or the name of a library scenario (default: the tour), "
        "or a capture or log to open (pcap, pcapng, text)",
    )
    parser.add_argument("--step", type=int, default=None, help="open at step N (1-based)")
    parser.add_argument(
        "--screenshot", metavar="PNG", help="render the window to PNG after start-up and quit"
    )
    return parser.parse_args(list(argv))


def run_app(argv: Sequence[str]) -> int:
    """Start the application; returns the exit status."""
    args = _parse(argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gui import resources
    from gui.autosave import Autosaver, autosave_path
    from gui.errors import install_excepthook
    from gui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("RouteLab")
    app.setOrganizationName("RouteLab")
    app.setWindowIcon(resources.icon("routelab"))
    settings = None
    if args.screenshot:
        # Screenshots show the default layout, never the user's saved one.
        import tempfile

        from PySide6.QtCore import QSettings

        scratch = tempfile.mkdtemp(prefix="routelab-shot-")
        settings = QSettings(f"{scratch}/settings.ini", QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    window.reporter = install_excepthook(window)
    from gui.drops import is_scenario_file

    capture = None
    example = None  # a library scenario named on the command line
    given = Path(args.scenario) if args.scenario else None
    if given is not None and given.is_file() and not is_scenario_file(given):
        # A capture or a log: it opens in the capture dialog, the tour behind it.
        capture, args.scenario = args.scenario, None
    elif given is not None and not given.exists():
        library = resources.scenario_file(str(given))
        if library.is_file():
            example, args.scenario = str(library), None
    path = args.scenario or example or str(resources.scenario_file(resources.TOUR))
    opened = window.session.open_file(path)
    if opened and args.scenario and window.session.path:
        window.remember(window.session.path)
    if not opened and args.scenario:
        print(f"routelab: {window.last_error}", file=sys.stderr)
        window.session.open_file(resources.scenario_file(resources.TOUR))
        args.step = None  # the step was meant for the file that did not open
        args.scenario = None  # the tour stands in, as an untitled copy (below)
    if args.scenario is None:
        window.session.path = None  # the library opens as an untitled copy
        window._update_title()
    if not args.screenshot:
        offer_recovery(window, autosave_path())
        window.autosaver = Autosaver(window.session)
    if args.step is not None:
        window.session.set_step(args.step - 1)
    elif window.session.trace.steps:
        window.session.set_step(0)
    window.show()
    window.view.fit()
    if capture is not None:
        window.capture_actions.open(capture)
    if args.screenshot:
        # A fixed size, whatever the (virtual) screen: screenshots are reproducible.
        window.resize(1440, 900)

        def shoot() -> None:
            app.processEvents()
            window.grab().save(args.screenshot)
            app.quit()

        QTimer.singleShot(200, window, shoot)  # (dropped with the window, if it goes first)
    if os.environ.get("ROUTELAB_EXIT_AFTER_PAINT"):
        # Used by tests/bench/bench_startup.py: report once the window has painted.
        def painted() -> None:
            window.grab()
            print(f"painted {time.perf_counter() - START:.3f}", flush=True)
            app.quit()

        QTimer.singleShot(0, window, painted)
    return app.exec()


def offer_recovery(
    window: MainWindow, path: Path, *, ask: Callable[[], bool] | None = None
) -> bool:
    """If a crash left an autosave, offer it; True when the work was recovered."""
    from PySide6.QtWidgets import QMessageBox

    from gui.autosave import read_autosave

    if not path.exists():
        return False
    found = read_autosave(path)
    if found is None:
        path.unlink(missing_ok=True)
        return False
    text, origin = found

    def default_ask() -> bool:
        answer = QMessageBox.question(
            window,
            "Recover unsaved work?",
            "RouteLab did not close normally last time and kept your unsaved scenario"
            + (f" (from {origin})" if origin else "")
            + ". Recover it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    if not (ask or default_ask)():
        path.unlink(missing_ok=True)
        return False
    if not window.session.open_text(text):
        return False
    window.session.path = Path(origin) if origin else None
    window.session.undo_stack.resetClean()  # recovered work is unsaved work
    window._update_title()
    return True
