"""File > Open Example: the library list, its filter and what Open opens."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from gui import resources
from gui.library import LibraryDialog


def test_the_filter_keeps_what_is_shown_and_opened_among_what_it_lets_through(
    qtbot: QtBot,
) -> None:
    dialog = LibraryDialog()
    qtbot.addWidget(dialog)
    titles = [dialog.list.item(r).text() for r in range(dialog.list.count())]
    assert len(titles) >= 15
    first = dialog.list.currentItem()
    assert first is not None
    # A word of another example's title only: the selection moves to what is shown.
    wanted = next(t for t in titles[1:] if "maddr" in t.lower())
    dialog.filter.setText("maddr")
    current = dialog.list.currentItem()
    assert current is not None
    assert not current.isHidden()
    assert current.text() == wanted
    assert wanted.split(":")[0] in dialog.details.toPlainText()
    assert dialog.open_button is not None
    assert dialog.open_button.isEnabled()
    dialog._accept()
    assert dialog.selected_path is not None
    assert "maddr" in dialog.selected_path.name
    # Nothing matches: nothing to open, and it is said.
    dialog.selected_path = None
    dialog.filter.setText("no example says this")
    assert dialog.list.currentItem() is None
    assert not dialog.open_button.isEnabled()
    assert "No example matches" in dialog.details.toPlainText()
    dialog._accept()
    assert dialog.selected_path is None
    dialog.filter.clear()
    assert dialog.open_button.isEnabled()
    assert dialog.list.currentItem() is not None


def test_the_library_is_a_course_with_every_example_once(qtbot: QtBot) -> None:
    dialog = LibraryDialog()
    qtbot.addWidget(dialog)
    headings = [r for r, entry in enumerate(dialog.items) if entry is None]
    # Sections in teaching order, the basics first and the tour, which has everything, last.
    assert dialog.list.item(headings[0]).text().startswith("1. The basics")
    assert dialog.list.item(headings[-1]).text() == "7. Everything at once"
    titles = [dialog.list.item(r).text() for r in headings]
    assert "Other" not in titles  # course.json names every library scenario
    paths = [entry[0].stem for entry in dialog.items if entry is not None]
    assert sorted(paths) == sorted(p.stem for p in resources.scenario_files())
    # A heading is not an example: never current, never opened.
    assert dialog.list.currentRow() == headings[0] + 1
    assert not dialog.list.item(headings[0]).flags() & Qt.ItemFlag.ItemIsSelectable
    # The keys never rest on a heading: up past one goes to the example above it.
    second = headings[1]
    dialog.list.setCurrentRow(second + 1)
    dialog.list.setCurrentRow(second)
    assert dialog.list.currentRow() == second - 1
    dialog.list.setCurrentRow(headings[0])
    assert dialog.list.currentRow() == headings[0] + 1
    # Filtering hides the headings whose examples are all hidden.
    dialog.filter.setText("flow token")
    shown = [r for r in headings if not dialog.list.item(r).isHidden()]
    assert [dialog.list.item(r).text() for r in shown] == ["6. NAT and outbound flow tokens"]
