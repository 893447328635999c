"""File > Open Capture…: the worker, the dialog picker, the elements editor, the session.

Driven through the main window (pytest-qt, offscreen) with generated captures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from pytestqt.qtbot import QtBot

from engine.trace import Flag
from gui.capture_dialog import (
    CaptureDialog,
    CaptureJob,
    DialogTableModel,
    ElementsModel,
    start_text,
)
from gui.main_window import MainWindow
from tests.capture_factory import STRAY, trapezoid, udp_frames, write_pcap

WAIT = 20_000


@pytest.fixture
def window(qtbot: QtBot, isolated_settings: QSettings) -> Iterator[MainWindow]:
    win = MainWindow(settings=isolated_settings)
    yield win
    dialog = win.capture_actions.dialog
    if dialog is not None:
        dialog.close()
    win.session.undo_stack.setClean()
    win.close()
    win.deleteLater()


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    hops = trapezoid(1) + trapezoid(2, bye_from_p2_to=STRAY) + trapezoid(3)
    return write_pcap(tmp_path / "calls.pcap", udp_frames(hops))


def listed(qtbot: QtBot, window: MainWindow, path: Path) -> CaptureDialog:
    dialog = window.capture_actions.open(path)
    qtbot.waitUntil(lambda: dialog.listing is not None and dialog.job is None, timeout=WAIT)
    return dialog


def pick(qtbot: QtBot, dialog: CaptureDialog, call_id: str) -> None:
    dialog.search.setText(call_id)
    assert dialog.filter.rowCount() == 1
    dialog.table.selectRow(0)
    with qtbot.waitSignal(dialog.observation_shown, timeout=WAIT):
        dialog.open_selected()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=WAIT)


def test_the_file_menu_offers_open_capture(window: MainWindow) -> None:
    file_menu = window.menuBar().actions()[0].menu()
    assert file_menu is not None
    texts = [a.text() for a in file_menu.actions()]  # type: ignore[union-attr]
    assert "Open &Capture…" in texts
    assert window.capture_actions.open_action.shortcut().toString() == "Ctrl+Shift+O"


def test_models_pass_the_model_tester(qtmodeltester: object) -> None:
    from engine.catalog import DialogCatalog

    cat = DialogCatalog()
    for i, h in enumerate(trapezoid(1) + trapezoid(2), start=1):
        cat.add(h.text.encode(), 1.0 + i, h.src, h.dst, i)
    qtmodeltester.check(DialogTableModel(cat.dialogs()))  # type: ignore[attr-defined]
    from engine.catalog import CapturedMessage
    from engine.observe import observe

    elements = ElementsModel()
    obs = observe(
        [CapturedMessage(i, None, h.src, h.dst, "udp", h.text) for i, h in enumerate(trapezoid(1))]
    )
    elements.set_observation(obs)
    qtmodeltester.check(elements)  # type: ignore[attr-defined]
    assert elements.rows[0] == ["10.0.0.1:5060", "alice", "caller"]


def test_list_search_and_open_a_dialog(qtbot: QtBot, window: MainWindow, capture: Path) -> None:
    dialog = listed(qtbot, window, capture)
    assert dialog.model.rowCount() == 3
    # Capture order first; a click on a header sorts.
    assert [dialog.filter.index(r, 0).data() for r in range(3)] == [
        "call-1@10.0.0.1",
        "call-2@10.0.0.1",
        "call-3@10.0.0.1",
    ]
    dialog.table.sortByColumn(4, Qt.SortOrder.AscendingOrder)
    assert [dialog.filter.index(r, 4).data() for r in range(3)] == ["19", "21", "21"]
    dialog.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    assert dialog.filter.index(0, 0).data() == "call-3@10.0.0.1"
    assert "3 dialogs, 61 SIP messages" in dialog.status.text()
    assert "61 SIP messages found" in dialog.summary.toPlainText()
    assert not dialog.progress.isVisible()
    dialog.search.setText("nothing-like-this")
    assert dialog.filter.rowCount() == 0
    assert not dialog.open_button.isEnabled()
    pick(qtbot, dialog, "call-2@")
    session = window.session
    assert len(session.trace.steps) == 19
    assert session.observed_title == "calls.pcap: call-2@10.0.0.1"
    assert session.scenario is not None
    assert session.path is None
    assert sorted(session.positions) == ["P1", "P2", "UA1", "alice", "bob"]
    # The mismatch is on the timeline, the ladder and the graph.
    flagged = [s.index for s in session.trace.steps if Flag.MISMATCH in s.flags]
    assert flagged == [16]
    assert window.model.rowCount() == 19
    assert window.ladder.canvas.steps == session.trace.steps
    session.set_step(16)
    assert Flag.MISMATCH in window.scene.nodes["P2"].marks
    assert "but its route set says sip:10.0.0.2;lr;ftag=a2" in (
        window.inspector.explanation.toPlainText()
    )
    # The Markdown as it exports, SIP values whole (rendered, <sip:...> would be a link).
    assert "## Differences (1)" in dialog.report_view.toPlainText()
    assert dialog.report_view.toPlainText() == dialog.report_text()
    # The addresses whole, the kind as wide as its word, the names the rest.
    view = dialog.elements_view
    assert view.columnWidth(0) >= view.sizeHintForColumn(0)
    assert view.columnWidth(2) < view.columnWidth(1)
    assert "## Differences (1)" in dialog.report_text()
    assert "1 difference" in dialog.status.text()
    assert window.windowTitle().startswith("calls.pcap: call-2@10.0.0.1")


def test_export_the_report(qtbot: QtBot, window: MainWindow, capture: Path, tmp_path: Path) -> None:
    dialog = listed(qtbot, window, capture)
    assert dialog.report_text() == ""
    assert not dialog.export_button.isEnabled()
    pick(qtbot, dialog, "call-2@")
    assert dialog.export_button.isEnabled()
    target = tmp_path / "report.md"
    assert dialog.export_report(target)
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Predicted versus observed: Call-ID call-2@10.0.0.1")
    assert "P2 sent the BYE to 10.0.0.5:5060 (UA1)" in text
    # A folder is not a file: an error message, no exception.
    assert not dialog.export_report(tmp_path)
    assert "Cannot" in window.last_error or str(tmp_path) in window.last_error


def test_merge_and_split_elements(qtbot: QtBot, window: MainWindow, capture: Path) -> None:
    dialog = listed(qtbot, window, capture)
    pick(qtbot, dialog, "call-1@")
    rows = {r[0]: i for i, r in enumerate(dialog.elements.rows)}
    view = dialog.elements_view
    view.clearSelection()
    for address in ("10.0.0.2:5060", "10.0.0.3:5060"):
        view.selectionModel().select(
            dialog.elements.index(rows[address], 0),
            view.selectionModel().SelectionFlag.Select | view.selectionModel().SelectionFlag.Rows,
        )
    dialog.merge_selected()
    assert dialog.elements.groups()["10.0.0.3:5060"] == "P1"
    with qtbot.waitSignal(dialog.observation_shown, timeout=WAIT):
        dialog.apply_elements()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=WAIT)
    assert sorted(window.session.positions) == ["P1", "alice", "bob"]
    # Split them again.
    rows = {r[0]: i for i, r in enumerate(dialog.elements.rows)}
    view.clearSelection()
    for address in ("10.0.0.2:5060", "10.0.0.3:5060"):
        view.selectionModel().select(
            dialog.elements.index(rows[address], 0),
            view.selectionModel().SelectionFlag.Select | view.selectionModel().SelectionFlag.Rows,
        )
    dialog.split_selected()
    groups = dialog.elements.groups()
    assert groups["10.0.0.2:5060"] != groups["10.0.0.3:5060"]
    with qtbot.waitSignal(dialog.observation_shown, timeout=WAIT):
        dialog.apply_elements()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=WAIT)
    assert len(window.session.positions) == 4


def test_loading_keeps_the_window_responsive_and_can_be_cancelled(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    hops = [h for n in range(600) for h in trapezoid(n)]
    path = write_pcap(tmp_path / "big.pcap", udp_frames(hops))
    ticks: list[int] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(1)
    dialog = window.capture_actions.open(path)
    assert dialog.job is not None
    assert dialog.cancel_button.isEnabled()
    with qtbot.waitSignal(dialog.job.cancelled, timeout=WAIT):
        dialog.cancel()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=WAIT)
    timer.stop()
    assert dialog.status.text() == "Cancelled."
    assert dialog.listing is None
    # Read it whole this time: the event loop ran all along.
    ticks.clear()
    timer.start(1)
    dialog.start_listing()
    qtbot.waitUntil(lambda: dialog.listing is not None and dialog.job is None, timeout=WAIT)
    timer.stop()
    assert dialog.model.rowCount() == 600
    assert ticks


def test_closing_the_window_stops_a_running_job(
    qtbot: QtBot, isolated_settings: QSettings, tmp_path: Path
) -> None:
    hops = [h for n in range(600) for h in trapezoid(n)]
    path = write_pcap(tmp_path / "big.pcap", udp_frames(hops))
    win = MainWindow(settings=isolated_settings)
    dialog = win.capture_actions.open(path)
    job = dialog.job
    assert job is not None
    win.close()
    assert win.capture_actions.dialog is None or not dialog.isVisible()
    assert job.isFinished()
    win.deleteLater()


def test_garbage_shows_what_was_skipped(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "garbage.pcap"
    path.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + b"\x00" * 16 + b"\xff" * 300)
    dialog = listed(qtbot, window, path)
    assert dialog.model.rowCount() == 0
    assert "no SIP message was found" in dialog.summary.toPlainText()
    assert dialog.tabs.currentIndex() == 3


def test_a_missing_file_is_an_error_message(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    dialog = window.capture_actions.open(tmp_path / "gone.pcap")
    qtbot.waitUntil(lambda: dialog.job is None, timeout=WAIT)
    assert "No such file" in dialog.status.text()
    assert "No such file" in window.last_error


def test_a_job_that_fails_unexpectedly_reports_instead_of_raising(qtbot: QtBot) -> None:
    def broken(progress: object, cancelled: object) -> object:
        raise RuntimeError("boom")

    job = CaptureJob(broken)
    with qtbot.waitSignal(job.failed, timeout=WAIT) as blocker:
        job.start()
    job.wait()
    assert blocker.args == ["RouteLab could not read the capture: RuntimeError: boom"]


def test_start_text() -> None:
    assert start_text(None) == ""
    assert start_text(1e30) == ""
    assert len(start_text(1_700_000_000.5)) == len("2023-11-14 22:13:20.500")
