"""The Config tab of the inspector: the kamailio.cfg of a proxy, the lines of the step marked.

The text is :func:`engine.kamcfg.proxy_config`, the config the chain differential tests run on
real Kamailio 5.6.3 proxies.  The tab follows the step: at a proxy it shows that proxy's config
and marks the lines that made the step's decisions (:func:`engine.kamcfg.script_marks`, each
line's tooltip saying what it did); at a
user agent it keeps the proxy shown before.  The user may pick another proxy, copy the text or
save it as a file.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Slot
from PySide6.QtGui import (
    QColor,
    QGuiApplication,
    QHelpEvent,
    QSyntaxHighlighter,
    QTextCharFormat,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from engine.kamcfg import ConfigFile, Mark, scenario_configs, script_marks
from engine.scenario import Scenario
from engine.trace import StepKind, TraceStep
from gui import theme
from gui.session import atomic_write
from gui.theme import is_dark, mono_font, syntax


class ConfigHighlighter(QSyntaxHighlighter):
    """Colours Kamailio's config language: comments, strings, keywords, functions, variables."""

    _COMMENT = re.compile(r"#(?!!)")
    _STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
    _KEYWORD = re.compile(
        r"\b(?:if|else|exit|request_route|loadmodule|modparam|listen|alias)\b|^#!KAMAILIO"
    )
    _FUNCTION = re.compile(r"\b([a-z_][a-z0-9_]*)\s*(?=\()")
    _VARIABLE = re.compile(r"\$(?:\(\w+[^)]*\)|\w+(?:\([^)]*\))?)")

    def highlightBlock(self, text: str) -> None:
        for m in self._FUNCTION.finditer(text):
            self.setFormat(m.start(1), len(m.group(1)), syntax("name"))
        for m in self._KEYWORD.finditer(text):
            self.setFormat(m.start(), m.end() - m.start(), syntax("heading", bold=True))
        for m in self._VARIABLE.finditer(text):
            self.setFormat(m.start(), m.end() - m.start(), syntax("param"))
        strings = [m.span() for m in self._STRING.finditer(text)]
        for a, b in strings:
            self.setFormat(a, b - a, syntax("value"))
        for m in self._COMMENT.finditer(text):
            if any(a <= m.start() < b for a, b in strings):
                continue  # a '#' inside a string starts no comment
            self.setFormat(m.start(), len(text) - m.start(), syntax("comment", italic=True))
            break


class ConfigView(QWidget):
    """A proxy picker, Copy and Save buttons, the config text and a line saying what is marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("config-view")
        self.proxy_box = QComboBox()
        self.proxy_box.setObjectName("config-proxy")
        self.proxy_box.setToolTip("The proxy whose kamailio.cfg is shown")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the whole config to the clipboard")
        self.save_button = QPushButton("Save…")
        self.save_button.setToolTip("Save the config as a file")
        self.text = QPlainTextEdit()
        self.text.setObjectName("config-text")
        self.text.setAccessibleName("The proxy's kamailio.cfg")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(mono_font())
        self.note = QLabel()
        self.note.setObjectName("config-note")
        self.note.setWordWrap(True)
        self._highlighter = ConfigHighlighter(self.text.document())
        row = QHBoxLayout()
        row.addWidget(QLabel("Proxy:"))
        row.addWidget(self.proxy_box, 1)
        row.addWidget(self.copy_button)
        row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.note)
        layout.addWidget(self.text, 1)
        self._configs: dict[str, ConfigFile] = {}
        self._says: dict[int, str] = {}
        self.text.viewport().installEventFilter(self)
        self._scenario: Scenario | None = None
        self._observed = False
        self._step: TraceStep | None = None
        self.proxy_box.currentTextChanged.connect(self._on_proxy_box_current_text_changed)
        self.copy_button.clicked.connect(self._on_copy_button_clicked)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self._show()

    @property
    def current(self) -> ConfigFile | None:
        """The config shown, if any."""
        return self._configs.get(self.proxy_box.currentText())

    def set_scenario(self, scenario: Scenario | None, *, observed: bool = False) -> None:
        """Take the proxies of ``scenario`` (None: none); the proxy shown stays when it is
        still there.  ``observed``: the scenario a capture suggests, its proxies' settings
        guessed from the traffic (the note says so)."""
        if scenario is self._scenario and observed == self._observed:
            return
        self._scenario = scenario
        self._observed = observed
        proxies = scenario.proxies if scenario is not None else ()
        configs = scenario_configs(scenario) if scenario is not None else ()
        self._configs = {p.name: c for p, c in zip(proxies, configs, strict=True)}
        shown = self.proxy_box.currentText()
        self.proxy_box.blockSignals(True)
        self.proxy_box.clear()
        self.proxy_box.addItems(list(self._configs))
        if shown in self._configs:
            self.proxy_box.setCurrentText(shown)
        self.proxy_box.blockSignals(False)
        self._show()

    def show_step(self, step: TraceStep | None) -> None:
        """Follow ``step``: its proxy's config with the lines that ran marked."""
        self._step = step
        if step is not None and step.element in self._configs:
            self.proxy_box.blockSignals(True)
            self.proxy_box.setCurrentText(step.element)
            self.proxy_box.blockSignals(False)
        self._show()

    def _show(self) -> None:
        config = self.current
        self._says = {}
        enabled = config is not None
        self.copy_button.setEnabled(enabled)
        self.save_button.setEnabled(enabled)
        if config is None:
            self.text.setPlainText("")
            self.note.setText(
                "The capture suggests no scenario with proxies, so there is no config to show."
                if self._observed
                else "This scenario has no proxies, so there is no config to show."
            )
            return
        if self.text.toPlainText() != config.text:
            self.text.setPlainText(config.text)
        step = self._step
        marks: tuple[Mark, ...] = ()
        if step is not None and step.element == self.proxy_box.currentText():
            marks = script_marks(config.text, step)
        self._says = {m.line: m.says for m in marks}
        lines = tuple(m.line for m in marks)
        self._mark(lines)
        self.note.setText(self._describe(config, step, lines))

    def _describe(self, config: ConfigFile, step: TraceStep | None, lines: tuple[int, ...]) -> str:
        text = self._describe_step(config, step, lines)
        if self._observed:
            return (
                f"{text} Guessed from the capture: the proxy's profile and settings are "
                "RouteLab's reading of the traffic, not its real config."
            )
        return text

    def _describe_step(
        self, config: ConfigFile, step: TraceStep | None, lines: tuple[int, ...]
    ) -> str:
        name = self.proxy_box.currentText()
        if not config.kamailio:
            return f"{name} is not a Kamailio proxy: this is what RouteLab does in its place."
        if step is None or step.element != name:
            return f"The kamailio.cfg that runs {name} as this scenario has it."
        if not lines and step.kind is StepKind.RESPONSE:
            return (
                f"Step {step.index + 1} is a response: it runs no line of {name}'s request_route."
            )
        if not lines:
            return f"Step {step.index + 1}: no line of {name}'s request_route is known to have run."
        count = f"{len(lines)} marked lines" if len(lines) > 1 else "marked line"
        return (
            f"Step {step.index + 1}: the {count} made {name}'s decisions "
            "(hover over one for what it did)."
        )

    def _mark(self, lines: tuple[int, ...]) -> None:
        selections = []
        colour = QColor("#5A4A00" if is_dark() else "#FFF3B0")
        doc = self.text.document()
        for number in lines:
            block = doc.findBlockByNumber(number)
            selection = QTextEdit.ExtraSelection()
            selection.format.setBackground(colour)
            selection.format.setProperty(QTextCharFormat.Property.FullWidthSelection, True)
            cursor = self.text.textCursor()
            cursor.setPosition(block.position())
            selection.cursor = cursor
            selections.append(selection)
        self.text.setExtraSelections(selections)
        if lines:
            cursor = self.text.textCursor()
            cursor.setPosition(doc.findBlockByNumber(lines[0]).position())
            self.text.setTextCursor(cursor)
            self.text.centerCursor()

    def says(self, line: int) -> str | None:
        """What marked line ``line`` (from 0) did at the step; None for a line not marked."""
        return self._says.get(line)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.text.viewport() and event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)
            says = self.says(self.text.cursorForPosition(event.pos()).blockNumber())
            if says is None:
                QToolTip.hideText()
            else:
                # Rich text, so that a long explanation wraps instead of running off screen.
                QToolTip.showText(event.globalPos(), f"<p>{html.escape(says)}</p>", self.text)
            return True
        return super().eventFilter(watched, event)

    def marked_lines(self) -> tuple[int, ...]:
        """The numbers (from 0) of the lines marked now."""
        return tuple(s.cursor.blockNumber() for s in self.text.extraSelections())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            # Light/dark switch: the colours of the text and of the marks follow.
            theme.palette_changed()  # (whichever widget hears of it first)
            self._highlighter.rehighlight()
            self._show()
        super().changeEvent(event)

    @Slot(str)
    def _on_proxy_box_current_text_changed(self, _name: str) -> None:
        self._show()

    @Slot()
    def _on_copy_button_clicked(self) -> None:
        config = self.current
        if config is not None:
            QGuiApplication.clipboard().setText(config.text)
            self.note.setText(f"{config.name} copied to the clipboard.")

    @Slot()
    def _on_save_button_clicked(self) -> None:
        config = self.current
        if config is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save Kamailio config", config.name, "Kamailio config (*.cfg);;All files (*)"
        )
        if path:
            self.save(Path(path))

    def save(self, path: Path) -> bool:
        """Write the config shown to ``path``; a failure is reported in a message box."""
        config = self.current
        if config is None:
            return False
        try:
            atomic_write(path, config.text)
        except OSError as exc:
            QMessageBox.warning(
                self,
                "Cannot save the config",
                f"{path}: {exc.strerror or exc}",
                QMessageBox.StandardButton.Ok,
            )
            return False
        self.note.setText(f"Saved {path}.")
        return True


__all__ = ["ConfigHighlighter", "ConfigView"]
