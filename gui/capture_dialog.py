"""File > Open Capture…: read a capture in a worker thread, pick a dialog, show what happened.

Rule 1: the window stays responsive.  Reading a capture and analysing a dialog run in a
:class:`CaptureJob` (a ``QThread``) that reports progress and can be cancelled; the widgets
only ever see finished values (a :class:`~gui.capture.Listing`, an
:class:`~engine.observe.Observation`).
Rule 2: the session shows the result.  An observed dialog reaches the graph, the ladder, the
timeline and the inspector through :meth:`Session.show_observed`, like any trace; the steps
where a proxy did not do what ``loose_route()`` says carry the ``mismatch`` flag.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QThread,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QFontDatabase, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.catalog import CapturedMessage, DialogSummary
from engine.observe import Observation, observe, observed_graph, report
from engine.topology import layout
from gui.capture import CancelledError, CaptureError, Listing, list_dialogs, read_dialog
from gui.models import TableModel

if TYPE_CHECKING:
    from gui.main_window import MainWindow

#: Messages of a capture kept in memory while listing (beyond this, picking reads again).
KEEP_BYTES = 64 << 20
CAPTURE_FILTER = (
    "Captures and SIP text (*.pcap *.pcapng *.cap *.pcap.gz *.pcapng.gz *.txt *.log *.data *.sip)"
    ";;All files (*)"
)

Index = QModelIndex | QPersistentModelIndex
Work = Callable[[Callable[[int, int], None], Callable[[], bool]], object]


class CaptureJob(QThread):
    """Runs ``work(progress, cancelled)`` in a thread; reports progress, the result or why not.

    Nothing raised in the thread escapes: a read error, a cancel and even a bug end in
    :attr:`failed` or :attr:`cancelled`, never in a traceback.
    """

    progressed = Signal(int, int)  # bytes done, bytes in all
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, work: Work, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.work = work
        self._stop = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next progress report."""
        self._stop.set()

    def run(self) -> None:
        try:
            result = self.work(self.progressed.emit, self._stop.is_set)
        except CancelledError:
            self.cancelled.emit()
        except CaptureError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # the one place a worker's error ends
            self.failed.emit(f"RouteLab could not read the capture: {type(exc).__name__}: {exc}")
        else:
            self.succeeded.emit(result)


# --------------------------------------------------------------------------
# models


def start_text(start: float | None) -> str:
    """A start time in local time, to the millisecond ("" when unknown)."""
    if start is None:
        return ""
    try:
        stamp = dt.datetime.fromtimestamp(start)
    except (OverflowError, OSError, ValueError):
        return ""
    return stamp.strftime("%Y-%m-%d %H:%M:%S.") + f"{stamp.microsecond // 1000:03d}"


class DialogTableModel(TableModel):
    """The dialog picker's rows: one per Call-ID."""

    # "Addresses": the transport addresses the dialog's messages went between, counted before
    # the analysis groups them into elements (a proxy with two addresses counts twice).
    HEADERS = ("Call-ID", "Method", "From", "To", "Messages", "Addresses", "Start")
    SORT_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(self, dialogs: tuple[DialogSummary, ...] = (), parent: QObject | None = None):
        super().__init__(parent)
        self.dialogs = dialogs

    def set_dialogs(self, dialogs: tuple[DialogSummary, ...]) -> None:
        """Show other dialogs."""
        self.beginResetModel()
        self.dialogs = dialogs
        self.endResetModel()

    def row_count(self) -> int:
        return len(self.dialogs)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.dialogs):
            return None
        d = self.dialogs[index.row()]
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            values = (
                d.call_id,
                d.method,
                d.from_uri,
                d.to_uri,
                str(d.messages),
                str(d.elements),
                start_text(d.start),
            )
            return values[col] if 0 <= col < len(values) else None
        if role == self.SORT_ROLE:
            keys: tuple[object, ...] = (
                d.call_id,
                d.method,
                d.from_uri,
                d.to_uri,
                d.messages,
                d.elements,
                d.start if d.start is not None else 0.0,
            )
            return keys[col] if 0 <= col < len(keys) else None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (4, 5):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class DialogFilterModel(QSortFilterProxyModel):
    """Sorts the picker and keeps the dialogs whose Call-ID, method, From or To match."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.setSortRole(DialogTableModel.SORT_ROLE)

    def set_text(self, text: str) -> None:
        """Filter by ``text`` (case-insensitive, anywhere in the four fields)."""
        self.beginFilterChange()
        self.text = text
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, DialogTableModel) or not 0 <= source_row < len(model.dialogs):
            return False
        return model.dialogs[source_row].matches(self.text)


class ElementsModel(TableModel):
    """Address -> element name, editable: the same name merges, different names split."""

    HEADERS = ("Address", "Element", "Kind")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[list[str]] = []

    def set_observation(self, obs: Observation) -> None:
        """Show the grouping of an observation."""
        kinds = {e.name: e.role for e in obs.elements}
        self.beginResetModel()
        self.rows = [[addr, name, kinds.get(name, "")] for addr, name in obs.groups]
        self.endResetModel()

    def groups(self) -> dict[str, str]:
        """The grouping as :func:`engine.observe.observe` takes it."""
        return {addr: name.strip() or addr for addr, name, _ in self.rows}

    def rename(self, rows: list[int], names: list[str]) -> None:
        """Give ``rows`` these names (one each)."""
        for row, name in zip(rows, names, strict=True):
            if 0 <= row < len(self.rows):
                self.rows[row][1] = name
                self.dataChanged.emit(self.index(row, 1), self.index(row, 1))

    def row_count(self) -> int:
        return len(self.rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            col = index.column()
            return self.rows[index.row()][col] if 0 <= col < 3 else None
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (
            role != Qt.ItemDataRole.EditRole
            or not index.isValid()
            or index.column() != 1
            or not isinstance(value, str)
            or not value.strip()
        ):
            return False
        self.rows[index.row()][1] = value.strip()
        self.dataChanged.emit(index, index)
        return True

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsEditable if index.column() == 1 else base


# --------------------------------------------------------------------------
# the dialog


@dataclass(frozen=True)
class Observed:
    """What an observe job hands back: the observation and what the app draws of it."""

    observation: Observation
    graph: nx.DiGraph[str]
    positions: dict[str, tuple[float, float]]
    messages: tuple[CapturedMessage, ...]


def observe_job(
    path: Path,
    call_id: str,
    messages: list[CapturedMessage] | None,
    groups: dict[str, str] | None,
) -> Work:
    """The work of picking a dialog: its messages (read again if not kept), the analysis."""

    def work(progress: Callable[[int, int], None], cancelled: Callable[[], bool]) -> Observed:
        found = messages
        if found is None:
            found, _ = read_dialog(path, call_id, progress=progress, cancelled=cancelled)
        obs = observe(found, groups=groups, title=f"{path.name}: {call_id}")
        graph = observed_graph(obs)
        return Observed(obs, graph, layout(graph), tuple(found))

    return work


class CaptureDialog(QDialog):
    """Reads one capture, lists its dialogs with search, opens the picked one in the session.

    Not modal: the main window goes on working while a capture loads.
    """

    observation_shown = Signal()
    listing_done = Signal()
    job_finished = Signal()

    def __init__(self, window: MainWindow, path: str | Path) -> None:
        super().__init__(window)
        self.window_ = window
        self.path = Path(path)
        self.listing: Listing | None = None
        self.observed: Observed | None = None
        self.job: CaptureJob | None = None
        self.picked = ""
        self.setObjectName("capture-dialog")
        self.setWindowTitle(f"Capture — {self.path.name}")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(980, 560)

        self.status = QLabel("Reading…")
        self.status.setObjectName("capture-status")
        self.progress = QProgressBar()
        self.progress.setObjectName("capture-progress")
        self.progress.setRange(0, 1000)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("capture-cancel")
        self.cancel_button.clicked.connect(self.cancel)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.progress, 1)
        top.addWidget(self.cancel_button)

        self.search = QLineEdit()
        self.search.setObjectName("capture-search")
        self.search.setPlaceholderText("Search Call-ID, method, From, To")
        self.search.setClearButtonEnabled(True)
        self.model = DialogTableModel(parent=self)
        self.filter = DialogFilterModel(self)
        self.filter.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setAccessibleName("The dialogs in the capture")
        self.table.setObjectName("capture-dialogs")
        self.table.setModel(self.filter)
        # Capture order until the user clicks a column header.
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        self.search.textChanged.connect(self._on_search_text_changed)
        dialogs_page = QWidget()
        lay = QVBoxLayout(dialogs_page)
        lay.addWidget(self.search)
        lay.addWidget(self.table)

        self.elements = ElementsModel(self)
        self.elements_view = QTableView()
        self.elements_view.setAccessibleName("The elements the capture shows")
        self.elements_view.setObjectName("capture-elements")
        self.elements_view.setModel(self.elements)
        self.elements_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.elements_view.verticalHeader().setVisible(False)
        # The address and the kind as wide as they are (a whole IPv4 or IPv6 address; the
        # kind is a word); the name, which is typed in, takes the rest.
        header = self.elements_view.horizontalHeader()
        header.setStretchLastSection(False)
        for column, mode in (
            (0, QHeaderView.ResizeMode.ResizeToContents),
            (1, QHeaderView.ResizeMode.Stretch),
            (2, QHeaderView.ResizeMode.ResizeToContents),
        ):
            header.setSectionResizeMode(column, mode)
        merge = QPushButton("&Merge selected")
        merge.setToolTip("Give the selected addresses one element (the first one's name)")
        merge.clicked.connect(self.merge_selected)
        split = QPushButton("&Split selected")
        split.setToolTip("Give each selected address an element of its own")
        split.clicked.connect(self.split_selected)
        self.apply_button = QPushButton("&Apply")
        self.apply_button.setObjectName("capture-apply")
        self.apply_button.setToolTip("Analyse the dialog again with these elements")
        self.apply_button.clicked.connect(self.apply_elements)
        buttons = QHBoxLayout()
        buttons.addWidget(merge)
        buttons.addWidget(split)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        elements_page = QWidget()
        lay = QVBoxLayout(elements_page)
        hint = QLabel(
            "One row per address. Addresses with the same element name are one element: "
            "rename to merge or split, then Apply."
        )
        hint.setWordWrap(True)
        lay.addWidget(hint)
        lay.addWidget(self.elements_view)
        lay.addLayout(buttons)

        self.summary = QPlainTextEdit()
        self.summary.setObjectName("capture-summary")
        self.summary.setAccessibleName("What was read from the file")
        self.summary.setReadOnly(True)
        # The report is Markdown, shown as the text it exports to: rendering it would take
        # <sip:...> values for links and the '*' of a user part for emphasis.
        self.report_view = QPlainTextEdit()
        self.report_view.setObjectName("capture-report")
        self.report_view.setAccessibleName("The report: predicted versus observed")
        self.report_view.setReadOnly(True)
        self.report_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))

        self.tabs = QTabWidget()
        self.tabs.addTab(dialogs_page, "&Dialogs")
        self.tabs.addTab(elements_page, "&Elements")
        self.tabs.addTab(self.report_view, "&Report")
        self.tabs.addTab(self.summary, "&What was read")

        box = QDialogButtonBox()
        self.open_button = box.addButton("&Open Dialog", QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button.setObjectName("capture-open")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_selected)
        self.export_button = box.addButton(
            "E&xport Report…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export_report_dialog)
        close = box.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.close)

        layout_ = QVBoxLayout(self)
        layout_.addLayout(top)
        layout_.addWidget(self.tabs, 1)
        layout_.addWidget(box)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)

    # -- jobs ------------------------------------------------------------------

    def _start(self, work: Work, on_success: Callable[[object], None], what: str) -> None:
        if self.job is not None:
            return
        self.status.setText(what)
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.setEnabled(True)
        job = CaptureJob(work, self)
        job.progressed.connect(self._on_job_progressed)
        job.succeeded.connect(on_success)
        job.failed.connect(self._on_job_failed)
        job.cancelled.connect(self._on_job_cancelled)
        job.finished.connect(self._on_job_finished)
        self.job = job
        self._update_buttons()
        job.start()

    def start_listing(self) -> None:
        """Read the capture and list its dialogs (in the worker)."""
        path = self.path

        def work(progress: Callable[[int, int], None], cancelled: Callable[[], bool]) -> object:
            return list_dialogs(path, keep_bytes=KEEP_BYTES, progress=progress, cancelled=cancelled)

        self._start(work, self._on_listing_succeeded, f"Reading {path.name}…")

    def cancel(self) -> None:
        """Stop the running job (the dialog stays open)."""
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Cancelling…")

    @Slot(int, int)
    def _on_job_progressed(self, done: int, total: int) -> None:
        self.progress.setValue(int(1000 * done / total) if total else 0)

    @Slot(str)
    def _on_job_failed(self, message: str) -> None:
        self.status.setText(message)
        self.summary.setPlainText(message)
        self.window_.session.error_raised.emit("Cannot read the capture", message)

    @Slot()
    def _on_job_cancelled(self) -> None:
        self.status.setText("Cancelled.")

    @Slot()
    def _on_job_finished(self) -> None:
        job, self.job = self.job, None
        if job is not None:
            job.deleteLater()
        self.cancel_button.setEnabled(False)
        self.progress.hide()
        self._update_buttons()
        self.job_finished.emit()

    def _on_listing_succeeded(self, result: object) -> None:
        assert isinstance(result, Listing)
        self.listing = result
        dialogs = result.catalog.dialogs()
        self.model.set_dialogs(dialogs)
        header = self.table.horizontalHeader()
        header.setResizeContentsPrecision(200)  # look at 200 rows, not all of a big capture
        self.table.resizeColumnsToContents()
        for column in (0, 2, 3):
            header.resizeSection(column, min(header.sectionSize(column), 320))
        self.summary.setPlainText(result.summary.text())
        skipped = sum(result.summary.skipped.values())
        self.status.setText(
            f"{len(dialogs)} dialog{'' if len(dialogs) == 1 else 's'}, "
            f"{result.summary.messages} SIP message{'' if result.summary.messages == 1 else 's'}"
            + (
                f"; {skipped} item{'' if skipped == 1 else 's'} skipped (see What was read)"
                if skipped
                else ""
            )
        )
        if not dialogs:
            self.tabs.setCurrentIndex(3)
        elif self.table.currentIndex().row() < 0:
            self.table.selectRow(0)
        self.listing_done.emit()

    # -- picking -----------------------------------------------------------------

    def selected_dialog(self) -> DialogSummary | None:
        """The dialog selected in the picker."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        source = self.filter.mapToSource(rows[0])
        return self.model.dialogs[source.row()] if source.isValid() else None

    def open_selected(self) -> None:
        """Analyse the selected dialog and show it in the main window."""
        dialog = self.selected_dialog()
        if dialog is not None:
            self.open_dialog(dialog.call_id)

    def open_dialog(self, call_id: str, groups: dict[str, str] | None = None) -> None:
        """Analyse one dialog (in the worker) and show it."""
        if self.listing is None:
            return
        self.picked = call_id
        kept = self.listing.messages(call_id)
        observed = self.observed
        if kept is None and observed is not None and observed.observation.call_id == call_id:
            kept = list(observed.messages)
        work = observe_job(self.path, call_id, kept, groups)
        self._start(work, self._on_observe_succeeded, f"Analysing {call_id}…")

    def _on_observe_succeeded(self, result: object) -> None:
        assert isinstance(result, Observed)
        self.observed = result
        obs = result.observation
        self.elements.set_observation(obs)
        self.report_view.setPlainText(report(obs, source=str(self.path)))
        self.window_.session.show_observed(
            obs.trace, result.graph, result.positions, obs.title, obs.scenario
        )
        if self.window_.view.auto_fit:
            self.window_.view.fit()
        diffs = len(obs.differences)
        self.status.setText(
            f"{obs.call_id}: {len(obs.trace.steps)} messages, {len(obs.elements)} elements, "
            f"{len(obs.checks)} hops checked, {diffs} difference{'s' if diffs != 1 else ''}"
        )
        self.observation_shown.emit()

    # -- elements ----------------------------------------------------------------

    def _selected_element_rows(self) -> list[int]:
        return sorted({i.row() for i in self.elements_view.selectionModel().selectedRows()})

    def merge_selected(self) -> None:
        """Give the selected addresses the first one's element name."""
        rows = self._selected_element_rows()
        if len(rows) >= 2:
            name = self.elements.rows[rows[0]][1]
            self.elements.rename(rows, [name] * len(rows))

    def split_selected(self) -> None:
        """Give each selected address an element of its own."""
        rows = self._selected_element_rows()
        taken = {r[1] for r in self.elements.rows}
        names = []
        for row in rows:
            base = self.elements.rows[row][1]
            shared = sum(1 for r in self.elements.rows if r[1] == base) > 1
            if not shared:
                names.append(base)
                continue
            n, name = 2, f"{base} {2}"
            while name in taken:
                n += 1
                name = f"{base} {n}"
            taken.add(name)
            names.append(name)
        self.elements.rename(rows, names)

    def apply_elements(self) -> None:
        """Analyse the shown dialog again with the edited elements."""
        if self.observed is not None and self.picked:
            self.open_dialog(self.picked, self.elements.groups())

    # -- report -------------------------------------------------------------------

    def report_text(self) -> str:
        """The predicted-versus-observed report of the shown dialog ("" when none)."""
        if self.observed is None:
            return ""
        return report(self.observed.observation, source=str(self.path))

    def export_report(self, path: str | Path) -> bool:
        """Write the report as Markdown; False (and an error message) when it cannot."""
        text = self.report_text()
        if not text:
            return False
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            self.window_.session.error_raised.emit(
                "Cannot export the report", f"{path}: {exc.strerror or exc}"
            )
            return False
        self.status.setText(f"Report written to {path}")
        return True

    def export_report_dialog(self) -> None:
        """Ask where, then export the report."""
        if self.observed is None:
            return
        name = f"{self.path.stem}-report.md"
        path, _ = QFileDialog.getSaveFileName(self, "Export report", name, "Markdown (*.md)")
        if path:
            self.export_report(path)

    # -- slots ---------------------------------------------------------------------

    @Slot(str)
    def _on_search_text_changed(self, text: str) -> None:
        self.filter.set_text(text)
        if self.filter.rowCount() and not self.table.selectionModel().selectedRows():
            self.table.selectRow(0)
        self._update_buttons()

    @Slot(QModelIndex)
    def _on_table_double_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_selected()

    def _update_buttons(self, *_args: object) -> None:
        busy = self.job is not None
        self.open_button.setEnabled(not busy and self.selected_dialog() is not None)
        self.apply_button.setEnabled(not busy and self.observed is not None)
        self.export_button.setEnabled(self.observed is not None)

    def stop_job(self) -> None:
        """Cancel the running job and wait for its thread (it stops at its next report)."""
        if self.job is not None:
            self.job.cancel()
            self.job.wait()

    def done(self, result: int) -> None:
        # Closing while a job runs: a QThread must not be destroyed while it runs.
        self.stop_job()
        super().done(result)


# --------------------------------------------------------------------------
# the menu


class CaptureActions(QObject):
    """File > Open Capture… and its dialog (one at a time)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: CaptureDialog | None = None
        # A capture dialog (and its worker thread) must end before the window does.
        window.installEventFilter(self)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self.open_action = QAction("Open &Capture…", window)
        self.open_action.setObjectName("open-capture")
        self.open_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        tip = "Open a pcap, pcapng or SIP text capture, pick a dialog, check the proxies"
        self.open_action.setStatusTip(tip)
        self.open_action.setToolTip(tip)
        self.open_action.triggered.connect(self.ask_and_open)

    def ask_and_open(self) -> None:
        """Ask for a file, then open it."""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open capture", "", CAPTURE_FILTER)
        if path:
            self.open(path)

    def open(self, path: str | Path) -> CaptureDialog:
        """Open a capture in a (new) capture dialog and start reading it; it goes into
        File > Open Recent."""
        if self.dialog is not None:
            self.dialog.close()
        self.window.remember(Path(path).resolve())
        dialog = CaptureDialog(self.window, path)
        dialog.destroyed.connect(self._on_dialog_destroyed)
        self.dialog = dialog
        dialog.show()
        dialog.start_listing()
        return dialog

    @Slot()
    def _on_dialog_destroyed(self) -> None:
        self.dialog = None

    @Slot()
    def shutdown(self) -> None:
        """Close the capture dialog, stopping its worker."""
        if self.dialog is not None:
            self.dialog.close()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False


def install_menu(window: MainWindow, file_menu: QMenu) -> CaptureActions:
    """Add File > Open Capture… to ``file_menu``; the actions object lives on the window."""
    actions = CaptureActions(window)
    file_menu.addAction(actions.open_action)
    window.addAction(actions.open_action)
    return actions


__all__ = [
    "CaptureActions",
    "CaptureDialog",
    "CaptureJob",
    "DialogFilterModel",
    "DialogTableModel",
    "ElementsModel",
    "install_menu",
]
