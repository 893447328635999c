"""Edit > Paste SIP Message: read a request from a capture, a log or an email, show what
``loose_route()`` does with it at once, and open it as a scenario.

The dialog reads the text as it is typed (after a short pause): a parse error names the
line and column *of the pasted text*, log prefixes included, and underlines the spot; the
receiving proxy's form is filled with the addresses guessed from the request until the user
edits it; the outcome panel shows the return code, R-URI, ``$du``, the Route set and every
decision step.  All the reading and routing is :mod:`engine.paste`; this module only shows it.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QColor,
    QGuiApplication,
    QKeySequence,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from engine.batch import VectorRun
from engine.errors import EngineError, SipParseError
from engine.paste import (
    MAX_PASTE,
    PLACEHOLDER_V4,
    PastedRequest,
    PastedResponse,
    PastedScenario,
    ResponseReading,
    build_proxy,
    closest_scenario,
    guess_proxy,
    read_pasted_message,
    read_response,
    run_loose_route,
    wrap_route_set,
)
from engine.proxy import Proxy
from engine.rr import RC_MEANING
from engine.scenario import dumps
from gui.capture import text_messages
from gui.drops import dropped_file
from gui.errors import data_dir
from gui.theme import ErrorLabel, error_color, is_dark, rc_text

if TYPE_CHECKING:
    from gui.main_window import MainWindow

DELAY_MS = 150
PLACEHOLDER = (
    "Paste a SIP request here: from a capture (Wireshark's packet details, ngrep, "
    "tcpdump -A, sngrep), a log (time stamps and syslog prefixes are removed; a message "
    "logged on one line with #015#012 or \\r\\n is split) or an email ('> ' quoting is "
    "removed). A response shows the route sets it sets up; Route lines alone can be wrapped "
    "in a request; a whole call opens as a capture.\n\n"
    "BYE sip:bob@192.0.2.20 SIP/2.0\n"
    "To: <sip:bob@biloxi.example.com>;tag=8321234356\n"
    "From: <sip:alice@atlanta.example.com>;tag=9fxced76sl\n"
    "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n"
)


def _mono(widget: QWidget) -> None:
    from PySide6.QtGui import QFontDatabase

    widget.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))


def _lines(edit: QPlainTextEdit) -> list[str]:
    return [ln.strip() for ln in edit.toPlainText().splitlines() if ln.strip()]


def outcome_html(run: VectorRun, pasted: PastedRequest) -> str:
    """The loose_route() outcome for people: return code, the request as it leaves, why."""
    esc = html.escape
    f = run.fields
    rc = f.get("rc")
    meaning = RC_MEANING.get(rc, "") if isinstance(rc, int) else ""
    code = "#7FD1FF" if is_dark() else "#005A9C"

    def mono(text: str) -> str:
        return f'<span style="font-family: monospace; color: {code}">{esc(text)}</span>'

    rows: list[tuple[str, str]] = [
        ("R-URI", mono(f["ruri"])),
        ("$du", mono(f["du"]) if f["du"] is not None else "<i>unset</i>"),
        ("forced socket", mono(f["fs"]) if f["fs"] is not None else "<i>none</i>"),
        ("Route", "<br>".join(mono(r) for r in f["routes"]) or "<i>none left</i>"),
    ]
    removed = [r for res in run.results for r in res.removed]
    if removed:
        rows.append(("removed", "<br>".join(mono(r) for r in removed)))
    appended = [res.appended for res in run.results if res.appended]
    if appended:
        rows.append(("appended", mono(appended[0])))
    table = "".join(
        f'<tr><td style="padding-right: 12px"><b>{esc(k)}</b></td><td>{v}</td></tr>'
        for k, v in rows
    )
    steps = "".join(
        f"<li>{esc(s.text)} <span style='color: gray'>[{esc(s.rule)}]</span></li>"
        for res in run.results
        for s in res.steps
    )
    req = pasted.request
    parts = [
        f"<h3>loose_route() = {esc(rc_text(rc) if isinstance(rc, int) else '?')}</h3>",
        f"<p>{esc(meaning)}</p>" if meaning else "",
        f"<p>{esc(req.method)} {mono(req.uri)} at the proxy"
        + (" (in-dialog: To has a tag)" if pasted.in_dialog else " (initial: no To tag)")
        + "</p>",
        f"<table>{table}</table>",
        "<p><b>Why</b></p>",
        f"<ol>{steps}</ol>",
    ]
    return "".join(parts)


NEXT_REQUEST_LINK = "routelab:next-request"
OUTCOME_HEADING = "<b>What loose_route() does with it</b>"
RESPONSE_HEADING = "<b>What this response sets up</b>"


def response_html(reading: ResponseReading) -> str:
    """What a pasted response sets up, for people: sentences, both route sets, and a link
    to the caller's next request."""
    esc = html.escape
    code = "#7FD1FF" if is_dark() else "#005A9C"

    def mono(text: str) -> str:
        return f'<span style="font-family: monospace; color: {code}">{esc(text)}</span>'

    parts = ["<h3>A response: no loose_route()</h3>"]
    parts.append("".join(f"<p>{esc(sentence)}</p>" for sentence in reading.sentences))
    if reading.dialog:
        rows = [
            ("caller's route set", reading.caller.header_values()),
            ("callee's route set", reading.callee.header_values()),
        ]
        if reading.plan is not None:
            rows.append((f"caller's {reading.next_method} R-URI", (reading.plan.request_uri,)))
            rows.append((f"caller's {reading.next_method} Route", reading.plan.routes))
        table = "".join(
            f'<tr><td style="padding-right: 12px"><b>{esc(name)}</b></td>'
            f"<td>{'<br>'.join(mono(v) for v in values) or '<i>empty</i>'}</td></tr>"
            for name, values in rows
        )
        parts.append(f"<table>{table}</table>")
    if reading.next_request is not None:
        parts.append(
            f'<p><a href="{NEXT_REQUEST_LINK}">Paste the caller\'s {esc(reading.next_method)}'
            "</a> in place of this response to see what loose_route() does with it at the "
            "first proxy (Ctrl+Z brings the response back).</p>"
        )
    return "".join(parts)


def scenario_html(built: PastedScenario | None, error: str = "") -> str:
    """What "Open as Scenario" will open, and how faithful it is."""
    esc = html.escape
    if built is None:
        return f"<p><b>As a scenario:</b> {esc(error or 'not available')}</p>"
    if built.differences:
        items = "".join(f"<li>{esc(d)}</li>" for d in built.differences)
        head = (
            "<p><b>As a scenario:</b> the closest scenario differs from the pasted request:</p>"
            f"<ul>{items}</ul>"
        )
    else:
        where = f" (step {built.step + 1})" if built.step is not None else ""
        head = (
            "<p><b>As a scenario:</b> Caller → Proxy → Next hop; the proxy's step"
            f"{where} reproduces this loose_route() outcome exactly.</p>"
        )
    notes = "".join(f"<li>{esc(n)}</li>" for n in built.notes)
    return head + (f"<ul style='color: gray'>{notes}</ul>" if notes else "")


def replace_text(edit: QPlainTextEdit, text: str) -> None:
    """Put ``text`` in place of the box's in one edit, which Ctrl+Z takes back."""
    cursor = QTextCursor(edit.document())
    cursor.select(QTextCursor.SelectionType.Document)
    cursor.insertText(text)


def fit_to_screen(dialog: QWidget, share: float) -> None:
    """Size ``dialog`` to ``share`` of the available screen (its parent's screen, else its
    own), never below what its layout needs (its minimum size hint)."""
    parent = dialog.parentWidget()
    screen = parent.screen() if parent is not None else dialog.screen()
    room = screen.availableGeometry().size()
    least = dialog.minimumSizeHint()
    dialog.resize(
        max(least.width(), int(room.width() * share)),
        max(least.height(), int(room.height() * share)),
    )


class PasteEdit(QPlainTextEdit):
    """The text box: a file dropped on it puts its text in place of the box's (one undoable
    edit); a binary one (a pcap), or one longer than a paste holds, goes to ``open_binary``."""

    def __init__(self, open_binary: Callable[[str], object] | None = None) -> None:
        super().__init__()
        self.open_binary = open_binary
        self.dropped_error = ""  # why the last dropped file could not be read

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return dropped_file(source) is not None or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        path = dropped_file(source)
        if path is None:
            super().insertFromMimeData(source)
            return
        self.dropped_error = ""
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_PASTE + 1)
        except OSError as exc:
            self.dropped_error = f"{path}: {exc.strerror or exc}"
            self.textChanged.emit()  # read again, to say so
            return
        if b"\x00" in data[:4096] or len(data) > MAX_PASTE:
            # A capture, or more than a paste holds: the whole file is read as a capture.
            if self.open_binary is not None:
                self.open_binary(str(path))
            else:
                what = "is not text" if b"\x00" in data[:4096] else "is too long to paste"
                self.dropped_error = f"{path.name} {what}: open it with File > Open Capture"
                self.textChanged.emit()
            return
        replace_text(self, data.decode("utf-8", "replace"))


class PasteDialog(QDialog):
    """The Paste SIP Message dialog.  ``scenario_opened`` fires after "Open as Scenario"."""

    scenario_opened = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        open_scenario: Callable[[PastedScenario], bool] | None = None,
        open_capture: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("paste-dialog")
        self.setWindowTitle("Paste SIP Message")
        self.open_scenario = open_scenario
        self.open_capture = open_capture
        self.messages = 0  # how many SIP messages the text holds, read as a capture
        self.pasted: PastedRequest | None = None
        self.proxy: Proxy | None = None
        self.run: VectorRun | None = None
        self.built: PastedScenario | None = None
        self.error: SipParseError | None = None
        self.reading: ResponseReading | None = None  # when a response was pasted
        # A Route set pasted alone: what it can be wrapped in, and the message.
        self.wrapped: tuple[str, str] | None = None
        self.form_edited = False
        self._filling = False

        self.editor = PasteEdit(open_capture)
        self.editor.setObjectName("paste-editor")
        self.editor.setAccessibleName("The pasted SIP message")
        self.editor.setPlaceholderText(PLACEHOLDER)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        _mono(self.editor)
        self.status = QLabel("Paste a request.")
        self.status.setObjectName("paste-status")
        self.status.setWordWrap(True)
        # Always rich text: what it says is escaped HTML (Qt's guess takes an escaped quote
        # in a plain sentence for text and shows "&#x27;").
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.status.linkActivated.connect(self._on_status_link_activated)

        self.listen = QPlainTextEdit()
        self.listen.setObjectName("paste-listen")
        self.aliases = QPlainTextEdit()
        self.aliases.setObjectName("paste-aliases")
        for edit, name, tip in (
            (
                self.listen,
                "Listen sockets of the receiving proxy",
                "One listen socket a line: proto:address:port [advertise host:port]",
            ),
            (
                self.aliases,
                "Aliases of the receiving proxy",
                "One alias a line: [proto:]host[:port]",
            ),
        ):
            _mono(edit)
            edit.setToolTip(tip)
            edit.setAccessibleName(name)
            edit.setMaximumHeight(64)
            edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.guess_label = QLabel()
        self.guess_label.setObjectName("paste-guess")
        self.guess_label.setWordWrap(True)
        self.proxy_error = ErrorLabel()  # (a dark red, or a light one on a dark palette)
        self.proxy_error.setObjectName("paste-proxy-error")
        self.proxy_error.setWordWrap(True)
        self.proxy_error.hide()
        guess_again = QPushButton("Guess Again")
        guess_again.setToolTip(
            "Fill the addresses in from the request's top Route or R-URI, and from the "
            "capture's line about the packet when it names where the request went"
        )
        guess_again.clicked.connect(self.guess_again)

        box = QGroupBox("Receiving proxy")
        form = QFormLayout(box)
        form.addRow("Listen", self.listen)
        form.addRow("Aliases", self.aliases)
        # The guess's words get a row of their own: a word-wrapped label beside a button
        # in a nested layout is not given the height of its lines.
        form.addRow(self.guess_label)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(guess_again)
        form.addRow(row)
        form.addRow(self.proxy_error)

        self.outcome = QTextBrowser()
        self.outcome.setObjectName("paste-outcome")
        self.outcome.setAccessibleName("What loose_route() does with it")
        self.outcome.setOpenLinks(False)
        self.outcome.anchorClicked.connect(self._on_outcome_anchor_clicked)

        left = QWidget()
        lay = QVBoxLayout(left)
        lay.setContentsMargins(0, 0, 0, 0)
        heading = QLabel(
            "<b>Request</b>: paste it as it was captured, logged or mailed; what is not part "
            "of the message is left out, and the line below says what."
        )
        heading.setWordWrap(True)
        lay.addWidget(heading)
        lay.addWidget(self.editor, 1)
        lay.addWidget(self.status)
        right = QWidget()
        lay = QVBoxLayout(right)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(box)
        self.outcome_heading = QLabel(OUTCOME_HEADING)
        lay.addWidget(self.outcome_heading)
        lay.addWidget(self.outcome, 1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.open_button = buttons.addButton(
            "Open as Scenario", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.open_button.setObjectName("paste-open")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_as_scenario)
        self.capture_button = buttons.addButton(
            "Open All as Capture", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.capture_button.setObjectName("paste-open-capture")
        self.capture_button.setToolTip(
            "Read every message of the text as a capture: pick the call, follow it hop by hop"
        )
        self.capture_button.hide()
        self.capture_button.clicked.connect(self.open_all_as_capture)
        buttons.rejected.connect(self.reject)

        top = QVBoxLayout(self)
        top.addWidget(split, 1)
        top.addWidget(buttons)
        fit_to_screen(self, 0.85)

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DELAY_MS)
        self.timer.timeout.connect(self.refresh)
        self.editor.textChanged.connect(self.timer.start)
        self.listen.textChanged.connect(self._on_form_text_changed)
        self.aliases.textChanged.connect(self._on_form_text_changed)

    # ------------------------------------------------------------------ input

    def set_text(self, text: str) -> None:
        """Put a message into the text box and read it at once."""
        self.editor.setPlainText(text)
        self.refresh()

    @Slot()
    def _on_form_text_changed(self) -> None:
        if not self._filling:
            self.form_edited = True
            self.timer.start()

    def guess_again(self) -> None:
        """Forget the user's addresses and take the guess from the request again."""
        self.form_edited = False
        self.refresh()

    def _fill_form(self, listen: tuple[str, ...], aliases: tuple[str, ...]) -> None:
        self._filling = True
        try:
            self.listen.setPlainText("\n".join(listen))
            self.aliases.setPlainText("\n".join(aliases))
        finally:
            self._filling = False

    # ---------------------------------------------------------------- reading

    def refresh(self) -> None:
        """Read the text, guess or read the proxy, run loose_route() and show the outcome."""
        self.timer.stop()
        self.pasted = self.run = self.built = None
        self.proxy = None
        self.error = None
        self.open_button.setEnabled(False)
        self.editor.setExtraSelections([])
        self.reading = None
        self.wrapped = None
        self.outcome_heading.setText(OUTCOME_HEADING)
        text = self.editor.toPlainText()
        if self.editor.dropped_error:
            self._show_error(SipParseError(self.editor.dropped_error))
            self.editor.dropped_error = ""
            return
        self.messages = text_messages(text) if self.open_capture is not None else 0
        self.capture_button.setVisible(self.messages > 1)
        try:
            pasted = read_pasted_message(text)
        except SipParseError as exc:
            self._show_error(exc)
            return
        if isinstance(pasted, PastedResponse):
            self._show_response(pasted)
            return
        self.pasted = pasted
        request = pasted.request
        if not self.form_edited:
            guess = guess_proxy(request, pasted.clean.packet)
            self._fill_form(guess.listen, guess.aliases)
            self.guess_label.setText(
                f"Guessed from {guess.source}."
                + (
                    f" {PLACEHOLDER_V4} stands in for an address the text does not give."
                    if guess.placeholder
                    else ""
                )
            )
        else:
            self.guess_label.setText("Your addresses.")
        self._show_read(self.pasted)
        try:
            self.proxy = build_proxy(_lines(self.listen), _lines(self.aliases))
        except EngineError as exc:
            self.proxy_error.setText(str(exc))
            self.proxy_error.show()
            self.outcome.setHtml("<p>Give the proxy's addresses to see loose_route().</p>")
            return
        self.proxy_error.hide()
        try:
            self.run = run_loose_route(request, self.proxy)
        except EngineError as exc:  # pragma: no cover - a parsed request and a valid proxy
            self.outcome.setHtml(f"<p>{html.escape(str(exc))}</p>")
            return
        error = ""
        try:
            self.built = closest_scenario(self.pasted, self.proxy)
        except EngineError as exc:
            error = str(exc)
        self.open_button.setEnabled(self.built is not None)
        self.open_button.setToolTip(
            "Open Caller → Proxy → Next hop in the main window" if self.built is not None else error
        )
        self.outcome.setHtml(outcome_html(self.run, self.pasted) + scenario_html(self.built, error))

    def _show_read(self, pasted: PastedRequest) -> None:
        req = pasted.request
        parts = [f"Read {html.escape(req.method)} {html.escape(req.uri)}."]
        cleaned = pasted.clean.describe()
        if cleaned:
            parts.append(html.escape(cleaned[:1].upper() + cleaned[1:]) + ".")
        if self.messages > 1:
            parts.append(
                f"The text holds {self.messages} SIP messages: only the first request is read "
                "here; Open All as Capture follows the whole call."
            )
        warn = "#F5C242" if is_dark() else "#8A4B00"
        for w in pasted.warnings:
            parts.append(
                f'<br><span style="color: {warn}">{self._link(w)}: Kamailio cannot parse this '
                f"Route value ({html.escape(w.what)}).</span>"
            )
        if pasted.dropped is not None:
            parts.append(
                f'<br><span style="color: {warn}">{self._link(pasted.dropped)}: '
                f"{html.escape(pasted.dropped.what[:1].upper() + pasted.dropped.what[1:])}, so "
                "Kamailio 5.6.3 drops this request before its script runs; the outcome shows "
                "what the script would do if the request got that far.</span>"
            )
        shown = (*pasted.warnings, *(() if pasted.dropped is None else (pasted.dropped,)))
        self._underline(shown, QColor(warn))
        self.status.setText(" ".join(parts))

    def _link(self, exc: SipParseError) -> str:
        where = f"line {exc.line}" + (f", column {exc.column}" if exc.column else "")
        return f'<a href="goto:{exc.line}:{exc.column or 1}">{where}</a>'

    def _show_error(self, exc: SipParseError) -> None:
        self.error = exc
        color = error_color().name()
        if exc.line is not None:
            said = f'<span style="color: {color}">{self._link(exc)}: {html.escape(exc.what)}</span>'
            self._underline((exc,), QColor(color))
        else:
            said = f'<span style="color: {color}">{html.escape(exc.what)}</span>'
        self.wrapped = wrap_route_set(self.editor.toPlainText())
        if self.wrapped is not None:
            said += (
                f'. <a href="wrap:">Wrap it in {self.wrapped[0]}</a> to see what loose_route() '
                "does with it (Ctrl+Z takes the text back)."
            )
        self.status.setText(said)
        self.outcome.setHtml("<p>Nothing to route yet.</p>")
        if not self.form_edited:
            # The addresses guessed from an earlier text say nothing about this one.
            self.guess_label.setText("Nothing to guess from: no request was read.")

    def wrap_in_message(self) -> None:
        """Put the Route or Record-Route lines pasted alone into a message that carries them.

        One edit of the text box, so Ctrl+Z brings the lines back.
        """
        if self.wrapped is None:
            return
        replace_text(self.editor, self.wrapped[1])
        self.refresh()

    def _show_response(self, pasted: PastedResponse) -> None:
        """A response: no loose_route(), but the route sets it sets up, and a way on to the
        caller's next request."""
        self.reading = read_response(pasted.response)
        parts = [f"Read the response {html.escape(pasted.response.start_line)}."]
        cleaned = pasted.clean.describe()
        if cleaned:
            parts.append(html.escape(cleaned[:1].upper() + cleaned[1:]) + ".")
        self.status.setText(" ".join(parts))
        self.guess_label.setText("A response reaches no loose_route().")
        self.outcome_heading.setText(RESPONSE_HEADING)
        self.outcome.setHtml(response_html(self.reading))

    @Slot(QUrl)
    def _on_outcome_anchor_clicked(self, url: QUrl) -> None:
        if url.toString() == NEXT_REQUEST_LINK:
            self.paste_next_request()

    def paste_next_request(self) -> None:
        """Put the caller's next in-dialog request in place of the pasted response.

        One edit of the text box, so Ctrl+Z brings the response back.
        """
        if self.reading is None or self.reading.next_request is None:
            return
        replace_text(self.editor, self.reading.next_request.replace("\r\n", "\n"))
        self.refresh()

    def _cursor_at(self, line: int, column: int) -> QTextCursor:
        doc = self.editor.document()
        block = doc.findBlockByNumber(max(line - 1, 0))
        if not block.isValid():
            block = doc.lastBlock()
        cursor = QTextCursor(block)
        cursor.setPosition(block.position() + min(max(column - 1, 0), max(block.length() - 1, 0)))
        return cursor

    def _underline(self, errors: tuple[SipParseError, ...], color: QColor) -> None:
        selections = []
        for exc in errors:
            if exc.line is None:
                continue
            sel = QTextEdit.ExtraSelection()
            cursor = self._cursor_at(exc.line, exc.column or 1)
            if exc.column is None or cursor.atBlockEnd():
                cursor.movePosition(QTextCursor.MoveOperation.StartOfBlock)
                cursor.movePosition(
                    QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor
                )
            else:
                cursor.movePosition(
                    QTextCursor.MoveOperation.EndOfWord, QTextCursor.MoveMode.KeepAnchor
                )
                if not cursor.hasSelection():
                    cursor.movePosition(
                        QTextCursor.MoveOperation.NextCharacter, QTextCursor.MoveMode.KeepAnchor
                    )
            fmt = QTextCharFormat()
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(color)
            back = QColor(color)
            back.setAlpha(50)
            fmt.setBackground(back)
            sel.cursor = cursor
            sel.format = fmt
            selections.append(sel)
        self.editor.setExtraSelections(selections)

    @Slot(str)
    def _on_status_link_activated(self, link: str) -> None:
        if link == "wrap:":
            self.wrap_in_message()
            return
        _, line, column = [*link.split(":"), "1", "1"][:3]
        try:
            cursor = self._cursor_at(int(line), int(column))
        except ValueError:  # pragma: no cover - we write these links
            return
        self.editor.setTextCursor(cursor)
        self.editor.setFocus()

    # ---------------------------------------------------------------- opening

    def open_all_as_capture(self) -> Path | None:
        """Keep the text as a capture file (in RouteLab's data folder, so that it can be
        opened again) and open it in the capture dialog; the file's path, None on failure."""
        if self.open_capture is None:
            return None
        folder = data_dir() / "pasted"
        path = folder / f"pasted-{datetime.now():%Y%m%d-%H%M%S-%f}.txt"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(self.editor.toPlainText(), encoding="utf-8")
        except OSError as exc:
            QMessageBox.warning(
                self, "Open All as Capture", f"Cannot keep the text in {path}: {exc.strerror}"
            )
            return None
        self.open_capture(str(path))
        return path

    def open_as_scenario(self) -> None:
        """Hand the closest scenario to the window, and close on success."""
        if self.built is None or self.open_scenario is None:
            return
        if self.open_scenario(self.built):
            self.scenario_opened.emit()
            self.accept()


def open_in_window(window: MainWindow, built: PastedScenario) -> bool:
    """Open a pasted request's scenario in the main window, at the proxy's step."""
    if not window.maybe_save():
        return False
    if not window.session.open_text(dumps(built.scenario)):
        return False
    window.session.set_step(built.step if built.step is not None else 0)
    window.view.fit()
    return True


def show_dialog(window: MainWindow) -> PasteDialog:
    """Show the (one) paste dialog; a SIP message on the clipboard is put in at once."""
    dialog = window.findChild(PasteDialog, "paste-dialog")
    if not isinstance(dialog, PasteDialog):
        dialog = PasteDialog(
            window,
            lambda built: open_in_window(window, built),
            window.capture_actions.open,
        )
    clip = QGuiApplication.clipboard().text()
    if not dialog.editor.toPlainText().strip() and "SIP/2.0" in clip:
        dialog.set_text(clip)
    if dialog.isVisible() and QGuiApplication.platformName() != "offscreen":
        dialog.raise_()  # (the offscreen platform cannot raise a window, and says so)
    dialog.show()
    dialog.activateWindow()
    return dialog


def install_menu(window: MainWindow, edit_menu: QMenu) -> QAction:
    """Add Edit > Paste SIP Message… (Ctrl+Shift+V)."""
    action = QAction("Paste SIP &Message…", window)
    action.setObjectName("paste-sip-message")
    action.setShortcut(QKeySequence("Ctrl+Shift+V"))
    action.setStatusTip("Build a scenario from a SIP request copied from a capture, log or email")
    action.setToolTip("Paste SIP Message (Ctrl+Shift+V)")
    action.triggered.connect(lambda: show_dialog(window))
    window.addAction(action)
    edit_menu.addAction(action)
    return action


__all__ = ["PasteDialog", "install_menu", "open_in_window", "outcome_html", "show_dialog"]
