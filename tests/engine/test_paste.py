"""engine/paste.py: cleaning pasted text, errors in the user's coordinates, the proxy guess,
loose_route() on the pasted request, and the closest scenario."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ConfigError, ScenarioError, SipParseError
from engine.paste import (
    PastedRequest,
    PastedResponse,
    ResponseReading,
    build_proxy,
    clean,
    closest_scenario,
    guess_proxy,
    read_pasted,
    read_pasted_message,
    read_response,
    run_loose_route,
    wrap_route_set,
)
from engine.scenario import dumps, loads
from engine.simulate import simulate

BYE = [
    "BYE sip:bob@192.0.2.20 SIP/2.0",
    "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK776asdhds",
    "Max-Forwards: 70",
    "Route: <sip:192.0.2.1;lr>, <sip:p2.example.com;lr>",
    "From: <sip:alice@atlanta.example.com>;tag=1928301774",
    "To: <sip:bob@biloxi.example.com>;tag=a6c85cf",
    "Call-ID: a84b4c76e66710",
    "CSeq: 314160 BYE",
    "Content-Length: 0",
]

PREFIXES = {
    "none": "",
    "iso-timestamp": "2026-11-29 10:00:01.123 ",
    "iso-t-zone": "2026-11-29T10:00:01.123+01:00 ",
    "syslog": "Nov 29 10:00:01 pbx kamailio[123]: ",
    "syslog-level": "Nov 29 10:00:01 pbx kamailio[123]: INFO: ",
    "iso-program-pid": "2026-11-29 10:00:01.123 kamailio[123]: ",
    "bracket": "[2026-11-29 10:00:01.123] ",
    "two-brackets": "[10:00:01.123][debug] ",
    "clock": "10:00:01.123 ",
    "quote": "> ",
    "double-quote": "> > ",
    "indent": "    ",
    "quote-and-syslog": "> Nov 29 10:00:01 pbx kamailio[123]: ",
}


def _paste(lines: list[str], prefix: str, newline: str = "\n") -> str:
    # A blank message line keeps only the prefix (stripped of trailing blanks, as logs do).
    return newline.join((prefix + ln) if ln else prefix.rstrip() for ln in lines) + newline


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("prefix", list(PREFIXES.values()), ids=list(PREFIXES))
def test_every_prefix_is_stripped_and_the_request_is_the_same(prefix: str, newline: str) -> None:
    plain = read_pasted("\r\n".join(BYE) + "\r\n\r\n").request
    pasted = read_pasted(_paste(BYE, prefix, newline))
    assert pasted.request == plain
    assert pasted.clean.lines_stripped == (len(BYE) if prefix else 0)
    assert pasted.in_dialog


def test_a_body_after_a_prefixed_blank_line_is_kept() -> None:
    lines = [*BYE[:-1], "Content-Type: text/plain", "Content-Length: 5", "", "hello"]
    pasted = read_pasted(_paste(lines, PREFIXES["syslog"]))
    assert pasted.request.body.strip() == "hello"


def test_lines_before_the_request_line_are_skipped() -> None:
    text = "U 192.0.2.10:5060 -> 192.0.2.1:5060 #12\nsome other log line\n\n" + "\n".join(BYE)
    pasted = read_pasted(text)
    assert pasted.request.method == "BYE"
    assert pasted.clean.skipped == 2
    assert pasted.clean.origin[0] == 4
    assert "skipped 2 lines" in pasted.clean.describe()


def test_ngrep_trailing_dots_for_cr_are_removed() -> None:
    lines = [f"{ln}." for ln in BYE] + ["."]
    pasted = read_pasted("T 192.0.2.10:5060 -> 192.0.2.1:5060 [AP]\n" + "\n".join(lines))
    assert pasted.request.uri == "sip:bob@192.0.2.20"
    assert pasted.request.header("Content-Length") == "0"
    assert pasted.clean.prefix.dots


def test_a_prefix_is_only_stripped_where_the_request_line_had_it() -> None:
    # The request line has no time stamp, so a header that starts with one is not cut.
    text = "OPTIONS sip:b@192.0.2.20 SIP/2.0\nSubject: 10:00:01 meeting\n"
    assert read_pasted(text).request.header("Subject") == "10:00:01 meeting"
    # A syslog tag is matched literally: another program's line keeps its prefix.
    logged = (
        "Nov 29 10:00:01 pbx kamailio[1]: OPTIONS sip:b@192.0.2.20 SIP/2.0\n"
        "Nov 29 10:00:01 pbx rtpengine[7]: Max-Forwards: 70\n"
    )
    with pytest.raises(SipParseError) as info:
        read_pasted(logged)
    assert info.value.line == 2
    assert info.value.column == 1


def test_continuation_lines_keep_their_folding_under_indentation() -> None:
    text = "    BYE sip:b@192.0.2.20 SIP/2.0\n    Route: <sip:a;lr>,\n      <sip:b;lr>\n"
    pasted = read_pasted(text)
    assert pasted.request.list_values("Route") == ("<sip:a;lr>", "<sip:b;lr>")


@pytest.mark.parametrize(
    ("text", "line", "column", "what"),
    [
        pytest.param(
            "Nov 29 10:00:01 pbx kamailio[1]: INVITE sip:b@x SIP/2.0\n"
            "Nov 29 10:00:01 pbx kamailio[1]: Bad Header\n",
            2,
            34,  # the prefix is 33 characters long
            "header line without ':'",
            id="syslog-prefix-counts-in-the-column",
        ),
        pytest.param(
            "garbage before\n> INVITE sip:b@x SIP/2.0\n> Via SIP/2.0/UDP x\n",
            3,
            3,
            "header line without ':'",
            id="skipped-line-and-quote",
        ),
        pytest.param("INVITE sip:b@x SIP/3.0\n", 1, 16, "unsupported version", id="version"),
        pytest.param("hello world\n", 1, 1, "not a SIP request", id="no-start-line"),
        pytest.param(
            "Route: <sip:192.0.2.1;lr>, <sip:p2.example.com;lr>\n",
            1,
            1,
            "line 1 is a Route header, not a request line: paste the whole request",
            id="a-route-set-alone",  # its words were read as a request line with a version
        ),
        pytest.param(
            "> Record-Route: <sip:p1;lr>\n", 1, 1, "line 1 is a Record-Route header", id="quoted"
        ),
        pytest.param(
            "> Route: <sip:a;lr>\n> Route: <sip:b;lr>\n",
            1,
            1,
            "line 1 is a Route header",
            id="quoted-route-lines",  # the parser's error is on line 2
        ),
        pytest.param(
            "WARNING: no message here\n", 1, 1, "not a SIP request", id="a-log-word-no-header"
        ),
        pytest.param("\n\n   \n", 1, 1, "nothing pasted", id="empty"),
        pytest.param(
            "2026-11-29 10:00:01 SIP/2.0 200 OK\n", 1, 21, "this is a response", id="response"
        ),
    ],
)
def test_parse_errors_point_at_the_users_line_and_column(
    text: str, line: int, column: int, what: str
) -> None:
    with pytest.raises(SipParseError) as info:
        read_pasted(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert what in info.value.what


def test_unparsable_route_values_are_warnings_at_their_place() -> None:
    text = "> BYE sip:b@192.0.2.20 SIP/2.0\n> To: <sip:b@x>;tag=1\n> Route: <sip:a;lr>, junk\n"
    pasted = read_pasted(text)
    (warning,) = pasted.warnings
    assert warning.line == 3
    # "> " (2) + "Route: " (7) + offset of "junk" in the value (12) + 1
    assert warning.column == 2 + 7 + 12 + 1
    assert "missing '<'" in warning.what


@pytest.mark.parametrize(
    ("request_text", "listen", "aliases", "source"),
    [
        pytest.param(
            "BYE sip:b@x SIP/2.0\r\nRoute: <sip:192.0.2.1;lr>\r\n\r\n",
            ("udp:192.0.2.1:5060",),
            (),
            "top Route",
            id="top-route-ip",
        ),
        pytest.param(
            "BYE sip:b@x SIP/2.0\r\nRoute: <sips:edge.example.com;lr>\r\n\r\n",
            ("tls:192.0.2.1:5061",),
            ("edge.example.com",),
            "top Route",
            id="sips-name",
        ),
        pytest.param(
            "BYE sip:[2001:db8::5]:5070;lr SIP/2.0\r\nRoute: <sip:bob@192.0.2.20>\r\n\r\n",
            ("udp:[2001:db8::5]:5070",),
            (),
            "R-URI",
            id="strict-previous-hop-lr-in-ruri",
        ),
        pytest.param(
            "BYE sip:p1.example.com SIP/2.0\r\nTo: <sip:b@x>;tag=2\r\n"
            "Route: <sip:bob@192.0.2.20>\r\n\r\n",
            ("udp:192.0.2.1:5060",),
            ("p1.example.com",),
            "no user part",
            id="strict-previous-hop-no-user",
        ),
        pytest.param(
            "OPTIONS sip:192.0.2.7 SIP/2.0\r\n\r\n",
            ("udp:192.0.2.7:5060",),
            (),
            "no Route",
            id="no-route",
        ),
        pytest.param(
            "OPTIONS tel:+15551234 SIP/2.0\r\n\r\n",
            ("udp:192.0.2.1:5060",),
            (),
            "placeholder",
            id="nothing-usable",
        ),
    ],
)
def test_the_proxy_guess(
    request_text: str, listen: tuple[str, ...], aliases: tuple[str, ...], source: str
) -> None:
    guess = guess_proxy(read_pasted(request_text).request)
    assert guess.listen == listen
    assert guess.aliases == aliases
    assert source in guess.source
    build_proxy(guess.listen, guess.aliases)  # the guess is always a valid proxy


def test_build_proxy_names_the_bad_line() -> None:
    with pytest.raises(ConfigError, match="listen line 2"):
        build_proxy(["udp:192.0.2.1:5060", "udp:192.0.2.1:99999"])
    with pytest.raises(ConfigError, match="alias line 1"):
        build_proxy(["udp:192.0.2.1:5060"], ["a b c"])
    with pytest.raises(ConfigError, match="at least one"):
        build_proxy(["", "  "])


def test_loose_route_on_the_pasted_request() -> None:
    pasted = read_pasted(_paste(BYE, PREFIXES["syslog"]))
    run = run_loose_route(pasted.request, build_proxy(["udp:192.0.2.1:5060"]))
    assert run.fields["rc"] == 1
    assert run.fields["du"] == "sip:p2.example.com;lr"
    assert run.fields["routes"] == ["<sip:p2.example.com;lr>"]
    assert [s.rule for s in run.results[0].steps]


CASES = {
    "in-dialog-loose": "\n".join(BYE),
    "initial-preloaded": (
        "INVITE sip:bob@biloxi.example.com SIP/2.0\n"
        "Max-Forwards: 70\n"
        "Route: <sip:p1.atlanta.example.com;lr>\n"
        "To: <sip:bob@biloxi.example.com>\n"
        "From: <sip:alice@atlanta.example.com>;tag=1\n"
    ),
    "initial-preloaded-onward": (
        "INVITE sip:bob@biloxi.example.com SIP/2.0\n"
        "Route: <sip:p1.atlanta.example.com;lr>, <sip:192.0.2.50;lr>\n"
        "To: <sip:bob@biloxi.example.com>\n"
    ),
    "strict-previous-hop": (
        "BYE sip:p1.example.com SIP/2.0\n"
        "Route: <sip:p2.example.com;lr>, <sip:bob@192.0.2.20>\n"
        "To: <sip:bob@biloxi.example.com>;tag=2\n"
        "From: <sip:alice@atlanta.example.com>;tag=1\n"
    ),
    "not-routed": "BYE sip:bob@b.example.com SIP/2.0\nTo: <sip:bob@b.example.com>;tag=2\n",
    "in-dialog-ack-ipv6": (
        "ACK sip:bob@[2001:db8::20] SIP/2.0\n"
        "Route: <sip:[2001:db8::1];lr>, <sip:[2001:db8::2];lr>\n"
        "To: <sip:bob@b.example>;tag=2\n"
    ),
}


@pytest.mark.parametrize("name", list(CASES), ids=list(CASES))
def test_the_closest_scenario_reproduces_loose_route(name: str) -> None:
    text = CASES[name]
    pasted = read_pasted(text)
    guess = guess_proxy(pasted.request)
    proxy = build_proxy(guess.listen, guess.aliases)
    built = closest_scenario(pasted, proxy)
    # It is a scenario the app can open: valid, and the same after a round trip.
    assert loads(dumps(built.scenario)) == built.scenario
    assert simulate(built.scenario) == built.trace
    assert built.step is not None, built.notes
    assert built.differences == (), built.differences
    step = built.trace.steps[built.step]
    assert step.element == "Proxy"
    run = run_loose_route(pasted.request, proxy)
    calls = [c for c in step.rr_calls if c.call.startswith("loose_route")]
    assert calls[-1].rc == run.fields["rc"]
    assert (
        step.message_in.split("\r\n", 1)[0]
        == f"{pasted.request.method} {pasted.request.uri} SIP/2.0"
    )


def test_the_closest_scenario_quotes_the_pasted_request_line_by_line() -> None:
    # Its description quotes the request; line ends are not control characters to hide.
    pasted = read_pasted(
        "BYE sip:b@192.0.2.20 SIP/2.0\r\nTo: <sip:b@x>;tag=2\r\nRoute: <sip:192.0.2.1;lr>\r\n"
    )
    built = closest_scenario(pasted, build_proxy(["udp:192.0.2.1:5060"]))
    quoted = built.scenario.description.split("\n\n", 1)[1]
    assert quoted.splitlines()[:2] == ["BYE sip:b@192.0.2.20 SIP/2.0", "To: <sip:b@x>;tag=2"]
    assert "?" not in quoted


def test_the_closest_scenario_says_what_differs() -> None:
    # An OPTIONS cannot start a scenario's dialog: it is played as an INVITE, and the
    # comparison says so instead of pretending.
    pasted = read_pasted("OPTIONS sip:bob@192.0.2.20 SIP/2.0\nRoute: <sip:192.0.2.1;lr>\n")
    built = closest_scenario(pasted, build_proxy(["udp:192.0.2.1:5060"]))
    assert any("INVITE, not OPTIONS" in d for d in built.differences)
    assert any("played as an INVITE" in n for n in built.notes)


def test_a_request_whose_first_hop_is_not_the_proxy_never_reaches_it() -> None:
    # The top Route names another host: in the scenario the caller sends it there, so the
    # proxy never sees it, and the comparison says so.
    pasted = read_pasted(
        "BYE sip:b@192.0.2.20 SIP/2.0\nTo: <sip:b@x>;tag=2\nRoute: <sip:10.9.9.9;lr>\n"
    )
    built = closest_scenario(pasted, build_proxy(["udp:192.0.2.1:5060"]))
    assert built.step is None
    assert built.differences == ("In the scenario the request never reaches the proxy.",)
    assert any("10.9.9.9" in n for n in built.notes)


def test_a_cancel_in_a_dialog_has_no_scenario() -> None:
    pasted = read_pasted("CANCEL sip:b@192.0.2.20 SIP/2.0\nTo: <sip:b@x>;tag=1\n")
    with pytest.raises(ScenarioError, match="CANCEL"):
        closest_scenario(pasted, build_proxy(["udp:192.0.2.1:5060"]))


_ROUTE_TEXT = st.lists(
    st.tuples(
        st.sampled_from(["Route", "Record-Route", "route", "Via", "> Route", "  Route"]),
        st.sampled_from([":", " : ", ":\t"]),
        st.text(max_size=40),
    ),
    max_size=4,
).map(lambda lines: "\n".join(f"{name}{colon}{value}" for name, colon, value in lines))


@settings(max_examples=300, deadline=None)
@given(st.one_of(_ROUTE_TEXT, st.text(max_size=200)))
def test_a_wrapped_route_set_reads_or_says_where_it_is_wrong(text: str) -> None:
    wrapped = wrap_route_set(text)
    if wrapped is None:
        return
    what, message = wrapped
    assert what in ("a BYE", "a 200 OK to an INVITE")
    try:
        pasted = read_pasted_message(message)
    except SipParseError as exc:  # a value no wrapping mends (a control character in it)
        error: SipParseError | None = exc
    else:
        error = None
        assert isinstance(pasted, PastedRequest if what == "a BYE" else PastedResponse)
    assert error is None or (error.line is not None and error.line > 1)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_the_parser_contract_a_value_or_the_parse_error(text: str) -> None:
    try:
        pasted = read_pasted(text)
    except SipParseError as exc:
        error: SipParseError | None = exc
    else:
        error = None
    if error is not None:
        assert error.line is None or error.line >= 1
        return
    guess = guess_proxy(pasted.request)
    run_loose_route(pasted.request, build_proxy(guess.listen, guess.aliases))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(list(PREFIXES.values())),
    st.lists(st.sampled_from(BYE[1:]), max_size=8),
    st.sampled_from(["\n", "\r\n"]),
)
def test_any_prefixed_request_reads_like_the_plain_one(
    prefix: str, headers: list[str], newline: str
) -> None:
    lines = [BYE[0], *headers]
    plain = read_pasted("\r\n".join(lines) + "\r\n\r\n").request
    assert read_pasted(_paste(lines, prefix, newline)).request == plain


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_clean_never_raises_and_maps_every_line(text: str) -> None:
    cleaned = clean(text)
    assert len(cleaned.origin) == len(cleaned.stripped) == len(cleaned.text.split("\r\n"))
    assert all(n >= 1 for n in cleaned.origin)


ROUTE_POOL = [
    "<sip:192.0.2.1;lr>",
    "<sip:p1.example.com;lr>",
    "<sip:p2.example.com;lr>",
    "<sip:[2001:db8::1];lr>",
    "<sip:192.0.2.1:5070;transport=tcp;lr>",
    "<sip:bob@192.0.2.20>",
    "<sips:edge.example.com;lr>",
    "<sip:192.0.2.1;lr;r2=on>",
    '"Display, Name" <sip:192.0.2.1;lr>;x=1',
    "sip:no-angle.example.com;lr",
    "<sip:p3.example.com>",
    "junk",
]
RURI_POOL = [
    "sip:bob@192.0.2.20",
    "sip:bob@biloxi.example.com",
    "sip:192.0.2.1;lr",
    "sip:p1.example.com",
    "sips:bob@[2001:db8::20]:5061",
    "tel:+15551234",
]


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["INVITE", "BYE", "ACK", "OPTIONS", "SUBSCRIBE", "CANCEL", "INFO"]),
    ruri=st.sampled_from(RURI_POOL),
    routes=st.lists(st.sampled_from(ROUTE_POOL), max_size=4),
    comma=st.booleans(),
    to_tag=st.booleans(),
    max_forwards=st.sampled_from(["70", "0", "1", "abc"]),
)
def test_any_request_gives_a_scenario_or_the_reason(
    method: str, ruri: str, routes: list[str], comma: bool, to_tag: bool, max_forwards: str
) -> None:
    lines = [f"{method} {ruri} SIP/2.0", f"Max-Forwards: {max_forwards}"]
    if routes:
        lines += [f"Route: {', '.join(routes)}"] if comma else [f"Route: {r}" for r in routes]
    lines.append("To: <sip:bob@biloxi.example.com>" + (";tag=9" if to_tag else ""))
    pasted = read_pasted("\n".join(lines) + "\n")
    guess = guess_proxy(pasted.request)
    proxy = build_proxy(guess.listen, guess.aliases)
    if method == "CANCEL" and to_tag:  # the one request here no scenario can carry
        with pytest.raises(ScenarioError, match="CANCEL"):
            closest_scenario(pasted, proxy)
        return
    built = closest_scenario(pasted, proxy)
    assert loads(dumps(built.scenario)) == built.scenario
    if built.step is not None and not built.differences:
        step = built.trace.steps[built.step]
        calls = [c for c in step.rr_calls if c.call.startswith("loose_route")]
        assert calls[-1].rc == run_loose_route(pasted.request, proxy).fields["rc"]


def test_a_log_excerpt_the_core_would_drop_still_shows_what_the_script_would_do() -> None:
    lines = [ln for ln in BYE if not ln.startswith("Call-ID")]
    pasted = read_pasted(_paste(lines, PREFIXES["syslog"]))
    assert pasted.dropped is not None
    assert pasted.dropped.what == "it has no Call-ID header"
    # Placed in the user's text: the request line, after the syslog prefix.
    assert (pasted.dropped.line, pasted.dropped.column) == (1, len(PREFIXES["syslog"]) + 1)
    broken = [ln if not ln.startswith("CSeq") else "CSeq: 314160" for ln in BYE]
    pasted = read_pasted("\n".join(broken) + "\n\n")
    assert pasted.dropped is not None
    assert pasted.dropped.line == 8  # the CSeq line
    assert "CSeq" in pasted.dropped.what
    assert read_pasted("\n".join(BYE) + "\n\n").dropped is None


# --------------------------------------------------------------------------
# a pasted response: the route sets it sets up, and the caller's next request


def _response(status: str = "200 OK", cseq: str = "1 INVITE", *extra: str) -> str:
    lines = [
        f"SIP/2.0 {status}",
        "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-p1",
        "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-uac;received=192.0.2.10;rport=5070",
        "From: <sip:alice@atlanta.example.com>;tag=1928301774",
        "To: <sip:bob@biloxi.example.com>;tag=a6c85cf",
        "Call-ID: a84b4c76e66710",
        f"CSeq: {cseq}",
        *extra,
    ]
    return "\n".join(lines) + "\n\n"


def _reading(text: str) -> ResponseReading:
    pasted = read_pasted_message(text)
    assert isinstance(pasted, PastedResponse)
    return read_response(pasted.response)


def test_a_2xx_gives_both_route_sets_and_the_callers_bye() -> None:
    reading = _reading(
        _response(
            "200 OK",
            "7 INVITE",
            "Record-Route: <sip:p3.example.com;lr>",
            "Record-Route: <sip:192.0.2.2;lr>, <sip:192.0.2.1;lr;ftag=1928301774>",
            "Contact: <sip:bob@192.0.2.20:5062>",
        )
    )
    assert reading.dialog
    assert reading.callee.uris == (
        "sip:p3.example.com;lr",
        "sip:192.0.2.2;lr",
        "sip:192.0.2.1;lr;ftag=1928301774",
    )
    assert reading.caller.uris == tuple(reversed(reading.callee.uris))
    assert reading.plan is not None
    assert reading.plan.request_uri == "sip:bob@192.0.2.20:5062"
    assert not reading.plan.strict
    assert "12.1.2" in " ".join(reading.sentences)
    # The caller's BYE: its own Via (the response's last, without received/rport values),
    # the next CSeq, the route set as Route headers; at the first proxy loose_route()
    # removes that proxy's Route and sends the BYE on to the next one.
    assert reading.next_request is not None
    bye = read_pasted(reading.next_request)
    assert bye.request.method == "BYE"
    assert bye.request.uri == "sip:bob@192.0.2.20:5062"
    assert bye.request.header("Via") == "SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-routelab-8"
    assert bye.request.header("CSeq") == "8 BYE"
    assert bye.request.header_values("Route") == reading.caller.header_values()
    assert bye.dropped is None
    run = run_loose_route(bye.request, build_proxy(["udp:192.0.2.1:5060"], []))
    assert (run.fields["rc"], run.fields["du"]) == (1, "sip:192.0.2.2;lr")


def test_a_strict_first_route_puts_it_in_the_r_uri_and_the_target_last() -> None:
    reading = _reading(
        _response(
            "200 OK",
            "1 INVITE",
            "Record-Route: <sip:192.0.2.2;lr>, <sip:192.0.2.1>",
            "Contact: <sip:bob@192.0.2.20>",
        )
    )
    assert reading.plan is not None
    assert reading.plan.strict
    assert reading.plan.request_uri == "sip:192.0.2.1"
    assert reading.plan.routes == ("<sip:192.0.2.2;lr>", "<sip:bob@192.0.2.20>")
    assert any("strict router" in s and "12.2.1.1" in s for s in reading.sentences)


@pytest.mark.parametrize(
    ("status", "cseq", "extra", "said"),
    [
        ("486 Busy Here", "1 INVITE", (), "A 486 sets up no dialog"),
        ("200 OK", "2 BYE", (), "A response to BYE sets up no dialog"),
        ("100 Trying", "1 INVITE", (), "A 100 sets up no dialog"),
    ],
    ids=["final-error", "bye", "trying"],
)
def test_responses_that_set_up_no_dialog_say_why(
    status: str, cseq: str, extra: tuple[str, ...], said: str
) -> None:
    reading = _reading(_response(status, cseq, *extra))
    assert not reading.dialog
    assert reading.next_request is None
    assert any(said in s for s in reading.sentences)


def test_a_1xx_without_a_to_tag_sets_up_no_dialog() -> None:
    text = _response("180 Ringing").replace(";tag=a6c85cf", "")
    reading = _reading(text)
    assert not reading.dialog
    assert any("no To tag" in s for s in reading.sentences)


def test_an_early_dialog_without_record_route_or_contact() -> None:
    reading = _reading(_response("183 Session Progress"))
    assert reading.dialog
    assert reading.caller.uris == ()
    assert reading.next_request is None  # no Contact, no remote target
    said = " ".join(reading.sentences)
    assert "an early dialog" in said
    assert "no Record-Route" in said
    assert "no Contact URI" in said


def test_unreadable_record_route_values_are_named() -> None:
    reading = _reading(
        _response(
            "200 OK",
            "1 INVITE",
            "Record-Route: sip:192.0.2.2;lr, <sip:192.0.2.1;lr>",
            "Contact: <sip:bob@192.0.2.20>",
        )
    )
    assert reading.caller.uris == ("sip:192.0.2.1;lr",)
    assert any("1 Record-Route value cannot be read" in s for s in reading.sentences)


def test_read_pasted_still_refuses_a_response_where_a_request_is_needed() -> None:
    with pytest.raises(SipParseError) as info:
        read_pasted("> " + _response().replace("\n", "\n> "))
    assert "this is a response (SIP/2.0 200 OK)" in info.value.what
    assert (info.value.line, info.value.column) == (1, 3)


@settings(max_examples=200, deadline=None)
@given(
    status=st.sampled_from(["100 Trying", "180 Ringing", "200 OK", "202 Accepted", "404 X"]),
    cseq=st.sampled_from(["1 INVITE", "3 SUBSCRIBE", "2 REFER", "4 BYE", "x", "", "9"]),
    record_routes=st.lists(st.sampled_from([*ROUTE_POOL, "", ",", "<sip:[::1];lr>"]), max_size=4),
    contact=st.sampled_from(["", "<sip:bob@192.0.2.20>", "sip:b@x", "junk", "*"]),
    to_tag=st.booleans(),
)
def test_any_response_reads_and_its_next_request_reads_back(
    status: str, cseq: str, record_routes: list[str], contact: str, to_tag: bool
) -> None:
    text = _response(
        status,
        cseq,
        *(f"Record-Route: {value}" for value in record_routes),
        *([f"Contact: {contact}"] if contact else []),
    )
    if not to_tag:
        text = text.replace(";tag=a6c85cf", "")
    reading = _reading(text)
    assert reading.sentences
    if reading.next_request is not None:
        assert reading.plan is not None
        request = read_pasted(reading.next_request).request
        assert request.uri == reading.plan.request_uri
        assert request.header_values("Route") == reading.plan.routes


def test_a_cseq_of_other_digits_gives_the_next_request_cseq_1() -> None:
    # str.isdigit() takes '²', which int() refuses: the next request starts again at 1.
    reading = _reading(_response("200 OK", "² INVITE", "Contact: <sip:bob@192.0.2.20>"))
    assert reading.next_request is not None
    assert "CSeq: 1 BYE" in reading.next_request
