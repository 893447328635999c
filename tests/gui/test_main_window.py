"""The main window, driven through its Session (pytest-qt, offscreen)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QAccessible, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTabBar,
    QWidget,
)
from pytestqt.qtbot import QtBot

from engine.scenario import dumps, loads
from engine.trace import Flag, StepKind, Trace
from gui import resources
from gui.composer import path_text
from gui.drops import dropped_file, dropped_sip_text, is_scenario_file
from gui.main_window import MainWindow
from gui.paste import PasteDialog
from tests.capture_factory import trapezoid, udp_frames, write_pcap

LIBRARY = resources.scenario_files()
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(qtbot: QtBot, isolated_settings: QSettings) -> Iterator[MainWindow]:
    win = MainWindow(settings=isolated_settings)
    yield win
    # Not qtbot.addWidget: pytest-qt would close the window before this runs, and a test
    # that leaves unsaved edits would then wait on the modal "unsaved changes" question.
    win.session.undo_stack.setClean()
    win.close()
    win.deleteLater()


def _open(window: MainWindow, path: Path) -> None:
    assert window.session.open_file(path), window.last_error
    window.session.set_step(0)


def test_library_is_not_empty() -> None:
    assert len(LIBRARY) >= 15
    assert resources.scenario_file(resources.TOUR).is_file()


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_every_library_scenario_steps_through_every_hop(window: MainWindow, path: Path) -> None:
    _open(window, path)
    session, scene = window.session, window.scene
    steps = session.trace.steps
    assert steps, "a library scenario must produce steps"
    for i, step in enumerate(steps):
        session.set_step(i)
        # The element processing the step is the only active node, with the step's marks.
        active = [name for name, node in scene.nodes.items() if node.active]
        assert active == [step.element]
        assert set(step.flags) <= set(scene.nodes[step.element].marks)
        # The hop arrow shows exactly when the message goes to a drawn element.
        expects_hop = step.next_element in scene.nodes and step.next_element != step.element
        assert scene.hop.isVisible() == expects_hop
        if expects_hop:
            assert step.next_element is not None
            # Along every element a summarised response passed, else straight to the next.
            # (A proxy that sent the request to itself is passed once.)
            names = tuple(n for n, _ in itertools.groupby(step.path))
            names = names or (step.element, step.next_element)
            assert scene.hop.points == tuple(scene.nodes[name].pos() for name in names)
            assert names[0] == step.element
            assert step.next_element in names
            # Answers curve below the links, a proxy's own answer too.
            assert scene.hop.below == (step.kind is StepKind.RESPONSE or step.status is not None)
            for a, b in itertools.pairwise(names):
                key = frozenset((a, b))
                in_graph = session.graph.has_edge(a, b) or session.graph.has_edge(b, a)
                assert (key in scene.links) == in_graph
                assert in_graph or not step.path, "a summarised response goes link by link"
                if in_graph:
                    assert scene.links[key].used
        # Timeline, ladder and inspector follow.
        assert window.timeline.currentIndex().row() == i
        assert window.ladder.canvas.current == i
        assert step.element in window.inspector.explanation.toPlainText()


def test_tour_shows_every_highlight(window: MainWindow) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    seen = {f for s in window.session.trace.steps for f in s.flags}
    assert {
        Flag.PRELOADED,
        Flag.LOCAL_ROUTE_REMOVED,
        Flag.DOUBLE_RECORD_ROUTE,
    } <= seen
    assert Flag.LOOSE_TO_STRICT in seen or Flag.STRICT_TO_LOOSE in seen


def test_keyboard_stepping(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    window.show()
    window.activateWindow()
    # Shortcuts need the active window; waitActive alone does not wait for it offscreen.
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    target = window.view
    target.setFocus()
    with qtbot.waitSignal(window.session.step_changed):
        qtbot.keyClick(target, Qt.Key.Key_Right)
    assert window.session.step_index == 1
    qtbot.keyClick(target, Qt.Key.Key_Space)
    assert window.session.step_index == 2
    qtbot.keyClick(target, Qt.Key.Key_Left)
    assert window.session.step_index == 1
    qtbot.keyClick(target, Qt.Key.Key_End)
    assert window.session.step_index == len(window.session.trace.steps) - 1
    qtbot.keyClick(target, Qt.Key.Key_Home)
    assert window.session.step_index == 0


def test_ctrl_arrows_go_from_marked_step_to_marked_step(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    steps = window.session.trace.steps
    marked = [s.index for s in steps if s.flags]
    assert 2 < len(marked) < len(steps)
    assert marked[0] > 0
    assert not window.act_previous_marked.isEnabled()
    # From the focused timeline too, where plain arrows would move the selection.
    target = window.timeline
    target.setFocus()
    for expected in marked:
        qtbot.keyClick(target, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
        assert window.session.step_index == expected
    assert not window.act_next_marked.isEnabled()
    window.act_next_marked.trigger()  # none left: it stays
    assert window.session.step_index == marked[-1]
    qtbot.keyClick(target, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier)
    assert window.session.step_index == marked[-2]
    # Between two marked steps, back goes to the one before, not to the current one.
    window.session.set_step(marked[1] + 1)
    window.act_previous_marked.trigger()
    assert window.session.step_index == marked[1]
    assert window.act_previous_marked.isEnabled()
    # In a text field Ctrl+arrows move the cursor by words, and the step stays.
    field = window.composer.editors["title"]
    assert isinstance(field, QLineEdit)
    field.setFocus()
    field.setCursorPosition(0)
    qtbot.keyClick(field, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert field.cursorPosition() > 1
    assert window.session.step_index == marked[1]


def test_clicking_a_node_selects_its_next_step(window: MainWindow) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    steps = window.session.trace.steps
    target = steps[3].element
    window.session.set_step(0)
    window.scene.nodes[target].clicked.emit(target)
    chosen = window.session.current
    assert chosen is not None
    assert chosen.element == target
    assert chosen.index == next(s.index for s in steps[1:] if s.element == target)


def test_play_advances_and_stops_at_the_end(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    window.speed.setValue(10)
    window.toggle_play()
    last = len(window.session.trace.steps) - 1
    qtbot.waitUntil(lambda: window.session.step_index == last, timeout=30_000)
    qtbot.waitUntil(lambda: not window.play_timer.isActive(), timeout=2_000)


def test_save_and_reopen(window: MainWindow, tmp_path: Path) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    target = tmp_path / "copy.json"
    assert window.session.save(target)
    text = target.read_text(encoding="utf-8")
    assert loads(text) == window.session.scenario
    other = MainWindow()
    try:
        assert other.session.open_file(target)
        assert other.session.scenario == window.session.scenario
        assert other.session.trace == window.session.trace
    finally:
        other.close()
        other.deleteLater()


def test_corrupt_file_keeps_the_document(window: MainWindow, tmp_path: Path) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    before = window.session.scenario
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 1, "title": "x", "proxies": [{"name": "P", "lisen": []}]', "utf-8")
    assert not window.session.open_file(bad)
    assert window.session.scenario is before
    assert "bad.json" in window.last_error
    box = window.findChild(QMessageBox, "error-box")
    assert box is not None
    assert box.isVisible() or not window.isVisible()
    binary = tmp_path / "junk.json"
    binary.write_bytes(b"\x00\xff\xfe garbage")
    assert not window.session.open_file(binary)
    assert window.session.scenario is before


def _first_field(window: MainWindow, suffix: str) -> QLineEdit:
    for name, editor in window.composer.editors.items():
        if name.endswith(suffix) and isinstance(editor, QLineEdit):
            return editor
    raise AssertionError(f"no field {suffix}: {sorted(window.composer.editors)}")


def test_composer_edit_undo_redo(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    original = window.session.scenario
    assert original is not None
    window.composer.tabs.setCurrentIndex(0)
    field = _first_field(window, "title")
    with qtbot.waitSignal(window.session.trace_changed):
        field.setText("")
        qtbot.keyClicks(field, "Renamed tour")
    assert window.session.scenario is not None
    assert window.session.scenario.title == "Renamed tour"
    assert window.session.dirty
    window.act_undo.trigger()
    while window.session.undo_stack.canUndo():
        window.act_undo.trigger()
    assert window.session.scenario == original
    window.act_redo.trigger()
    assert window.session.scenario is not None
    assert window.session.scenario.title != original.title


def test_composer_rejects_invalid_port_and_keeps_the_text(window: MainWindow, qtbot: QtBot) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    before = window.session.scenario
    data = json.loads(dumps(before))  # type: ignore[arg-type]
    assert data["proxies"], "the tour has proxies"
    # Select the proxies tab and the first proxy, then type a bad listen socket.
    tabs = window.composer.tabs
    index = next(i for i in range(tabs.count()) if tabs.tabText(i).lower() == "proxies")
    tabs.setCurrentIndex(index)
    key = path_text(("proxies", 0, "listen"))
    editor = window.composer.editors[key]
    bad = "udp:10.0.0.1:70000"
    editor.setPlainText(bad)  # type: ignore[attr-defined]
    assert window.session.scenario == before
    error = window.composer.errors[key]
    assert not error.isHidden()
    assert "70000" in error.text() or "range" in error.text()
    assert editor.toPlainText() == bad  # type: ignore[attr-defined]


def test_inspector_fills_each_tab_when_opened(window: MainWindow) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    step = next(s for s in window.session.trace.steps if s.routes_removed)
    window.session.set_step(step.index)
    tabs = window.inspector.tabs
    tabs.setCurrentWidget(window.inspector.route_set)
    assert "consumed here" in window.inspector.route_set.toPlainText()
    tabs.setCurrentWidget(window.inspector.message_out)
    assert window.inspector.message_out.toPlainText().startswith(step.message_out.split("\r\n")[0])
    tabs.setCurrentWidget(window.inspector.diff)
    assert "Route removed" in window.inspector.diff.toPlainText()


def test_unsaved_changes_prompt(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    window.composer._edit(("title",), "changed")
    assert window.session.dirty
    asked: list[str] = []

    def cancel(*args: object) -> QMessageBox.StandardButton:
        asked.append(str(args[2]))
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", cancel)
    before = window.session.scenario
    assert not window.open_path(resources.scenario_file("rfc3261-16-12-1-1-trapezoid"))
    assert asked
    assert window.session.scenario is before

    def discard(*args: object) -> QMessageBox.StandardButton:
        return QMessageBox.StandardButton.Discard

    monkeypatch.setattr(QMessageBox, "question", discard)
    assert window.open_path(resources.scenario_file("rfc3261-16-12-1-1-trapezoid"))
    assert window.session.scenario is not before
    assert not window.session.dirty


def test_file_new_starts_an_untitled_scenario_that_plays(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    window.composer._edit(("title",), "changed")
    monkeypatch.setattr(QMessageBox, "question", lambda *_: QMessageBox.StandardButton.Cancel)
    before = window.session.scenario
    window.act_new.trigger()
    assert window.session.scenario is before  # cancelled: the edit is kept
    monkeypatch.setattr(QMessageBox, "question", lambda *_: QMessageBox.StandardButton.Discard)
    window.act_new.trigger()
    scenario = window.session.scenario
    assert scenario is not None
    assert scenario.title == "Untitled scenario"
    assert window.session.path is None  # Save asks where
    assert not window.session.dirty
    assert window.windowTitle().startswith("Untitled scenario")
    steps = window.session.trace.steps
    assert [s.element for s in steps if Flag.RECORD_ROUTE in s.flags] == ["P1"]
    assert not any(Flag.DEAD_END in s.flags for s in steps)
    assert {s.method for s in steps} == {"INVITE", "ACK", "BYE"}
    assert window.act_new.shortcut().matches(QKeySequence(QKeySequence.StandardKey.New))


def test_the_explanation_gets_the_larger_share_of_the_inspector(
    window: MainWindow, qtbot: QtBot
) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    window.resize(1440, 900)
    window.show()
    qtbot.waitExposed(window)
    inspector = window.inspector
    assert inspector.explanation.height() > inspector.tabs.height()


def test_a_file_with_a_wrong_value_opens_in_the_composer_to_be_fixed(
    window: MainWindow, tmp_path: Path
) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    doc = json.loads(resources.scenario_file(resources.TOUR).read_text(encoding="utf-8"))
    good = doc["proxies"][1]["listen"][0]
    doc["proxies"][1]["listen"][0] = good.rsplit(":", 1)[0] + ":99999"
    path = tmp_path / "bad.json"
    text = json.dumps(doc, indent=2)
    path.write_text(text, encoding="utf-8")
    offered: list[str] = []
    window.session.draft_offered.connect(lambda _title, message: offered.append(message))
    assert not window.open_path(path)
    assert offered
    assert "port 99999 is out of range" in offered[0]
    assert window.fix_draft()
    # Nothing is simulated; the composer shows the file, at its error.
    assert window.session.scenario is None
    assert window.session.trace.steps == ()
    assert not window.act_play.isEnabled()
    assert window.view.placeholder.startswith("Not valid yet")  # said on the empty graph
    composer = window.composer
    assert composer.tabs.tabText(composer.tabs.currentIndex()) == "Proxies"
    listen = composer.editors["proxies[1].listen"]
    assert isinstance(listen, QPlainTextEdit)
    assert listen.toPlainText().splitlines()[0].endswith(":99999")
    assert "99999" in composer.errors["proxies[1].listen"].text()
    assert window.status.text().startswith("Not valid yet: ")
    assert not window.save()  # nothing valid to save: the file keeps what it had
    assert path.read_text(encoding="utf-8") == text
    # Fixed in the composer: it becomes the document, not saved yet, and it plays.
    listen.setPlainText(listen.toPlainText().replace(":99999", ":" + good.rsplit(":", 1)[1]))
    scenario = window.session.scenario
    assert scenario is not None
    assert window.session.dirty
    assert len(window.session.trace.steps) > 20
    assert window.view.placeholder == ""
    assert window.session.path == path.resolve()
    assert window.save()
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["proxies"][1]["listen"][0] == good


def _two_wrong_values(window: MainWindow, tmp_path: Path) -> tuple[Path, str]:
    """The tour with a port out of range and a negative Max-Forwards, opened as a draft to
    fix; its file and the right listen socket."""
    doc = json.loads(resources.scenario_file(resources.TOUR).read_text(encoding="utf-8"))
    good = doc["proxies"][1]["listen"][0]
    doc["proxies"][1]["listen"][0] = good.rsplit(":", 1)[0] + ":99999"
    doc["requests"][0]["max_forwards"] = -5
    path = tmp_path / "two.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert not window.open_path(path)
    assert window.fix_draft()
    return path, good


def test_a_draft_is_saved_as_it_stands_and_opens_to_be_fixed_again(
    window: MainWindow, tmp_path: Path
) -> None:
    path, good = _two_wrong_values(window, tmp_path)
    assert not window.save()  # no edit yet: the file keeps what it had
    listen = window.composer.editors["proxies[1].listen"]
    assert isinstance(listen, QPlainTextEdit)
    listen.setPlainText(listen.toPlainText().replace(":99999", ":" + good.rsplit(":", 1)[1]))
    assert window.session.scenario is None  # still a draft: max_forwards is wrong
    assert window.session.dirty
    # Saved as it stands: the fix kept, the other error left; nothing unsaved any more.
    assert window.save()
    assert not window.session.dirty
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["proxies"][1]["listen"][0] == good
    assert saved["requests"][0]["max_forwards"] == -5
    offered: list[str] = []
    window.session.draft_offered.connect(lambda _title, message: offered.append(message))
    assert not window.open_path(path)
    assert "max_forwards" in offered[0]


def test_a_draft_with_two_wrong_values_is_fixed_one_after_the_other(
    window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _path, good = _two_wrong_values(window, tmp_path)
    composer = window.composer
    listen = composer.editors["proxies[1].listen"]
    assert isinstance(listen, QPlainTextEdit)
    listen.setPlainText(listen.toPlainText().replace(":99999", ":" + good.rsplit(":", 1)[1]))
    # The other error remains: still a draft, but the fix is kept, and the error said is
    # the one left.
    assert window.session.scenario is None
    # Named as the composer shows it (its tab, the entry, the field), not by its path.
    said = window.status.text()
    assert said.startswith("Not valid yet: Requests > ACK from Alice > max forwards: "), said
    assert window.status.toolTip() == said  # whole, however narrow the status bar
    assert window.isWindowModified()  # the title says there is unsaved work
    # Unsaved work: leaving the draft asks first.
    asked: list[str] = []

    def cancel(*args: object) -> QMessageBox.StandardButton:
        asked.append(str(args[2]))
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", cancel)
    assert not window.maybe_save()
    assert asked
    composer.tabs.setCurrentIndex(
        next(i for i in range(composer.tabs.count()) if composer.tabs.tabText(i) == "Requests")
    )
    forwards = composer.editors["requests[0].max_forwards"]
    assert isinstance(forwards, QLineEdit)
    forwards.setText("70")
    forwards.textEdited.emit("70")
    scenario = window.session.scenario
    assert scenario is not None
    assert str(scenario.proxies[1].listen[0]).endswith(good.rsplit(":", 1)[1])
    assert scenario.requests[0].max_forwards == 70


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("requests", 0, "max_forwards"), "70"),  # a number written as text
        (("title",), 5),
        (("proxies", 0, "loose_route_mode"), True),
        (("proxies", 0, "zzz"), [[["deep"]]]),  # a key the format does not know
        (("format",), 2),
    ],
    ids=["text-number", "number-title", "bool-mode", "unknown-key", "format"],
)
def test_a_value_of_another_shape_is_not_offered_to_the_composer(
    window: MainWindow, tmp_path: Path, where: tuple[str | int, ...], value: object
) -> None:
    doc = json.loads(resources.scenario_file(resources.TOUR).read_text(encoding="utf-8"))
    place: Any = doc
    for step in where[:-1]:
        place = place[step]
    place[where[-1]] = value
    path = tmp_path / "shape.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert not window.open_path(path)
    assert window.session.draft_offer is None
    assert not window.fix_draft()


def test_an_edit_while_a_capture_without_scenario_is_shown_changes_nothing(
    window: MainWindow,
) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    session = window.session
    observed = Trace(title="observed", steps=session.trace.steps[:3])
    session.show_observed(observed, session.graph, session.positions, "a capture", None)
    title = window.composer.editors["title"]
    assert isinstance(title, QLineEdit)
    title.setText("edited")
    title.textEdited.emit("edited")
    assert session.scenario is None
    assert session.trace is observed
    assert not window.status.text().startswith("Not valid yet")


def test_a_file_that_is_not_json_is_not_offered_to_the_composer(
    window: MainWindow, tmp_path: Path
) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"format": 1, "title": ', encoding="utf-8")
    assert not window.open_path(path)
    assert window.session.draft_offer is None
    assert not window.fix_draft()


def test_security_warning_is_shown_on_the_affected_proxy(window: MainWindow) -> None:
    _open(window, resources.scenario_file("preloaded-route-foreign-host"))
    warned = {name: node for name, node in window.scene.nodes.items() if node.spec.warnings}
    assert warned, "the open-relay profile must be flagged on its proxy"
    for name, node in warned.items():
        assert any(w.startswith(f"{name}: ") for w in window.session.trace.warnings)
        assert "open relay" in node.toolTip()
        assert node.boundingRect().contains(node.warning_rect())
    # Elements without a risky configuration carry no warning badge.
    assert all(not n.spec.warnings for n in window.scene.nodes.values() if n.spec.kind == "ua")
    assert "open relay" in window.legend.warnings.text()


def test_hovering_a_proxy_shows_its_configuration(window: MainWindow) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    scenario = window.session.scenario
    assert scenario is not None
    proxy = scenario.proxies[0]
    tip = window.scene.nodes[proxy.name].toolTip()
    assert "listen:" in tip
    assert str(proxy.listen[0]) in tip
    assert f"profile: {proxy.profile}" in tip


def test_timeline_model_passes_the_model_tester(window: MainWindow, qtmodeltester: object) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    qtmodeltester.check(window.model)  # type: ignore[attr-defined]
    assert window.model.rowCount() == len(window.session.trace.steps)


def test_layout_size_and_recent_files_are_remembered(
    window: MainWindow, isolated_settings: QSettings, tmp_path: Path
) -> None:
    copy = tmp_path / "mine.json"
    copy.write_text(resources.scenario_file(resources.TOUR).read_text("utf-8"), "utf-8")
    assert window.open_path(copy)
    window.resize(1234, 777)
    window.dock_legend.raise_()
    window.close()  # saves the settings
    again = MainWindow(settings=isolated_settings)
    try:
        assert again.recent_files()[0] == str(copy.resolve())
        assert again.recent_menu.actions()[0].toolTip() == str(copy.resolve())
        # The dock layout is restored (the offscreen screen clamps sizes, so the
        # geometry is checked as saved rather than as shown).
        assert again._user_arranged
        assert isolated_settings.value("window/geometry") is not None
        assert isolated_settings.value("session/last") == str(copy.resolve())
    finally:
        again.close()
        again.deleteLater()


def test_explanation_of_a_response_that_ends_its_path(window: MainWindow) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    last = next(
        s
        for s in window.session.trace.steps
        if s.kind is StepKind.RESPONSE and s.next_element is None
    )
    window.session.set_step(last.index)
    text = window.inspector.explanation.toPlainText()
    assert f"{last.element} receives the {last.status} response" in text
    assert "?" not in text.split("\n")[1]


@pytest.mark.parametrize(
    "size", [(1024, 640), (1280, 720), (1440, 900)], ids=["1024", "1280", "1440"]
)
def test_the_graph_keeps_its_room_on_a_small_screen(
    window: MainWindow, qtbot: QtBot, size: tuple[int, int]
) -> None:
    """The docks share the width around the graph; none of them may hold it to a sliver
    (the composer's list pages once held it 436 px wide with a row of push buttons)."""
    _open(window, resources.scenario_file(resources.TOUR))
    window.show()
    window.resize(*size)
    qtbot.waitUntil(lambda: window.width() == size[0])
    # default_dock_sizes() runs deferred, after the resize.
    qtbot.waitUntil(lambda: window.centralWidget().width() >= 0.4 * size[0], timeout=3000)
    assert window.composer.minimumSizeHint().width() <= 0.3 * 1024
    window.hide()


# --------------------------------------------------------------------------
# drag and drop


def _drop(window: MainWindow, mime: QMimeData) -> QDropEvent:
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    return event


def _files(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def test_a_dropped_scenario_opens_and_a_dropped_capture_opens_as_one(
    window: MainWindow, tmp_path: Path
) -> None:
    scenario = ROOT / "resources" / "scenarios" / "no-record-route.json"
    for mime, taken in ((_files(scenario), True), (_files(tmp_path), False)):
        enter = QDragEnterEvent(
            QPoint(10, 10),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        enter.ignore()
        window.dragEnterEvent(enter)
        assert enter.isAccepted() is taken
    event = _drop(window, _files(scenario))
    assert event.isAccepted()
    assert window.session.path == scenario
    capture = tmp_path / "call.pcap"
    write_pcap(capture, udp_frames(trapezoid(1)))
    _drop(window, _files(capture))
    dialog = window.capture_actions.dialog
    assert dialog is not None
    assert dialog.path == capture
    dialog.close()
    # Both are in File > Open Recent, the capture first; its entry opens it as a capture.
    assert window.recent_files()[:2] == [str(capture.resolve()), str(scenario)]
    window.recent_menu.actions()[0].trigger()
    again = window.capture_actions.dialog
    assert again is not None
    assert again.path == capture.resolve()
    again.close()
    # A folder is no file: the drop is refused.
    assert dropped_file(_files(tmp_path)) is None
    # A scenario is told by its content, whatever its name (File > Open takes any).
    renamed = tmp_path / "mine.scenario"
    renamed.write_bytes(scenario.read_bytes())
    window.open_file(renamed)
    assert window.session.path == renamed
    lines = tmp_path / "log.jsonl"  # a JSON log: a capture, though it starts with '{'
    lines.write_text('{"msg": "SIP/2.0 200 OK"}\n{"msg": "x"}\n')
    assert not is_scenario_file(lines)
    # The drawings leave drops to the window (their scenes would swallow them).
    for drawing in (window.view, window.ladder_view):
        assert not drawing.viewport().acceptDrops()
    assert window.acceptDrops()


def test_dropped_sip_text_goes_to_the_paste_dialog(window: MainWindow) -> None:
    mime = QMimeData()
    mime.setText("BYE sip:bob@192.0.2.20 SIP/2.0\nTo: <sip:b@x>;tag=1\nRoute: <sip:192.0.2.1;lr>\n")
    assert _drop(window, mime).isAccepted()
    dialog = window.findChild(PasteDialog, "paste-dialog")
    assert isinstance(dialog, PasteDialog)
    assert dialog.run is not None
    assert dialog.run.fields["rc"] == 1
    dialog.close()
    other = QMimeData()
    other.setText("just some words")
    assert dropped_sip_text(other) is None
    assert not _drop(window, other).isAccepted()


def test_help_lists_the_keyboard_shortcuts_of_the_menus(window: MainWindow) -> None:
    from gui.shortcuts import ShortcutsDialog, shortcut_rows

    rows = shortcut_rows(window.menuBar())
    keys = {command: key for _menu, command, key in rows}
    assert keys["Paste SIP Message"] == "Ctrl+Shift+V"
    assert keys["Kamailio Config"] == "Ctrl+Shift+K"
    assert keys["Quit"] == "Ctrl+Q"
    assert ("Step", "Next", "Right, Space") in rows  # every key of a command
    # No key is listed for two commands.
    keys_each = [k for *_, key in rows for k in key.split(", ")]
    assert len(set(keys_each)) == len(keys_each)
    window.act_shortcuts.trigger()
    dialog = window.findChild(ShortcutsDialog, "shortcuts-dialog")
    assert isinstance(dialog, ShortcutsDialog)
    assert dialog.table.rowCount() == len(rows)
    assert dialog.table.item(0, 1).text() == rows[0][1]
    dialog.close()


def test_the_drawings_say_the_current_hop_in_words(window: MainWindow) -> None:
    """Screen readers get what the graph and the ladder show: names, and the hop."""
    from PySide6.QtWidgets import QAbstractScrollArea, QTextBrowser

    _open(window, resources.scenario_file(resources.TOUR))
    window.session.set_step(1)  # the tour's P1: -3, the local Route removed, Record-Route
    said = window.view.accessibleDescription()
    assert said.startswith("Step 2 of ")
    assert "Preloaded route (−3)" in said or "Preloaded route (-3)" in said
    assert "loose_route() returned -3" in said
    assert window.ladder_view.accessibleDescription() == said
    # Every view of the window and its docks has a name a screen reader can say: its own, or
    # its form label's (the composer's fields).
    views = [
        w
        for w in window.findChildren(QAbstractScrollArea)
        if isinstance(w, QTextBrowser | QPlainTextEdit) or w in (window.view, window.ladder_view)
    ]
    assert len(views) >= 8

    def name(widget: QWidget) -> str:
        face = QAccessible.queryAccessibleInterface(widget)
        return face.text(QAccessible.Text.Name) if face is not None else ""

    unnamed = [w.objectName() for w in views if not name(w)]
    assert unnamed == []
    assert name(window.view) == "Routing graph"


# ---------------------------------------------------------------- UX review 4


def _shown(window: MainWindow, qtbot: QtBot, size: tuple[int, int] = (1280, 720)) -> None:
    _open(window, resources.scenario_file(resources.TOUR))
    window.resize(*size)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)


def test_a_palette_change_repaints_every_element_of_the_graph(
    window: MainWindow, qtbot: QtBot, qapp: QApplication
) -> None:
    from PySide6.QtGui import QPalette

    from gui import theme
    from gui.items import NODE_W
    from gui.screenshots import dark_palette

    _shown(window, qtbot)
    node = window.scene.nodes["Alice"]

    def fill_lightness() -> int:
        # Inside the box, left of its words: the fill colour (as painted from its cache).
        at = window.view.mapFromScene(node.mapToScene(QPointF(-NODE_W / 2 + 12, 20)))
        return window.view.viewport().grab().toImage().pixelColor(at).lightness()

    qtbot.waitUntil(lambda: fill_lightness() > 200)  # light
    light = qapp.palette()
    dark = dark_palette()
    assert isinstance(dark, QPalette)
    try:
        qapp.setPalette(dark)  # nothing else: the window notices by itself
        qtbot.waitUntil(lambda: fill_lightness() < 100)
    finally:
        qapp.setPalette(light)
        theme.palette_changed()
    qtbot.waitUntil(lambda: fill_lightness() > 200)


def test_the_stepping_keys_are_the_focused_controls_own_outside_the_drawings(
    window: MainWindow, qtbot: QtBot
) -> None:
    from PySide6.QtWidgets import QCheckBox, QListWidget

    _shown(window, qtbot, (1440, 900))
    fired: list[str] = []
    for act in window._step_actions():
        act.triggered.connect(lambda *_a, a=act: fired.append(a.text()))
    window.session.set_step(3)

    def press(widget: QWidget, key: Qt.Key) -> None:
        widget.setFocus()
        qtbot.keyClick(widget, key)

    # The speed slider moves; the centre's tab bar changes tab.
    value = window.speed.value()
    press(window.speed, Qt.Key.Key_Right)
    assert window.speed.value() == value + 1
    press(window.centre.tabBar(), Qt.Key.Key_Right)
    assert window.centre.currentWidget() is window.ladder_view
    window.centre.setCurrentIndex(0)
    # A list goes to its end, and P looks for an entry (it does not play).
    tabs = window.composer.tabs
    tabs.setCurrentIndex(next(i for i in range(tabs.count()) if tabs.tabText(i) == "Proxies"))
    entries = window.composer.findChild(QListWidget, "list:proxies")
    assert isinstance(entries, QListWidget)
    entries.setCurrentRow(0)
    press(entries, Qt.Key.Key_End)
    assert entries.currentRow() == entries.count() - 1
    press(entries, Qt.Key.Key_P)
    assert not window.play_timer.isActive()
    # Space ticks a box.
    box = next(b for b in window.composer.findChildren(QCheckBox) if b.isVisible())
    checked = box.isChecked()
    press(box, Qt.Key.Key_Space)
    assert box.isChecked() != checked
    assert fired == []
    # In the graph, the ladder and the timeline the keys step, as before.
    window.session.set_step(3)
    press(window.view, Qt.Key.Key_Right)
    assert window.session.step_index == 4
    press(window.timeline, Qt.Key.Key_Space)
    assert window.session.step_index == 5
    window.centre.setCurrentWidget(window.ladder_view)
    press(window.ladder_view, Qt.Key.Key_End)
    assert window.session.step_index == len(window.session.trace.steps) - 1
    assert fired == ["&Next", "&Next", "&Last step"]


def test_the_graph_has_the_focus_at_the_start(window: MainWindow, qtbot: QtBot) -> None:
    _shown(window, qtbot)
    assert QApplication.focusWidget() is window.view
    qtbot.keyClick(window.view, Qt.Key.Key_Right)
    assert window.session.step_index == 1


def test_f6_goes_from_panel_to_panel(window: MainWindow, qtbot: QtBot) -> None:
    _shown(window, qtbot)
    window.view.setFocus()
    order = [
        window.lesson,
        window.composer.tabs.tabBar(),
        window.inspector.explanation,
        window.timeline,
        window.view,
    ]
    for expected in order:
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F6)
        assert QApplication.focusWidget() is expected
    qtbot.keyClick(window.view, Qt.Key.Key_F6, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is window.timeline
    # A closed panel is skipped; the composer behind the legend is brought forward.
    window.dock_inspector.close()
    window.dock_lesson.close()
    window.dock_legend.raise_()
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_F6)
    assert QApplication.focusWidget() is window.composer.tabs.tabBar()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F6)
    assert QApplication.focusWidget() is window.timeline
    from gui.shortcuts import shortcut_rows

    assert "F6" in [row[2] for row in shortcut_rows(window.menuBar())]


def test_every_menu_has_unique_mnemonics(window: MainWindow) -> None:
    from PySide6.QtWidgets import QMenu

    def mnemonic(text: str) -> str:
        at = text.replace("&&", "").find("&")
        return text.replace("&&", "")[at + 1].lower() if at >= 0 else ""

    for top in window.menuBar().actions():
        menu = top.menu()
        assert isinstance(menu, QMenu)
        keys = [mnemonic(a.text()) for a in menu.actions() if not a.isSeparator()]
        assert all(keys), (top.text(), [a.text() for a in menu.actions()])
        assert len(set(keys)) == len(keys), (top.text(), keys)


def test_a_long_status_message_is_whole_in_its_tool_tip(window: MainWindow, qtbot: QtBot) -> None:
    _shown(window, qtbot, (1024, 640))
    said = "Not applied: " + "a long reason " * 30
    window.status.setText(said)
    assert window.status.toolTip() == said
    assert window.status.text() == said
    shown = window.status.shown_text()
    assert shown.endswith("…")
    assert len(shown) < len(said)
    assert window.minimumSizeHint().width() < 1024  # the words never widen the window


def test_the_current_step_is_in_sight_in_the_timeline_of_a_small_window(
    window: MainWindow, qtbot: QtBot
) -> None:
    # Scrolled to at once, before the docks have their sizes (as on the command line).
    window.resize(1024, 640)
    window.show()
    _open(window, resources.scenario_file(resources.TOUR))
    window.session.set_step(5)

    def in_sight() -> bool:
        row = window.timeline.visualRect(window.model.index(5, 0))
        return window.timeline.viewport().rect().contains(row)

    for _ in range(5):  # the window laid out and its docks sized (no more)
        QApplication.processEvents()
    assert in_sight()


def test_the_views_and_controls_have_names(window: MainWindow) -> None:
    from PySide6.QtWidgets import QListWidget, QToolButton

    assert window.speed.accessibleName() == "Playback speed"
    assert window.centre.accessibleName()
    assert window.composer.tabs.accessibleName()
    assert window.inspector.tabs.accessibleName()
    assert window.legend.accessibleName()
    _open(window, resources.scenario_file(resources.TOUR))
    lists = window.composer.findChildren(QListWidget)
    assert {w.accessibleName() for w in lists} >= {
        "Agents list",
        "Proxies list",
        "Requests list",
    }
    arrows = {
        b.text(): b.accessibleName()
        for b in window.composer.findChildren(QToolButton)
        if b.text() in ("↑", "↓")
    }
    assert arrows == {"↑": "Move up", "↓": "Move down"}
    for tabs in (window.centre, window.composer.tabs, window.inspector.tabs):
        assert all(tabs.tabToolTip(i) for i in range(tabs.count()))


def test_the_lesson_is_in_front_and_its_step_numbers_go_to_the_step(
    window: MainWindow, qapp: QApplication
) -> None:
    window.session.open_file(resources.scenario_file(resources.TOUR))
    window.resize(1440, 900)
    window.show()
    qapp.processEvents()
    # In front of the composer and the legend at start.
    (bar,) = (b for b in window.findChildren(QTabBar) if b.parent() is window)
    assert [bar.tabText(i) for i in range(bar.count())] == ["Lesson", "Composer", "Legend"]
    assert bar.currentIndex() == 0
    text = window.lesson.toPlainText()
    assert text.startswith("Tour: one call through every kind of routing")
    assert "What to notice" in text
    # "Step 2, P1: ..." links to step 2 (index 1); a step the trace lacks is no link.
    assert 'href="step:2"' in window.lesson.toHtml()
    window.lesson.anchorClicked.emit(QUrl("step:2"))
    assert window.session.step_index == 1
    assert window.drawing().hasFocus()  # where the stepping keys go on from there
    window.lesson.anchorClicked.emit(QUrl("step:999"))
    window.lesson.anchorClicked.emit(QUrl("https://example.com"))
    assert window.session.step_index == 1
