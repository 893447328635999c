"""engine/logtext.py: the forms a message takes in logs and captures beyond prefixed lines.

One log line with escaped line ends (rsyslog's #015#012, JSON's and repr()'s \\r\\n), free
words before the request line (Kamailio's own log text), journalctl's continuation lines,
and Wireshark's packet details.  Each reads as the plain message does, and every position
in the cleaned text maps back to the same character of the user's text.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import SipParseError
from engine.logtext import ESCAPED, LINES, WIRESHARK, CleanText, clean
from engine.paste import read_pasted

BYE = [
    "BYE sip:bob@192.0.2.20 SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK776asdhds",
    "Max-Forwards: 70",
    "Route: <sip:192.0.2.1;lr>, <sip:p2.example.com;lr>",
    'From: "Alice \\"A\\"" <sip:alice@atlanta.example.com>;tag=1928301774',
    "To: <sip:bob@biloxi.example.com>;tag=a6c85cf",
    "Call-ID: a84b4c76e66710",
    "CSeq: 314160 BYE",
    "Subject: tab\there",
    "Content-Length: 0",
]
PLAIN = read_pasted("\r\n".join(BYE) + "\r\n\r\n").request
SYSLOG = "Nov 29 10:00:01 pbx /usr/sbin/kamailio[812]: INFO: <script>: received "


def rsyslog(message: str) -> str:
    """A message as rsyslog logs it: control characters in octal."""
    return message.replace("\r\n", "#015#012").replace("\t", "#011")


def json_string(message: str) -> str:
    """A message inside a JSON string, as a JSON log holds it (without the quotes)."""
    return json.dumps(message, ensure_ascii=False)[1:-1]


def python_repr(message: str) -> str:
    """A message as repr() prints it (without the quotes)."""
    return repr(message)[1:-1]


ESCAPERS = {"rsyslog": rsyslog, "json": json_string, "repr": python_repr}


def assert_maps_back(cleaned: CleanText, user_text: str) -> None:
    """Every character of the cleaned text that the user typed as it is (not an escape)
    stands at the position user_position() gives for it."""
    user_lines = user_text.replace("\r\n", "\n").split("\n")
    for n, line in enumerate(cleaned.text.split("\r\n"), start=1):
        escaped = {index for index, _extra in cleaned.shifts[n - 1]} if cleaned.shifts else set()
        for index, char in enumerate(line):
            if index in escaped:
                continue
            user_line, user_column = cleaned.user_position(n, index + 1)
            assert user_column is not None
            assert user_lines[user_line - 1][user_column - 1] == char, (n, index)


@pytest.mark.parametrize("style", list(ESCAPERS))
def test_a_message_on_one_log_line_reads_as_the_plain_one(style: str) -> None:
    message = "\r\n".join(BYE) + "\r\n\r\n"
    text = SYSLOG + ESCAPERS[style](message) + "\n"
    pasted = read_pasted(text)
    assert pasted.request == PLAIN
    cleaned = pasted.clean
    assert cleaned.form == ESCAPED
    assert cleaned.lead == SYSLOG.strip()
    described = cleaned.describe()
    assert ("#015#012" if style == "rsyslog" else "\\r\\n") in described
    assert f"left out {SYSLOG.strip()!r} before the request line" in described
    assert_maps_back(cleaned, text)


def test_an_error_on_an_escaped_line_points_at_the_users_column() -> None:
    # Two escaped quotes before the bad header: each took two characters of the user's line.
    message = "\r\n".join([BYE[0], 'From: "\\"x\\"" <sip:a@x>;tag=1', "Bad Header"])
    text = "log: " + json_string(message)
    with pytest.raises(SipParseError) as info:
        read_pasted(text)
    assert info.value.line == 1
    assert info.value.column == text.index("Bad Header") + 1
    assert "header line without ':'" in info.value.what


def test_a_json_log_object_keeps_the_body_and_leaves_out_the_rest() -> None:
    message = "\r\n".join([*BYE[:-1], "Content-Type: text/plain", "Content-Length: 5", "", "hello"])
    text = '{"ts": "2026-11-29T10:00:01Z", "msg": "' + json_string(message) + '", "lvl": "info"}'
    pasted = read_pasted(text)
    assert pasted.request.body == "hello"
    assert pasted.clean.trailing == len('", "lvl": "info"}')
    assert "left out 17 characters after the message" in pasted.clean.describe()


def test_lines_around_a_one_line_message_are_left_out_and_said() -> None:
    message = "\r\n".join(BYE) + "\r\n\r\n"
    text = "\n".join(["first log line", SYSLOG + rsyslog(message), "next log line", ""])
    pasted = read_pasted(text)
    assert pasted.request == PLAIN
    assert (pasted.clean.skipped, pasted.clean.after) == (1, 1)
    assert pasted.clean.origin == (2,) * len(pasted.clean.origin)
    described = pasted.clean.describe()
    assert "skipped 1 line before the request line" in described
    assert "left out 1 line after the message" in described


def test_a_logged_response_is_named_a_response() -> None:
    with pytest.raises(SipParseError) as info:
        read_pasted("INFO: reply: SIP/2.0 200 OK#015#012Via: x#015#012#015#012")
    assert "this is a response" in info.value.what
    assert (info.value.line, info.value.column) == (1, len("INFO: reply: ") + 1)


def test_escapes_in_a_line_without_a_request_line_are_left_alone() -> None:
    # Nothing before an escaped line end reads as a request line: not a one-line message.
    cleaned = clean("path C:\\new\\table\nline two\n")
    assert cleaned.form == LINES
    assert cleaned.text == "path C:\\new\\table\r\nline two\r\n"


# The message inside a quoted string, with what a log writes around it.
QUOTED = {
    "json": lambda m: '{"ts": 1, "msg": "' + json_string(m) + '", "level": "info"}',
    "repr": lambda m: "received data=" + repr(m) + " from 192.0.2.10",
}


@settings(max_examples=150, deadline=None)
@given(
    style=st.sampled_from([*ESCAPERS, *(f"quoted-{k}" for k in QUOTED)]),
    lead=st.sampled_from(["", "msg: ", SYSLOG, "12:00:01 got "]),
    values=st.lists(
        st.text(alphabet="ab \"'\\\t;=<>:@/", min_size=1, max_size=12).filter(
            lambda v: v.strip(" \t") == v
        ),
        max_size=4,
    ),
    length=st.booleans(),
)
def test_any_escaped_message_reads_as_the_plain_one_and_maps_back(
    style: str, lead: str, values: list[str], length: bool
) -> None:
    lines = [*BYE[:-1], *(f"X-Test-{i}: {v}" for i, v in enumerate(values))]
    message = "\r\n".join(lines + (["Content-Length: 0"] if length else [])) + "\r\n\r\n"
    if style.startswith("quoted-"):
        # Without a Content-Length, the closing quote still ends the message.
        text = lead + QUOTED[style.removeprefix("quoted-")](message)
    else:
        text = lead + ESCAPERS[style](message)
    pasted = read_pasted(text)
    assert pasted.request == read_pasted(message).request
    assert_maps_back(pasted.clean, text)


# --------------------------------------------------------------------------
# free words before the request line, and journalctl


def test_kamailio_log_words_before_the_request_line_are_left_out() -> None:
    # Kamailio started with -E writes its log to stderr; the message's own lines follow raw.
    text = " 0(1234) INFO: <script>: new request: " + "\n".join(BYE) + "\n\n"
    pasted = read_pasted(text)
    assert pasted.request == PLAIN
    assert pasted.clean.lead == "0(1234) INFO: <script>: new request:"
    assert_maps_back(pasted.clean, text)


def test_journalctl_continuation_lines_lose_the_alignment() -> None:
    # journalctl indents the later lines of a message to where the message began.
    first = "Nov 29 10:00:01 pbx kamailio[812]: "
    for lead in ("", "INFO: <script>: got "):
        lines = [first + lead + BYE[0], *(" " * len(first) + ln for ln in BYE[1:])]
        text = "\n".join(lines) + "\n"
        pasted = read_pasted(text)
        assert pasted.request == PLAIN, lead
        assert_maps_back(pasted.clean, text)


def test_a_folded_journalctl_line_keeps_its_own_indentation() -> None:
    first = "Nov 29 10:00:01 pbx kamailio[812]: "
    pad = " " * len(first)
    text = "\n".join(
        [
            first + BYE[0],
            pad + "To: <sip:b@x>;tag=1",
            pad + "Route: <sip:192.0.2.1;lr>,",
            pad + "  <sip:p2;lr>",
        ]
    )
    pasted = read_pasted(text)
    assert pasted.request.list_values("Route") == ("<sip:192.0.2.1;lr>", "<sip:p2;lr>")


def test_free_words_are_only_read_when_no_line_is_a_request_line_by_itself() -> None:
    # The second line is a request line after a known prefix: it is the one, the first
    # line is skipped (and its words are not taken for a lead).
    text = "note: see BYE sip:x SIP/2.0 below\n> " + "\n> ".join(BYE) + "\n"
    pasted = read_pasted(text)
    assert pasted.request == PLAIN
    assert pasted.clean.lead == ""
    assert pasted.clean.skipped == 1


def test_a_method_glued_to_a_word_is_not_cut_out_of_it() -> None:
    cleaned = clean("got:BYE sip:b@x SIP/2.0\nTo: <sip:b@x>;tag=1\n")
    assert cleaned.text.startswith("BYE sip:b@x SIP/2.0")
    assert clean("xBYE sip:b@x SIP/2.0\n").text.startswith("xBYE ")


# --------------------------------------------------------------------------
# Wireshark's packet details

DETAILS = """\
Frame 12: 612 bytes on wire (4896 bits), 612 bytes captured (4896 bits) on interface eth0, id 0
Ethernet II, Src: 52:54:00:12:34:56, Dst: 52:54:00:65:43:21
Internet Protocol Version 4, Src: 192.0.2.10, Dst: 192.0.2.1
User Datagram Protocol, Src Port: 5060, Dst Port: 5060
Session Initiation Protocol (BYE)
    Request-Line: BYE sip:bob@192.0.2.20 SIP/2.0
        Method: BYE
        Request-URI: sip:bob@192.0.2.20
            Request-URI User Part: bob
            Request-URI Host Part: 192.0.2.20
        [Resent Packet: False]
    Message Header
        Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK776asdhds
            Transport: UDP
            Sent-by Address: 192.0.2.10
            Branch: z9hG4bK776asdhds
        Max-Forwards: 70
        Route: <sip:192.0.2.1;lr>, <sip:p2.example.com;lr>
            Route URI: sip:192.0.2.1;lr
                Route Host Part: 192.0.2.1
            Route URI: sip:p2.example.com;lr
        From: "Alice \\"A\\"" <sip:alice@atlanta.example.com>;tag=1928301774
            SIP from address: sip:alice@atlanta.example.com
            SIP from tag: 1928301774
        To: <sip:bob@biloxi.example.com>;tag=a6c85cf
        Call-ID: a84b4c76e66710
        [Generated Call-ID: a84b4c76e66710]
        CSeq: 314160 BYE
            Sequence Number: 314160
            Method: BYE
        Subject: tab\there
        Content-Length: 0

Frame 13: 480 bytes on wire (3840 bits)
"""


def test_wireshark_packet_details_read_as_the_plain_message() -> None:
    pasted = read_pasted(DETAILS)
    assert pasted.request == PLAIN
    cleaned = pasted.clean
    assert cleaned.form == WIRESHARK
    assert cleaned.skipped == 5
    # Method, Request-URI, its two parts, Resent Packet; Transport, Sent-by, Branch; two
    # Route URIs and a host part; two From fields; Generated Call-ID; two CSeq fields.
    assert cleaned.left_out == 16
    assert "from Wireshark's packet details" in cleaned.describe()
    assert "without the 16 field lines" in cleaned.describe()
    assert_maps_back(cleaned, DETAILS)
    # The packet's IP and UDP layers name where it went.
    assert cleaned.packet is not None
    assert (cleaned.packet.proto, cleaned.packet.source, cleaned.packet.destination) == (
        "udp",
        ("192.0.2.10", 5060),
        ("192.0.2.1", 5060),
    )


def test_wireshark_errors_point_at_the_users_line() -> None:
    text = DETAILS.replace("        Max-Forwards: 70", "        Max-Forwards 70")
    with pytest.raises(SipParseError) as info:
        read_pasted(text)
    line = text.split("\n").index("        Max-Forwards 70") + 1
    assert (info.value.line, info.value.column) == (line, 9)


@pytest.mark.parametrize(
    "shortened",
    [
        "        [truncated]Route: <sip:192.0.2.1;lr>, <sip:p2.example.com;lr>, <sip:p3",
        "        Route: <sip:192.0.2.1;lr>, <sip:p2.example.com;lr>, <sip:p3…",
        "        Route: <sip:192.0.2.1;lr>, <sip:p2.example.com;lr>, <sip:p3 […]",
    ],
    ids=["truncated-before", "ellipsis", "bracketed-ellipsis"],
)
def test_a_line_wireshark_shortened_is_an_error_at_that_line(shortened: str) -> None:
    text = DETAILS.replace("        Route: <sip:192.0.2.1;lr>, <sip:p2.example.com;lr>", shortened)
    with pytest.raises(SipParseError) as info:
        read_pasted(text)
    assert "Wireshark shortened this header line" in info.value.what
    assert info.value.line == text.split("\n").index(shortened) + 1
    assert info.value.column == shortened.index("Route") + 1  # the header's name


def test_wireshark_headers_collapsed_give_the_request_line_alone() -> None:
    text = (
        "Session Initiation Protocol (BYE)\n"
        "    Request-Line: BYE sip:b@x SIP/2.0\n"
        "    Message Header\n"
    )
    cleaned = clean(text)
    assert cleaned.form == WIRESHARK
    assert cleaned.text == "BYE sip:b@x SIP/2.0"


def test_a_wireshark_response_is_named_a_response() -> None:
    text = (
        "Session Initiation Protocol (200)\n"
        "    Status-Line: SIP/2.0 200 OK\n"
        "    Message Header\n"
        "        Via: x\n"
    )
    with pytest.raises(SipParseError) as info:
        read_pasted(text)
    assert "this is a response" in info.value.what
    assert (info.value.line, info.value.column) == (2, 18)


# --------------------------------------------------------------------------
# any damage: a request or an error placed in the user's text, nothing else

JOURNAL = "".join(
    ("Nov 29 10:00:01 pbx kamailio[812]: INFO: <script>: got " if n == 0 else " " * 35) + ln + "\n"
    for n, ln in enumerate(BYE)
)
DAMAGED_BASES = {
    "rsyslog": SYSLOG + rsyslog("\r\n".join(BYE) + "\r\n\r\n"),
    "json": '{"msg": "' + json_string("\r\n".join(BYE) + "\r\n\r\n") + '"}',
    "wireshark": DETAILS,
    "journal": JOURNAL,
}
DAMAGE = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2000),
        st.integers(min_value=0, max_value=6),
        st.sampled_from(
            [
                "",
                "#012",
                "#015#012",
                "#011",
                "\\",
                '\\"',
                "\\n",
                "\n",
                " ",
                "    ",
                "[truncated]",
                "…",
                "SIP/2.0",
                "Message Header",
                ":",
                "\t",
                "\r",
            ]
        ),
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(base=st.sampled_from(list(DAMAGED_BASES)), damage=DAMAGE)
def test_damaged_log_text_gives_a_request_or_an_error_in_the_users_text(
    base: str, damage: list[tuple[int, int, str]]
) -> None:
    text = DAMAGED_BASES[base]
    for at, cut, insert in damage:
        at %= len(text) + 1
        text = text[:at] + insert + text[at + cut :]
    cleaned = clean(text)
    lines = len(cleaned.text.split("\r\n"))
    assert len(cleaned.origin) == len(cleaned.stripped) == lines
    assert not cleaned.shifts or len(cleaned.shifts) == lines
    # Lines as the user sees them: CR LF, LF, or (with no LF at all) CR ends a line.
    user_lines = len(text.split("\n") if "\n" in text else text.split("\r"))
    error = _error_of(text)
    if error is not None and error.line is not None:
        assert 1 <= error.line <= user_lines
        assert error.column is None or error.column >= 1


def _error_of(text: str) -> SipParseError | None:
    try:
        read_pasted(text)
    except SipParseError as error:
        return error
    return None


# --------------------------------------------------------------------------
# what is said about the cleaning


@pytest.mark.parametrize(
    ("prefix", "said"),
    [
        ("> > ", "stripped '>' quoting from 10 lines"),
        ("    ", "stripped indentation from 10 lines"),
        ("Nov 29 10:00:01 pbx kamailio[1]: ", "stripped syslog prefixes from 10 lines"),
        ("2026-11-29 10:00:01.123 ", "stripped time stamps from 10 lines"),
        ("[10:00:01.123][debug] ", "stripped [...] prefixes from 10 lines"),
        ("> 10:00:01 ", "stripped '>' quoting and time stamps from 10 lines"),
    ],
    ids=["quote", "indent", "syslog", "timestamp", "bracket", "quote-and-clock"],
)
def test_the_prefixes_stripped_are_named(prefix: str, said: str) -> None:
    cleaned = clean("".join(prefix + line + "\n" for line in BYE))
    assert cleaned.form == LINES
    assert cleaned.describe() == said


def test_ngreps_dots_are_named_and_nothing_said_for_a_bare_message() -> None:
    dotted = clean("".join(line + ".\n" for line in BYE))
    assert dotted.prefix.dots
    assert dotted.kind == "ngrep"
    assert dotted.describe() == "removed ngrep's trailing '.' (the CR) from each line"
    assert clean("\r\n".join(BYE)).describe() == ""


def test_ngreps_dots_come_off_a_status_line_too() -> None:
    """A status line reads as one with its '.' (a reason phrase may end in one), but when
    the next line ends in '.' as well, the dots are ngrep's."""
    ok = ["SIP/2.0 200 OK", "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1", "Content-Length: 0"]
    dotted = clean("".join(line + ".\n" for line in ok) + ".\n")
    assert dotted.prefix.dots
    assert dotted.text == "\r\n".join([*ok, "", ""])
    # A reason phrase of its own that ends in '.': kept.
    assert clean("SIP/2.0 200 Fine.\nContent-Length: 0\n\n").text.startswith("SIP/2.0 200 Fine.")


@pytest.mark.parametrize("style", list(ESCAPERS))
def test_a_response_alone_on_a_log_line_is_read_whole(style: str) -> None:
    """A status line's reason phrase holds no escaped line end: a response logged on one line
    with nothing before it is the escaped form, not a status line with a long reason."""
    ok = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1\r\nCSeq: 1 INVITE\r\n\r\n"
    cleaned = clean("Nov 29 10:00:01 pbx kamailio[812]: " + ESCAPERS[style](ok))
    assert cleaned.form == ESCAPED
    assert cleaned.text.split("\r\n")[:3] == ok.split("\r\n")[:3]


def test_positions_outside_the_cleaned_lines() -> None:
    cleaned = clean("junk\n> BYE sip:b SIP/2.0\n> To: x\n")
    # Beyond the last cleaned line: the lines after it, one for one; no column to move.
    assert cleaned.user_position(9, None) == (9 + 1, None)
    assert cleaned.user_position(2, None) == (3, None)
    assert CleanText("x", (), ()).user_position(4, 2) == (4, 2)


def test_wireshark_lines_less_indented_than_the_headers_end_them() -> None:
    text = (
        "    Request-Line: BYE sip:b@x SIP/2.0\n"
        "    Message Header\n"
        "        To: <sip:b@x>;tag=1\n"
        "      Odd: not a header of this message\n"
        "        Via: SIP/2.0/UDP 10.0.0.1\n"
    )
    assert clean(text).text == "BYE sip:b@x SIP/2.0\r\nTo: <sip:b@x>;tag=1"


def test_a_wireshark_request_line_at_the_end_of_the_text() -> None:
    cleaned = clean("Session Initiation Protocol (BYE)\n    Request-Line: BYE sip:b@x SIP/2.0")
    assert cleaned.form == WIRESHARK
    assert cleaned.text == "BYE sip:b@x SIP/2.0"
    assert cleaned.user_position(1, 1) == (2, 19)


# --------------------------------------------------------------------------
# tcpdump -A: a summary line naming the request, then the packet's bytes as text


def _tcpdump(message_lines: list[str], header_bytes: str) -> str:
    """tcpdump -A: the summary, the IP and UDP header bytes (unprintable ones as '.')
    running into the request line, the other lines (CRs not printed), then the next packet."""
    summary = f"10:00:01.123456 IP 192.0.2.10.5060 > 192.0.2.1.5060: SIP: {message_lines[0]}"
    rest = "\n".join(message_lines[1:])
    return (
        f"{summary}\n{header_bytes}{message_lines[0]}\n{rest}\n\n"
        "10:00:01.124001 IP 192.0.2.1.5060 > 192.0.2.10.5060: SIP: SIP/2.0 200 OK\n"
        "E....@.@.........SIP/2.0 200 OK\n"
    )


@pytest.mark.parametrize(
    "header_bytes",
    ["E..Q..@.@..............................", "E..Q..@.@...\n.............-.....", "E..sv.."],
    ids=["one-line", "a-newline-byte-in-the-headers", "short"],
)
def test_tcpdump_ascii_output_reads_as_the_plain_message(header_bytes: str) -> None:
    text = _tcpdump(BYE, header_bytes)
    pasted = read_pasted(text)
    assert pasted.request.method == "BYE"
    assert pasted.request.headers == PLAIN.headers
    assert pasted.clean.skipped >= 1  # the summary line
    assert_maps_back(pasted.clean, text)


def test_a_log_line_naming_the_request_before_it_is_skipped() -> None:
    text = "got request: BYE sip:bob@192.0.2.20 SIP/2.0\n" + "\n".join(BYE) + "\n\n"
    pasted = read_pasted(text)
    assert pasted.request == PLAIN
    assert pasted.clean.skipped == 1
    assert pasted.clean.lead == ""


def test_a_blank_line_with_blanks_on_it_still_ends_the_head() -> None:
    # Mail clients and terminals leave blanks on the empty line: the body starts after it.
    text = "\n".join([*BYE[:-1], "Content-Length: 5", "   ", "hello"]) + "\n"
    pasted = read_pasted(text)
    assert pasted.request.header("Content-Length") == "5"
    assert pasted.request.body.strip() == "hello"


@pytest.mark.parametrize(
    "prefix",
    [
        " 8(2230) INFO: <script>: ",  # Kamailio's log on stderr (-E)
        "kamailio-7d9f | ",  # docker compose
        "Mar 14 10:22:31 sbc1 kamailio[2211]: INFO: <script>: ",  # syslog and xlog
    ],
)
def test_a_prefix_that_every_line_repeats_is_stripped_from_all(prefix: str) -> None:
    lines = [prefix + "RCV " + BYE[0], *(prefix + line for line in BYE[1:]), prefix]
    text = "\n".join(lines) + "\n"
    pasted = read_pasted(text)
    assert pasted.request == PLAIN
    literal = pasted.clean.prefix.literal
    assert literal
    assert prefix.strip().endswith(literal.strip())
    assert f"stripped {literal!r} from the lines after it" in pasted.clean.describe()
    assert_maps_back(pasted.clean, text)


def test_words_before_the_request_line_that_the_headers_lack_are_not_stripped() -> None:
    text = "got it: " + "\n".join(BYE) + "\n\n"
    pasted = read_pasted(text)
    assert pasted.request == PLAIN
    assert pasted.clean.prefix.literal == ""


def test_ngreps_one_line_packet_reads_as_the_message() -> None:
    # ngrep without -W byline: every unprintable byte is '.', so CR LF is "..".
    plain = [line for line in BYE if "\t" not in line and '\\"' not in line]
    message = "\r\n".join(plain) + "\r\n\r\n"
    text = (
        "interface: any\n#\nU 192.0.2.10:5060 -> 192.0.2.1:5060\n  "
        + message.replace("\r\n", "..")
        + "\n#\n"
    )
    pasted = read_pasted(text)
    assert pasted.request == read_pasted(message).request
    assert pasted.clean.form == ESCAPED
    assert "ngrep prints a packet without -W byline" in pasted.clean.describe()
    assert pasted.clean.packet is not None
    assert pasted.clean.packet.destination == ("192.0.2.1", 5060)
    assert_maps_back(pasted.clean, text)


def test_a_values_own_last_dot_stays_in_ngreps_one_line_packet() -> None:
    # "Subject: Hello." then CR LF is "Hello...": the first dot is the value's.
    plain = [*BYE[:3], "Subject: Hello.", BYE[3], *BYE[5:8]]
    message = "\r\n".join(plain) + "\r\n\r\n"
    pasted = read_pasted("  " + message.replace("\r\n", "..") + "\n")
    assert pasted.request == read_pasted(message).request
    assert pasted.request.header("Subject") == "Hello."
    assert pasted.request.list_values("Route") == (
        "<sip:192.0.2.1;lr>",
        "<sip:p2.example.com;lr>",
    )


def test_a_log_line_cut_inside_a_header_is_said_to_look_cut_off() -> None:
    whole = rsyslog("\r\n".join(BYE) + "\r\n\r\n")
    cut = whole[: whole.index("p2.example.com") + 4]
    cleaned = read_pasted(SYSLOG + cut + "\n").clean
    assert cleaned.cut_off
    assert "the message looks cut off" in cleaned.describe()
    assert not read_pasted(SYSLOG + whole + "\n").clean.cut_off
