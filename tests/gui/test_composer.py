"""The composer: every field editable, defaults shown, errors next to the field, undo."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QEvent, QSettings, Qt
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QScrollArea,
    QToolButton,
)
from pytestqt.qtbot import QtBot

from engine.profiles import PROFILES
from engine.scenario import DIALOG_METHODS
from engine.trace import Flag
from gui import resources
from gui.composer import path_text
from gui.field_help import help_for
from gui.legend import LEGEND_ORDER
from gui.main_window import MainWindow
from gui.theme import FLAG_STYLES


@pytest.fixture
def window(qapp: QApplication, isolated_settings: QSettings) -> Iterator[MainWindow]:
    win = MainWindow(settings=isolated_settings)
    assert win.session.open_file(resources.scenario_file("ruri-is-myself-gotcha"))
    yield win
    win.session.undo_stack.setClean()
    win.close()
    win.deleteLater()


def _tab(window: MainWindow, title: str) -> None:
    tabs = window.composer.tabs
    index = next(i for i in range(tabs.count()) if tabs.tabText(i).lower() == title)
    tabs.setCurrentIndex(index)


def _shown_at(window: MainWindow, width: int, height: int) -> None:
    """The window shown at that size, the composer in front (the lesson is, at start)."""
    window.resize(width, height)
    window.show()
    window.dock_composer.raise_()


def _deleted_later(qapp: QApplication) -> None:
    """Let Qt delete what was deleteLater()'d, as its event loop does (processEvents()
    alone leaves that for later)."""
    qapp.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


def _show_entry(window: MainWindow, qapp: QApplication, row: int) -> None:
    window.composer.tabs.currentWidget().findChildren(QListWidget)[0].setCurrentRow(row)
    _deleted_later(qapp)


def _editor(window: MainWindow, *path: str | int) -> object:
    return window.composer.editors[path_text(path)]


def test_defaults_are_shown_for_fields_the_file_leaves_out(window: MainWindow) -> None:
    _tab(window, "proxies")
    mode = _editor(window, "proxies", 0, "loose_route_mode")
    assert isinstance(mode, QLineEdit)
    assert mode.text() == "0"
    double = _editor(window, "proxies", 0, "rr", "enable_double_rr")
    assert isinstance(double, QLineEdit)
    assert double.text() == "1"
    loaded = _editor(window, "proxies", 0, "outbound", "loaded")
    assert isinstance(loaded, QCheckBox)
    assert not loaded.isChecked()
    profile = _editor(window, "proxies", 0, "profile")
    assert isinstance(profile, QComboBox)
    assert profile.findText("deny-preloaded") >= 0


def test_loose_route_mode_edit_resimulates_and_undoes(window: MainWindow) -> None:
    before = window.session.trace
    assert window.session.scenario is not None
    target = next(
        i for i, p in enumerate(window.session.scenario.proxies) if not p.loose_route_mode
    )
    _tab(window, "proxies")
    window.composer._edit(("proxies", target, "loose_route_mode"), 1)
    scenario = window.session.scenario
    assert scenario is not None
    assert scenario.proxies[target].loose_route_mode == 1
    assert window.session.trace != before  # re-simulated at once
    window.act_undo.trigger()
    assert window.session.trace == before


def test_outbound_module_can_be_loaded_from_the_form(window: MainWindow) -> None:
    _tab(window, "proxies")
    box = _editor(window, "proxies", 0, "outbound", "loaded")
    assert isinstance(box, QCheckBox)
    box.setChecked(True)
    scenario = window.session.scenario
    assert scenario is not None
    assert scenario.proxies[0].outbound is not None
    secret = _editor(window, "proxies", 0, "outbound", "flow_token_secret")
    assert isinstance(secret, QLineEdit)
    secret.setText("s3cret")
    secret.textEdited.emit("s3cret")
    scenario = window.session.scenario
    assert scenario is not None
    assert scenario.proxies[0].outbound is not None
    assert scenario.proxies[0].outbound.flow_token_secret == "s3cret"
    # 5.6.3 ignores the secret: the app warns on that proxy.
    assert any("flow_token_secret is ignored" in w for w in window.session.trace.warnings)


def _button(window: MainWindow, text: str) -> QToolButton:
    page = window.composer.tabs.currentWidget()
    assert page is not None
    return next(b for b in page.findChildren(QToolButton) if b.text() == text)


@pytest.mark.parametrize(
    ("tab", "key"), [("proxies", "proxies"), ("agents", "user_agents"), ("requests", "requests")]
)
def test_add_creates_a_valid_entry_and_undo_removes_it(
    window: MainWindow, tab: str, key: str
) -> None:
    scenario = window.session.scenario
    assert scenario is not None
    count = len(getattr(scenario, key))
    _tab(window, tab)
    _button(window, "Add").click()
    scenario = window.session.scenario
    assert scenario is not None
    assert len(getattr(scenario, key)) == count + 1, window.composer.message.text()
    window.act_undo.trigger()
    assert window.session.scenario is not None
    assert len(getattr(window.session.scenario, key)) == count


def test_remove_of_a_referenced_user_agent_is_refused_with_the_reason(
    window: MainWindow,
) -> None:
    before = window.session.scenario
    _tab(window, "agents")
    _button(window, "Remove").click()
    assert window.session.scenario is before  # the dialog still names it
    shown = [e.text() for e in window.composer.errors.values() if not e.isHidden()]
    shown.append(window.composer.message.text())
    assert any("dialog" in t or "not a user agent" in t for t in shown), shown


def test_name_table_is_edited_as_lines(window: MainWindow) -> None:
    _tab(window, "names")
    editor = _editor(window, "names")
    assert isinstance(editor, QPlainTextEdit)
    original = editor.toPlainText()
    editor.setPlainText(original + "\nnot a pair")
    error = window.composer.errors["names"]
    assert not error.isHidden()
    assert "line" in error.text()
    assert editor.toPlainText().endswith("not a pair")  # what was typed stays
    scenario = window.session.scenario
    assert scenario is not None
    editor.setPlainText(original)
    assert window.session.scenario == scenario


@pytest.mark.parametrize(
    ("field", "text", "said"),
    [
        (("names",), "sbc.example.com = P9", "no element is called 'P9'"),
        (("proxies", 0, "location"), "sip:bob@b.example.com = not a uri", "location"),
    ],
)
def test_an_error_inside_a_keyed_table_is_shown_under_its_field(
    window: MainWindow, field: tuple[str | int, ...], text: str, said: str
) -> None:
    # Its path ends in a quoted key holding dots (names["sbc.example.com"]): finding the
    # field for it once looped for ever, and the window froze.
    _tab(window, str(field[0]))
    editor = _editor(window, *field)
    assert isinstance(editor, QPlainTextEdit)
    editor.setPlainText((editor.toPlainText() + "\n" + text).strip())
    error = window.composer.errors[path_text(field)]
    assert not error.isHidden()
    assert said in error.text()
    assert editor.toPlainText().endswith(text)  # what was typed stays


def test_an_rr_modparam_out_of_range_is_shown_under_its_own_field(window: MainWindow) -> None:
    _tab(window, "proxies")
    field = ("proxies", 0, "rr", "enable_double_rr")
    editor = _editor(window, *field)
    assert isinstance(editor, QLineEdit)
    editor.setText("3")
    editor.textEdited.emit("3")
    error = window.composer.errors[path_text(field)]  # not the rr group's
    assert not error.isHidden()
    assert "3 is out of range (0..2)" in error.text()


def test_every_flag_style_has_a_legend_entry(window: MainWindow) -> None:
    labels = window.legend.widget().findChildren(QLabel)
    joined = " ".join(label.text() for label in labels)
    for flag in Flag:
        assert FLAG_STYLES[flag].title in joined
    # Each once, the common marks first.
    assert len(set(LEGEND_ORDER)) == len(LEGEND_ORDER) == len(Flag)
    assert joined.index("Local Route removed") < joined.index("Strict-to-loose")


def _typed_route(window: MainWindow) -> QPlainTextEdit:
    _tab(window, "scenario")
    editor = _editor(window, "dialog", "route")
    assert isinstance(editor, QPlainTextEdit)
    return editor


def test_a_rejected_edit_is_shown_in_view_and_in_the_status_bar(
    window: MainWindow, qtbot: QtBot
) -> None:
    window.resize(1000, 560)  # a short composer: the route field's error falls below it
    window.show()
    qtbot.waitExposed(window)
    editor = _typed_route(window)
    trace = window.session.trace
    good = editor.toPlainText()
    editor.setPlainText("<sip:p1.example.com;lr")  # no closing '>'
    error = window.composer.errors["dialog.route"]
    assert not error.isHidden()
    assert "missing '>'" in error.text()
    # Scrolled into view, so that whoever typed it reads why it was not applied.
    page = editor.parentWidget()
    while not isinstance(page, QScrollArea):
        assert page is not None
        page = page.parentWidget()
    area = page
    qtbot.waitUntil(
        lambda: (
            area.viewport().rect().contains(error.mapTo(area.viewport(), error.rect().bottomLeft()))
        )
    )
    status = window.status.text()
    assert status.startswith("Not applied: ")
    assert "last valid scenario" in status
    assert window.session.trace is trace  # the graph did not change
    assert editor.toPlainText() == "<sip:p1.example.com;lr"  # nothing typed is lost
    editor.setPlainText(good)
    assert window.status.text() == ""
    window.hide()


def test_undo_after_a_rejected_edit_clears_the_status_bar(window: MainWindow) -> None:
    _tab(window, "proxies")
    mode = _editor(window, "proxies", 0, "loose_route_mode")
    assert isinstance(mode, QLineEdit)
    mode.setText("1")
    mode.textEdited.emit("1")
    editor = _typed_route(window)
    editor.setPlainText("<sip:p1.example.com;lr")
    assert window.status.text().startswith("Not applied: ")
    window.act_undo.trigger()
    assert window.status.text() == ""


def test_tab_in_a_multi_line_field_moves_to_the_next_field(
    window: MainWindow, qtbot: QtBot
) -> None:
    window.show()
    qtbot.waitExposed(window)
    editor = _typed_route(window)
    text = editor.toPlainText()
    editor.setFocus()
    qtbot.waitUntil(editor.hasFocus)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == text  # no tab typed into the value
    assert not editor.hasFocus()
    window.hide()


def test_a_route_header_pasted_from_a_capture_becomes_one_value_a_line(
    window: MainWindow,
) -> None:
    editor = _typed_route(window)
    editor.setPlainText(
        'Route: <sip:p1.example.com;lr>, "Edge, B" <sip:p2.example.com;lr>\n'
        "route:<sip:p3.example.com;lr>"
    )
    assert window.composer.errors["dialog.route"].isHidden()
    assert window.session.scenario.dialog.route == (
        "<sip:p1.example.com;lr>",
        '"Edge, B" <sip:p2.example.com;lr>',
        "<sip:p3.example.com;lr>",
    )
    # A value that is not a Route value is still refused, and named.
    editor.setPlainText("Route: <sip:p1.example.com;lr>, junk")
    error = window.composer.errors["dialog.route"]
    assert not error.isHidden()
    assert "dialog.route[1]: not a Route value" in error.text()
    assert "'junk'" in error.text()


def test_every_page_fits_a_narrow_composer_without_scrolling_sideways(
    window: MainWindow, qapp: QApplication
) -> None:
    # The rr module's parameter names are long ("enable socket mismatch warning"): beside
    # the outer label, its group was wider than the dock and the fields were cut off.
    _shown_at(window, 1280, 800)
    window.resizeDocks([window.dock_composer], [340], Qt.Orientation.Horizontal)
    tabs = window.composer.tabs
    for index in range(tabs.count()):
        tabs.setCurrentIndex(index)
        qapp.processEvents()
        for area in tabs.currentWidget().findChildren(QScrollArea):
            inner = area.widget()
            assert inner is not None
            assert inner.minimumSizeHint().width() <= area.viewport().width(), (
                tabs.tabText(index),
                inner.minimumSizeHint().width(),
                area.viewport().width(),
            )


def test_a_nested_object_is_a_titled_group_across_the_form(window: MainWindow) -> None:
    _tab(window, "proxies")
    double = _editor(window, "proxies", 0, "rr", "enable_double_rr")
    assert isinstance(double, QLineEdit)
    group = double.parentWidget()
    while group is not None and not isinstance(group, QGroupBox):
        group = group.parentWidget()
    assert isinstance(group, QGroupBox)
    assert group.title() == "rr"


def test_every_tab_is_in_sight_and_whole_at_the_default_size(
    window: MainWindow, qapp: QApplication
) -> None:
    _shown_at(window, 1440, 900)
    window.default_dock_sizes()
    qapp.processEvents()
    bar = window.composer.tabs.tabBar()
    titles = [bar.tabText(i) for i in range(bar.count())]
    assert titles == ["Scenario", "Agents", "Proxies", "Names", "Requests"]
    assert bar.tabToolTip(1) == "User agents"
    # Whole: the bar holds every tab at the width its title asks for.
    assert sum(bar.tabSizeHint(i).width() for i in range(bar.count())) <= bar.width()
    # Narrower, the titles shorten, but no tab is hidden behind scroll arrows.
    window.resizeDocks([window.dock_composer], [260], Qt.Orientation.Horizontal)
    qapp.processEvents()
    assert bar.tabRect(bar.count() - 1).right() <= bar.width()


def test_every_field_says_what_it_means(window: MainWindow, qapp: QApplication) -> None:
    # Every field is shown (with its default where the file leaves it out), in the
    # first entry of each list.
    composer = window.composer
    tabs = composer.tabs
    missing = set()
    for index in range(tabs.count()):
        tabs.setCurrentIndex(index)
        qapp.processEvents()
        for key, editor in composer.editors.items():
            tip = editor.toolTip()
            assert tip.endswith(key)
            meaning = tip[: -len(key)].strip()
            if not meaning:
                missing.add(key)
            assert editor.accessibleDescription() == tip
    assert missing == set()
    # Context decides: a request's route is not the dialog's preloaded one.
    assert help_for(("dialog", "route")) != help_for(("requests", 0, "route"))
    assert "Default 1" in help_for(("proxies", 0, "rr", "enable_double_rr"))


def test_each_profile_says_what_its_script_does(window: MainWindow) -> None:
    _tab(window, "proxies")
    profile = _editor(window, "proxies", 0, "profile")
    assert isinstance(profile, QComboBox)
    for i in range(profile.count()):
        shown = PROFILES[profile.itemText(i)]
        tip = profile.itemData(i, Qt.ItemDataRole.ToolTipRole)
        assert tip == f"{shown.title}: {shown.summary}"


def test_text_not_applied_stays_when_the_composer_shows_another_entry_and_comes_back(
    window: MainWindow, qapp: QApplication
) -> None:
    _tab(window, "proxies")
    listen = _editor(window, "proxies", 0, "listen")
    assert isinstance(listen, QPlainTextEdit)
    applied = window.session.scenario
    listen.setPlainText("udp:192.0.2.1:506000")  # a port out of range: not applied
    assert window.session.scenario == applied
    _show_entry(window, qapp, 1)
    _show_entry(window, qapp, 0)
    qapp.processEvents()
    listen = _editor(window, "proxies", 0, "listen")
    assert isinstance(listen, QPlainTextEdit)
    assert listen.toPlainText() == "udp:192.0.2.1:506000"
    assert "506000" in window.composer.errors["proxies[0].listen"].text()
    # An edit applied elsewhere (one that rebuilds every tab) keeps it too, and its reason.
    _tab(window, "agents")
    _button(window, "Add").click()
    qapp.processEvents()
    _tab(window, "proxies")
    listen = _editor(window, "proxies", 0, "listen")
    assert isinstance(listen, QPlainTextEdit)
    assert listen.toPlainText() == "udp:192.0.2.1:506000"
    assert not window.composer.errors["proxies[0].listen"].isHidden()
    # Made valid, it is applied and the memory of it goes.
    listen.setPlainText("udp:192.0.2.1:5070")
    scenario = window.session.scenario
    assert scenario is not None
    assert scenario.proxies[0].listen[0].port == 5070
    assert window.composer.errors["proxies[0].listen"].isHidden()
    # Undo is a choice to go back: it shows the applied scenario again.
    listen.setPlainText("udp:192.0.2.1:506000")
    window.act_undo.trigger()
    qapp.processEvents()
    listen = _editor(window, "proxies", 0, "listen")
    assert isinstance(listen, QPlainTextEdit)
    assert "506000" not in listen.toPlainText()


def _type(editor: QLineEdit, text: str) -> None:
    """Type ``text`` over the field's, one key at a time (textEdited after each)."""
    editor.clear()
    for i in range(1, len(text) + 1):
        editor.setText(text[:i])
        editor.textEdited.emit(text[:i])


def test_renaming_an_element_renames_every_reference_as_one_edit(
    window: MainWindow, qapp: QApplication
) -> None:
    before = window.session.scenario
    assert before is not None
    caller = before.dialog.sender
    index = next(i for i, ua in enumerate(before.user_agents) if ua.name == caller)
    _tab(window, "agents")
    _show_entry(window, qapp, index)
    name = _editor(window, "user_agents", index, "name")
    assert isinstance(name, QLineEdit)
    _type(name, "Carol")
    after = window.session.scenario
    assert after is not None
    assert after.user_agents[index].name == "Carol"
    assert after.dialog.sender == "Carol"
    assert all(r.sender != caller for r in after.requests)
    assert any(r.sender == "Carol" for r in after.requests)
    # An element named in the name table is renamed there too.
    named = next(iter(dict(before.names).values()))
    kind = "proxies" if before.proxy(named) is not None else "user_agents"
    row = [e.name for e in getattr(before, kind)].index(named)
    _tab(window, "proxies" if kind == "proxies" else "agents")
    _show_entry(window, qapp, row)
    field = _editor(window, kind, row, "name")
    assert isinstance(field, QLineEdit)
    _type(field, "Edge")
    renamed = window.session.scenario
    assert renamed is not None
    assert "Edge" in dict(renamed.names).values()
    assert named not in dict(renamed.names).values()
    # Each field's typing is one step of the undo history.
    window.act_undo.trigger()
    window.act_undo.trigger()
    assert window.session.scenario == before


def test_typing_in_one_field_is_one_undo_step_and_typing_it_back_is_none(
    window: MainWindow,
) -> None:
    before = window.session.scenario
    _tab(window, "proxies")
    mode = _editor(window, "proxies", 0, "loose_route_mode")
    assert isinstance(mode, QLineEdit)
    stack = window.session.undo_stack
    count = stack.count()
    _type(mode, "12")
    assert stack.count() == count + 1
    _type(mode, "0")  # back to the value it had
    assert stack.count() == count
    assert window.session.scenario == before


def test_every_method_offered_is_one_the_scenario_takes(window: MainWindow) -> None:
    dialog_method = _editor(window, "dialog", "method")
    assert isinstance(dialog_method, QComboBox)
    assert [dialog_method.itemText(i) for i in range(dialog_method.count())] == list(DIALOG_METHODS)
    _tab(window, "requests")
    method = _editor(window, "requests", 0, "method")
    assert isinstance(method, QComboBox)
    offered = [method.itemText(i) for i in range(method.count())]
    assert "CANCEL" not in offered
    assert "REGISTER" not in offered
    for choice in offered:
        method = _editor(window, "requests", 0, "method")
        assert isinstance(method, QComboBox)
        method.setCurrentText(choice)
        assert window.composer.errors["requests[0].method"].isHidden(), choice
        scenario = window.session.scenario
        assert scenario is not None
        assert scenario.requests[0].method == choice


def test_an_edit_after_showing_another_entry_reaches_only_live_fields(
    window: MainWindow, qapp: QApplication
) -> None:
    # The fields of the entry shown before were deleted by Qt; an edit used to reach for
    # them and raise (the edit was lost).
    _tab(window, "proxies")
    _show_entry(window, qapp, 1)
    _show_entry(window, qapp, 0)
    mode = _editor(window, "proxies", 0, "loose_route_mode")
    assert isinstance(mode, QLineEdit)
    mode.setText("1")
    mode.textEdited.emit("1")
    scenario = window.session.scenario
    assert scenario is not None
    assert scenario.proxies[0].loose_route_mode == 1


@pytest.mark.parametrize(
    ("field", "typed", "why"),
    [
        (("proxies", 0, "loose_route_mode"), "1x", "is not a number"),
        (("names",), "conf.example.com = Conf\nsbc.example.com P1", "expected 'key = value'"),
        (("requests", 0, "method"), "bye", "is not a SIP method"),
    ],
    ids=["number", "table-line", "combo"],
)
def test_every_kind_of_text_not_applied_stays_through_a_rebuild(
    window: MainWindow,
    qapp: QApplication,
    field: tuple[str | int, ...],
    typed: str,
    why: str,
) -> None:
    tab = {"proxies": "proxies", "names": "names", "requests": "requests"}[str(field[0])]
    _tab(window, tab)
    editor = _editor(window, *field)
    if isinstance(editor, QLineEdit):
        editor.setText(typed)
        editor.textEdited.emit(typed)
    elif isinstance(editor, QPlainTextEdit):
        editor.setPlainText(typed)
    else:
        assert isinstance(editor, QComboBox)
        editor.setCurrentText(typed)
    window.composer.rebuild()
    _deleted_later(qapp)
    _tab(window, tab)
    editor = _editor(window, *field)
    shown = (
        editor.text()
        if isinstance(editor, QLineEdit)
        else editor.toPlainText()
        if isinstance(editor, QPlainTextEdit)
        else editor.currentText()  # type: ignore[attr-defined]
    )
    assert shown == typed
    error = window.composer.errors[path_text(field)]
    assert not error.isHidden()
    assert why in error.text()


def test_a_refused_remove_keeps_the_lists_text_not_applied(
    window: MainWindow, qapp: QApplication
) -> None:
    _tab(window, "agents")
    address = _editor(window, "user_agents", 0, "address")
    assert isinstance(address, QLineEdit)
    bad = address.text().rsplit(":", 1)[0] + ":99999"
    address.setText(bad)
    address.textEdited.emit(bad)
    _button(window, "Remove").click()  # refused: the dialog names this user agent
    _button(window, "↑").click()  # changes nothing: row 0 cannot go up
    window.composer.rebuild()
    _deleted_later(qapp)
    _tab(window, "agents")
    address = _editor(window, "user_agents", 0, "address")
    assert isinstance(address, QLineEdit)
    assert address.text() == bad


def test_text_not_applied_is_applied_once_an_edit_elsewhere_makes_it_valid(
    window: MainWindow, qapp: QApplication
) -> None:
    scenario = window.session.scenario
    assert scenario is not None
    first, second = (ua.name for ua in scenario.user_agents[:2])
    _tab(window, "agents")
    name = _editor(window, "user_agents", 0, "name")
    assert isinstance(name, QLineEdit)
    name.setText(second)  # taken by the other user agent: refused
    name.textEdited.emit(second)
    refused = window.session.scenario
    assert refused is not None
    assert refused.user_agents[0].name == first
    _show_entry(window, qapp, 1)
    other = _editor(window, "user_agents", 1, "name")
    assert isinstance(other, QLineEdit)
    other.setText("Robert")
    other.textEdited.emit("Robert")
    # Shown again, entry 0's text is tried again: the name is free now, so it is applied
    # (its error would otherwise blame a name no longer taken).
    _show_entry(window, qapp, 0)
    name = _editor(window, "user_agents", 0, "name")
    assert isinstance(name, QLineEdit)
    assert name.text() == second
    renamed = window.session.scenario
    assert renamed is not None
    assert [ua.name for ua in renamed.user_agents[:2]] == [second, "Robert"]
    assert window.composer.errors["user_agents[0].name"].isHidden()
    assert first not in [ua.name for ua in renamed.user_agents]


def test_text_not_applied_follows_its_entry_when_the_list_changes(
    window: MainWindow, qapp: QApplication
) -> None:
    _tab(window, "requests")
    count = len(window.composer.data["requests"])
    assert count >= 2

    def type_forwards(row: int, text: str) -> None:
        _show_entry(window, qapp, row)
        field = _editor(window, "requests", row, "max_forwards")
        assert isinstance(field, QLineEdit)
        field.setText(text)
        field.textEdited.emit(text)

    def kept() -> dict[str, str]:
        return {k: v[0] for k, v in window.composer._rejected.items()}

    type_forwards(0, "7O")
    type_forwards(1, "8O")
    assert kept() == {"requests[0].max_forwards": "7O", "requests[1].max_forwards": "8O"}
    _show_entry(window, qapp, 0)
    _button(window, "Duplicate").click()  # a copy after row 0: row 1 moves to 2
    assert kept() == {"requests[0].max_forwards": "7O", "requests[2].max_forwards": "8O"}
    _show_entry(window, qapp, 2)
    _button(window, "↑").click()  # rows 2 and 1 swap
    assert kept() == {"requests[0].max_forwards": "7O", "requests[1].max_forwards": "8O"}
    _show_entry(window, qapp, 0)
    _button(window, "↑").click()  # the first row cannot go up: nothing moves
    assert kept() == {"requests[0].max_forwards": "7O", "requests[1].max_forwards": "8O"}
    _button(window, "Remove").click()  # row 0 goes, and its text with it
    assert kept() == {"requests[0].max_forwards": "8O"}
    qapp.processEvents()
    _deleted_later(qapp)
    _show_entry(window, qapp, 0)
    field = _editor(window, "requests", 0, "max_forwards")
    assert isinstance(field, QLineEdit)
    assert field.text() == "8O"


# ---------------------------------------------------------------- UX review 4


def test_field_errors_are_readable_on_light_and_dark_palettes(
    window: MainWindow, qapp: QApplication
) -> None:
    from PySide6.QtGui import QPalette

    from gui import theme
    from gui.composer import FieldError
    from gui.screenshots import dark_palette

    window.show()
    label = window.composer.message
    assert isinstance(label, FieldError)
    label.show_error("a wrong value")
    light = qapp.palette()
    dark = dark_palette()
    assert isinstance(dark, QPalette)
    try:
        for palette in (dark, light):
            qapp.setPalette(palette)
            qapp.processEvents()
            color = theme.error_color()
            for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base):
                assert theme.contrast_ratio(color, palette.color(role)) >= 4.5, (
                    color.name(),
                    role,
                )
            # The label shown follows the palette.
            assert color.name() in label.styleSheet().lower()
    finally:
        qapp.setPalette(light)
        theme.palette_changed()
        window.hide()


def test_a_long_title_shows_its_start(window: MainWindow) -> None:
    field = window.composer.editors["title"]
    assert isinstance(field, QLineEdit)
    assert len(field.text()) > 20
    assert field.cursorPosition() == 0


def test_the_status_bar_names_a_refused_field_by_its_label(window: MainWindow) -> None:
    composer = window.composer
    assert composer.field_label("user_agents[0].address").startswith("Agents > ")
    assert composer.field_label("user_agents[0].address").endswith(" > address")
    name = window.session.scenario.user_agents[0].name  # type: ignore[union-attr]
    assert composer.field_label("user_agents[0].address") == f"Agents > {name} > address"
    assert composer.field_label("dialog.route[1]") == "dialog > route > #2"
    said = composer.in_words("user_agents[0].address", "user_agents[0].address: bad")
    assert said == f"Agents > {name} > address: bad"
    assert composer.in_words("title", "something else") == "something else"


def test_narrow_composer_tabs_go_to_the_side_and_stay_whole(
    window: MainWindow, qapp: QApplication
) -> None:
    _shown_at(window, 1024, 640)
    window.default_dock_sizes()
    for _ in range(3):
        qapp.processEvents()
    tabs = window.composer.tabs
    bar = tabs.tabBar()
    assert tabs.tabPosition() is tabs.TabPosition.West
    for i in range(bar.count()):
        assert bar.tabRect(i).height() >= bar.tabSizeHint(i).height(), bar.tabText(i)
        assert tabs.tabToolTip(i)
    # Wide again: on top.
    window.resize(1440, 900)
    window.default_dock_sizes()
    for _ in range(3):
        qapp.processEvents()
    assert tabs.tabPosition() is tabs.TabPosition.North


def test_tab_goes_from_the_composer_tabs_through_its_fields(
    window: MainWindow, qtbot: QtBot
) -> None:
    window.show()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    tabs = window.composer.tabs
    tabs.setCurrentIndex(0)
    tabs.tabBar().setFocus()
    seen = []
    for _ in range(4):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    page = tabs.currentWidget()
    assert all(page.isAncestorOf(w) for w in seen), [w.objectName() for w in seen]
    assert seen[0].objectName() == "field:title"
    # An entry of a list: the list, its buttons, then the entry's fields.
    _tab(window, "proxies")
    tabs.tabBar().setFocus()
    qtbot.keyClick(tabs.tabBar(), Qt.Key.Key_Tab)
    assert isinstance(QApplication.focusWidget(), QListWidget)
    for _ in range(6):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert QApplication.focusWidget().objectName() == "field:proxies[0].name"
    window.hide()
