"""Edit > Paste SIP Message: reading as you type, errors at the user's line and column, the
proxy form, the loose_route() outcome, and opening the closest scenario (pytest-qt)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QSettings, Qt, QUrl
from PySide6.QtGui import QAction, QGuiApplication, QTextDocument
from pytestqt.qtbot import QtBot

from gui.main_window import MainWindow
from gui.paste import PasteDialog, show_dialog

BYE = (
    "BYE sip:bob@192.0.2.20 SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK776asdhds\n"
    "Max-Forwards: 70\n"
    "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n"
    "From: <sip:alice@atlanta.example.com>;tag=1928301774\n"
    "To: <sip:bob@biloxi.example.com>;tag=a6c85cf\n"
    "Call-ID: a84b4c76e66710\n"
    "CSeq: 314160 BYE\n"
)


def _prefixed(prefix: str) -> str:
    return "".join(prefix + line + "\n" for line in BYE.splitlines())


@pytest.fixture
def dialog(qtbot: QtBot) -> PasteDialog:
    dlg = PasteDialog()
    qtbot.addWidget(dlg)
    return dlg


@pytest.fixture
def window(qtbot: QtBot, isolated_settings: QSettings) -> Iterator[MainWindow]:
    win = MainWindow(settings=isolated_settings)
    yield win
    win.session.undo_stack.setClean()
    win.close()
    win.deleteLater()


def test_a_good_message_shows_loose_route_at_once(dialog: PasteDialog) -> None:
    dialog.set_text(BYE)
    assert dialog.error is None
    assert dialog.run is not None
    # The proxy was guessed from the top Route and filled in.
    assert dialog.aliases.toPlainText() == "p1.example.com"
    assert dialog.listen.toPlainText() == "udp:192.0.2.1:5060"
    assert "top Route" in dialog.guess_label.text()
    # A name only: the address is a placeholder, and the label says so.
    assert "192.0.2.1 stands in for an address the text does not give" in (
        dialog.guess_label.text()
    )
    assert dialog.run.fields["rc"] == 1
    assert dialog.run.fields["du"] == "sip:p2.example.com;lr"
    text = dialog.outcome.toPlainText()
    assert "loose_route() = 1" in text
    assert "sip:p2.example.com;lr" in text
    assert "route-is-myself" in text  # the decision steps are listed
    assert "reproduces this loose_route() outcome exactly" in text
    assert dialog.open_button.isEnabled()


@pytest.mark.parametrize(
    "prefix",
    [
        "2026-11-29 10:00:01.123 ",
        "Nov 29 10:00:01 pbx kamailio[123]: ",
        "[2026-11-29 10:00:01.123] ",
        "> ",
        "> > Nov 29 10:00:01 pbx kamailio[123]: ",
    ],
    ids=["timestamp", "syslog", "bracket", "quote", "quote-and-syslog"],
)
def test_log_prefixes_give_the_same_outcome(dialog: PasteDialog, prefix: str) -> None:
    dialog.set_text(BYE)
    assert dialog.run is not None
    plain = dialog.run.fields
    dialog.set_text("a log line before the message\n" + _prefixed(prefix))
    assert dialog.run is not None
    assert dialog.run.fields == plain
    status = dialog.status.text()
    assert "Skipped 1 line before the request line" in status
    assert "stripped" in status


def test_a_message_logged_on_one_line_gives_the_same_outcome(dialog: PasteDialog) -> None:
    dialog.set_text(BYE)
    assert dialog.run is not None
    plain = dialog.run.fields
    logged = BYE.replace("\n", "#015#012") + "#015#012"
    dialog.set_text(f"Nov 29 10:00:01 pbx kamailio[123]: INFO: <script>: got {logged}\n")
    assert dialog.error is None
    assert dialog.run is not None
    assert dialog.run.fields == plain
    status = dialog.status.text()
    assert "The message is on one log line: its #015#012 escapes are read as line ends" in status
    assert "before the request line" in status


def test_wireshark_packet_details_give_the_same_outcome_in_readable_words(
    dialog: PasteDialog,
) -> None:
    dialog.set_text(BYE)
    assert dialog.run is not None
    plain = dialog.run.fields
    tree = "".join(
        f"        {line}\n" + ("            Transport: UDP\n" if line.startswith("Via") else "")
        for line in BYE.splitlines()[1:]
    )
    request_line = BYE.splitlines()[0]
    dialog.set_text(
        "Session Initiation Protocol (BYE)\n"
        f"    Request-Line: {request_line}\n        Method: BYE\n    Message Header\n{tree}"
    )
    assert dialog.run is not None
    assert dialog.run.fields == plain
    # The status is rich text: the apostrophe and '>' show as themselves.
    assert dialog.status.textFormat() == Qt.TextFormat.RichText
    shown = QTextDocument()
    shown.setHtml(dialog.status.text())
    words = shown.toPlainText()
    assert "from Wireshark's packet details" in words
    assert "without the 2 field lines it dissected under them" in words


def test_an_error_in_a_one_line_message_is_underlined_where_the_user_typed_it(
    dialog: PasteDialog,
) -> None:
    logged = BYE.replace("\n", "#015#012").replace("Max-Forwards: 70", "Max-Forwards 70")
    dialog.set_text(f"log: {logged}")
    assert dialog.error is not None
    column = len("log: ") + logged.index("Max-Forwards 70") + 1
    assert (dialog.error.line, dialog.error.column) == (1, column)
    (selection,) = dialog.editor.extraSelections()
    assert selection.cursor.selectionStart() == column - 1


def test_a_bad_message_points_at_the_line_and_column_of_the_paste(
    dialog: PasteDialog,
) -> None:
    prefix = "Nov 29 10:00:01 pbx kamailio[123]: "
    lines = _prefixed(prefix).splitlines()
    lines[3] = prefix + "Route <sip:p1.example.com;lr>"  # the colon is missing
    dialog.set_text("\n".join(lines))
    assert dialog.error is not None
    assert (dialog.error.line, dialog.error.column) == (4, len(prefix) + 1)
    status = dialog.status.text()
    assert f"line 4, column {len(prefix) + 1}" in status
    assert dialog.run is None
    assert not dialog.open_button.isEnabled()
    assert "Nothing to route" in dialog.outcome.toPlainText()
    # The spot is underlined in the text box, on the user's own line.
    (selection,) = dialog.editor.extraSelections()
    assert selection.cursor.blockNumber() == 3
    assert selection.cursor.selectionStart() - selection.cursor.block().position() == len(prefix)
    # The link in the message moves the cursor there.
    dialog._on_status_link_activated(f"goto:4:{len(prefix) + 1}")
    cursor = dialog.editor.textCursor()
    assert (cursor.blockNumber(), cursor.positionInBlock()) == (3, len(prefix))


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("", "nothing pasted"),
        ("hello\n", "not a SIP request"),
        ("INVITE sip:b@x SIP/2.0\n\x00Via: x\n", "control character"),
    ],
    ids=["empty", "junk", "nul"],
)
def test_bad_input_never_raises(dialog: PasteDialog, text: str, what: str) -> None:
    dialog.set_text(text)
    assert dialog.error is not None
    assert what in dialog.error.what
    assert what in dialog.status.text()


OK_WITH_ROUTES = (
    "SIP/2.0 200 OK\n"
    "Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK-p2, SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-p1\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;received=192.0.2.10\n"
    "Record-Route: <sip:192.0.2.2;lr>, <sip:192.0.2.1;lr>\n"
    "From: <sip:alice@atlanta.example.com>;tag=1928301774\n"
    "To: <sip:bob@biloxi.example.com>;tag=a6c85cf\n"
    "Call-ID: a84b4c76e66710\n"
    "CSeq: 1 INVITE\n"
    "Contact: <sip:bob@192.0.2.20:5062>\n"
)


def test_a_response_shows_the_route_sets_and_leads_on_to_the_callers_bye(
    dialog: PasteDialog,
) -> None:
    dialog.set_text(OK_WITH_ROUTES)
    assert dialog.error is None
    assert dialog.run is None
    assert not dialog.open_button.isEnabled()
    assert "Read the response SIP/2.0 200 OK." in dialog.status.text()
    assert "What this response sets up" in dialog.outcome_heading.text()
    shown = dialog.outcome.toPlainText()
    assert "A response: no loose_route()" in shown
    assert "caller's route set" in shown
    assert "<sip:192.0.2.1;lr>" in shown
    assert "Paste the caller's BYE" in shown
    # The link puts the caller's BYE in the text box and reads it at once: loose_route()
    # at the first proxy, 192.0.2.1, guessed from the BYE's top Route.
    dialog._on_outcome_anchor_clicked(QUrl("routelab:next-request"))
    assert dialog.editor.toPlainText().startswith("BYE sip:bob@192.0.2.20:5062 SIP/2.0")
    assert "What loose_route() does with it" in dialog.outcome_heading.text()
    assert dialog.run is not None
    assert dialog.run.fields["rc"] == 1
    assert dialog.run.fields["du"] == "sip:192.0.2.2;lr"
    assert dialog.listen.toPlainText() == "udp:192.0.2.1:5060"
    # One edit: undo brings the response back, nothing the user pasted is lost.
    dialog.editor.undo()
    assert dialog.editor.toPlainText() == OK_WITH_ROUTES


def test_a_response_that_sets_up_no_dialog_says_so(dialog: PasteDialog) -> None:
    dialog.set_text("SIP/2.0 486 Busy Here\nVia: SIP/2.0/UDP x\nCSeq: 1 INVITE\n")
    assert dialog.error is None
    shown = dialog.outcome.toPlainText()
    assert "A 486 sets up no dialog" in shown
    assert "Paste the caller's" not in shown


def test_typing_reads_after_a_pause(dialog: PasteDialog, qtbot: QtBot) -> None:
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.keyClicks(dialog.editor, "OPTIONS sip:192.0.2.7 SIP/2.0")
    qtbot.waitUntil(lambda: dialog.run is not None, timeout=2000)
    assert dialog.run is not None
    assert dialog.run.fields["rc"] == -1  # no Route header
    assert dialog.listen.toPlainText() == "udp:192.0.2.7:5060"


def test_the_users_addresses_win_over_the_guess(dialog: PasteDialog) -> None:
    dialog.set_text(BYE)
    dialog.listen.setPlainText("udp:10.0.0.1:5060")
    dialog.aliases.setPlainText("")
    dialog.refresh()
    assert dialog.form_edited
    assert dialog.run is not None
    # Not this proxy's Route: loose_route() routes to it without removing anything.
    assert dialog.run.fields["du"] == "sip:p1.example.com;lr"
    assert "Your addresses" in dialog.guess_label.text()
    # A new message keeps the user's addresses ...
    dialog.set_text(BYE.replace("p1.example.com", "edge.example.com"))
    assert dialog.listen.toPlainText() == "udp:10.0.0.1:5060"
    # ... until "Guess Again".
    dialog.guess_again()
    assert dialog.aliases.toPlainText() == "edge.example.com"
    assert not dialog.form_edited


def test_a_captures_packet_line_fills_in_where_the_request_arrived(dialog: PasteDialog) -> None:
    dialog.set_text("U 198.51.100.7:5062 -> 203.0.113.5:5060 #3\n" + BYE)
    assert dialog.listen.toPlainText() == "udp:203.0.113.5:5060"
    assert dialog.aliases.toPlainText() == "p1.example.com"
    assert dialog.guess_label.text().startswith(
        "Guessed from line 1 (the request went from 198.51.100.7:5062 to 203.0.113.5:5060 "
        "over UDP) and the top Route"
    )
    assert dialog.built is not None
    assert str(dialog.built.scenario.user_agents[0].address) == "udp:198.51.100.7:5062"
    # The words have a row of their own, as high as their lines.
    dialog.show()
    label = dialog.guess_label
    assert label.height() >= label.heightForWidth(label.width())
    # Text that reads as no request: the guess from the earlier one is not left standing.
    dialog.set_text('hello this is not sip\n{"foo": 1}')
    assert "line 1" in dialog.status.text()
    assert dialog.guess_label.text() == "Nothing to guess from: no request was read."


NGREP_CALL = "".join(
    f"#\nU {src} -> {dst} #{n}\n" + "".join(line + ".\n" for line in lines) + ".\n\n"
    for n, (src, dst, lines) in enumerate(
        [
            ("192.0.2.10:5060", "192.0.2.1:5060", BYE.splitlines()),
            (
                "192.0.2.1:5060",
                "192.0.2.10:5060",
                ["SIP/2.0 200 OK", *BYE.splitlines()[1:2], *BYE.splitlines()[4:]],
            ),
        ],
        start=1,
    )
)


def test_a_pasted_call_opens_as_a_capture(
    window: MainWindow, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    dialog = show_dialog(window)
    dialog.set_text(NGREP_CALL)
    assert dialog.run is not None  # the first request, read as ever
    assert dialog.messages == 2
    assert dialog.capture_button.isVisibleTo(dialog)
    assert "The text holds 2 SIP messages" in dialog.status.text()
    path = dialog.open_all_as_capture()
    assert path is not None
    assert path.parent == tmp_path / "RouteLab" / "pasted"
    assert path.read_text(encoding="utf-8") == NGREP_CALL
    capture = window.capture_actions.dialog
    assert capture is not None
    assert capture.path == path
    capture.close()
    # One message: no button.
    dialog.set_text(BYE)
    assert not dialog.capture_button.isVisibleTo(dialog)
    dialog.close()


def test_a_route_set_pasted_alone_is_wrapped_in_a_request(dialog: PasteDialog) -> None:
    routes = "Route: <sip:192.0.2.1;lr>, <sip:p2.example.com;lr>\n"
    dialog.set_text(routes)
    assert dialog.error is not None
    assert "line 1 is a Route header, not a request line" in dialog.status.text()
    assert '<a href="wrap:">Wrap it in a BYE</a>' in dialog.status.text()
    dialog.status.linkActivated.emit("wrap:")
    assert dialog.error is None
    assert dialog.editor.toPlainText().startswith("BYE sip:callee@192.0.2.20 SIP/2.0\n")
    assert dialog.run is not None
    assert dialog.run.fields["rc"] == 1
    assert dialog.run.fields["du"] == "sip:p2.example.com;lr"
    # One edit: Ctrl+Z brings the Route line back.
    dialog.editor.undo()
    assert dialog.editor.toPlainText() == routes
    # Record-Route lines become a 200 OK, whose reading gives both sides' route sets.
    dialog.set_text("Record-Route: <sip:p2.example.com;lr>\nRecord-Route: <sip:192.0.2.1;lr>\n")
    assert "Wrap it in a 200 OK to an INVITE" in dialog.status.text()
    dialog.wrap_in_message()
    assert dialog.reading is not None
    # Anything else is not offered.
    dialog.set_text("Route: <sip:192.0.2.1;lr>\nVia: SIP/2.0/UDP x\n")
    assert "wrap:" not in dialog.status.text()


def test_a_file_dropped_on_the_text_box_is_read(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    dlg = PasteDialog(open_capture=opened.append)
    qtbot.addWidget(dlg)
    log = tmp_path / "bye.log"
    log.write_text("".join(f"Nov 29 10:00:01 pbx kamailio[812]: {ln}\n" for ln in BYE.splitlines()))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(log))])
    assert dlg.editor.canInsertFromMimeData(mime)
    dlg.editor.insertFromMimeData(mime)
    dlg.refresh()
    assert dlg.run is not None  # the log's request, prefixes stripped
    assert dlg.editor.toPlainText() == log.read_text()
    dlg.editor.undo()  # one edit
    assert dlg.editor.toPlainText() == ""
    # A binary file (a pcap) is no text: it opens as a capture, the box keeps its text.
    dlg.set_text(BYE)
    pcap = tmp_path / "call.pcap"
    pcap.write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + bytes(16))
    mime.setUrls([QUrl.fromLocalFile(str(pcap))])
    dlg.editor.insertFromMimeData(mime)
    assert opened == [str(pcap)]
    assert dlg.editor.toPlainText() == BYE
    # So does a log longer than a paste holds (the whole of it, not its first 256 KiB).
    big = tmp_path / "big.log"
    big.write_text(BYE * 4000)
    mime.setUrls([QUrl.fromLocalFile(str(big))])
    dlg.editor.insertFromMimeData(mime)
    assert opened == [str(pcap), str(big)]
    assert dlg.editor.toPlainText() == BYE
    # A file that cannot be read is said, and nothing typed is lost (the tests run as root,
    # whom no file mode stops: open() refuses instead).
    monkeypatch.setattr("builtins.open", _refuse_open)
    mime.setUrls([QUrl.fromLocalFile(str(log))])
    dlg.editor.insertFromMimeData(mime)
    dlg.refresh()
    assert f"{log}: refused" in dlg.status.text()
    assert dlg.editor.toPlainText() == BYE


def _refuse_open(*_args: object, **_kwargs: object) -> object:
    raise PermissionError(13, "refused")


def test_a_bad_address_is_named(dialog: PasteDialog) -> None:
    dialog.set_text(BYE)
    dialog.listen.setPlainText("udp:192.0.2.1:5060\nudp:proxy.example.com:5060")
    dialog.refresh()
    assert not dialog.proxy_error.isHidden()
    assert "listen line 2" in dialog.proxy_error.text()
    assert dialog.run is None
    assert not dialog.open_button.isEnabled()


def test_route_values_kamailio_cannot_parse_are_flagged(dialog: PasteDialog) -> None:
    dialog.set_text(BYE.replace("<sip:p2.example.com;lr>", "junk"))
    assert dialog.run is not None  # loose_route() still runs and says what it does
    assert "Kamailio cannot parse this Route value" in dialog.status.text()
    assert dialog.editor.extraSelections()


def test_a_request_the_core_would_drop_is_flagged(dialog: PasteDialog) -> None:
    # BYE has no Content-Length, which the core does not need; without CSeq it drops.
    dialog.set_text(BYE.replace("CSeq: 314160 BYE\n", ""))
    assert dialog.run is not None  # what the script would do, had it run
    status = dialog.status.text()
    assert "It has no CSeq header, so Kamailio 5.6.3 drops this request" in status
    assert dialog.editor.extraSelections()


def test_edit_menu_opens_the_dialog_and_the_scenario(window: MainWindow, qtbot: QtBot) -> None:
    action = window.findChild(QAction, "paste-sip-message")
    assert action is window.act_paste_sip
    assert action.shortcut().toString() == "Ctrl+Shift+V"
    QGuiApplication.clipboard().setText(BYE)
    action.trigger()
    dialog = window.findChild(PasteDialog, "paste-dialog")
    assert isinstance(dialog, PasteDialog)
    assert dialog.isVisible()
    assert dialog.editor.toPlainText() == BYE  # taken from the clipboard
    assert dialog.built is not None
    step = dialog.built.step
    with qtbot.waitSignal(dialog.scenario_opened):
        qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    session = window.session
    assert session.scenario is not None
    assert session.scenario.title == "Pasted BYE at the proxy"
    assert session.path is None  # an untitled document
    assert session.step_index == step
    current = session.current
    assert current is not None
    assert current.element == "Proxy"
    assert current.rc == 1
    # The same dialog comes back, with its text.
    assert show_dialog(window) is dialog
    assert dialog.editor.toPlainText() == BYE
    dialog.close()


def test_the_dialog_takes_a_share_of_the_screen(dialog: PasteDialog) -> None:
    room = dialog.screen().availableGeometry().size()
    least = dialog.minimumSizeHint()
    size = dialog.size()
    assert size.width() == max(least.width(), int(room.width() * 0.85))
    assert size.height() == max(least.height(), int(room.height() * 0.85))


def test_the_proxy_error_is_in_the_theme_s_error_colour(dialog: PasteDialog) -> None:
    from gui.theme import error_color

    assert error_color().name() in dialog.proxy_error.styleSheet().lower()
