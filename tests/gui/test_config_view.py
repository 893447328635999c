"""The inspector's Config tab: each proxy's kamailio.cfg, the lines of the step marked."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QSettings
from PySide6.QtGui import QColor, QGuiApplication, QHelpEvent, QTextDocument
from PySide6.QtWidgets import QApplication, QMessageBox, QToolTip
from pytestqt.qtbot import QtBot

from engine.kamcfg import scenario_configs, script_marks
from engine.scenario import dumps, loads
from engine.trace import StepKind
from gui import resources
from gui.config_view import ConfigHighlighter
from gui.main_window import MainWindow
from gui.screenshots import dark_palette


@pytest.fixture
def window(qtbot: QtBot, isolated_settings: QSettings) -> Iterator[MainWindow]:
    win = MainWindow(settings=isolated_settings)
    assert win.session.open_file(resources.scenario_file(resources.TOUR))
    win.inspector.tabs.setCurrentWidget(win.inspector.config)
    yield win
    win.session.undo_stack.setClean()
    win.close()
    win.deleteLater()


def _proxy_step(window: MainWindow, element: str, rc: int | None = None) -> int:
    return next(
        s.index
        for s in window.session.trace.steps
        if s.element == element and s.kind is StepKind.PROXY and (rc is None or s.rc == rc)
    )


def test_a_proxy_step_shows_its_config_with_the_lines_that_ran(window: MainWindow) -> None:
    view = window.inspector.config
    index = _proxy_step(window, "P1", rc=-3)
    window.session.set_step(index)
    scenario = window.session.scenario
    assert scenario is not None
    expected = scenario_configs(scenario)[0]
    assert view.proxy_box.currentText() == "P1"
    assert view.text.toPlainText() == expected.text
    marked = view.marked_lines()
    marks = script_marks(expected.text, window.session.trace.steps[index])
    assert marked == tuple(m.line for m in marks)
    assert [view.says(n) for n in marked] == [m.says for m in marks]
    assert view.says(0) is None
    lines = expected.text.splitlines()
    assert lines[marked[0]].split("#")[0].strip() == "if (loose_route()) {"
    assert view.note.text() == (
        f"Step {index + 1}: the {len(marked)} marked lines made P1's decisions "
        "(hover over one for what it did)."
    )


def test_the_tab_follows_the_steps_and_keeps_the_proxy_at_a_user_agent(
    window: MainWindow,
) -> None:
    view = window.inspector.config
    window.session.set_step(_proxy_step(window, "P2"))
    assert view.proxy_box.currentText() == "P2"
    assert view.marked_lines()
    window.session.set_step(0)  # Alice sends the INVITE
    assert window.session.trace.steps[0].element == "Alice"
    assert view.proxy_box.currentText() == "P2"
    assert view.marked_lines() == ()
    assert all(view.says(n) is None for n in range(view.text.blockCount()))
    assert view.note.text() == "The kamailio.cfg that runs P2 as this scenario has it."


def test_view_kamailio_config_opens_the_tab_even_when_the_inspector_was_closed(
    window: MainWindow,
) -> None:
    window.show()
    window.inspector.tabs.setCurrentWidget(window.inspector.diff)
    window.dock_inspector.close()
    window.session.set_step(_proxy_step(window, "P4"))
    assert window.act_config.shortcut().toString() == "Ctrl+Shift+K"
    window.act_config.trigger()
    assert window.dock_inspector.isVisible()
    assert window.inspector.tabs.currentWidget() is window.inspector.config
    assert window.inspector.config.proxy_box.currentText() == "P4"
    assert window.inspector.config.marked_lines()


def test_the_tab_is_filled_only_when_it_is_shown(window: MainWindow) -> None:
    view = window.inspector.config
    window.inspector.tabs.setCurrentWidget(window.inspector.diff)
    window.session.set_step(_proxy_step(window, "P4"))
    assert view.proxy_box.currentText() != "P4"
    window.inspector.tabs.setCurrentWidget(view)
    assert view.proxy_box.currentText() == "P4"
    assert view.marked_lines()


def test_a_response_at_a_proxy_marks_nothing(window: MainWindow) -> None:
    view = window.inspector.config
    index = next(
        s.index
        for s in window.session.trace.steps
        if s.element == "P2" and s.kind is StepKind.RESPONSE
    )
    window.session.set_step(index)
    assert view.proxy_box.currentText() == "P2"
    assert view.marked_lines() == ()
    assert view.note.text() == (
        f"Step {index + 1} is a response: it runs no line of P2's request_route."
    )


def test_a_dialog_from_a_capture_says_its_config_is_guessed(
    window: MainWindow, qtbot: QtBot
) -> None:
    view = window.inspector.config
    s = window.session
    scenario, trace = s.scenario, s.trace
    assert scenario is not None
    s.show_observed(trace, s.graph, s.positions, "call-1@capture", scenario)
    s.set_step(_proxy_step(window, "P2"))
    assert view.note.text().endswith(
        "Guessed from the capture: the proxy's profile and settings are RouteLab's reading "
        "of the traffic, not its real config."
    )
    assert view.marked_lines()
    data = json.loads(dumps(scenario))
    data["title"] = "edited"
    with qtbot.waitSignal(s.trace_changed):
        s.edit(loads(json.dumps(data)), "Title")  # an edit simulates: no longer observed
    assert "Guessed" not in view.note.text()
    s.show_observed(trace, s.graph, s.positions, "call-1@capture", None)
    assert view.note.text() == (
        "The capture suggests no scenario with proxies, so there is no config to show."
    )


def test_picking_a_proxy_that_is_not_kamailio(window: MainWindow) -> None:
    view = window.inspector.config
    view.proxy_box.setCurrentText("P3")
    assert view.text.toPlainText().startswith("# P3: written by RouteLab")
    assert "P3 is not a Kamailio proxy" in view.note.text()
    assert view.marked_lines() == ()


def test_an_edit_of_the_scenario_shows_in_the_config(window: MainWindow, qtbot: QtBot) -> None:
    view = window.inspector.config
    window.session.set_step(_proxy_step(window, "P2"))
    scenario = window.session.scenario
    assert scenario is not None
    data = json.loads(dumps(scenario))
    data["proxies"][1]["aliases"] = ["p2.example.org"]
    with qtbot.waitSignal(window.session.trace_changed):
        window.session.edit(loads(json.dumps(data)), "Alias")
    assert "alias=p2.example.org" in view.text.toPlainText().splitlines()
    assert view.proxy_box.currentText() == "P2"
    window.act_undo.trigger()
    assert "alias=p2.example.org" not in view.text.toPlainText()


def test_copy_and_save(window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    view = window.inspector.config
    window.session.set_step(_proxy_step(window, "P1"))
    view.copy_button.click()
    assert QGuiApplication.clipboard().text() == view.text.toPlainText()
    target = tmp_path / "P1.cfg"
    assert view.save(target)
    assert target.read_text(encoding="utf-8") == view.text.toPlainText()
    warnings: list[str] = []
    monkeypatch.setattr(
        QMessageBox, "warning", lambda _parent, _title, text, *_a: warnings.append(text)
    )
    assert not view.save(tmp_path)  # a folder
    assert warnings
    assert str(tmp_path) in warnings[0]
    assert target.read_text(encoding="utf-8") == view.text.toPlainText()


def test_a_scenario_without_proxies(window: MainWindow) -> None:
    view = window.inspector.config
    scenario = window.session.scenario
    assert scenario is not None
    data = json.loads(dumps(scenario))
    data["proxies"] = []
    data["names"] = {}
    for ua in data["user_agents"]:
        ua.pop("outbound_proxy", None)
    data["dialog"].pop("route", None)
    view.set_scenario(loads(json.dumps(data)))
    assert view.proxy_box.count() == 0
    assert view.text.toPlainText() == ""
    assert "no proxies" in view.note.text()
    assert not view.save_button.isEnabled()


def test_a_marked_line_says_what_it_did_in_its_tooltip(window: MainWindow, qtbot: QtBot) -> None:
    view = window.inspector.config
    window.show()
    qtbot.waitExposed(window)
    window.session.set_step(_proxy_step(window, "P1", rc=-3))
    line = view.marked_lines()[0]
    block = view.text.document().findBlockByNumber(line)
    rect = view.text.blockBoundingGeometry(block).translated(view.text.contentOffset())
    pos = rect.center().toPoint()
    shown: list[str] = []
    hidden: list[bool] = []

    def show_text(_pos: object, text: str, *_a: object) -> None:
        shown.append(text)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(QToolTip, "showText", show_text)
        mp.setattr(QToolTip, "hideText", lambda: hidden.append(True))
        viewport = view.text.viewport()
        QApplication.sendEvent(
            viewport, QHelpEvent(QEvent.Type.ToolTip, pos, viewport.mapToGlobal(pos))
        )
        assert shown == [f"<p>{html.escape(view.says(line) or '')}</p>"]
        assert shown[0].startswith("<p>loose_route() returned -3")
        # The line after it (inside the block the -3 passed over) is not marked: no tooltip.
        assert view.says(line + 1) is None
        below = view.text.document().findBlockByNumber(line + 1)
        rect = view.text.blockBoundingGeometry(below).translated(view.text.contentOffset())
        pos = rect.center().toPoint()
        QApplication.sendEvent(
            viewport, QHelpEvent(QEvent.Type.ToolTip, pos, viewport.mapToGlobal(pos))
        )
        assert hidden == [True]
        assert len(shown) == 1


def test_the_marks_follow_a_switch_to_a_dark_palette(window: MainWindow) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    view = window.inspector.config
    window.session.set_step(_proxy_step(window, "P1"))

    def mark() -> str:
        selections = view.text.extraSelections()  # kept: the format lives in it
        return selections[0].format.background().color().name()

    light = mark()
    before = app.palette()
    try:
        app.setPalette(dark_palette())  # type: ignore[arg-type]
        app.processEvents()
        dark = mark()
    finally:
        app.setPalette(before)
        app.processEvents()
    assert light != dark
    assert QColor(dark).lightness() < QColor(light).lightness()
    assert mark() == light


def test_the_highlighter_knows_comments_strings_and_a_hash_in_a_string(qapp: object) -> None:
    doc = QTextDocument()
    highlighter = ConfigHighlighter(doc)
    doc.setPlainText('$du = "sip:a#b";   # where to\n')
    highlighter.rehighlight()
    ranges = doc.firstBlock().layout().formats()
    formats = {
        (r.start, r.length): (r.format.fontItalic(), r.format.foreground().color().name())
        for r in ranges
    }
    string, comment = formats[(6, 9)], formats[(19, 10)]
    assert comment[0], "the comment is in italics"
    assert not string[0], "the '#' in the string starts no comment"
    assert string[1] != comment[1]
