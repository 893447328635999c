"""engine/core.py: the requests Kamailio 5.6.3's core drops before the script runs.

Every case was sent to a real Kamailio 5.6.3 on loopback (tests/differential's recorder,
script loose_route()): "dropped" means nothing was forwarded and the core logged a parse
error, "runs" means the script ran and the request was forwarded.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.batch import run_vector
from engine.core import _ADDRESS_PLAIN, _VIA_PLAIN, _address_problem, _via_problem, core_problem
from engine.errors import SipParseError
from engine.message import SipRequest, parse_message

HEADERS = {
    "Via": "SIP/2.0/UDP 127.0.0.1:25070;branch=z9hG4bK-core",
    "Max-Forwards": "70",
    "From": "<sip:a@x>;tag=f1",
    "To": "<sip:b@y>;tag=t1",
    "Call-ID": "core-1",
    "CSeq": "2 BYE",
    "Route": "<sip:127.0.0.1;lr>, <sip:p2.example.org;lr>",
    "Content-Length": "0",
}


def bye(name: str, value: str | None) -> SipRequest:
    """The probe request with one header replaced (None: left out)."""
    headers = {**HEADERS, name: value}
    lines = [f"{n}: {v}" for n, v in headers.items() if v is not None]
    msg = parse_message("BYE sip:bob@127.0.0.1 SIP/2.0\r\n" + "\r\n".join(lines) + "\r\n\r\n")
    assert isinstance(msg, SipRequest)
    return msg


DROPPED = [
    ("Via", None),
    ("Via", "garbage"),
    ("Via", "SIP/2.0/UDP"),
    ("Via", "SIP/2.0/UDP 127.0.0.1:25070;branch=z9hG4bK-h, garbage"),
    ("From", None),
    ("From", "<sip:a@x>junk;tag=f1"),
    ("From", "<sip:a@x>;;tag=f1"),
    ("From", "<sip:a@x>;tag=f1, <sip:z@z>"),
    ("From", "<sip:a@x>;tag=a b"),
    ("To", None),
    ("To", "<sip:b@y>junk;tag=t1"),
    ("To", '"B <sip:b@y>;tag=t1'),
    ("To", "<sip:b@y>;;tag=t1"),
    ("To", "<sip:b@y>;tag=t1, <sip:c@z>"),
    ("To", "<sip:b@y>;tag=a b"),
    ("To", '<sip:b@y>;x="unclosed'),
    ("To", "<>;tag=t1"),
    ("To", "<sip:b@y"),
    ("To", '"B" "C" <sip:b@y>;tag=t1'),
    ("To", "<sip:b@y>;=x"),
    ("To", "<sip:b@y>,"),
    # A backslash in a quoted parameter value, escaping or not.
    ("To", '<sip:b@y>;tag="\\""'),
    ("From", '<sip:a@x>;tag="\\""'),
    ("To", '<sip:b@y>;tag="a\\"'),
    ("From", '<sip:a@x>;tag="a\\"'),
    ("To", '<sip:b@y>;tag="a\\\\"'),
    ("To", '<sip:b@y>;x="a\\"b"'),
    ("To", '<sip:b@y>;tag="a"b"'),
    ("Call-ID", None),
    ("CSeq", None),
    ("CSeq", "2"),
    ("CSeq", " BYE"),
    ("CSeq", "2 BYE extra"),
]

RUNS = [
    ("Via", "SIP/2.0/XYZ 127.0.0.1"),
    ("To", "<sip:b@y;tag=t1>"),
    ("To", "sip:b@y;tag=t1;x"),
    ("To", '"B\\"x" <sip:b@y>;tag=t1'),
    ("To", "B C <sip:b@y>;tag=t1"),
    ("To", "<sip:b@y>;tag=t1;x=<y>"),
    ("To", "<sip:b@y>;tag=t1 ;x"),
    ("To", '<sip:b@y>;tag="t1"'),
    ("To", '<sip:b@y>;tag="a" ;x'),
    ("To", '<sip:b@y>;x="a;tag=1"'),
    ("To", "<sip:b@y>;tag"),
    ("To", "x"),
    ("To", "<x>;tag=t1"),
    ("Call-ID", ""),
    ("Call-ID", "a b"),
    ("CSeq", "x BYE"),
    ("CSeq", "-1 BYE"),
    ("CSeq", "99999999999 BYE"),
    ("CSeq", "2 INVITE"),
    ("Max-Forwards", None),
    ("Max-Forwards", "abc"),
]


@pytest.mark.parametrize(("name", "value"), DROPPED, ids=[f"{n}={v!r}" for n, v in DROPPED])
def test_the_core_drops(name: str, value: str | None) -> None:
    msg = bye(name, value)
    problem = core_problem(msg)
    assert problem is not None
    index, what = problem
    assert name in what
    if value is None:
        assert index is None
    else:
        assert index is not None
        assert msg.headers[index].name == name


@pytest.mark.parametrize(("name", "value"), RUNS, ids=[f"{n}={v!r}" for n, v in RUNS])
def test_the_script_runs(name: str, value: str | None) -> None:
    assert core_problem(bye(name, value)) is None


def test_a_vector_kamailio_would_drop_is_an_error() -> None:
    raw = (
        "BYE sip:bob@127.0.0.1 SIP/2.0\r\nTo: <sip:b@y>;tag=t\r\nRoute: <sip:127.0.0.1;lr>\r\n\r\n"
    )
    with pytest.raises(SipParseError, match=r"Kamailio 5\.6\.3 drops this request") as info:
        run_vector({"proxy": {"listen": ["udp:127.0.0.1:5060"]}, "raw": raw})
    assert "no Via header" in info.value.what
    assert info.value.status_hint == 400


# Via values, each sent to Kamailio 5.6.3 as the first Via (tests/engine/test_core.py's probe
# request): whether the core drops the request or the script runs.
VIA_CASES = [
    ("SIP/2.0/UDP 127.0.0.1:25070;branch", True),
    ("SIP/2.0/UDP 127.0.0.1:25070;received=", True),
    ("SIP/2.0/UDP 127.0.0.1:25070;received=1.2.3.4", False),
    ("SIP/2.0/UDP 127.0.0.1:25070;rport=", False),
    ("SIP/2.0/UDP 127.0.0.1:25070;rport=abc", False),
    ("SIP/2.0/UDP 127.0.0.1:25070;rport=5060", False),
    ("SIP/2.0/UDP 127.0.0.1:25070;ttl", True),
    ("SIP/2.0/UDP 127.0.0.1:25070;ttl=", True),
    ("SIP/2.0/UDP 127.0.0.1:25070;maddr", True),
    ("SIP/2.0/UDP 127.0.0.1:25070;maddr=", True),
    ("SIP/2.0/UDP 127.0.0.1:25070;x", False),
    ("SIP/2.0/UDP 127.0.0.1:25070;x=", False),
    ("SIP/2.0/UDP 127.0.0.1:25070;=x", True),
    ("SIP/2.0/UDP 127.0.0.1:25070;branch=x;", True),
    ("SIP/2.0/UDP 127.0.0.1:25070;branch=x ;", True),
    ("SIP/2.0/UDP 127.0.0.1:25070;branch=x; y", False),
    ("SIP/2.0/UDP 127.0.0.1:25070;branch=x,", True),
    ("SIP/2.0/UDP 127.0.0.1:25070;branch=x,,SIP/2.0/UDP h", False),
    ("SIP/2.0/UDP 127.0.0.1:25070;branch=x, ,SIP/2.0/UDP h", False),
    (", SIP/2.0/UDP 127.0.0.1:25070;branch=x", True),
    ("SIP/2.0/UDP 127.0.0.1:25070;branch=x, SIP/2.0/UDP h:abc", True),
    ("SIP/2.0/UDP 127.0.0.1:25070;branch=x, SIP/2.0/UDP ::1", True),
    ("SIP/2.0/UDP ::1", True),
    ("SIP/2.0/UDP [::1", True),
    ("SIP/2.0/UDP 127.0.0.1:", True),
    ("SIP/2.0/UDP 127.0.0.1: 5060", False),
    ("SIP/2.0/UDP 127.0.0.1 :5060", False),
    ("SIP/2.0/UDP 127.0.0.1:5060x", True),
    ("SIP/2.0/UDP h_x", False),
    ("SIP/2.0/UDP -h", False),
    ("SIP/2.0/UDP h!x", False),
    ("SIP/2.0/UDP h x", True),
    ("SIP/2.0/UDP h\t;branch=x", False),
    ("SIP/2.0/UDP h;branch=x (c)", False),
    ("SIP/2.0/UDP h (c);branch=x", True),
    ("Sip/2.0/Udp h", False),
    ("SIP/2.0/udp h", False),
    ("SIP/2.0/XYZ h", False),
    ("SIP/2.0/ h", True),
    ("SIP/2.0 h", True),
    ("SIP//UDP h", True),
    ("SIP/2.0/UDP", True),
    ("SIP/2.0/UDP\th", False),
    ("SIP/2.0/UDP  h", False),
    ('SIP/2.0/UDP 127.0.0.1:25070;branch="x"', False),
    ('SIP/2.0/UDP 127.0.0.1:25070;branch=x"y', True),
    ("SIP/2.0/UDP 127.0.0.1:25070;received=::1", False),
    ("SIP/2.0/UDP 127.0.0.1:25070;received=[::1]", False),
    ("SIP/2.0/UDP 127.0.0.1:25070;BRANCH=", True),
    ("SIP/2.0/UDP 127.0.0.1:25070;Received", True),
    ("SIP/2.0/UDP ::1;branch=z9hG4bK-x", True),
    ("SIP/2.0/UDP 127.0.0.1:0;branch=z9hG4bK-x", False),
    ("SIP/2.0/UDP 127.0.0.1:99999;branch=z9hG4bK-x", False),
    ("SIP/2.0/UDP 127.0.0.1:25070;;branch=x", True),
    ("SIP/2.0/UDP 127.0.0.1:25070;branch=", True),
    ("sip/2.0/udp 127.0.0.1", False),
    ("SIP/2.0/UDP 127.0.0.1:abc", True),
    ("SIP/2.0/UDP 127.0.0.1 x", True),
    ("SIP/2.0/UDP 127.0.0.1 (comment)", False),
    ("SIP / 2.0 / UDP 127.0.0.1:25070;branch=z9hG4bK-x", False),
]


@pytest.mark.parametrize(("value", "dropped"), VIA_CASES, ids=[repr(v) for v, _ in VIA_CASES])
def test_via_values_as_the_core_reads_them(value: str, dropped: bool) -> None:
    problem = core_problem(bye("Via", value))
    assert (problem is not None) is dropped
    if problem is not None:
        assert "Via" in problem[1]


@settings(max_examples=500)
@given(st.from_regex(_VIA_PLAIN, fullmatch=True))
def test_the_everyday_via_shortcut_passes_only_what_the_full_check_passes(value: str) -> None:
    # core_problem() skips the full Via check for values of this shape: each must be one
    # that the full check lets through.
    assert _via_problem(value) is None


@settings(max_examples=500)
@given(st.from_regex(_ADDRESS_PLAIN, fullmatch=True))
def test_the_everyday_address_shortcut_passes_only_what_the_full_check_passes(
    value: str,
) -> None:
    # Likewise for From and To.
    assert _address_problem(value) is None


@pytest.mark.parametrize(
    "value",
    [
        '"Alice" <sip:alice@example.org>;tag=1928301774',
        "Bob <sip:bob@example.net>;tag=a6c85cf",
        "Bob Smith <sip:bob@example.net>",
        '"" <sip:x@y>',
        "<sip:bob@example.net;user=phone>;tag=x;foo",
        '"a<b>, c" <tel:+15551234>',
    ],
)
def test_everyday_addresses_take_the_shortcut(value: str) -> None:
    assert _ADDRESS_PLAIN.match(value)
    assert _address_problem(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "<sip:b@x>;tag=a b",
        '<sip:b@x>;tag="t1"',
        '"a\\" b" <sip:x@y>',
        "sip:b@x;tag=1",
        "<sip:b@x>;;tag=1",
        "<sip:b@x> ;tag=1",
        "Bob  <sip:b@x>",
    ],
)
def test_other_addresses_get_the_full_check(value: str) -> None:
    assert not _ADDRESS_PLAIN.match(value)
