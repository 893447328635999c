"""The one place where unexpected exceptions end.

Any exception that escapes to the interpreter (including those raised inside Qt
slots, which PySide6 hands to ``sys.excepthook``) is written to a log file in the
user's data directory and shown in a dialog with a "Copy details" button; the
application keeps running and the document is untouched.
"""

from __future__ import annotations

import datetime
import sys
import traceback
from pathlib import Path
from types import TracebackType

import platformdirs
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

APP = "RouteLab"


def data_dir() -> Path:
    """The user's data directory for RouteLab (created on demand)."""
    path = Path(platformdirs.user_data_dir(APP, APP))
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_path() -> Path:
    """The crash log file."""
    return data_dir() / "crash.log"


def format_exception(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> str:
    """The details shown behind "Show Details" and written to the log."""
    return "".join(traceback.format_exception(kind, value, tb))


def write_log(details: str) -> Path | None:
    """Append one report to the crash log; None when the log cannot be written."""
    try:
        path = log_path()
        stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {stamp}\n{details}\n")
    except OSError:
        return None
    return path


class ErrorReporter:
    """Installed as ``sys.excepthook``; remembers the last report (for tests)."""

    def __init__(self, parent: QWidget | None) -> None:
        self.parent = parent
        self.reports: list[str] = []
        self.box: QMessageBox | None = None
        self._showing = False

    def __call__(
        self, kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        details = format_exception(kind, value, tb)
        self.reports.append(details)
        sys.stderr.write(details)
        logged = write_log(details)
        if QApplication.instance() is None or self._showing:
            return
        self._showing = True
        try:
            self._show(kind, value, details, logged)
        finally:
            self._showing = False

    def _show(
        self, kind: type[BaseException], value: BaseException, details: str, logged: Path | None
    ) -> None:
        box = QMessageBox(self.parent)
        box.setObjectName("crash-box")
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("Unexpected error")
        where = f" The details are in {logged}." if logged else ""
        box.setText(
            "RouteLab hit an unexpected error. Your scenario is unchanged: you can go on "
            f"working and save it.{where}"
        )
        box.setInformativeText(f"{kind.__name__}: {value}")
        box.setDetailedText(details)
        # Let the box create the button: one passed in is not kept alive by PySide6 once
        # the Python reference goes away.
        copy = box.addButton("Copy details", QMessageBox.ButtonRole.ActionRole)
        copy.setObjectName("copy-details")
        box.addButton(QMessageBox.StandardButton.Close)

        def copy_details() -> None:
            clipboard = QGuiApplication.clipboard()
            if clipboard is not None:
                clipboard.setText(details)

        # ActionRole buttons close the box by default; keep it open after copying.
        copy.clicked.disconnect()
        copy.clicked.connect(copy_details)
        self.box = box
        box.setModal(True)
        box.open()


def install_excepthook(parent: QWidget | None) -> ErrorReporter:
    """Route uncaught exceptions to the log and a dialog; returns the reporter."""
    reporter = ErrorReporter(parent)
    sys.excepthook = reporter
    return reporter
