"""Autosave and crash recovery.

Rule: work is never lost.  While the document has unsaved edits it is written
(atomically) to the user's data directory every 30 seconds and after every
simulation; a clean document removes its autosave.  On start, an autosave left
behind by a crash is offered for recovery.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from engine.scenario import dumps
from gui.errors import data_dir
from gui.session import Session, atomic_write

INTERVAL_MS = 30_000


def autosave_path(directory: Path | None = None) -> Path:
    """Where the autosave lives."""
    return (directory or data_dir()) / "autosave.json"


class Autosaver(QObject):
    """Writes the session's scenario to ``path`` while it has unsaved edits."""

    def __init__(self, session: Session, path: Path | None = None) -> None:
        super().__init__(session)
        self.session = session
        self.path = path or autosave_path()
        self.writes = 0
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self.save_now)
        self.timer.start()
        # After every simulated edit (indexChanged comes once the edit counts as unsaved).
        session.undo_stack.indexChanged.connect(self.save_now)
        session.undo_stack.cleanChanged.connect(self._on_clean_changed)

    def save_now(self) -> None:
        """Write the autosave if there are unsaved edits (never raises)."""
        scenario = self.session.scenario
        try:
            dirty = self.session.dirty
        except RuntimeError:
            # The session's undo stack is being destroyed (window closing): nothing to keep.
            self.timer.stop()
            return
        if scenario is None or not dirty:
            return
        record = {
            "origin": str(self.session.path) if self.session.path else None,
            "scenario": json.loads(dumps(scenario)),
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, json.dumps(record, indent=1))
            self.writes += 1
        except OSError:
            pass  # autosave is best effort; the user's own Save reports errors

    def _on_clean_changed(self, clean: bool) -> None:
        if clean:
            self.discard()
        else:
            self.save_now()  # unsaved without an edit of the history: a draft made valid

    def discard(self) -> None:
        """Remove the autosave (after a save, or when the user declines recovery)."""
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)


def read_autosave(path: Path) -> tuple[str, str | None] | None:
    """The scenario text and its original file from an autosave, or None."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("scenario"), dict):
        return None
    origin = record.get("origin")
    return json.dumps(record["scenario"]), origin if isinstance(origin, str) else None
