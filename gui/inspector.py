"""The message inspector: explanation, route set, message in/out, their diff, the config."""

from __future__ import annotations

import difflib
import html
import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QSyntaxHighlighter
from PySide6.QtWidgets import (
    QPlainTextEdit,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine.rr import rc_meaning
from engine.scenario import Scenario
from engine.trace import StepKind, TraceStep
from gui.config_view import ConfigView
from gui.theme import FLAG_STYLES, is_dark, mono_font, rc_text, syntax


class SipHighlighter(QSyntaxHighlighter):
    """Colours a SIP message: start line, header names, Route/Record-Route, URIs, params."""

    _HEADER = re.compile(r"^([A-Za-z0-9.!%*_+`'~-]+)\s*:")
    _URI = re.compile(r"\b(sips?|tel):[^\s>,;]+")
    _PARAM = re.compile(r";(lr|r2|ftag|maddr|transport|ob|gr)\b(=[^;>,\s]*)?", re.IGNORECASE)

    def highlightBlock(self, text: str) -> None:
        if self.currentBlock().blockNumber() == 0:
            self.setFormat(0, len(text), syntax("heading", bold=True))
            return
        m = self._HEADER.match(text)
        if m:
            routing = m.group(1).lower() in ("route", "record-route")
            self.setFormat(0, m.end(1), syntax("name" if routing else "header", bold=True))
        for um in self._URI.finditer(text):
            self.setFormat(um.start(), um.end() - um.start(), syntax("value"))
        for pm in self._PARAM.finditer(text):
            self.setFormat(pm.start(), pm.end() - pm.start(), syntax("param", bold=True))


def message_diff_html(before: str, after: str) -> str:
    """An HTML line diff: removed lines struck through, added lines marked, labelled."""
    a = before.split("\r\n")
    b = after.split("\r\n")
    dark = is_dark()
    red = "#FF8A8A" if dark else "#B00020"
    green = "#7CE38B" if dark else "#1B7F2A"
    rows: list[str] = []

    answered = b[0].startswith("SIP/") and not a[0].startswith("SIP/")

    def label(line: str, added: bool, first: bool) -> str:
        low = line.lower()
        if first and answered:  # a request in, a response out: the element answered it
            return "the answer" if added else "the request it answers"
        if first:
            return "R-URI changed" if added else "old request line"
        if low.startswith("route:"):
            return "Route appended / rewritten" if added else "Route removed"
        if low.startswith("record-route:"):
            return "Record-Route added" if added else "Record-Route removed"
        if low.startswith("via:"):
            return "Via added" if added else "Via removed"
        if low.startswith("max-forwards:"):
            return "Max-Forwards decremented" if added else ""
        return ""

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows.extend(f"<div>&nbsp;&nbsp;{html.escape(line)}</div>" for line in a[i1:i2])
            continue
        for k in range(i1, i2):
            note = label(a[k], False, k == 0)
            rows.append(
                f'<div style="color:{red}">−&nbsp;<s>{html.escape(a[k])}</s>'
                + (f" <i>({note})</i>" if note else "")
                + "</div>"
            )
        for k in range(j1, j2):
            note = label(b[k], True, k == 0)
            rows.append(
                f'<div style="color:{green}">+&nbsp;<b>{html.escape(b[k])}</b>'
                + (f" <i>({note})</i>" if note else "")
                + "</div>"
            )
    return f'<div style="font-family: monospace; white-space: pre">{"".join(rows)}</div>'


def explanation_html(step: TraceStep, total: int) -> str:
    """The explanation of one step in plain English."""
    parts = [f"<h3>Step {step.index + 1} of {total}: {html.escape(step.label or step.method)}</h3>"]
    if step.kind is StepKind.RESPONSE and step.next_element:
        parts.append(
            f"<p><b>{html.escape(step.element)}</b> passes the {step.status or ''} response "
            f"back along the Via path to <b>{html.escape(step.next_element)}</b>.</p>"
        )
    elif step.kind is StepKind.RESPONSE:
        parts.append(
            f"<p><b>{html.escape(step.element)}</b> receives the {step.status or ''} response: "
            "it has reached the end of the Via path.</p>"
        )
    else:
        name = f"<b>{html.escape(step.element)}</b>"
        method = html.escape(step.method)
        target = (
            f"<b>{html.escape(step.next_element)}</b>"
            + (f" ({html.escape(step.next_hop)})" if step.next_hop else "")
            if step.next_element
            else ""
        )
        if step.kind is StepKind.UAC:
            sentence = f"{name} sends the {method}" + (f" to {target}" if target else "")
        elif step.kind is StepKind.UAS:
            sentence = f"{name} receives the {method}" + (
                f" and answers towards {target}" if target else ""
            )
        elif step.status is not None:  # the proxy answers the request itself
            answer = step.message_out.split("\r\n", 1)[0].removeprefix("SIP/2.0 ")
            sentence = f"{name} processes the {method} and answers <b>{html.escape(answer)}</b>"
            if step.next_element:
                sentence += f", back along the Via path to <b>{html.escape(step.next_element)}</b>"
        else:
            sentence = f"{name} processes the {method}" + (
                f" and sends it to {target}" if target else ""
            )
        parts.append(f"<p>{sentence}.</p>")
    for call in step.rr_calls:
        meaning = call.meaning or rc_meaning(call.call, call.rc)
        parts.append(
            f"<p><code>{html.escape(call.call)}</code> returned <b>{rc_text(call.rc)}</b>"
            + (f": {html.escape(meaning)}" if meaning else "")
            + "</p><ol>"
        )
        parts.extend(
            f"<li>{html.escape(d.text)} "
            f"<span style='color:gray'>[{html.escape(d.rule)}]</span></li>"
            for d in call.decisions
        )
        parts.append("</ol>")
    if step.note:
        parts.append(f"<p>{html.escape(step.note)}</p>")
    if step.flags:
        parts.append("<p><b>Marks at this step</b></p><ul>")
        parts.extend(
            f"<li><b>{html.escape(FLAG_STYLES[f].symbol)} {html.escape(FLAG_STYLES[f].title)}</b>: "
            f"{html.escape(FLAG_STYLES[f].explanation)}</li>"
            for f in step.flags
        )
        parts.append("</ul>")
    changes = []
    if step.ruri_before != step.ruri_after and step.ruri_after:
        changes.append(
            f"R-URI {html.escape(step.ruri_before)} → <b>{html.escape(step.ruri_after)}</b>"
        )
    if step.du_before != step.du_after:
        changes.append(
            f"$du {html.escape(step.du_before or '(unset)')} → "
            f"<b>{html.escape(step.du_after or '(unset)')}</b>"
        )
    if step.forced_socket:
        changes.append(f"send socket forced to <b>{html.escape(step.forced_socket)}</b>")
    if changes:
        parts.append("<p>" + "<br>".join(changes) + "</p>")
    return "".join(parts)


def route_set_html(step: TraceStep) -> str:
    """The route set as received, with consumed and appended entries marked."""
    removed = list(step.routes_removed)
    rows = ["<p><b>Route set as received</b> (top first)</p><ol>"]
    if not step.routes_before:
        rows.append("<li><i>no Route header</i></li>")
    for route in step.routes_before:
        if route in removed:
            removed.remove(route)
            rows.append(f"<li><s>{html.escape(route)}</s> <b>← consumed here</b></li>")
        else:
            rows.append(f"<li>{html.escape(route)}</li>")
    rows.append("</ol><p><b>Route set as sent</b></p><ol>")
    if not step.routes_after:
        rows.append("<li><i>no Route header</i></li>")
    for route in step.routes_after:
        mark = " <b>← appended (old R-URI)</b>" if route == step.route_appended else ""
        rows.append(f"<li>{html.escape(route)}{mark}</li>")
    rows.append("</ol>")
    if step.record_routes_added:
        rows.append("<p><b>Record-Route added</b></p><ol>")
        rows.extend(f"<li>{html.escape(r)}</li>" for r in step.record_routes_added)
        rows.append("</ol>")
    return "".join(rows)


class Inspector(QWidget):
    """Explanation on top, then tabs: diff, message in, message out, route set and the
    proxy's kamailio.cfg."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self.explanation = QTextBrowser()
        self.explanation.setObjectName("explanation")
        self.explanation.setOpenExternalLinks(False)
        self.tabs = QTabWidget()
        self.message_in = self._message_view("message-in")
        self.message_out = self._message_view("message-out")
        self.diff = QTextBrowser()
        self.diff.setObjectName("diff")
        self.route_set = QTextBrowser()
        self.route_set.setObjectName("route-set")
        self.config = ConfigView()
        # Short names, so that the five tabs fit a narrow dock (1024 px wide windows); the
        # tool tips say them in full.  Narrower still, the titles shorten rather than
        # hiding the last tabs behind scroll arrows.
        self.tabs.setObjectName("inspector-tabs")
        self.tabs.setAccessibleName("Details of the hop")
        self.tabs.setUsesScrollButtons(False)
        self.tabs.setElideMode(Qt.TextElideMode.ElideRight)
        for widget, name, tip in (
            (self.diff, "Changes", "Changes: what the element changed in the message"),
            (self.message_in, "In", "Message in: the message as it reached the element"),
            (self.message_out, "Out", "Message out: the message as the element sent it on"),
            (self.route_set, "Routes", "Route set: the Route headers and the dialog's route sets"),
            (
                self.config,
                "Config",
                "Config: the kamailio.cfg of the proxy, the lines of this step marked",
            ),
        ):
            self.tabs.setTabToolTip(self.tabs.addTab(widget, name), tip)
            widget.setAccessibleName(tip)
        self.explanation.setAccessibleName("What happened at this hop, and why")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.explanation)
        splitter.addWidget(self.tabs)
        # The explanation is what the app is for: it gets the larger share (3:2).
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([300, 200])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self._step: TraceStep | None = None
        self._filled: set[int] = set()
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)
        self._highlighters = [
            SipHighlighter(self.message_in.document()),
            SipHighlighter(self.message_out.document()),
        ]

    def _message_view(self, name: str) -> QPlainTextEdit:
        view = QPlainTextEdit()
        view.setObjectName(name)
        view.setReadOnly(True)
        view.setFont(mono_font())
        view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        return view

    def set_scenario(self, scenario: Scenario | None, *, observed: bool = False) -> None:
        """The scenario whose proxies the Config tab shows; ``observed``: the one a capture
        suggests, beside the observed trace."""
        self.config.set_scenario(scenario, observed=observed)
        self._filled.discard(self.tabs.indexOf(self.config))
        self._fill(self.tabs.currentIndex())

    def show_step(self, step: TraceStep | None, total: int) -> None:
        """Show one step (or clear).  Only the visible tab is filled now; the others
        when they are opened, so stepping stays fast."""
        self._step = step
        self._filled = set()
        if step is None:
            self.explanation.setHtml("<p>Select a step in the timeline or press Next.</p>")
        else:
            self.explanation.setHtml(explanation_html(step, total))
        self._fill(self.tabs.currentIndex())

    def _on_tabs_current_changed(self, index: int) -> None:
        self._fill(index)

    def _fill(self, index: int) -> None:
        if index in self._filled or index < 0:
            return
        self._filled.add(index)
        step = self._step
        widget = self.tabs.widget(index)
        if widget is self.diff:
            if step is None:
                self.diff.setHtml("")
            elif step.message_in and step.message_out:
                self.diff.setHtml(message_diff_html(step.message_in, step.message_out))
            else:
                self.diff.setHtml(
                    "<p><i>Only one message at this step: see the In and Out tabs.</i></p>"
                )
        elif widget is self.message_in:
            self.message_in.setPlainText(step.message_in.replace("\r\n", "\n") if step else "")
        elif widget is self.message_out:
            self.message_out.setPlainText(step.message_out.replace("\r\n", "\n") if step else "")
        elif widget is self.route_set:
            self.route_set.setHtml(route_set_html(step) if step else "")
        elif widget is self.config:
            self.config.show_step(step)
