"""One place where unexpected exceptions end: a dialog with details, and the app goes on."""

from __future__ import annotations

import sys
import traceback
from types import TracebackType

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget


def format_exception(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> str:
    """The details shown behind "Show Details"."""
    return "".join(traceback.format_exception(kind, value, tb))


def install_excepthook(parent: QWidget | None) -> None:
    """Route uncaught exceptions (including those raised in Qt slots) to a dialog."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        details = format_exception(kind, value, tb)
        sys.stderr.write(details)
        if QApplication.instance() is None:
            return
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("Unexpected error")
        box.setText(
            "RouteLab hit an unexpected error. Your scenario is unchanged; you can go on "
            "working and save it."
        )
        box.setInformativeText(f"{kind.__name__}: {value}")
        box.setDetailedText(details)
        box.exec()

    sys.excepthook = hook
