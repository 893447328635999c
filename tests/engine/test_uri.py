"""engine/uri.py: SIP, SIPS and tel URIs (RFC 3261 19.1, RFC 3966) and host comparison."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.errors import SipParseError
from engine.uri import (
    MEMO_LIMIT,
    SipUri,
    _parse_uri,
    _parse_uri_slow,
    is_ip,
    parse_uri,
    render_uri,
    same_ip,
    valid_host,
)
from tests.engine.strategies import attempt, texts_of, uris


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "sip:p1.example.com;lr",
            SipUri("sip", host="p1.example.com", params=(("lr", None),)),
            id="host-lr",
        ),
        pytest.param(
            "sips:alice:secret@atlanta.example.com:5061;transport=TCP?Subject=hi&x=y",
            SipUri(
                "sips",
                "alice",
                "secret",
                "atlanta.example.com",
                5061,
                (("transport", "TCP"),),
                "Subject=hi&x=y",
            ),
            id="user-password-port-params-headers",
        ),
        pytest.param(
            "sip:bob@[2001:db8::1]:5070;maddr=10.0.0.1",
            SipUri("sip", "bob", None, "[2001:db8::1]", 5070, (("maddr", "10.0.0.1"),)),
            id="ipv6-reference",
        ),
        pytest.param("sip:127.0.0.1", SipUri("sip", host="127.0.0.1"), id="ipv4"),
        pytest.param(
            "SIP:Host.Example.COM", SipUri("sip", host="Host.Example.COM"), id="scheme-lower-cased"
        ),
        pytest.param(
            "sip:%61lice@h;LR; r2 =on;x=",
            SipUri("sip", "%61lice", None, "h", None, (("LR", None), (" r2 ", "on"), ("x", ""))),
            id="params-kept-as-written",
        ),
        pytest.param("sip:a;b@h", SipUri("sip", "a;b", None, "h"), id="semicolon-in-user-part"),
        # The user part runs to the first '@' whatever stands before it, as Kamailio 5.6.3
        # reads it (each of these named the proxy at host h = 127.0.0.1 in a real run).
        pytest.param("sip:a;x?y@h", SipUri("sip", "a;x?y", None, "h"), id="query-in-user-part"),
        pytest.param("sip:?x@h", SipUri("sip", "?x", None, "h"), id="user-part-starts-with-?"),
        pytest.param("sip:a b,c<d@h", SipUri("sip", "a b,c<d", None, "h"), id="odd-user-part"),
        pytest.param("sip:a:b,c<d@h", SipUri("sip", "a", "b,c<d", "h"), id="odd-password"),
        pytest.param("sip:a;c:b@h", SipUri("sip", "a;c:b", None, "h"), id="colon-after-semicolon"),
        pytest.param("sip:[::1];x@h", SipUri("sip", "[::1];x", None, "h"), id="ipv6-in-user-part"),
        pytest.param("sip:[::1]:5?x@h", SipUri("sip", "[::1]:5?x", None, "h"), id="ipv6-port-user"),
        # Hosts and ports as Kamailio 5.6.3 reads them (each routed on in a real run).
        pytest.param("sip:-p2.example.org", SipUri("sip", host="-p2.example.org"), id="dash-host"),
        pytest.param(
            "sip:%41b.x;lr", SipUri("sip", host="%41b.x", params=(("lr", None),)), id="pct"
        ),
        pytest.param("sip:p!2.x", SipUri("sip", host="p!2.x"), id="odd-host"),
        pytest.param("sip:h:;lr", SipUri("sip", host="h", params=(("lr", None),)), id="empty-port"),
        pytest.param("sip:h:0", SipUri("sip", host="h", port=0), id="port-zero"),
        # ";;lr" is one parameter named ";lr": Kamailio 5.6.3 sees no lr in it.
        pytest.param("sip:h;;lr", SipUri("sip", host="h", params=((";lr", None),)), id="semi-semi"),
        pytest.param(
            "sip:h;x;;;lr",
            SipUri("sip", host="h", params=(("x", None), (";", None), ("lr", None))),
            id="three-semis",
        ),
        pytest.param(
            "sip:h;lr;", SipUri("sip", host="h", params=(("lr", None), ("", None))), id="tail"
        ),
        pytest.param(
            "sip:h2;lr?x=y@h", SipUri("sip", "h2;lr?x=y", None, "h"), id="at-in-headers-is-user"
        ),
        pytest.param(
            "tel:+1-201-555-0123;phone-context=example.com",
            SipUri("tel", user="+1-201-555-0123", params=(("phone-context", "example.com"),)),
            id="tel",
        ),
        pytest.param(
            "sip:p9.example.org;lr, <sip:127.0.0.1;lr",
            SipUri(
                "sip", host="p9.example.org", params=(("lr, <sip:127.0.0.1", None), ("lr", None))
            ),
            id="kamailio-lenient-params",
        ),
        pytest.param("sip:h:00005", SipUri("sip", host="h", port=5), id="leading-zero-port"),
        # With no user part Kamailio 5.6.3 keeps blanks and angle brackets in the host:
        # "sip:127.0.0.1 ;lr" is a foreign loose router whose host ends in a blank.
        pytest.param(
            "sip:127.0.0.1 ;lr",
            SipUri("sip", host="127.0.0.1 ", params=(("lr", None),)),
            id="blank-ends-host",
        ),
        pytest.param("sip: h\t", SipUri("sip", host=" h\t"), id="blanks-around-host"),
        pytest.param("sip:p<2>x", SipUri("sip", host="p<2>x"), id="angles-in-host"),
        pytest.param("sip:h :5060", SipUri("sip", host="h ", port=5060), id="blank-before-port"),
        pytest.param("sip:p_2!", SipUri("sip", host="p_2!"), id="odd-host-without-user"),
        pytest.param('sip:"192.0.2.7"', SipUri("sip", host='"192.0.2.7"'), id="quotes-in-host"),
        # Behind a user part: letters, digits, '.' and '-' (a '-' may end it).
        pytest.param(
            "sip:u@p2.example.org-", SipUri("sip", "u", None, "p2.example.org-"), id="u-dash"
        ),
        pytest.param("sip:u@p..q.", SipUri("sip", "u", None, "p..q."), id="u-dots"),
        # A '?' in the user part is no header, so a ';' after it is fine.
        pytest.param(
            "sip:a?x;y@h;lr",
            SipUri("sip", "a?x;y", None, "h", params=(("lr", None),)),
            id="semi-after-query-in-user",
        ),
        pytest.param(
            "sip:h;lr?x=y&z",
            SipUri("sip", host="h", params=(("lr", None),), headers="x=y&z"),
            id="headers",
        ),
    ],
)
def test_parse_uri(text: str, expected: SipUri) -> None:
    assert parse_uri(text) == expected


@pytest.mark.parametrize(
    ("text", "what", "column"),
    [
        pytest.param("p1.example.com", "missing scheme", 1, id="no-scheme"),
        pytest.param(":x", "missing scheme", 1, id="empty-scheme"),
        pytest.param("foo:bar", "unsupported scheme 'foo'", 1, id="foo-scheme"),
        pytest.param("sip:@h", "empty user part", 5, id="empty-user"),
        # Kamailio 5.6.3 refuses these (loose_route() -1 on each as the first Route).
        pytest.param("sip:a@b@h", "a second '@'", 8, id="two-at"),
        pytest.param("sip:a@h;maddr=x@y", "a second '@'", 16, id="at-in-params-after-user"),
        pytest.param("sip:a@h?x=a@b", "a second '@'", 12, id="at-in-headers-after-user"),
        pytest.param("sip:a:b:c@h", "character ':' not allowed in password", 8, id="colon-in-pw"),
        pytest.param("sip:a:b;c@h", "character ';' not allowed in password", 8, id="semi-in-pw"),
        pytest.param("sip:h:5070;x@h", "character ';' not allowed in password", 11, id="port-user"),
        pytest.param("sip:a:b?c@h", "character '?' not allowed in password", 8, id="query-in-pw"),
        pytest.param("sip:[::1]@h", "an IPv6 reference before '@'", 10, id="v6-user"),
        pytest.param("sip:[::1]x@h", "an IPv6 reference before '@'", 10, id="v6-junk"),
        pytest.param("sip:[::1]:a;x@h", "an IPv6 reference before '@'", 10, id="v6-bad-port"),
        pytest.param("sip:[::1;x@h", "unterminated IPv6 reference in user part", 5, id="v6-open"),
        pytest.param("sip:", "missing host", 5, id="missing-host"),
        pytest.param("sip:a@", "missing host", 7, id="missing-host-after-user"),
        pytest.param("sip:[::1;lr", "unterminated IPv6 reference", 5, id="open-bracket"),
        pytest.param("sip:[::g]", "invalid host '[::g]'", 5, id="bad-ipv6"),
        pytest.param("sip:h]x", "invalid host 'h]x'", 5, id="bad-hostname"),
        pytest.param("sip:h[x", "invalid host 'h[x'", 5, id="bracket-in-host"),
        # A maddr with no value as the last parameter (RL-PEMPTY-* on 5.6.3).
        pytest.param("sip:h;lr;maddr", "an empty maddr at the end", 10, id="maddr-flag-last"),
        pytest.param("sip:h;lr;MADDR=", "an empty maddr at the end", 10, id="maddr-empty-last"),
        # Behind a user part Kamailio 5.6.3 takes only letters, digits, '.' and '-'.
        pytest.param("sip:u@p!2", "invalid host 'p!2': after a user part", 7, id="u-bang"),
        pytest.param("sip:u@p_2", "invalid host 'p_2': after a user part", 7, id="u-underscore"),
        pytest.param("sip:u@-p2", "invalid host '-p2': after a user part", 7, id="u-leading-dash"),
        pytest.param("sip:u@.p2", "invalid host '.p2': after a user part", 7, id="u-leading-dot"),
        pytest.param("sip:u@h ;lr", "invalid host 'h ': after a user part", 7, id="u-blank"),
        pytest.param(
            "sip:u:pw@p%41", "invalid host 'p%41': after a user part", 10, id="u-pw-escape"
        ),
        pytest.param(
            "sip:u@p\u00e92", "invalid host 'p\u00e92': after a user part", 7, id="u-non-ascii"
        ),
        # A ';' after the '?' that starts the URI headers.
        pytest.param("sip:h?x=y;lr", "';' in the URI headers after '?'", 10, id="semi-in-headers"),
        pytest.param(
            "sip:h;lr?;", "';' in the URI headers after '?'", 10, id="semi-right-after-query"
        ),
        pytest.param(
            "sip:u@h:5060?x;y", "';' in the URI headers after '?'", 15, id="semi-after-port-query"
        ),
        pytest.param("sip:h:x", "invalid port", 7, id="letter-port"),
        pytest.param("sip:h:65536", "invalid port", 7, id="port-too-large"),
        pytest.param("sip:h:123456", "invalid port", 7, id="port-too-long"),
        # Regression (fuzz): str.isdigit() digits such as ARABIC-INDIC FIVE were ports.
        pytest.param("sip:h:\u0665\u0660\u0666\u0660", "invalid port", 7, id="unicode-digits"),
        pytest.param("sip:h:5060x", "unexpected 'x' after host", 11, id="junk-after-port"),
        pytest.param("sip:h\x00", "character '\\x00' not allowed", 6, id="nul"),
        pytest.param("sip:h\r\n", "character '\\r' not allowed", 6, id="cr"),
        pytest.param("tel:", "missing or invalid telephone number", 5, id="empty-tel"),
        pytest.param("tel:+1 555", "missing or invalid telephone number", 5, id="space-in-tel"),
    ],
)
def test_parse_uri_errors_say_what_and_where(text: str, what: str, column: int) -> None:
    with pytest.raises(SipParseError) as info:
        parse_uri(text)
    assert info.value.what.startswith(what)
    assert (info.value.line, info.value.column) == (1, column)
    assert str(info.value).startswith(f"line 1, column {column}: ")


def test_parameter_lookups_ignore_case_and_blanks() -> None:
    uri = parse_uri("sip:p.example.com; LR ;R2=on;maddr= 10.0.0.1 ;Gr")
    assert uri.has_param("lr")
    assert uri.has_param("r2")
    assert uri.param("r2") == "on"
    assert uri.param("MADDR") == "10.0.0.1"  # the value is trimmed for look-ups
    assert uri.param("gr") == ""  # a flag
    assert uri.param("ftag") is None
    assert not uri.has_param("ftag")
    assert uri.param_text == "; LR ;R2=on;maddr= 10.0.0.1 ;Gr"  # rendering keeps it as written


@pytest.mark.parametrize(
    ("text", "loose"),
    [
        pytest.param("sip:p;lr", True, id="lr"),
        pytest.param("sip:p;lr=on", True, id="lr-on-L24"),
        pytest.param("sip:p;LR", True, id="LR-upper"),
        pytest.param("sip:p;lr=off", True, id="lr-off-L25"),
        pytest.param("sip:p;lrx", False, id="lrx-L25c"),
        pytest.param("sip:p;ftag=lr", False, id="lr-as-value"),
        pytest.param("sip:p", False, id="none"),
    ],
)
def test_is_loose_means_an_lr_parameter_of_any_value(text: str, loose: bool) -> None:
    # spec 3.2: a parameter named lr, with or without a value, makes a loose router.
    assert parse_uri(text).is_loose is loose


def test_properties() -> None:
    uri = parse_uri("sips:[::1];transport=tls")
    assert uri.is_sip
    assert uri.host_for_compare == "::1"
    assert uri.port_or_default == 5060  # spec 2 rule 2: 5060 whatever the scheme
    tel = parse_uri("tel:+15551234")
    assert not tel.is_sip
    assert tel.host == ""
    assert str(tel) == "tel:+15551234"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param("[0:0:0:0:0:0:0:1]", "[::1]", True, id="ipv6-as-addresses-L60b"),
        pytest.param("[::1]", "::1", True, id="brackets-stripped"),
        pytest.param("127.000.000.001", "127.0.0.1", False, id="ipv4-as-text-L64"),
        pytest.param("Proxy.Example.COM", "proxy.example.com", True, id="names-ignore-case"),
        pytest.param("[::1]", "[::2]", False, id="different-ipv6"),
        pytest.param("[zz::1]", "[ZZ::1]", True, id="bad-ipv6-as-text"),
    ],
)
def test_same_ip(a: str, b: str, same: bool) -> None:
    assert same_ip(a, b) is same
    assert same_ip(b, a) is same


def test_is_ip_and_valid_host() -> None:
    assert is_ip("10.0.0.1")
    assert is_ip("[::1]")
    assert is_ip("::1")
    assert not is_ip("example.com")
    assert valid_host("a.b-c_d")
    assert valid_host("[2001:db8::1]")
    assert not valid_host("[2001:db8::1")
    assert not valid_host("a b")


def test_long_uris_are_parsed_without_the_memo() -> None:
    text = "sip:h;x=" + "v" * MEMO_LIMIT
    assert parse_uri(text) == parse_uri(text)
    assert parse_uri(text).param("x") == "v" * MEMO_LIMIT
    with pytest.raises(SipParseError):
        parse_uri(text + "@h@")  # errors are not remembered either
    with pytest.raises(SipParseError):
        parse_uri(text + "@h@")


@given(uris)
@example(SipUri("sip", "u", "", "h"))  # an empty password is kept
@example(SipUri("tel", user="+1", params=(("a", ""),)))
def test_render_then_parse_is_the_identity(uri: SipUri) -> None:
    assert parse_uri(render_uri(uri)) == uri


URIISH = texts_of(
    [
        *"sipSIPtel:@[]<>;,\"'\\=?&.-_0123456789abcdef \t%+/\x00\u0665",
        *("sip:", "sips:", "tel:", ";lr", ";maddr=", ":5060", "[::1]", "99999"),
    ]
)


@settings(max_examples=500)
@given(st.one_of(URIISH, st.text(max_size=40)))
def test_any_text_gives_a_uri_or_a_located_error(text: str) -> None:
    uri, error = attempt(parse_uri, text)
    if error is not None:
        assert error.line == 1
        assert 1 <= error.column <= len(text) + 1
    else:
        assert uri is not None
        assert parse_uri(render_uri(uri)) == uri


@settings(max_examples=500)
@given(st.one_of(URIISH, st.text(max_size=40), uris.map(render_uri)))
def test_the_everyday_regex_agrees_with_the_full_parser(text: str) -> None:
    # _parse_uri() answers the common shapes with one regex; whatever it accepts
    # must be exactly what the character-by-character parser gives.
    fast, fast_error = attempt(_parse_uri, text)
    slow, slow_error = attempt(_parse_uri_slow, text)
    assert fast == slow
    if fast is not None:
        # The fast path hands SipUri its look-up keys and parameter text ready-made
        # (_new_uri); they must be what SipUri.__new__ works out from the parameters.
        rebuilt = SipUri(fast.scheme, fast.user, fast.password, fast.host, fast.port, fast.params)
        assert (fast.param_keys, fast.param_text) == (rebuilt.param_keys, rebuilt.param_text)
    assert (fast_error is None) == (slow_error is None)
    if fast_error is not None:
        assert (fast_error.what, fast_error.column) == (slow_error.what, slow_error.column)


def test_replace_works_out_the_derived_fields_again() -> None:
    uri = parse_uri("sip:a@x;lr;X=1")
    other = uri._replace(params=(("maddr", "10.0.0.1"),), headers=None)
    assert other == SipUri("sip", "a", None, "x", None, (("maddr", "10.0.0.1"),))
    assert (other.param_text, other.param_keys) == (";maddr=10.0.0.1", ("maddr",))
    assert other.has_param("MADDR")
    assert not other.has_param("lr")
    with pytest.raises(TypeError):
        uri._replace(param_text=";lr")
    assert repr(uri) == (
        "SipUri(scheme='sip', user='a', password=None, host='x', port=None, "
        "params=(('lr', None), ('X', '1')), headers=None)"
    )


def test_uri_param_with_known_values_skips_the_others() -> None:
    uri = parse_uri("sip:h;lr;transport=tcp;transport=xyz;transport=UDP ")
    assert uri.uri_param("transport", frozenset({"udp", "tcp"})) == "tcp"
    assert parse_uri("sip:h;transport=xyz").uri_param("transport", frozenset({"udp"})) is None


@pytest.mark.parametrize(
    ("text", "name", "value"),
    [
        # As Kamailio 5.6.3's URI parser keeps them (RL-MADDR*, RL-PNAME-* on runs).
        ("sip:h;maddr=10.0.0.1;MADDR=10.0.0.2", "maddr", "10.0.0.2"),
        ("sip:h;maddr= 10.0.0.1 ", "maddr", " 10.0.0.1 "),
        ("sip:h; maddr=10.0.0.1", "maddr", None),
        ("sip:h;maddr =10.0.0.1", "maddr", None),
        ("sip:h;;maddr=10.0.0.1", "maddr", "10.0.0.1"),
        ("sip:h;maddr;lr", "maddr", ""),
        ("sip:h;lr;maddr?x=y", "maddr", ""),  # not the end of the URI: no error
        ("sip:h;maddr=10.0.0.1;maddr;lr", "maddr", "10.0.0.1"),  # no value: no overwrite
        ("sip:h;maddr=10.0.0.1;maddr=;lr", "maddr", "10.0.0.1"),
        ("sip:h;maddr;maddr=10.0.0.1;lr", "maddr", "10.0.0.1"),
        ("sip:h;lr;transport=TCP", "transport", "TCP"),
        ("sip:h;lr; gr", "gr", None),
        ("sip:h;lr;GR=x", "gr", "x"),
    ],
)
def test_uri_param_reads_names_exactly_and_values_as_written(
    text: str, name: str, value: str | None
) -> None:
    assert parse_uri(text).uri_param(name) == value


@pytest.mark.parametrize(
    ("text", "loose"),
    [
        ("sip:h;lr", True),
        ("sip:h; lr ;x", True),  # lr is read leniently
        ("sip:h;user=phone;lr", False),  # a telephone URI to Kamailio: no lr (RL-UPHONE-*)
        ("sip:+1@h;lr=on;user=phone", False),
        ("sip:h;lr;user=Phone", True),
        ("sip:h;lr;user=phone ;x", True),
        ("sip:h;user=ip;lr", True),
        ("tel:+1;user=phone;lr", True),  # only sip: and sips: URIs turn into telephone ones
    ],
)
def test_is_loose_as_kamailio_sees_it(text: str, loose: bool) -> None:
    assert parse_uri(text).is_loose is loose


def test_a_telephone_reading_hides_the_route_parameters() -> None:
    uri = parse_uri("sips:+1@h;user=phone;lr;r2=on;ftag=x")
    assert uri.reads_as_tel
    assert (uri.rr_params, uri.is_loose) == ("", False)
    assert parse_uri("sip:h;lr;ftag=x").rr_params == ";lr;ftag=x"
