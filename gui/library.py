"""File > Open Example: the teaching library with titles and descriptions."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine.errors import EngineError
from engine.scenario import Scenario, loads
from gui import resources
from gui.lesson import scenario_html


def library() -> list[tuple[str, list[tuple[Path, Scenario]]]]:
    """Every library scenario that loads, with its file, in the course's sections and
    teaching order (:func:`gui.resources.course`)."""
    out = []
    for title, paths in resources.course():
        loaded = []
        for path in paths:
            try:
                loaded.append((path, loads(path.read_text(encoding="utf-8"))))
            except (OSError, EngineError):
                continue
        if loaded:
            out.append((title, loaded))
    return out


class LibraryDialog(QDialog):
    """Pick a library scenario; ``selected_path`` is set on accept."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open Example")
        self.setObjectName("library-dialog")
        self.resize(820, 520)
        self.selected_path: Path | None = None
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by title or description…")
        self.filter.setClearButtonEnabled(True)
        self.list = QListWidget()
        self.list.setObjectName("library-list")
        self.list.setWordWrap(True)  # long titles wrap rather than being cut off
        self.details = QTextBrowser()
        # One entry a row: a section's title (None) or an example.
        self.items: list[tuple[Path, Scenario] | None] = []
        self._last_row = 0  # the last example current (which way the keys went)
        for title, examples in library():
            header = QListWidgetItem(title)
            # A heading: enabled (read out as text, not as an unavailable entry) but never
            # selected; the current row moves on past it (_on_list_current_row_changed).
            header.setFlags(Qt.ItemFlag.ItemIsEnabled)
            header.setData(Qt.ItemDataRole.AccessibleDescriptionRole, "section heading")
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            self.list.addItem(header)
            self.items.append(None)
            for path, scenario in examples:
                item = QListWidgetItem(scenario.title)
                item.setData(Qt.ItemDataRole.UserRole, str(path))
                item.setToolTip(scenario.description)
                self.list.addItem(item)
                self.items.append((path, scenario))
        splitter = QSplitter()
        splitter.addWidget(self.list)
        splitter.addWidget(self.details)
        splitter.setSizes([330, 490])
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        self.open_button = buttons.button(QDialogButtonBox.StandardButton.Open)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        self.list.currentRowChanged.connect(self._on_list_current_row_changed)
        self.list.itemDoubleClicked.connect(lambda _item: self._accept())
        self.filter.textChanged.connect(self._on_filter_text_changed)
        rows = self._examples()
        if rows:
            self.list.setCurrentRow(rows[0])

    def _examples(self) -> list[int]:
        """The rows of the examples shown (not the section titles, not those filtered out)."""
        return [
            r
            for r, entry in enumerate(self.items)
            if entry is not None and not self.list.item(r).isHidden()
        ]

    def _on_list_current_row_changed(self, row: int) -> None:
        entry = self.items[row] if 0 <= row < len(self.items) else None
        if entry is not None:
            self._last_row = row
            # As the Lesson panel shows it, without step links: nothing is played here.
            self.details.setHtml(scenario_html(entry[1]))
        elif 0 <= row < len(self.items):
            # A heading: on to the example next to it, in the direction the keys went.
            shown = self._examples()
            after = [r for r in shown if r > row]
            before = [r for r in shown if r < row]
            if before and (row < self._last_row or not after):
                self.list.setCurrentRow(before[-1])
            elif after:
                self.list.setCurrentRow(after[0])

    def _on_filter_text_changed(self, text: str) -> None:
        needle = text.lower()
        header = 0
        for row, entry in enumerate(self.items):
            if entry is None:
                header = row
                self.list.item(row).setHidden(True)  # until one of its examples is shown
                continue
            hay = f"{entry[1].title} {entry[1].description}".lower()
            hidden = bool(needle) and needle not in hay
            self.list.item(row).setHidden(hidden)
            if not hidden:
                self.list.item(header).setHidden(False)
        # What is shown and opened is always an example the filter lets through.
        current = self.list.currentItem()
        if current is None or current.isHidden() or self.items[self.list.currentRow()] is None:
            shown = self._examples()
            if shown:
                self.list.setCurrentRow(shown[0])
            else:
                self.list.setCurrentRow(-1)
                self.details.setPlainText(f"No example matches “{text}”.")
        if self.open_button is not None:
            self.open_button.setEnabled(self.list.currentRow() >= 0)

    def _accept(self) -> None:
        item = self.list.currentItem()
        if item is None or item.isHidden() or self.items[self.list.currentRow()] is None:
            return
        self.selected_path = Path(item.data(Qt.ItemDataRole.UserRole))
        self.accept()
