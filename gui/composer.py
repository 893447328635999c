"""The composer: edit every part of the scenario in forms.

Rule 1: the composer edits the scenario's *document* (its JSON data) and asks
the engine's loader to validate every change.  A valid change becomes an
undoable :meth:`Session.edit`; an invalid one is shown next to the field with
the loader's message and the path it names, and what the user typed stays.
Rule 2: the forms are generated from the data, so every field the scenario
format has can be edited, including ones added later.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QScrollArea,
    QScrollBar,
    QSplitter,
    QStyle,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.errors import EngineError, ScenarioError
from engine.headers import split_values
from engine.profiles import PROFILES
from engine.scenario import DIALOG_METHODS, dumps, loads
from gui.document import ENTRY_TEMPLATES, FIELD_KINDS, for_editing, for_file
from gui.field_help import help_for
from gui.session import Session
from gui.theme import ErrorLabel

Path = tuple[str | int, ...]

# Fields whose values come from a fixed set: shown as drop-down lists.
CHOICES: dict[str, tuple[str, ...]] = {
    # An in-dialog request's method (the scenario refuses CANCEL and REGISTER there); the
    # dialog's own is one of engine.scenario.DIALOG_METHODS.
    "method": (
        "ACK",
        "BYE",
        "INVITE",
        "UPDATE",
        "INFO",
        "NOTIFY",
        "SUBSCRIBE",
        "REFER",
        "MESSAGE",
        "OPTIONS",
        "PRACK",
    ),
}
CHOICES["profile"] = tuple(PROFILES)  # the profiles are data in the engine: exactly those
CHOICES["route_style"] = ("lines", "comma")


_ROUTE_NAME = re.compile(r"route[ \t]*:[ \t]*", re.IGNORECASE)


def route_values(lines: list[str]) -> list[str]:
    """Route set lines as typed or pasted, one value each: a ``Route:`` header copied from a
    capture loses its name, and a comma list (outside quotes and ``<>``) is split.

    >>> route_values(["Route: <sip:p1;lr>, <sip:p2;lr>", "<sip:p3;lr>"])
    ['<sip:p1;lr>', '<sip:p2;lr>', '<sip:p3;lr>']
    """
    out: list[str] = []
    for line in lines:
        m = _ROUTE_NAME.match(line)
        body = line[m.end() :] if m else line
        values = [v.text for v in split_values(body) if v.text]
        # Leave a line that does not split cleanly to the loader, whose error names it.
        out.extend(values if values and "," in body else [body])
    return out


def path_text(path: Path) -> str:
    """``("proxies", 2, "listen", 0)`` → ``proxies[2].listen[0]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _get(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: Path, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def item_label(value: Any, index: int) -> str:
    """How a list entry is named in the composer's lists."""
    if isinstance(value, dict):
        for key in ("name", "label", "method", "host", "title"):
            if isinstance(value.get(key), str) and value[key]:
                extra = ""
                if key == "method" and isinstance(value.get("from"), str):
                    extra = f" from {value['from']}"
                return f"{index + 1}. {value[key]}{extra}"
    if isinstance(value, str):
        return f"{index + 1}. {value}"
    return f"{index + 1}."


def _used_addresses(doc: dict[str, Any]) -> set[str]:
    text = json.dumps([doc.get("user_agents"), doc.get("proxies")])
    return set(re.findall(r"192\.0\.2\.(\d+)", text))


def new_entry(kind: str, existing: list[Any], doc: dict[str, Any]) -> Any:
    """A new, valid entry for "Add": a unique name and a free documentation address."""
    template = json.loads(json.dumps(ENTRY_TEMPLATES.get(kind, {})))
    names = {
        e.get("name")
        for e in doc.get("user_agents", []) + doc.get("proxies", [])
        if isinstance(e, dict)
    }
    used = _used_addresses(doc)
    octet = next(str(i) for i in range(2, 255) if str(i) not in used)
    base = {"proxies": "P", "user_agents": "UA"}.get(kind)
    if base is not None:
        n = len(existing) + 1
        while f"{base}{n}" in names:
            n += 1
        template["name"] = f"{base}{n}"
    if kind == "proxies":
        template["listen"] = [f"udp:192.0.2.{octet}:5060"]
    elif kind == "user_agents":
        template["address"] = f"udp:192.0.2.{octet}:5060"
        template["contact"] = f"sip:{template['name'].lower()}@192.0.2.{octet}"
    elif kind == "requests":
        dialog = doc.get("dialog", {})
        template["from"] = dialog.get("from", "") if isinstance(dialog, dict) else ""
    return template


class FieldError(ErrorLabel):
    """The red line under a field that shows its validation message (readable on a light
    and on a dark palette: :func:`gui.theme.error_color`)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("field-error")
        self.setWordWrap(True)
        self.hide()

    def show_error(self, text: str) -> None:
        self.setText(f"⚠ {text}")
        self.show()


#: Shorter tab titles, so that every tab fits a narrow dock (the tool tip says it whole).
TAB_TITLES = {"user_agents": "Agents"}


def _tab_title(key: str) -> str:
    """The title of the composer's tab for a key of the scenario (its tool tip says
    ``user_agents`` whole: "User agents")."""
    return TAB_TITLES.get(key, key.replace("_", " ").capitalize())


def rename_references(data: dict[str, Any], old: str, new: str) -> None:
    """Make every reference to the element ``old`` name ``new`` (in place): the dialog's
    parties, the senders of the requests and the name table's values.  Renaming an
    element renames it everywhere, as one edit; element names are unique, so no other
    element is touched."""
    dialog = data.get("dialog")
    places: list[dict[str, Any]] = [dialog] if isinstance(dialog, dict) else []
    places += [r for r in data.get("requests") or () if isinstance(r, dict)]
    for place in places:
        for key in ("from", "to"):
            if place.get(key) == old:
                place[key] = new
    names = data.get("names")
    if isinstance(names, dict):
        for host, element in names.items():
            if element == old:
                names[host] = new


def _form(widget: QWidget) -> QFormLayout:
    """A form on ``widget`` whose fields go below their labels when the dock is narrow
    (the rr module's parameter names are long)."""
    form = QFormLayout(widget)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    return form


class Composer(QWidget):
    """Forms for the whole scenario; every valid edit re-simulates at once."""

    edit_rejected = Signal(str, str)  # path, message: the edit stays in its field, not applied
    edit_accepted = Signal()  # every field shows the applied scenario again

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.session = session
        self.data: dict[str, Any] = {}
        self.errors: dict[str, FieldError] = {}
        self.editors: dict[str, QWidget] = {}
        # Fields whose typed text was not applied, by field path: that text and why. They
        # keep it through a rebuild (another entry shown, an edit elsewhere) until the field
        # is edited into a valid value, or the document changes under the composer (undo,
        # another file): nothing the user typed is lost behind their back.
        self._rejected: dict[str, tuple[str, str]] = {}
        # How each field shown applies a text as if it had been typed (to try again the
        # fields holding text not applied, once an edit elsewhere may have made it valid).
        self._retype: dict[str, Callable[[str], None]] = {}
        self._retrying = False
        self._building = False
        self._committing = False
        self.tabs = QTabWidget()
        self.tabs.setObjectName("composer-tabs")
        self.tabs.setAccessibleName("Parts of the scenario")
        self.tabs.setDocumentMode(True)
        # In a narrow dock the tab titles shorten ("Requ…") rather than hiding the last
        # ones behind scroll arrows; each keeps its whole name as a tool tip.
        self.tabs.setUsesScrollButtons(False)
        self.tabs.setElideMode(Qt.TextElideMode.ElideRight)
        self.message = FieldError()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.message)
        layout.addWidget(self.tabs)
        self._selected: dict[str, int] = {}
        session.scenario_changed.connect(self._on_session_scenario_changed)

    # ------------------------------------------------------------ building

    def _on_session_scenario_changed(self) -> None:
        scenario = self.session.scenario
        if scenario is None:
            return
        fresh = for_editing(json.loads(dumps(scenario)))
        if self._committing:
            # Our own edit: keep the widgets (and the focus, and what was typed).
            self.data = fresh
            return
        if fresh == self.data and not self._rejected:
            return
        self.data = fresh
        self._rejected.clear()
        self.rebuild()

    def show_draft(self, data: dict[str, Any], error: ScenarioError) -> None:
        """Show a document that does not validate yet (Session.open_draft), its tab and
        entry where ``error`` is, and the error under its field."""
        self.data = data
        self._rejected.clear()
        root = re.match(r"[^.\[]*", error.path)
        key = root.group() if root else ""
        index = re.match(r"\[(\d+)\]", error.path[len(key) :])
        if index is not None and isinstance(data.get(key), list):
            self._selected[key] = int(index.group(1))
        self.rebuild()
        title = _tab_title(key)
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == title:
                self.tabs.setCurrentIndex(i)
                break
        else:
            self.tabs.setCurrentIndex(0)  # a field of the scenario itself, or the dialog
        self._show_error(error.path, str(error))

    def rebuild(self) -> None:
        """Rebuild every tab from ``self.data`` (keeps the current tab and selections)."""
        self._building = True
        current = self.tabs.currentIndex()
        self.errors.clear()
        self.editors.clear()
        self._retype.clear()
        self.message.hide()
        while self.tabs.count():
            widget = self.tabs.widget(0)
            self.tabs.removeTab(0)
            if widget is not None:
                widget.deleteLater()
        general = QWidget()
        form = _form(general)
        lists: list[str] = []
        for key, value in self.data.items():
            if key == "format":
                continue
            if key in ENTRY_TEMPLATES or FIELD_KINDS.get(key) == "mapping":
                lists.append(key)
            else:
                self._add_field(form, (key,), value)
        index = self.tabs.addTab(self._scroll(general), "Scenario")
        self.tabs.setTabToolTip(index, "Scenario: its title, description and dialog")
        for key in lists:
            value = self.data[key]
            if isinstance(value, list):
                page = self._list_page((key,))
            else:
                page = QWidget()
                page_form = _form(page)
                self._add_field(page_form, (key,), value)
                page = self._scroll(page)
            index = self.tabs.addTab(page, _tab_title(key))
            self.tabs.setTabToolTip(index, key.replace("_", " ").capitalize())
        if 0 <= current < self.tabs.count():
            self.tabs.setCurrentIndex(current)
        self._place_tabs()
        self._chain_focus()
        self._building = False
        self.edit_accepted.emit()  # built afresh from the scenario: no field holds an error
        self._retry_rejected()  # ... but those that keep text not applied, tried again

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_tabs()

    def tabs_width(self) -> int:
        """How wide a tab bar on top must be for every title to show whole, side by side
        (whichever side the bar is on now)."""
        bar = self.tabs.tabBar()
        metrics = bar.fontMetrics()
        # (The application's style: the bar's own pads less while it is on the left.)
        pad = QApplication.style().pixelMetric(QStyle.PixelMetric.PM_TabBarTabHSpace)
        flags = int(Qt.TextFlag.TextShowMnemonic)
        return sum(
            metrics.size(flags, self.tabs.tabText(i)).width() + pad
            for i in range(self.tabs.count())
        )

    def _place_tabs(self) -> None:
        """Tabs on top while their titles fit side by side; on the left side, one under
        the other and still whole, when the dock is too narrow for that."""
        narrow = self.tabs_width() > self.tabs.width()
        position = QTabWidget.TabPosition.West if narrow else QTabWidget.TabPosition.North
        if self.tabs.tabPosition() != position:
            self.tabs.setTabPosition(position)
            # On the left, the tabs are only as long as their titles need (Fusion pads a
            # title by 12 px a side, which a short dock cannot spare).
            self.tabs.tabBar().setStyleSheet("QTabBar::tab { padding: 8px 3px; }" if narrow else "")

    def _chain_focus(self) -> None:
        """Tab goes from the tab bar through the fields of each page in form order (the
        fields are made long after the rest of the window, so Qt's own order, the order
        of creation, would send Tab from the tab bar to the other panels first)."""
        chain: list[QWidget] = [self.tabs.tabBar()]
        for i in range(self.tabs.count()):
            page = self.tabs.widget(i)
            if page is not None:
                chain += [w for w in _in_order(page) if _takes_tab(w, page)]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def _scroll(self, widget: QWidget) -> QScrollArea:
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setWidget(widget)
        return area

    def _list_page(self, path: Path) -> QWidget:
        """A list of objects: pick one on top, edit it below; add, remove, reorder."""
        page = QWidget()
        outer = QVBoxLayout(page)
        outer.setContentsMargins(2, 2, 2, 2)
        entries = QListWidget()
        entries.setObjectName(f"list:{path_text(path)}")
        entries.setAccessibleName(f"{_tab_title(str(path[-1]))} list")
        items = _get(self.data, path)
        for i, value in enumerate(items):
            entries.addItem(item_label(value, i))
        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        # Tool buttons, as wide as their words: push buttons are at least 80 px each in
        # most styles, and this row would then hold the whole composer over 420 px wide,
        # squeezing the graph on a small screen.
        add, dup, remove, up, down = (
            _row_button(text, tip)
            for text, tip in (
                ("Add", "Add an entry"),
                ("Duplicate", "Add a copy of the selected entry"),
                ("Remove", "Remove the selected entry"),
                ("↑", "Move up: the selected entry goes one place up"),
                ("↓", "Move down: the selected entry goes one place down"),
            )
        )
        for b in (add, dup, remove, up, down):
            buttons.addWidget(b)
        buttons.addStretch(1)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        splitter = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(entries)
        top_layout.addLayout(buttons)
        splitter.addWidget(top)
        splitter.addWidget(self._scroll(detail))
        splitter.setSizes([140, 420])
        outer.addWidget(splitter)
        key = path_text(path)

        def show(row: int) -> None:
            # The fields of the entry shown so far go: forget them first, or an edit made
            # once Qt has deleted them would reach for their widgets.
            for fields in (self.errors, self.editors, self._retype):
                for gone in [k for k in fields if k.startswith(f"{key}[")]:
                    del fields[gone]
            while detail_layout.count():
                child = detail_layout.takeAt(0)
                w = child.widget() if child is not None else None
                if w is not None:
                    w.deleteLater()
            current = _get(self.data, path)
            if not 0 <= row < len(current):
                return
            self._selected[key] = row
            box = QWidget()
            form = _form(box)
            value = current[row]
            if isinstance(value, dict):
                for k, v in value.items():
                    self._add_field(form, (*path, row, k), v)
            else:
                self._add_field(form, (*path, row), value)
            detail_layout.addWidget(box)
            detail_layout.addStretch(1)
            if not self._building:
                self._chain_focus()  # the entry's new fields: after the list, in form order
                self._retry_rejected()  # its text not applied, tried again as it is shown

        def change(
            mutate: Callable[[list[Any]], int],
            what: str,
            moves: Callable[[int, int], int | None] = lambda row, _current: row,
        ) -> None:
            """Change the list; ``moves(row, current)`` says where an entry's row goes (None:
            it is gone), ``current`` being the row selected before."""
            current = entries.currentRow()
            new = json.loads(json.dumps(self.data))
            target = _get(new, path)
            row = mutate(target)
            self._selected[key] = row
            # Text not applied to an entry follows it to its new row (gone with it), so that
            # it never comes back in, or is tried again on, another entry's field.
            unchanged = target == _get(self.data, path)  # (a first row moved up ...)
            kept = {k: v for k, v in self._rejected.items() if k.startswith(f"{key}[")}
            for rejected in kept:
                del self._rejected[rejected]
            if not self._commit(new, f"{what} in {key}", path) or unchanged:
                self._rejected.update(kept)
                return
            for rejected, value in kept.items():
                index, rest = _ROW.match(rejected[len(key) :]).groups()  # type: ignore[union-attr]
                moved = moves(int(index), current)
                if moved is not None:
                    self._rejected[f"{key}[{moved}]{rest}"] = value

        def do_add(target: list[Any]) -> int:
            target.append(new_entry(str(path[-1]), target, self.data))
            return len(target) - 1

        def do_dup(target: list[Any]) -> int:
            row = entries.currentRow()
            if not 0 <= row < len(target):
                return row
            copy = json.loads(json.dumps(target[row]))
            if isinstance(copy, dict) and isinstance(copy.get("name"), str):
                copy["name"] = copy["name"] + "-copy"
            target.insert(row + 1, copy)
            return row + 1

        def do_remove(target: list[Any]) -> int:
            row = entries.currentRow()
            if 0 <= row < len(target):
                del target[row]
            return min(row, len(target) - 1)

        def do_move(delta: int) -> Callable[[list[Any]], int]:
            def move(target: list[Any]) -> int:
                row = entries.currentRow()
                new_row = row + delta
                if 0 <= row < len(target) and 0 <= new_row < len(target):
                    target[row], target[new_row] = target[new_row], target[row]
                    return new_row
                return row

            return move

        add.clicked.connect(lambda: change(do_add, "Add"))
        dup.clicked.connect(
            lambda: change(do_dup, "Duplicate", lambda r, cur: r + 1 if r > cur >= 0 else r)
        )
        remove.clicked.connect(
            lambda: change(
                do_remove,
                "Remove",
                lambda r, cur: None if r == cur else r - 1 if r > cur >= 0 else r,
            )
        )
        up.clicked.connect(lambda: change(do_move(-1), "Move up", _swap(-1)))
        down.clicked.connect(lambda: change(do_move(1), "Move down", _swap(1)))
        entries.currentRowChanged.connect(show)
        row = self._selected.get(key, 0)
        if items:
            entries.setCurrentRow(min(row, len(items) - 1))
        return page

    def _add_field(self, form: QFormLayout, path: Path, value: Any) -> None:
        key = path_text(path)
        name = (
            str(path[-1]).replace("_", " ") if not isinstance(path[-1], int) else f"#{path[-1] + 1}"
        )
        error = FieldError()
        self.errors[key] = error
        container = QWidget()
        lay = QVBoxLayout(container)
        lay.setContentsMargins(0, 0, 0, 0)
        editor = self._editor(path, value)
        editor.setObjectName(f"field:{key}")
        meaning = help_for(path)
        tip = f"{meaning}\n\n{key}" if meaning else key
        editor.setToolTip(tip)
        # The form's label names the row's container: a screen reader gets it from the
        # editor itself, with what the field means and its place in the scenario.
        editor.setAccessibleName(name)
        editor.setAccessibleDescription(tip)
        self.editors[key] = editor
        lay.addWidget(editor)
        lay.addWidget(error)
        if key in self._rejected:
            self._restore_rejected(key, editor)
        if isinstance(editor, QGroupBox):
            # A nested object (rr, outbound ...) takes the form's whole width under its own
            # title: beside a label, its own labels and fields did not fit a narrow dock.
            editor.setTitle(name)
            form.addRow(container)
        else:
            label = QLabel(name)
            label.setToolTip(tip)
            form.addRow(label, container)

    def _editor(self, path: Path, value: Any) -> QWidget:
        field = str(path[-1]) if not isinstance(path[-1], int) else ""
        kind = FIELD_KINDS.get(field, "")
        if kind in ("lines", "lines?", "ints?"):
            items = value if isinstance(value, list) else []
            text = _plain_text("\n".join(str(v) for v in items))
            hint = "one value per line" + (" (empty: not set)" if kind.endswith("?") else "")
            text.setPlaceholderText(hint)
            text.setMaximumHeight(96)
            self._on_typed(
                path,
                text.textChanged,
                text.toPlainText,
                lambda typed: self._edit_lines(path, typed, kind),
            )
            return text
        if kind == "mapping":
            pairs = value if isinstance(value, dict) else {}
            text = _plain_text("\n".join(f"{k} = {v}" for k, v in pairs.items()))
            text.setPlaceholderText("key = value, one per line")
            text.setMinimumHeight(120)
            self._on_typed(
                path, text.textChanged, text.toPlainText, lambda t: self._edit_mapping(path, t)
            )
            return text
        if kind == "long":
            area = _plain_text("" if value is None else str(value))
            area.setMaximumHeight(110)
            self._on_typed(path, area.textChanged, area.toPlainText, lambda t: self._edit(path, t))
            return area
        if kind in ("text?", "int?"):
            line = _line_edit("" if value is None else str(value))
            line.setPlaceholderText("(not set)")
            self._on_typed(
                path, line.textEdited, line.text, lambda t: self._edit_optional(path, t, kind)
            )
            return line
        if isinstance(value, bool):
            box = QCheckBox()
            box.setChecked(value)
            box.toggled.connect(lambda checked: self._edit(path, checked))
            return box
        if isinstance(value, dict):
            group = QGroupBox()
            form = _form(group)
            for k, v in value.items():
                self._add_field(form, (*path, k), v)
            return group
        if isinstance(value, list):
            group = QGroupBox()
            form = _form(group)
            for i, v in enumerate(value):
                self._add_field(form, (*path, i), v)
            return group
        if field in CHOICES and isinstance(value, str):
            combo = QComboBox()
            combo.setEditable(field not in ("profile", "route_style"))
            choices = list(DIALOG_METHODS if path[:2] == ("dialog", "method") else CHOICES[field])
            if value not in choices:
                choices.insert(0, value)
            combo.addItems(choices)
            if field == "profile":
                for i, choice in enumerate(choices):
                    if choice in PROFILES:
                        summary = f"{PROFILES[choice].title}: {PROFILES[choice].summary}"
                        combo.setItemData(i, summary, Qt.ItemDataRole.ToolTipRole)
            combo.setCurrentText(value)
            self._on_typed(
                path, combo.currentTextChanged, combo.currentText, lambda t: self._edit(path, t)
            )
            return combo
        line = _line_edit("" if value is None else str(value))
        self._on_typed(path, line.textEdited, line.text, lambda t: self._edit_text(path, t, value))
        return line

    def _on_typed(
        self,
        path: Path,
        typed: SignalInstance,
        read: Callable[[], str],
        apply: Callable[[str], None],
    ) -> None:
        """Apply what is typed in the field at ``path``: ``typed`` fires with the text (or
        without it: ``read`` gives it), and ``apply`` is kept to try that field's text
        again (:meth:`_retry_rejected`)."""
        self._retype[path_text(path)] = apply
        typed.connect(lambda *text: apply(text[0] if text else read()))

    # ------------------------------------------------------------ editing

    def _edit_text(self, path: Path, text: str, old: Any) -> None:
        """A text field changed: convert to the old value's type, then edit."""
        key = path_text(path)
        if isinstance(old, bool) or not isinstance(old, int | float):
            self._edit(path, text)
            return
        try:
            number: int | float = int(text) if isinstance(old, int) else float(text)
        except ValueError:
            self._refuse(path, f"{key}: '{text}' is not a number")
            return
        self._edit(path, number)

    def _edit_optional(self, path: Path, text: str, kind: str) -> None:
        """An optional field: empty means not set."""
        stripped = text.strip()
        if not stripped:
            self._edit(path, None)
            return
        if kind == "int?":
            try:
                self._edit(path, int(stripped))
            except ValueError:
                key = path_text(path)
                self._refuse(path, f"{key}: '{text}' is not a whole number")
            return
        self._edit(path, stripped)

    def _edit_lines(self, path: Path, text: str, kind: str) -> None:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if path[-1] == "route":
            lines = route_values(lines)
        value: list[Any] | None = lines
        if kind == "ints?":
            try:
                value = [int(v) for v in lines]
            except ValueError:
                self._refuse(path, f"{path_text(path)}: one whole number per line")
                return
        if kind.endswith("?") and not lines:
            value = None
        self._edit(path, value)

    def _edit_mapping(self, path: Path, text: str) -> None:
        pairs: dict[str, str] = {}
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                where = path_text(path)
                self._refuse(path, f"{where}: line {n}: expected 'key = value', got {line!r}")
                return
            pairs[key.strip()] = value.strip()
        self._edit(path, pairs)

    def _edit(self, path: Path, value: Any) -> None:
        if self._building:
            return
        new = json.loads(json.dumps(self.data))
        _set(new, path, value)
        if len(path) == 3 and path[0] in ENTRY_TEMPLATES and path[2] == "name":
            old = _get(self.data, path)
            if isinstance(old, str) and old and isinstance(value, str) and value != old:
                rename_references(new, old, value)
        self._commit(new, f"Edit {path_text(path)}", path)

    def _commit(self, new: dict[str, Any], description: str, path: Path) -> bool:
        """Validate with the engine's loader; push an undoable edit (True) or show the
        error (False)."""
        for key, err in self.errors.items():
            if key not in self._rejected or key == path_text(path):
                err.hide()  # fields still holding text not applied keep saying why
        self.message.hide()
        try:
            scenario = loads(json.dumps(for_file(new)))
        except ScenarioError as exc:
            if self.session.draft:
                # A draft keeps every edit, valid or not, until the whole of it validates:
                # fixing one of its errors must not wait for the others.
                self.data = new
                self.session.mark_draft_edited()
                self._show_error(exc.path, str(exc))
                return False
            self._refuse(path, str(exc), shown_at=exc.path)
            return False
        except (EngineError, RecursionError, ValueError) as exc:
            self._refuse(path, str(exc))
            return False
        self._rejected.pop(path_text(path), None)
        self.edit_accepted.emit()
        structural = [k for k in new if new[k] != self.data.get(k)]
        self.data = new
        rebuild = description.split(" ", 1)[0] in ("Add", "Duplicate", "Remove", "Move")
        self._committing = True
        try:
            self.session.edit(scenario, description)
        finally:
            self._committing = False
        if rebuild or not structural:
            QTimer.singleShot(0, self.rebuild)
        else:
            self._refresh_labels()
        self._retry_rejected()
        return True

    def _retry_rejected(self) -> None:
        """Try again the fields holding text not applied: the edit just made may have made
        it valid (a name no longer taken), or its reason may have changed.  Each is applied
        as if typed again, once."""
        if self._retrying:
            return
        self._retrying = True
        try:
            for key, (text, _message) in list(self._rejected.items()):
                retype = self._retype.get(key)
                if retype is not None and key in self._rejected:
                    retype(text)
        finally:
            self._retrying = False

    def _refuse(self, path: Path, message: str, *, shown_at: str | None = None) -> None:
        """The text in the field at ``path`` cannot be applied: keep it, and say why under
        the field ``shown_at`` names (the field itself by default)."""
        self._reject(path, message)
        self._show_error(shown_at or path_text(path), message)

    def _reject(self, path: Path, message: str) -> None:
        """Remember what was typed in the field at ``path``, which was not applied (a list
        change, an Add or a Remove, types nothing)."""
        key = path_text(path)
        editor = self.editors.get(key)
        if isinstance(editor, QLineEdit):
            self._rejected[key] = (editor.text(), message)
        elif isinstance(editor, QPlainTextEdit):
            self._rejected[key] = (editor.toPlainText(), message)
        elif isinstance(editor, QComboBox):
            self._rejected[key] = (editor.currentText(), message)

    def _restore_rejected(self, key: str, editor: QWidget) -> None:
        """Put back what was typed in a field and not applied, with the reason."""
        text, message = self._rejected[key]
        if not isinstance(editor, QLineEdit | QPlainTextEdit | QComboBox):
            return
        blocked = editor.blockSignals(True)  # shown again, not typed again
        try:
            if isinstance(editor, QLineEdit):
                editor.setText(text)
            elif isinstance(editor, QPlainTextEdit):
                editor.setPlainText(text)
            else:
                editor.setCurrentText(text)
        finally:
            editor.blockSignals(blocked)
        self.errors[key].show_error(message)

    def _refresh_labels(self) -> None:
        for lst in self.findChildren(QListWidget):
            name = lst.objectName()
            if not name.startswith("list:"):
                continue
            key = name[5:]
            try:
                values = self.data[key]
            except KeyError:
                continue
            for i in range(min(lst.count(), len(values))):
                lst.item(i).setText(item_label(values[i], i))

    def _show_error(self, path: str, text: str) -> None:
        """Show ``text`` under the field named by ``path`` (or its closest parent)."""
        target = path
        while target and target not in self.errors:
            parent = _LAST_STEP.sub("", target)
            if parent == target:  # not a path this composer knows: say it on top
                break
            target = parent
        label = self.errors.get(target, self.message)
        label.show_error(text)
        _reveal(label)
        self.edit_rejected.emit(path, self.in_words(path, text))

    def field_label(self, path: str) -> str:
        """A field path as the composer names it: ``user_agents[0].address`` is
        "Agents > Alice > address" (its tab, the entry's name, the field's label)."""
        words: list[str] = []
        data: Any = self.data
        for step in _STEPS.findall(path):
            key: str | int
            if step.startswith('["'):
                key = json.loads(step[1:-1])
            elif step.startswith("["):
                key = int(step[1:-1])
            else:
                key = step.lstrip(".")
            entry = data[key] if _has(data, key) else None
            if not words:
                words.append(_tab_title(str(key)) if key in ENTRY_TEMPLATES else str(key))
            elif isinstance(key, int):
                name = item_label(entry, key).split(". ", 1)[-1] if entry is not None else ""
                words.append(name or f"#{key + 1}")
            else:
                words.append(str(key))
            data = entry
        return " > ".join(w.replace("_", " ") for w in words) or path

    def in_words(self, path: str, text: str) -> str:
        """``text`` (a message about the field at ``path``) naming the field by its label
        rather than by its path, for the status bar, away from the field."""
        if path and text.startswith(f"{path}: "):
            return f"{self.field_label(path)}: {text[len(path) + 2 :]}"
        return text


# Each step of a field path: a name, an index or a quoted key.
_STEPS = re.compile(r'\["(?:[^"\\]|\\.)*"\]|\[\d+\]|\.?[^.\[]+')


def _has(data: Any, key: str | int) -> bool:
    """True when ``data[key]`` is there (a list's index, a mapping's key)."""
    if isinstance(key, int):
        return isinstance(data, list) and 0 <= key < len(data)
    return isinstance(data, dict) and key in data


# The last step of a field path: an index ``[2]``, a quoted key ``["a.b"]`` (the name
# table's and a location map's keys hold dots), a ``.name``, or the first name.
_LAST_STEP = re.compile(r'(\[\d+\]|\["(?:[^"\\]|\\.)*"\]|\.[^.\[]+|^[^.\[]+)$')


# The row of a list entry's field path, and what follows it: "[2].name" -> ("2", ".name").
_ROW = re.compile(r"\[(\d+)\](.*)", re.DOTALL)


def _swap(delta: int) -> Callable[[int, int], int | None]:
    """Where rows go when the selected one moves by ``delta`` (if it can)."""

    def moves(row: int, current: int) -> int | None:
        if current < 0:
            return row
        if row == current:
            return current + delta
        return current if row == current + delta else row

    return moves


def _row_button(text: str, tip: str) -> QToolButton:
    """A button of a list's Add/Duplicate/Remove/Move row."""
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    # Said by a screen reader: the words, not an arrow's character name.
    button.setAccessibleName(tip.split(":", 1)[0])
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    return button


def _in_order(widget: QWidget) -> list[QWidget]:
    """The widgets inside ``widget``, as laid out: depth first, a splitter's in its order
    (a splitter keeps its children in another order)."""
    if isinstance(widget, QSplitter):
        found = (widget.widget(i) for i in range(widget.count()))
        children = [c for c in found if c is not None]
    else:
        children = [c for c in widget.children() if isinstance(c, QWidget)]
    out: list[QWidget] = []
    for child in children:
        out.append(child)
        out += _in_order(child)
    return out


def _takes_tab(widget: QWidget, page: QWidget) -> bool:
    """True for a field or button of ``page`` that Tab stops at (not the parts of a
    compound field, such as an editable drop-down list's text, nor a scroll area)."""
    if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus or widget.focusProxy() is not None:
        return False
    if isinstance(widget, QScrollArea | QScrollBar):
        return False
    parent = widget.parentWidget()
    while parent is not None and parent is not page:
        if isinstance(parent, QComboBox | QAbstractSpinBox):
            return False
        parent = parent.parentWidget()
    return True


def _line_edit(text: str) -> QLineEdit:
    """A one-line field showing the start of its value (Qt leaves the cursor at the end,
    which shows only the end of a long title)."""
    line = QLineEdit(text)
    line.setCursorPosition(0)
    return line


def _plain_text(text: str) -> QPlainTextEdit:
    """A multi-line field of the form: Tab moves on to the next field, as in every
    other field, instead of typing a tab into the value."""
    editor = QPlainTextEdit(text)
    editor.setTabChangesFocus(True)
    return editor


def _reveal(label: QWidget) -> None:
    """Scroll the composer page so that an error just shown is in view: under a tall
    field it may fall below the visible part, where nobody reads it."""
    parent = label.parentWidget()
    while parent is not None and not isinstance(parent, QScrollArea):
        parent = parent.parentWidget()
    if parent is None:
        return
    area = parent

    def scroll() -> None:
        # After the layout has made room for the label; a rebuild may have deleted both.
        if shiboken6.isValid(area) and shiboken6.isValid(label) and label.isVisible():
            area.ensureWidgetVisible(label, 0, 8)

    QTimer.singleShot(0, scroll)
