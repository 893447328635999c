"""The main window: wiring only.  Graph in the centre; composer, timeline,
inspector and legend in docks the user can rearrange."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QModelIndex,
    QSettings,
    QSize,
    Qt,
    QTimer,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QSlider,
    QTableView,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from engine.trace import TraceStep
from gui import resources, theme
from gui.autosave import Autosaver
from gui.composer import Composer
from gui.drops import dropped_file, dropped_sip_text, is_scenario_file
from gui.errors import ErrorReporter
from gui.inspector import Inspector
from gui.ladder import LadderScene, LadderView
from gui.legend import Legend
from gui.lesson import LessonView
from gui.library import LibraryDialog
from gui.models import FlagDelegate, TraceStepModel
from gui.render import ladder_order
from gui.scene import GraphView, TopologyScene
from gui.session import Session
from gui.topology_view import node_specs

MAX_RECENT = 8


class StatusLabel(QLabel):
    """The status bar's words: elided when longer than the bar, whole in the tool tip."""

    def __init__(self) -> None:
        super().__init__()
        # A long message must not widen the window: the label takes the width it is given.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)
        self.setAccessibleDescription(text)

    def shown_text(self) -> str:
        """The words as they fit the label (elided on the right)."""
        return self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width()
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        self.style().drawItemText(
            painter,
            self.contentsRect(),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            self.palette(),
            self.isEnabled(),
            self.shown_text(),
            QPalette.ColorRole.WindowText,
        )
        painter.end()


def step_in_words(said: str, step: TraceStep | None) -> str:
    """The current hop for a screen reader: the step line, what happened there (the flags'
    words) and the rr calls' return codes."""
    if step is None:
        return said
    parts = [said]
    if step.flags:
        parts.append(", ".join(theme.FLAG_STYLES[f].title for f in step.flags))
    parts += [f"{c.call} returned {c.rc}" for c in step.rr_calls]
    return ". ".join(parts) + "."


class MainWindow(QMainWindow):
    """RouteLab's window.  All state lives in :class:`Session`."""

    def __init__(self, session: Session | None = None, settings: QSettings | None = None) -> None:
        super().__init__()
        self.session = session or Session(self)
        self.settings = settings or QSettings()
        self.setObjectName("main-window")
        self.setWindowTitle("RouteLab")
        self.setDockNestingEnabled(True)
        # A scenario, a capture or a log file dropped on the window opens; SIP text dropped
        # goes to the paste dialog.
        self.setAcceptDrops(True)

        self.scene = TopologyScene(self)
        self.view = GraphView(self.scene)
        self.view.setObjectName("graph-view")
        self.ladder = LadderScene(self)
        self.ladder_view = LadderView(self.ladder)
        self.ladder_view.setObjectName("ladder-view")
        for drawing in (self.view, self.ladder_view):
            # Their scenes take no drops: a file dropped on a drawing is the window's.
            drawing.setAcceptDrops(False)
            drawing.viewport().setAcceptDrops(False)
        self.view.setAccessibleName("Routing graph")
        self.ladder_view.setAccessibleName("Ladder diagram")
        self.centre = QTabWidget()
        self.centre.setObjectName("centre-tabs")
        self.centre.setDocumentMode(True)
        self.centre.setAccessibleName("Drawings of the scenario")
        self.centre.setTabToolTip(
            self.centre.addTab(self.view, "Graph"), "Graph: the elements and the current hop"
        )
        self.centre.setTabToolTip(
            self.centre.addTab(self.ladder_view, "Ladder"),
            "Ladder: every message of the scenario, time downwards",
        )
        # Deferred: a tab that was just shown gets its final size in the next event loop pass.
        self.centre.currentChanged.connect(self._reveal_in_ladder)
        self.ladder_view.resized.connect(self._reveal_in_ladder)
        self.setCentralWidget(self.centre)

        self.model = TraceStepModel()
        self.timeline = QTableView()
        self.timeline.setObjectName("timeline")
        self.timeline.setAccessibleName("Timeline of hops")
        self.timeline.setModel(self.model)
        self.timeline.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.timeline.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.timeline.setItemDelegateForColumn(TraceStepModel.COL_FLAGS, FlagDelegate(self))
        self.timeline.verticalHeader().setVisible(False)
        self.timeline.setAlternatingRowColors(True)
        header = self.timeline.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.timeline.setWordWrap(False)

        self.inspector = Inspector()
        self.composer = Composer(self.session)
        self.legend = Legend()
        self.lesson = LessonView()
        self.lesson.step_requested.connect(self._on_lesson_step_requested)

        self.play_timer = QTimer(self)
        self.play_timer.timeout.connect(self._on_play_timer_timeout)

        self._build_actions()
        self._build_docks()
        self._build_menus()
        self._build_toolbar()
        self.last_error = ""
        self._edit_problem = ""  # the composer's latest rejected edit, as the status bar says it
        self.autosaver: Autosaver | None = None  # set by gui.app when running for real
        self.reporter: ErrorReporter | None = None
        self.status = StatusLabel()
        self.status.setObjectName("status")
        self.statusBar().addWidget(self.status, 1)

        s = self.session
        s.trace_changed.connect(self._on_session_trace_changed)
        s.step_changed.connect(self._on_session_step_changed)
        s.path_changed.connect(self._update_title)
        s.undo_stack.cleanChanged.connect(self._update_title)
        s.error_raised.connect(self._on_session_error_raised)
        s.draft_offered.connect(self._on_session_draft_offered)
        self.composer.edit_rejected.connect(self._on_composer_edit_rejected)
        self.composer.edit_accepted.connect(self._on_composer_edit_accepted)
        self.timeline.selectionModel().currentRowChanged.connect(self._on_timeline_row_changed)
        self.scene.node_clicked.connect(self._on_scene_node_clicked)
        self.scene.link_clicked.connect(self._on_scene_link_clicked)
        self.ladder.step_clicked.connect(self.session.set_step)
        self._restore_settings()
        self._update_title()
        self.view.setFocus()  # the keys step from the start (README: press Right)

    # ------------------------------------------------------------------ build

    def _action(
        self,
        text: str,
        slot: object,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(
            f"{tip or text.replace('&', '')}"
            + (
                f" ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
                if shortcut
                else ""
            )
        )
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        s = self.session
        self.act_new = self._action(
            "&New",
            self.new_scenario,
            QKeySequence.StandardKey.New,
            "Start a scenario of your own: two user agents and one proxy",
        )
        self.act_open = self._action("&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.act_example = self._action(
            "Open E&xample…", self.open_example_dialog, "Ctrl+E", "Open a scenario from the library"
        )
        self.act_save = self._action("&Save", self.save, QKeySequence.StandardKey.Save)
        self.act_save_as = self._action("Save &As…", self.save_as, QKeySequence.StandardKey.SaveAs)
        self.act_quit = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        if self.act_quit.shortcut().isEmpty():  # platforms whose theme names no Quit key
            self.act_quit.setShortcut(QKeySequence("Ctrl+Q"))
        self.act_undo = s.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_redo = s.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcut(QKeySequence.StandardKey.Redo)
        self.act_first = self._action("&First step", s.first_step, "Home")
        self.act_back = self._action("&Back", s.previous_step, "Left")
        self.act_next = self._action("&Next", self.next_step, "Right")
        self.act_next.setShortcuts([QKeySequence("Right"), QKeySequence("Space")])
        self.act_last = self._action("&Last step", s.last_step, "End")
        self.act_next_marked = self._action(
            "Next &marked step",
            lambda: s.go_to_marked_step(1),
            "Ctrl+Right",
            "Go to the next step with a flag: a Route removed, a return code, a strict router ...",
        )
        self.act_previous_marked = self._action(
            "Previous mar&ked step",
            lambda: s.go_to_marked_step(-1),
            "Ctrl+Left",
            "Go back to the previous step with a flag",
        )
        self.act_play = self._action("&Play", self.toggle_play, "P", "Play the steps")
        self.act_play.setCheckable(True)
        self.act_fit = self._action("&Fit to view", lambda: self.drawing().fit(), "Ctrl+0")
        self.act_zoom_in = self._action(
            "Zoom &in", lambda: self.drawing().zoom(1.2), QKeySequence.StandardKey.ZoomIn
        )
        self.act_zoom_out = self._action(
            "Zoom &out", lambda: self.drawing().zoom(1 / 1.2), QKeySequence.StandardKey.ZoomOut
        )
        self.act_config = self._action(
            "Kamailio &Config",
            self.show_config,
            "Ctrl+Shift+K",  # (Ctrl+K deletes to the end of the line in a text field)
            "Show the kamailio.cfg of the proxy at this step, its lines marked",
        )
        self.act_next_panel = self._action(
            "Ne&xt Panel",
            lambda: self.cycle_panel(1),
            "F6",
            "Move the focus to the next panel: drawing, lesson, composer, inspector, timeline",
        )
        self.act_previous_panel = self._action(
            "Pre&vious Panel", lambda: self.cycle_panel(-1), "Shift+F6", "Move the focus back"
        )
        self.act_about = self._action("&About RouteLab", self.about)
        self.act_shortcuts = self._action(
            "&Keyboard Shortcuts", self.show_shortcuts, QKeySequence.StandardKey.HelpContents
        )
        for act in self._step_actions():
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        # The bare keys (arrows, Space, Home, End, P) step only where stepping is what they
        # mean: in the graph, the ladder and the timeline.  Anywhere else they stay the
        # focused control's own (Space ticks a box, Right moves a slider, End goes to a
        # list's end, P finds an entry); the menus, the toolbar and Ctrl+arrows still step.
        for act in self.stepping_key_actions():
            self.removeAction(act)
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            for widget in self.stepping_views():
                widget.addAction(act)

    def stepping_views(self) -> tuple[QWidget, ...]:
        """The views where the bare stepping keys step."""
        return (self.view, self.ladder_view, self.timeline)

    def stepping_key_actions(self) -> tuple[QAction, ...]:
        """The Step menu's actions on bare keys (no Ctrl), which step only in
        :meth:`stepping_views`."""
        return (self.act_first, self.act_back, self.act_next, self.act_last, self.act_play)

    def _step_actions(self) -> tuple[QAction, ...]:
        """The Step menu's actions, in its order."""
        return (
            self.act_first,
            self.act_back,
            self.act_next,
            self.act_last,
            self.act_previous_marked,
            self.act_next_marked,
            self.act_play,
        )

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        # Lesson, Composer and Legend share the left side: the lesson first, since what the
        # scenario teaches is what a learner reads while stepping; the composer edits it.
        self.dock_lesson = self._dock(
            "Lesson", "dock-lesson", self.lesson, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.dock_composer = self._dock(
            "Composer", "dock-composer", self.composer, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.dock_legend = self._dock(
            "Legend", "dock-legend", self.legend, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.tabifyDockWidget(self.dock_lesson, self.dock_composer)
        self.tabifyDockWidget(self.dock_composer, self.dock_legend)
        self.dock_lesson.raise_()
        self.dock_inspector = self._dock(
            "Inspector", "dock-inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea
        )
        timeline_box = QWidget()
        lay = QVBoxLayout(timeline_box)
        lay.setContentsMargins(2, 2, 2, 2)
        controls = QHBoxLayout()
        self.step_label = QLabel("No steps")
        controls.addWidget(self.step_label, 1)
        speed_label = QLabel("Spee&d")
        controls.addWidget(speed_label)
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setObjectName("speed")
        self.speed.setRange(1, 10)
        self.speed.setValue(4)
        self.speed.setMaximumWidth(160)
        self.speed.setToolTip("Playback speed (steps per second)")
        self.speed.setAccessibleName("Playback speed")
        self.speed.valueChanged.connect(self._on_speed_value_changed)
        speed_label.setBuddy(self.speed)
        controls.addWidget(self.speed)
        lay.addLayout(controls)
        lay.addWidget(self.timeline)
        self.dock_timeline = self._dock(
            "Timeline", "dock-timeline", timeline_box, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.legend.setAccessibleName("Legend: what each mark means")
        # Tab from the speed to the steps under it, as they are laid out.
        QWidget.setTabOrder(self.speed, self.timeline)
        # Default dock sizes follow the window until the user arranges the docks.
        self._user_arranged = False

    def _build_menus(self) -> None:
        from gui import capture_dialog, exports, paste

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_new)
        file_menu.addAction(self.act_open)
        file_menu.addAction(self.act_example)
        self.capture_actions = capture_dialog.install_menu(self, file_menu)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        file_menu.addAction(self.act_save)
        file_menu.addAction(self.act_save_as)
        file_menu.addSeparator()
        self.export_actions = exports.install_menu(self, file_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        edit = bar.addMenu("&Edit")
        edit.addAction(self.act_undo)
        edit.addAction(self.act_redo)
        edit.addSeparator()
        self.act_paste_sip = paste.install_menu(self, edit)
        view = bar.addMenu("&View")
        view.addAction(self.act_fit)
        view.addAction(self.act_zoom_in)
        view.addAction(self.act_zoom_out)
        view.addSeparator()
        for dock, text in (
            (self.dock_lesson, "L&esson"),
            (self.dock_composer, "Co&mposer"),
            (self.dock_legend, "&Legend"),
            (self.dock_inspector, "I&nspector"),
            (self.dock_timeline, "&Timeline"),
        ):
            toggle = dock.toggleViewAction()
            toggle.setText(text)
            view.addAction(toggle)
        view.addSeparator()
        view.addAction(self.act_next_panel)
        view.addAction(self.act_previous_panel)
        view.addSeparator()
        view.addAction(self.act_config)
        step = bar.addMenu("&Step")
        for act in self._step_actions():
            if act is self.act_previous_marked or act is self.act_play:
                step.addSeparator()
            step.addAction(act)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_shortcuts)
        help_menu.addAction(self.act_about)
        self._refresh_recent_menu()

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("toolbar-main")
        bar.setIconSize(QSize(20, 20))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for name, act in (
            ("open", self.act_open),
            ("save", self.act_save),
            ("undo", self.act_undo),
            ("redo", self.act_redo),
            ("first", self.act_first),
            ("back", self.act_back),
            ("play", self.act_play),
            ("next", self.act_next),
            ("last", self.act_last),
            ("fit", self.act_fit),
        ):
            act.setIcon(resources.icon(name))
            bar.addAction(act)
            if name in ("save", "redo", "last"):
                bar.addSeparator()
        self.addToolBar(bar)

    # --------------------------------------------------------------- settings

    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        if isinstance(state, QByteArray):
            self._user_arranged = self.restoreState(state)
        speed = self.settings.value("play/speed")
        if speed is not None:
            with contextlib.suppress(TypeError, ValueError):
                self.speed.setValue(int(str(speed)))

    def _save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("play/speed", self.speed.value())
        if self.session.path:
            self.settings.setValue("session/last", str(self.session.path))

    def recent_files(self) -> list[str]:
        """The recent files, newest first."""
        value = self.settings.value("recent/files", [])
        if isinstance(value, str):
            return [value]
        return [str(v) for v in value] if isinstance(value, list) else []

    def remember(self, path: Path) -> None:
        """Put ``path`` (a scenario or a capture) first in File > Open Recent."""
        files = [str(path)] + [f for f in self.recent_files() if f != str(path)]
        self.settings.setValue("recent/files", files[:MAX_RECENT])
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for i, name in enumerate(files, start=1):
            act = self.recent_menu.addAction(f"&{i} {Path(name).name}")
            act.setToolTip(name)
            act.triggered.connect(lambda _=False, n=name: self.open_file(Path(n)))
        self.recent_menu.setEnabled(bool(files))

    # ---------------------------------------------------------------- files

    def open_path(self, path: str | Path) -> bool:
        """Open a scenario file (asking about unsaved changes first)."""
        if not self.maybe_save():
            return False
        ok = self.session.open_file(path)
        if ok and self.session.path:
            self.remember(self.session.path)
            self.view.fit()
        return ok

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open scenario", "", "RouteLab scenarios (*.json);;All files (*)"
        )
        if path:
            self.open_path(path)

    def new_scenario(self) -> bool:
        """Start an untitled scenario from the built-in template (asking about unsaved
        changes first)."""
        if not self.maybe_save():
            return False
        if not self.session.open_text(resources.new_scenario_text()):
            return False  # pragma: no cover - the template is checked by the tests
        self._update_title()
        self.view.fit()
        return True

    def open_example_dialog(self) -> None:
        dialog = LibraryDialog(self)
        if dialog.exec() and dialog.selected_path is not None:
            if not self.maybe_save():
                return
            if self.session.open_file(dialog.selected_path):
                # Examples open as untitled copies, so Save never overwrites the library.
                self.session.path = None
                self._update_title()
                self.view.fit()

    def save(self) -> bool:
        if self.session.draft:
            return self._save_draft()
        if self.session.path is None:
            return self.save_as()
        return self.session.save()

    def save_as(self) -> bool:
        if self.session.draft:
            return self.save()  # into its own file, errors and all
        path, _ = QFileDialog.getSaveFileName(
            self, "Save scenario", "scenario.json", "RouteLab scenarios (*.json)"
        )
        if not path:
            return False
        ok = self.session.save(path)
        if ok and self.session.path:
            self.remember(self.session.path)
        return ok

    def _save_draft(self) -> bool:
        """Save a draft that does not validate yet as it stands: every edit kept, the errors
        left for later (the file opens as a draft again).  Without an edit, the file keeps
        what it had."""
        session = self.session
        if not session.draft_edited:
            self.status.setText("Nothing saved: no edit yet, and the scenario is not valid yet.")
            return False
        if not session.save_draft(self.composer.data) or session.path is None:
            return False
        self.status.setText(
            f"Saved {session.path.name} as it stands: it is not valid yet (see the composer), "
            "and opens to be fixed again."
        )
        return True

    def maybe_save(self) -> bool:
        """Ask about unsaved changes; False when the user cancels."""
        if not self.session.dirty:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            "The scenario has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def default_dock_sizes(self) -> None:
        """Share the width: composer 27 %, inspector 28 %, the graph the rest (45 %)."""
        width = max(self.width(), 900)
        self.resizeDocks(
            [self.dock_composer, self.dock_inspector],
            [int(width * 0.27), int(width * 0.28)],
            Qt.Orientation.Horizontal,
        )
        self.resizeDocks([self.dock_timeline], [int(self.height() * 0.26)], Qt.Orientation.Vertical)
        # The timeline just got its height: bring the current step into it again (scrolled
        # to while the timeline was still small, it may sit out of sight).
        QTimer.singleShot(0, self, self.scroll_timeline_to_current)

    def scroll_timeline_to_current(self) -> None:
        """Scroll the timeline so that the current step's row is in sight."""
        row = self.session.step_index
        if 0 <= row < self.model.rowCount():
            self.timeline.scrollTo(self.model.index(row, 0))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if not self._user_arranged:
            # Until the user's own arrangement is restored from the settings, the docks
            # keep their share of the window (the saved state wins on the next start).
            QTimer.singleShot(0, self, self.default_dock_sizes)  # not after the window is gone

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (
            QEvent.Type.PaletteChange,
            QEvent.Type.ApplicationPaletteChange,
            QEvent.Type.StyleChange,
        ):
            # Light/dark switch of the system palette: repaint everything in the new colours
            # (the graph's items drop their cached pixmaps, or half of it stays light).
            theme.palette_changed()
            self.scene.refresh_colours()
            self.ladder.update()
            for label in self.findChildren(theme.ErrorLabel):
                label.follow_palette()  # (the composer's and the paste dialog's errors)
            self.timeline.viewport().update()
            self.inspector.show_step(self.session.current, len(self.session.trace.steps))
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        self.play_timer.stop()
        self._save_settings()
        if self.autosaver is not None:
            self.autosaver.discard()  # a normal exit: nothing to recover next time
        event.accept()

    # ---------------------------------------------------------------- drag and drop

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self._take_drag(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._take_drag(event)

    @staticmethod
    def _take_drag(event: QDragMoveEvent) -> None:
        if dropped_file(event.mimeData()) or dropped_sip_text(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        path = dropped_file(mime)
        text = None if path is not None else dropped_sip_text(mime)
        if path is None and text is None:
            event.ignore()
            return
        event.acceptProposedAction()
        if path is not None:
            self.open_file(path)
        elif text is not None:
            from gui.paste import show_dialog

            show_dialog(self).set_text(text)

    def open_file(self, path: Path) -> None:
        """A dropped or recent file: a scenario opens here, anything else as a capture."""
        if is_scenario_file(path):
            self.open_path(path)
        else:
            self.capture_actions.open(path)

    def panels(self) -> tuple[tuple[QDockWidget | None, QWidget], ...]:
        """The panels F6 goes through, in order: each one's dock (None: the centre) and
        the widget that takes the focus there."""
        return (
            (None, self.drawing()),
            (self.dock_lesson, self.lesson),
            (self.dock_composer, self.composer.tabs.tabBar()),
            (self.dock_inspector, self.inspector.explanation),
            (self.dock_timeline, self.timeline),
        )

    @Slot(int)
    def _on_lesson_step_requested(self, index: int) -> None:
        """A step link in the lesson: that step, and the drawing in focus, where the
        stepping keys go on from it."""
        self.session.set_step(index)
        self.drawing().setFocus(Qt.FocusReason.OtherFocusReason)

    def cycle_panel(self, delta: int) -> QWidget | None:
        """Move the focus to the next (``delta`` 1) or previous (-1) open panel; returns
        the widget focused (None when no other panel is open)."""
        panels = self.panels()
        focus = QApplication.focusWidget()
        here = -1
        for i, (dock, _widget) in enumerate(panels):
            area = self.centre if dock is None else dock
            if focus is not None and (focus is area or area.isAncestorOf(focus)):
                here = i
        if here < 0:
            here = -1 if delta > 0 else 0
        for step in range(1, len(panels) + 1):
            dock, widget = panels[(here + delta * step) % len(panels)]
            if dock is not None:
                if not dock.toggleViewAction().isChecked():
                    continue  # closed
                dock.raise_()  # (the composer may be behind the legend)
            # A floating dock is a window of its own: it, or the main window when the focus
            # leaves one, must be the active window for the focus to move there.
            widget.window().activateWindow()
            widget.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return widget
        return None  # pragma: no cover - the centre is always there

    def show_config(self) -> None:
        """Show the inspector (even when it was closed) on its Config tab."""
        self.dock_inspector.show()
        self.dock_inspector.raise_()
        self.inspector.tabs.setCurrentWidget(self.inspector.config)

    # ---------------------------------------------------------------- stepping

    def next_step(self) -> None:
        self.session.next_step()

    def toggle_play(self) -> None:
        if self.play_timer.isActive():
            self.play_timer.stop()
            self.act_play.setChecked(False)
            self.act_play.setText("&Play")
            return
        if self.session.step_index >= len(self.session.trace.steps) - 1:
            self.session.first_step()
        self.play_timer.start(int(1000 / self.speed.value()))
        self.act_play.setChecked(True)
        self.act_play.setText("&Pause")

    @Slot()
    def _on_play_timer_timeout(self) -> None:
        if not self.session.next_step():
            self.toggle_play()

    @Slot(int)
    def _on_speed_value_changed(self, value: int) -> None:
        if self.play_timer.isActive():
            self.play_timer.start(int(1000 / value))

    # ---------------------------------------------------------------- slots

    @Slot()
    def _on_session_trace_changed(self) -> None:
        s = self.session
        self.model.set_trace(s.trace)
        self.timeline.resizeColumnsToContents()
        specs, links = node_specs(s.graph, s.positions, s.scenario, s.trace.warnings)
        self.scene.set_topology(specs, links)
        if self.view.auto_fit:
            self.view.fit()
        self.ladder.set_trace(s.trace, ladder_order(s.positions))
        self.view.set_placeholder(
            "Not valid yet: fix the field marked in the composer, and the scenario is drawn "
            "and played at once."
            if s.draft
            else ""
        )
        self.legend.show_warnings(s.trace.warnings)
        self.lesson.show_scenario(s.scenario, len(s.trace.steps), observed=bool(s.observed_title))
        self.inspector.set_scenario(s.scenario, observed=bool(s.observed_title))

    @Slot(int)
    def _on_session_step_changed(self, index: int) -> None:
        s = self.session
        step = s.current
        request_steps: tuple[TraceStep, ...] = s.trace.steps_of(step.request) if step else ()
        self.scene.show_step(step, request_steps)
        self.inspector.show_step(step, len(s.trace.steps))
        self.ladder.set_current(index)
        self._reveal_in_ladder()
        total = len(s.trace.steps)
        said = (
            f"Step {index + 1} of {total}: {step.label} at {step.element}" if step else "No steps"
        )
        self.step_label.setText(said)
        # What the drawings show, in words, for screen readers.
        self.view.setAccessibleDescription(step_in_words(said, step))
        self.ladder_view.setAccessibleDescription(self.view.accessibleDescription())
        if 0 <= index < self.model.rowCount():
            if self.timeline.currentIndex().row() != index:
                self.timeline.selectRow(index)
            self.timeline.scrollTo(self.model.index(index, 0))
        self.act_back.setEnabled(index > 0)
        self.act_first.setEnabled(index > 0)
        self.act_next.setEnabled(0 <= index < total - 1)
        self.act_last.setEnabled(0 <= index < total - 1)
        self.act_play.setEnabled(total > 0)
        self.act_next_marked.setEnabled(self.session.marked_step(1) >= 0)
        self.act_previous_marked.setEnabled(self.session.marked_step(-1) >= 0)

    def drawing(self) -> GraphView | LadderView:
        """The drawing in sight (graph or ladder): what Fit and Zoom act on."""
        return self.ladder_view if self.centre.currentWidget() is self.ladder_view else self.view

    def _reveal_in_ladder(self, *_args: object) -> None:
        """Scroll the ladder to the current step (also when its tab is opened)."""
        if self.centre.currentWidget() is not self.ladder_view:
            return
        self.ladder_view.reveal(self.ladder.set_current(self.session.step_index))

    def _on_timeline_row_changed(self, current: object, _previous: object) -> None:
        row = current.row() if isinstance(current, QModelIndex) else -1
        if row >= 0:
            self.session.set_step(row)

    @Slot(str)
    def _on_scene_node_clicked(self, name: str) -> None:
        self._select_matching(lambda st: st.element == name)

    @Slot(str, str)
    def _on_scene_link_clicked(self, a: str, b: str) -> None:
        self._select_matching(lambda st: {st.element, st.next_element} == {a, b})

    def _select_matching(self, match: object) -> None:
        """Select the next step (after the current one, wrapping) that matches."""
        assert callable(match)
        steps = self.session.trace.steps
        n = len(steps)
        for offset in range(1, n + 1):
            i = (self.session.step_index + offset) % n
            if match(steps[i]):
                self.session.set_step(i)
                return

    @Slot(str, str)
    def _on_composer_edit_rejected(self, path: str, message: str) -> None:
        # The field keeps what was typed; say so where the graph is, which has not changed.
        self._edit_problem = (
            f"Not valid yet: {message}. Nothing is simulated until the scenario is valid."
            if self.session.draft
            else f"Not applied: {message}. The graph and the steps show the last valid scenario."
        )
        self.status.setText(self._edit_problem)

    @Slot()
    def _on_composer_edit_accepted(self) -> None:
        if self._edit_problem and self.status.text() == self._edit_problem:
            self.status.setText("")
        self._edit_problem = ""

    @Slot(str, str)
    def _on_session_error_raised(self, title: str, message: str) -> None:
        # Window-modal but not blocking: the app keeps running behind it.
        self.status.setText(message)
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self)
        box.setObjectName("error-box")
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.last_error = message
        box.open()

    @Slot(str, str)
    def _on_session_draft_offered(self, title: str, message: str) -> None:
        """A file in RouteLab's format with a wrong value: say what, and offer to open it
        in the composer to fix it there."""
        self.status.setText(message)
        self.last_error = message
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self)
        box.setObjectName("draft-box")
        box.setInformativeText(
            "Open it in the composer to fix it? Nothing is simulated until it is valid; "
            "the file itself is not changed until you save."
        )
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        fix = box.addButton("Fix in the Composer", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Close)
        fix.clicked.connect(self.fix_draft)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def fix_draft(self) -> bool:
        """Open the file just refused in the composer, at its first error."""
        draft = self.session.open_draft()
        if draft is None:
            return False
        self.composer.show_draft(*draft)
        self.dock_composer.show()
        self.dock_composer.raise_()
        self._update_title()
        return True

    def _update_title(self, *_args: object) -> None:
        s = self.session
        name = s.path.name if s.path else (s.scenario.title if s.scenario else "untitled")
        self.setWindowTitle(f"{name}[*] — RouteLab")
        self.setWindowModified(s.dirty)

    def show_shortcuts(self) -> None:
        """Help > Keyboard Shortcuts: the menus' shortcuts in a table."""
        from gui.shortcuts import ShortcutsDialog

        dialog = self.findChild(ShortcutsDialog, "shortcuts-dialog")
        if not isinstance(dialog, ShortcutsDialog):
            dialog = ShortcutsDialog(self.menuBar(), self)
        dialog.show()
        if QApplication.platformName() != "offscreen":  # (which cannot raise a window)
            dialog.raise_()

    def about(self) -> None:
        QMessageBox.about(
            self,
            "About RouteLab",
            "<h3>RouteLab</h3><p>Makes SIP routing visible: Kamailio 5.6.3's rr module "
            "(loose_route, record_route) stepped hop by hop.</p>",
        )


def measure_startup(start: float) -> float:
    """Seconds since ``start`` (used by the start-up benchmark)."""
    return time.perf_counter() - start
