"""engine/message.py: SIP requests and responses as values (RFC 3261 section 7)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import SipParseError
from engine.message import (
    MAX_MESSAGE_SIZE,
    Header,
    SipRequest,
    SipResponse,
    _parse_everyday,
    _parse_general,
    canonical_name,
    header_line_numbers,
    parse_message,
    render,
    value_column,
)
from engine.proxy import Proxy
from engine.rr import Context, loose_route, route_entries
from tests.engine.strategies import attempt, messages, texts_of
from tests.engine.test_fuzz import mutate

MESSAGES = Path(__file__).resolve().parents[1] / "data" / "messages"


def _read(name: str) -> str:
    # Bytes, not text mode: the files' line ends (CRLF or bare LF) are part of the case.
    return (MESSAGES / name).read_bytes().decode("utf-8")


def test_every_message_file_is_listed_here() -> None:
    assert sorted(p.name for p in MESSAGES.glob("*.sip")) == sorted(EXPECTED)


# name -> (method or status, Request-URI or reason, header fields after unfolding)
EXPECTED: dict[str, tuple[str | int, str, int]] = {
    "01-invite-typical.sip": ("INVITE", "sip:bob@example.net", 11),
    "02-bye-in-dialog-three-routes.sip": ("BYE", "sip:bob@192.0.2.20:5062", 10),
    "03-compact-forms.sip": ("ACK", "sip:bob@192.0.2.20", 12),
    "04-folded-lines.sip": ("OPTIONS", "sip:p1.example.com", 9),
    "05-quoted-display-names.sip": ("BYE", "sip:bob@192.0.2.20", 10),
    "06-ipv6-references.sip": ("INFO", "sip:bob@[2001:db8::20]:5070;transport=tcp", 10),
    "07-unusual-spacing.sip": ("UPDATE", "sip:bob@192.0.2.20", 9),
    "08-bare-lf.sip": ("BYE", "sip:bob@192.0.2.20", 9),
    "09-escaped-uri.sip": (
        "MESSAGE",
        "sips:%61lice%20smith:secret@atlanta.example.com:5061;transport=TCP;"
        "maddr=192.0.2.99?Subject=hi%20there&Priority=urgent",
        9,
    ),
    "10-response-200-record-route.sip": (200, "OK", 10),
    "11-tel-uri.sip": ("INVITE", "tel:+1-201-555-0123;phone-context=example.com", 9),
    "12-unknown-method-keepalive.sip": ("NEWMETHOD.x!%*_+`'~", "sip:bob@example.net", 10),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_message_files_parse(name: str) -> None:
    msg = parse_message(_read(name))
    first, second, count = EXPECTED[name]
    if isinstance(msg, SipRequest):
        assert (msg.method, msg.uri) == (first, second)
    else:
        assert (msg.status, msg.reason) == (first, second)
    assert len(msg.headers) == count
    assert parse_message(render(msg)) == msg


def test_typical_invite_keeps_its_body() -> None:
    msg = parse_message(_read("01-invite-typical.sip"))
    assert msg.body.startswith("v=0\r\n")
    assert msg.header("content-length") == str(len(msg.body))
    assert msg.list_values("Supported") == ("outbound", "path")


def test_compact_forms_and_case_insensitive_names() -> None:
    # RFC 3261 7.3.3: v f t i m k s l are Via From To Call-ID Contact Supported Subject
    # Content-Length; names compare case-insensitively.
    msg = parse_message(_read("03-compact-forms.sip"))
    assert msg.header_values("Via") == (
        "SIP/2.0/TCP 192.0.2.10;branch=z9hG4bK-c0mp4ct",
        "SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK-second",
    )
    assert msg.header("FROM") == "<sip:alice@example.org>;tag=ab12"
    assert msg.header("call-id") == "compact-1@example.org"
    assert msg.header("Content-Length") == "0"
    assert msg.header("Subject") == "compact forms"
    assert msg.list_values("route") == ("<sip:127.0.0.1:5060;lr>", "<sip:p2.example.net;lr>")
    assert [h.name for h in msg.headers][:2] == ["v", "v"]  # names kept as written
    assert msg.headers[0].key == "via"


def test_folded_lines_become_one_value() -> None:
    # RFC 3261 7.3.1: a line starting with SP or HTAB continues the previous header;
    # the line break and the white space around it count as one space.
    msg = parse_message(_read("04-folded-lines.sip"))
    assert msg.header("Via") == "SIP/2.0/UDP 192.0.2.10:5060 ;branch=z9hG4bK-f0ld"
    assert msg.header("Max-Forwards") == "70"
    assert msg.header("CSeq") == "8 OPTIONS"
    assert msg.header("Subject") == "a subject that goes on and on"
    assert msg.list_values("Route") == (
        "<sip:127.0.0.1;lr>",
        "<sip:p2.example.net;lr>",
        "<sip:p3.example.com;lr>",
    )


def test_quoted_display_names_with_commas() -> None:
    msg = parse_message(_read("05-quoted-display-names.sip"))
    assert msg.list_values("Route") == (
        '"Edge, first" <sip:127.0.0.1;lr>',
        '"core,\\"two\\"" <sip:p2.example.net;lr>',
        "Plain Name <sip:p3.example.com;lr>;hp=1",
    )
    assert msg.list_values("Contact") == (
        '"A, B" <sip:alice@192.0.2.10>;expires=60',
        "<sip:alice@198.51.100.7>",
    )
    frm = msg.name_addr("From")
    assert frm is not None
    assert frm.display == '"Smith, Alice \\"Al\\" <boss>"'
    assert frm.param("tag") == "q1"
    assert msg.name_addr("Record-Route") is None


def test_unusual_spacing() -> None:
    msg = parse_message(_read("07-unusual-spacing.sip"))
    assert msg.headers[0] == Header("Via", "SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-sp4c3")
    assert msg.header("From") == "<sip:alice@example.org>;tag=s1"
    assert msg.header("X-Empty") == ""
    assert msg.list_values("Route")[1] == "<sip:p2.example.net;lr>"


def test_keepalives_in_front_shift_line_numbers() -> None:
    text = _read("12-unknown-method-keepalive.sip")
    assert text.startswith("\r\n\r\n")
    msg = parse_message(text)
    assert msg.header("X-Token.Chars!%*_+`'~") == "yes"
    with pytest.raises(SipParseError) as info:
        parse_message(text.replace("Subject:", "Subject"))
    # Two keep-alive lines, the request line on line 3, and Subject is the 8th header.
    assert info.value.line == 11


PROXY = Proxy.build(
    listen=["udp:127.0.0.1:5060", "udp:127.0.0.2:5060", "udp:[::1]:5060"],
    aliases=["proxy.example.com"],
)


def _outcome(text: str) -> tuple[object, ...]:
    msg = parse_message(text)
    assert isinstance(msg, SipRequest)
    ctx, res = loose_route(Context.start(msg, PROXY))
    return res.rc, ctx.ruri, ctx.du, ctx.fs, route_entries(ctx), [s.rule for s in res.steps]


REQUEST_FILES = [n for n in sorted(EXPECTED) if not n.startswith("10-")]


@pytest.mark.parametrize("name", REQUEST_FILES)
def test_whole_input_line_ends_do_not_matter(name: str) -> None:
    # STYLE 7 "whole-input tests": the same message with CRLF and with bare LF.
    text = _read(name)
    core = text.lstrip("\r\n")  # keep-alives in front play no part here
    end = "\r\n\r\n" if "\r\n\r\n" in core else "\n\n"
    head, _, body = core.partition(end)
    lf = head.replace("\r\n", "\n") + "\n\n" + body
    crlf = lf.replace("\n", "\r\n") if "\r" not in body else None
    assert parse_message(lf) == parse_message(text)
    assert _outcome(lf) == _outcome(text)
    if crlf is not None:
        assert _outcome(crlf) == _outcome(text)


@pytest.mark.parametrize(
    "routes",
    [
        pytest.param(["<sip:127.0.0.1;lr>", "<sip:p2.example.net;lr>"], id="self-then-loose"),
        pytest.param(
            ["<sip:127.0.0.1;r2=on;lr>", "<sip:127.0.0.2;r2=on;lr>", "<sip:p2.example.net>"],
            id="r2-pair-then-strict",
        ),
        pytest.param(
            ['"a, b" <sip:proxy.example.com;lr>', "<sip:p2.example.net;lr>", "<sip:p3;lr>"],
            id="display-name-with-comma",
        ),
    ],
)
@pytest.mark.parametrize("folded", [False, True], ids=["unfolded", "folded"])
def test_whole_input_route_split_or_joined(routes: list[str], folded: bool) -> None:
    # One Route header per value, or one header with all of them comma-separated (and
    # folded over several lines): the same decision, the same Route values left.
    base = (
        "BYE sip:bob@192.0.2.20 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-1\r\n"
        "From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c\r\nCSeq: 1 BYE\r\n"
    )
    split = base + "".join(f"Route: {r}\r\n" for r in routes) + "\r\n"
    joiner = ",\r\n   " if folded else ", "
    joined = base + "Route: " + joiner.join(routes) + "\r\n\r\n"
    rc, ruri, du, fs, left, rules = _outcome(split)
    assert _outcome(joined)[:4] == (rc, ruri, du, fs)
    assert _outcome(joined)[4] == left
    assert _outcome(joined)[5] == rules


@pytest.mark.parametrize(
    ("text", "what", "line", "column", "header"),
    [
        pytest.param("", "empty message", 1, 1, None, id="empty"),
        pytest.param("\r\n\r\n   \r\n", "empty message", 3, 1, None, id="blank-after-keepalives"),
        pytest.param(
            "INVITE sip:b@x SIP/2.0\r\nBad Header\r\n\r\n",
            "header line without ':'",
            2,
            1,
            None,
            id="no-colon",
        ),
        pytest.param(
            "INVITE sip:b@x SIP/2.0\r\nBad Name: x\r\n\r\n",
            "invalid header name 'Bad Name'",
            2,
            1,
            "Bad Name",
            id="space-in-name",
        ),
        pytest.param(
            "INVITE sip:b@x SIP/2.0\r\n  folded\r\n\r\n",
            "continuation line before any header",
            2,
            1,
            None,
            id="fold-first",
        ),
        pytest.param(
            "INVITE sip:b@x SIP/2.0\r\nVia: a\x00b\r\n\r\n",
            "control character '\\x00' in line",
            2,
            7,
            None,
            id="nul",
        ),
        pytest.param(
            "INVITE sip:b@x SIP/2.0\r\nVia: a\rb\r\n\r\n",
            "control character '\\r' in line",
            2,
            7,
            None,
            id="lone-cr",
        ),
        pytest.param(
            "INVITE sip:b@x SIP/2.0\r\nTo: x\r\r\nFrom: y\r\n\r\n",
            "control character '\\r' in line",
            2,
            6,
            None,
            id="cr-cr-lf",
        ),
        pytest.param(
            "INVITE sip:b@x SIP/02.0\r\n\r\n", "unsupported version SIP/02.0", 1, 16, None, id="v02"
        ),
        pytest.param(
            "INVITE sip:b@x SIP/2.0 x\r\n\r\n", "not a SIP request", 1, 1, None, id="after-version"
        ),
        pytest.param("INVITE\tsip:b@x SIP/2.0\r\n\r\n", "not a SIP request", 1, 1, None, id="tab"),
        pytest.param(
            "INVITE sip:b@x SIP/3.0\r\n\r\n", "unsupported version SIP/3.0", 1, 16, None, id="v3"
        ),
        pytest.param("SIP/1.0 200 OK\r\n\r\n", "unsupported version", 1, 1, None, id="resp-v1"),
        pytest.param(
            "HELLO\r\n\r\n", "not a SIP request or status line: 'HELLO'", 1, 1, None, id="hello"
        ),
        pytest.param(
            "INVITE  sip:b@x SIP/2.0\r\n\r\n",
            "not a SIP request or status line",
            1,
            1,
            None,
            id="double-space",
        ),
        # The first error in the text is the one said: the start line before the headers.
        pytest.param(
            'hello this is not sip\n{"foo": 1}\n\n',
            "not a SIP request or status line: 'hello this is not sip'",
            1,
            1,
            None,
            id="bad-start-and-bad-header",
        ),
        pytest.param(
            "SIP/3.0 200 OK\r\nBad Header\r\n\r\n",
            "unsupported version",
            1,
            1,
            None,
            id="bad-version-and-bad-header",
        ),
        pytest.param(
            "hello\r\nX: a\x00b\r\n\r\n",
            "not a SIP request or status line: 'hello'",
            1,
            1,
            None,
            id="bad-start-and-a-nul-below",
        ),
        pytest.param(
            "INVITE sip:b@x SIP/2.0\r\nX: a\x00b\r\n\r\n",
            "control character",
            2,
            5,
            None,
            id="good-start-and-a-nul-below",
        ),
    ],
)
def test_errors_say_what_and_where(
    text: str, what: str, line: int, column: int, header: str | None
) -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(text)
    err = info.value
    assert err.what.startswith(what)
    assert (err.line, err.column, err.header) == (line, column, header)


@pytest.mark.parametrize(
    ("start_line", "method"),
    [
        # Request lines Kamailio 5.6.3 takes (RL-RLINE*): blanks before the method, any
        # method, blanks before and after the version, which only has to start SIP/2.0.
        (" BYE sip:b@x SIP/2.0", "BYE"),
        ("\tBYE sip:b@x SIP/2.0", "BYE"),
        ("BYE sip:b@x   SIP/2.0", "BYE"),
        ("BYE sip:b@x \tSIP/2.0\t", "BYE"),
        ("BYE sip:b@x sip/2.0", "BYE"),
        ("BYE sip:b@x SIP/2.00", "BYE"),
        ("B@E sip:b@x SIP/2.0", "B@E"),
        ("BYE: sip:b@x SIP/2.0", "BYE:"),
    ],
)
def test_request_lines_as_kamailio_reads_them(start_line: str, method: str) -> None:
    msg = parse_message(start_line + "\r\nTo: <sip:b@x>\r\n\r\n")
    assert isinstance(msg, SipRequest)
    assert (msg.method, msg.uri, msg.version) == (method, "sip:b@x", "SIP/2.0")


def test_version_error_hints_505() -> None:
    with pytest.raises(SipParseError) as info:
        parse_message("INVITE sip:b@x SIP/3.0\r\n\r\n")
    assert info.value.status_hint == 505


def test_oversized_message_points_past_the_limit() -> None:
    text = "OPTIONS sip:x SIP/2.0\r\n" + "X: " + "y" * MAX_MESSAGE_SIZE + "\r\n\r\n"
    with pytest.raises(SipParseError) as info:
        parse_message(text)
    assert info.value.status_hint == 513
    assert (info.value.line, info.value.column) == (2, MAX_MESSAGE_SIZE - 23 + 1)


def test_not_text() -> None:
    with pytest.raises(SipParseError):
        parse_message(b"INVITE sip:x SIP/2.0\r\n\r\n")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # Regression (fuzz): a blank continuation line left a trailing space behind, and
        # the value then did not survive render -> parse.
        pytest.param("BYE sip:a@b SIP/2.0\r\nX: a\r\n \r\n\r\n", "a", id="blank-fold"),
        pytest.param("BYE sip:a@b SIP/2.0\r\nX: a\r\n \x0b\r\n\r\n", "a", id="vt-fold"),
        pytest.param("BYE sip:a@b SIP/2.0\r\nX:\r\n b\r\n c\r\n\r\n", "b c", id="empty-then-fold"),
    ],
)
def test_folding_regressions(text: str, value: str) -> None:
    msg = parse_message(text)
    assert msg.header("X") == value
    assert parse_message(render(msg)) == msg


@pytest.mark.parametrize(
    ("status_line", "status", "reason"),
    [
        # Regression (fuzz): trailing blanks of a reason phrase were lost by render().
        pytest.param("SIP/2.0 200 OK  ", 200, "OK  ", id="reason-trailing-blanks"),
        pytest.param("SIP/2.0 180", 180, "", id="no-reason"),
        pytest.param("SIP/2.0 099 Low", 99, "Low", id="leading-zero"),
        # A reason phrase that looks like a version is still a status line.
        pytest.param("SIP/2.0 200 SIP/2.0", 200, "SIP/2.0", id="reason-like-version"),
    ],
)
def test_status_lines(status_line: str, status: int, reason: str) -> None:
    msg = parse_message(status_line + "\r\n\r\n")
    assert isinstance(msg, SipResponse)
    assert (msg.status, msg.reason) == (status, reason)
    assert render(msg) == status_line + "\r\n\r\n"


def test_status_code_digits_are_ascii() -> None:
    with pytest.raises(SipParseError):
        parse_message("SIP/2.0 \u0662\u0660\u0660 OK\r\n\r\n")


def test_render_writes_crlf_and_keeps_names() -> None:
    msg = SipRequest(
        headers=(Header("v", "SIP/2.0/UDP h"), Header("ROUTE", "<sip:p;lr>")),
        body="body",
        method="BYE",
        uri="sip:b@h",
    )
    assert render(msg) == "BYE sip:b@h SIP/2.0\r\nv: SIP/2.0/UDP h\r\nROUTE: <sip:p;lr>\r\n\r\nbody"
    assert msg.start_line == "BYE sip:b@h SIP/2.0"
    assert msg.with_uri("sip:x").uri == "sip:x"
    assert msg.with_headers(()).headers == ()


def test_canonical_names() -> None:
    assert canonical_name("v") == "via"
    assert canonical_name(" Call-ID ") == "call-id"
    assert canonical_name("m") == "contact"
    assert canonical_name("Route") == "route"


def test_line_helpers() -> None:
    text = "BYE sip:a SIP/2.0\r\nA: 1\r\nB:  2\r\n  more\r\nC: 3\r\n\r\nbody"
    assert header_line_numbers(text) == {0: 2, 1: 3, 2: 5}
    assert value_column(text, 3) == 5
    assert value_column(text, 99) == 1


@given(messages)
def test_render_then_parse_is_the_identity(msg: SipRequest | SipResponse) -> None:
    assert parse_message(render(msg)) == msg


@given(messages)
def test_bare_lf_head_parses_the_same(msg: SipRequest | SipResponse) -> None:
    head, _, body = render(msg).partition("\r\n\r\n")
    assert parse_message(head.replace("\r\n", "\n") + "\n\n" + body) == msg


MESSAGEISH = texts_of(
    [
        *'\r\n\x00 \t:;<>@,"abcXYZ0123456789/.',
        *("SIP/2.0", "INVITE", " sip:a@b ", "SIP/2.0 200 OK", "\r\n", "\r\n ", "Via: ", "v:"),
        *("Route: <sip:127.0.0.1;lr>", "To: <sip:b@y>;tag=1", "\r\n\r\n", "\u00e9"),
    ],
    max_size=40,
)


@settings(max_examples=500)
@given(st.one_of(MESSAGEISH, st.text(max_size=60)))
def test_any_text_gives_a_message_or_a_located_error(text: str) -> None:
    msg, error = attempt(parse_message, text)
    if error is not None:
        assert error.line is not None
        assert error.column is not None
        assert error.line <= text.count("\n") + 1
    else:
        assert parse_message(render(msg)) == msg


# --------------------------------------------------------------------------
# The everyday fast path of parse_message() gives what the general parser gives.

EVERYDAYISH = texts_of(
    [
        *("BYE sip:b@x SIP/2.0", "SIP/2.0 200 OK", "SIP/2.0 180", "\r\n", "\r\n\r\n", "\n"),
        *("Via: ", "Route:", "route :", "v:", "X-A\t:", " ", "\t", ":", "\x00", "\r", "é"),
        *("<sip:127.0.0.1;lr>", "a b", "body"),
    ],
    max_size=30,
)


def _general_outcome(text: str) -> tuple[object, ...]:
    msg, error = attempt(_parse_general, text)
    return (msg, None if error is None else str(error))


@settings(max_examples=1000)
@given(EVERYDAYISH)
def test_everyday_path_agrees_with_the_general_parser(text: str) -> None:
    msg, error = attempt(parse_message, text)
    assert (msg, None if error is None else str(error)) == _general_outcome(text)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_everyday_path_agrees_on_mutated_message_files(name: str) -> None:
    rng = random.Random(name)
    text = _read(name)
    taken = 0
    for _ in range(400):
        mutated = mutate(rng, text, rng.randint(1, 3))
        if _parse_everyday(mutated) is not None:
            taken += 1
        msg, error = attempt(parse_message, mutated)
        assert (msg, None if error is None else str(error)) == _general_outcome(mutated), mutated
    # Where the file itself takes the fast path, some mutations must too.
    assert taken or _parse_everyday(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "BYE sip:b SIP/2.0\r\nA: 1 \r\n\r\n",  # trailing blank: the general path strips it
        "BYE sip:b SIP/2.0\r\nA:\t1\t\r\nB:\r\n\r\n",
        "BYE sip:b SIP/2.0\r\nA : 1\r\n B\r\n\r\n",  # folded
        "BYE sip:b SIP/2.0\r\nA: 1\r\r\n\r\n",  # lone CR: an error
        "BYE sip:b\x00 SIP/2.0\r\n\r\n",
        "BYE sip:b SIP/2.0\r\nA\x00: 1\r\n\r\n",
        "SIP/2.0 200 \r\nA: 1\r\n\r\n",
        "SIP/2.0 200\r\n\r\nbody\r\n\r\n",
        "B/E sip:b SIP/2.0\r\n\r\n",
        "BYE sip:b SIP/2.1\r\n\r\n",
    ],
)
def test_everyday_path_edges(text: str) -> None:
    msg, error = attempt(parse_message, text)
    assert (msg, None if error is None else str(error)) == _general_outcome(text)


def test_header_index_is_not_part_of_the_value() -> None:
    text = "BYE sip:b SIP/2.0\r\nv: a\r\nt: <sip:b@x>;tag=1\r\nVia: c\r\nTO: d\r\n\r\n"
    looked_up, fresh = parse_message(text), parse_message(text)
    assert looked_up.header_positions("via") == (0, 2)
    assert looked_up.header_values("To") == ("<sip:b@x>;tag=1", "d")
    assert looked_up.tag("to") == "1"
    assert looked_up == fresh
    assert hash(looked_up) == hash(fresh)
    assert "_index" not in repr(looked_up)
    moved = looked_up.with_headers(looked_up.headers[1:])
    assert moved.header_positions("Via") == (1,)
