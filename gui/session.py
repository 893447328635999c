"""The document: one scenario, its trace, the current step, undo history and file.

Rule: widgets talk to the :class:`Session`, and only the session talks to the
engine (one seam to test).  Every error on the way from user input to the
engine ends here and is announced with :attr:`Session.error_raised`; nothing the
user typed is lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import networkx as nx
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from engine.errors import EngineError, ScenarioError
from engine.scenario import Scenario, dumps, loads
from engine.simulate import simulate
from engine.topology import layout, topology
from engine.trace import Trace, TraceStep
from gui.document import editable, for_editing, for_file

MAX_FILE_SIZE = 4 * 1024 * 1024


class ScenarioEdit(QUndoCommand):
    """Replace the scenario by an edited copy (scenarios are frozen values)."""

    def __init__(self, session: Session, before: Scenario, after: Scenario, text: str) -> None:
        super().__init__(text)
        self.session = session
        self.before = before
        self.after = after

    def id(self) -> int:
        # Edits of one field, one after another, merge into one step of the undo history:
        # typing "5070" is one edit, not four (see mergeWith).
        return 1 if self.text().startswith("Edit ") else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, ScenarioEdit) or other.text() != self.text():
            return False
        self.after = other.after
        # Typed back to what it was: nothing left to undo.
        self.setObsolete(self.after == self.before)
        return True

    def redo(self) -> None:
        self.session._apply(self.after)

    def undo(self) -> None:
        self.session._apply(self.before)


class Session(QObject):
    """Holds the scenario and everything derived from it; emits past-tense signals."""

    scenario_changed = Signal()
    trace_changed = Signal()
    step_changed = Signal(int)
    path_changed = Signal(str)
    error_raised = Signal(str, str)  # title, message
    # A file that is JSON but not a valid scenario: title, message; open_draft() opens it
    # for the composer to fix (see draft_offer).
    draft_offered = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scenario: Scenario | None = None
        self.trace = Trace(title="")
        self.graph: nx.DiGraph[str] = nx.DiGraph()
        self.positions: dict[str, tuple[float, float]] = {}
        self.step_index = -1
        self.path: Path | None = None
        self.observed_title = ""  # set while an observed capture is shown (show_observed)
        self.undo_stack = QUndoStack(self)
        # What the last refused file held, when the composer could fix it: its data, its
        # path, and the first thing wrong (open_draft()).
        self.draft_offer: tuple[dict[str, Any], Path | None, ScenarioError] | None = None
        # A draft is shown (open_draft): no scenario until the composer's edits validate;
        # draft_edited once the composer holds edits of it.
        self.draft = False
        self.draft_edited = False

    # ---------------------------------------------------------------- document

    @property
    def dirty(self) -> bool:
        """True when there are edits since the last open or save (a draft's too)."""
        return not self.undo_stack.isClean() or self.draft_edited

    def open_text(self, text: str, path: Path | None = None) -> bool:
        """Load a scenario from text; on error keep the current document and report."""
        try:
            scenario = loads(text)
        except EngineError as exc:
            where = f"{path}: " if path else ""
            self.draft_offer = _draft_of(text, path, exc)
            signal = self.error_raised if self.draft_offer is None else self.draft_offered
            signal.emit("Cannot open scenario", f"{where}{exc}")
            return False
        except RecursionError:
            self.error_raised.emit("Cannot open scenario", "The file is nested too deeply.")
            return False
        self.undo_stack.clear()
        self.path = path
        self.draft = self.draft_edited = False
        self._apply(scenario)
        self.undo_stack.setClean()
        self.path_changed.emit(str(path) if path else "")
        return True

    def open_draft(self) -> tuple[dict[str, Any], ScenarioError] | None:
        """Open the file last refused as a draft to fix: no scenario and nothing simulated
        until it validates (the first valid edit makes it the document, unsaved); returns
        its data for the composer, with every field present, and its first error."""
        offer, self.draft_offer = self.draft_offer, None
        if offer is None:
            return None
        data, path, error = offer
        trace = Trace(title=str(data.get("title") or ""))
        self._show(None, trace, nx.DiGraph(), {}, path=path, title="", draft=True)
        return data, error

    def mark_draft_edited(self) -> None:
        """The composer holds edits of the draft: unsaved work (the title says so)."""
        if self.draft and not self.draft_edited:
            self.draft_edited = True
            self.path_changed.emit(str(self.path) if self.path else "")

    def save_draft(self, data: dict[str, Any]) -> bool:
        """Write a draft's data (the composer's, not valid yet) to its file atomically, as
        :meth:`save` writes a scenario; False, and said, when it cannot be written."""
        if not self.draft or self.path is None:
            return False
        try:
            atomic_write(self.path, json.dumps(for_file(data), indent=2) + "\n")
        except OSError as exc:
            self.error_raised.emit("Cannot save", f"{self.path}: {exc.strerror or exc}")
            return False
        self.draft_edited = False  # none unsaved: the title says so
        self.path_changed.emit(str(self.path))
        return True

    def open_file(self, path: str | Path) -> bool:
        """Read a scenario file (never executed, size-bounded) and load it."""
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_SIZE:
                self.error_raised.emit(
                    "Cannot open scenario",
                    f"{path}: {size} bytes is larger than the {MAX_FILE_SIZE} a scenario may be.",
                )
                return False
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            self.error_raised.emit(
                "Cannot open scenario", f"{path}: not UTF-8 text (byte {exc.start})."
            )
            return False
        except OSError as exc:
            self.error_raised.emit("Cannot open scenario", f"{path}: {exc.strerror or exc}")
            return False
        return self.open_text(text, path.resolve())

    def save(self, path: str | Path | None = None) -> bool:
        """Write the scenario atomically (temporary file, flush, fsync, rename)."""
        if self.scenario is None:
            return False
        target = Path(path) if path is not None else self.path
        if target is None:
            self.error_raised.emit("Cannot save", "No file name: use Save As.")
            return False
        try:
            atomic_write(target, dumps(self.scenario))
        except OSError as exc:
            self.error_raised.emit("Cannot save", f"{target}: {exc.strerror or exc}")
            return False
        self.path = target.resolve()
        self.undo_stack.setClean()
        self.path_changed.emit(str(self.path))
        return True

    def edit(self, scenario: Scenario, description: str) -> None:
        """Replace the scenario by an edited copy, undoably."""
        if self.scenario is None:
            if self.draft:
                # A draft (open_draft) fixed: it becomes the document, not saved yet.
                self.draft = self.draft_edited = False
                self._apply(scenario)
                self.undo_stack.resetClean()
            return
        if scenario == self.scenario:
            return
        self.undo_stack.push(ScenarioEdit(self, self.scenario, scenario, description))

    def _apply(self, scenario: Scenario) -> None:
        """Install a scenario and re-simulate it (the engine never raises on a valid one)."""
        self.scenario = scenario
        self.observed_title = ""
        try:
            self.trace = simulate(scenario)
            self.graph = topology(scenario, self.trace)
            self.positions = layout(self.graph)
        except EngineError as exc:
            self.trace = Trace(title=scenario.title, warnings=(str(exc),))
            self.graph = nx.DiGraph()
            self.positions = {}
            self.error_raised.emit("Cannot simulate", str(exc))
        self.scenario_changed.emit()
        self.trace_changed.emit()
        count = len(self.trace.steps)
        self.step_index = min(max(self.step_index, 0), count - 1) if count else -1
        self.step_changed.emit(self.step_index)

    def show_observed(
        self,
        trace: Trace,
        graph: nx.DiGraph[str],
        positions: dict[str, tuple[float, float]],
        title: str,
        scenario: Scenario | None = None,
    ) -> None:
        """Show a trace that did not come from simulate(): a dialog observed in a capture.

        ``scenario`` is the scenario the capture suggests (None when it suggests none); it is
        an untitled document, and editing it re-simulates, which replaces the observed trace.
        """
        self._show(scenario, trace, graph, positions, path=None, title=title, draft=False)

    def _show(
        self,
        scenario: Scenario | None,
        trace: Trace,
        graph: nx.DiGraph[str],
        positions: dict[str, tuple[float, float]],
        *,
        path: Path | None,
        title: str,
        draft: bool,
    ) -> None:
        """Replace the document by one not simulated here (an observed dialog, a draft),
        with an empty undo history, at its first step."""
        self.undo_stack.clear()
        self.path = path
        self.draft, self.draft_edited = draft, False
        self.scenario = scenario
        self.observed_title = title
        self.trace = trace
        self.graph = graph
        self.positions = dict(positions)
        self.step_index = 0 if trace.steps else -1
        self.undo_stack.setClean()
        self.scenario_changed.emit()
        self.trace_changed.emit()
        self.step_changed.emit(self.step_index)
        self.path_changed.emit(str(path) if path else "")

    # ---------------------------------------------------------------- stepping

    @property
    def current(self) -> TraceStep | None:
        """The step being shown."""
        steps = self.trace.steps
        return steps[self.step_index] if 0 <= self.step_index < len(steps) else None

    def set_step(self, index: int) -> None:
        """Show step ``index`` (clamped to the trace)."""
        count = len(self.trace.steps)
        index = max(0, min(index, count - 1)) if count else -1
        if index != self.step_index:
            self.step_index = index
            self.step_changed.emit(index)

    def next_step(self) -> bool:
        """Advance one step; False at the end."""
        if self.step_index + 1 >= len(self.trace.steps):
            return False
        self.set_step(self.step_index + 1)
        return True

    def marked_step(self, direction: int) -> int:
        """The nearest step after (``direction`` 1) or before (-1) the current one that
        shows a flag (a Route removed, -3, a strict router ...); -1 when there is none."""
        steps = self.trace.steps
        index = self.step_index + direction
        while 0 <= index < len(steps):
            if steps[index].flags:
                return index
            index += direction
        return -1

    def go_to_marked_step(self, direction: int) -> None:
        """Go to the :meth:`marked_step` that way (stay when there is none)."""
        index = self.marked_step(direction)
        if index >= 0:
            self.set_step(index)

    def previous_step(self) -> None:
        """Go back one step."""
        self.set_step(self.step_index - 1)

    def first_step(self) -> None:
        """Go to the first step."""
        self.set_step(0)

    def last_step(self) -> None:
        """Go to the last step."""
        self.set_step(len(self.trace.steps) - 1)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` so that ``path`` is either the old file or the whole new one
    (a temporary file in the same folder, flushed and synced, then renamed over it)."""
    path = Path(path)
    directory = path.resolve().parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(path: str | Path, text: str) -> None:
    """:func:`atomic_write_bytes` for UTF-8 text, written exactly as given."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _draft_of(
    text: str, path: Path | None, error: EngineError
) -> tuple[dict[str, Any], Path | None, ScenarioError] | None:
    """What the composer could fix of a refused file: a JSON object of the scenario format
    whose values are wrong (None for text that is not JSON, or not one object)."""
    if not isinstance(error, ScenarioError) or not error.path or error.path.startswith("format"):
        return None  # (the format version has no field to fix it in)
    try:
        data = json.loads(text)
        doc = for_editing(data) if isinstance(data, dict) else None
    except (ValueError, RecursionError, TypeError, AttributeError, KeyError):
        return None
    return (doc, path, error) if doc is not None and editable(doc) else None
