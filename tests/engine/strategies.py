"""Hypothesis strategies that generate engine *values*: URIs, name-addrs, messages.

Each strategy draws only values that the matching parser can produce, so the
round-trip properties can say ``parse(render(v)) == v`` for every draw.  The
comments name the parser rule that rules a character out.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import strategies as st

from engine.errors import SipParseError
from engine.headers import NameAddr
from engine.message import Header, SipRequest, SipResponse
from engine.uri import SipUri, render_uri

T = TypeVar("T")

DIGITS = string.digits
ALNUM = string.ascii_letters + string.digits
TOKEN = ALNUM + "-.!%*_+`'~"  # RFC 3261 token

# The user part ends at the first '@' before any of < > " , white space; '?' starts the
# URI headers and ':' the password.
USER_CHARS = ALNUM + "-_.!~*'()%&=+$;/"
# RFC 3261 25.1, as Kamailio 5.6.3 holds to it: no ':', ';' or '?' in a password.
PASSWORD_CHARS = ALNUM + "-_.!~*'()%&=+$,"
# A parameter may not hold ';' (the separator), '?' (headers), '"' (quotes toggle), '@'
# (it would end a user part) or control characters; a name has no '=' and no blanks.
PARAM_NAME_CHARS = TOKEN + "[]/:&+$"
PARAM_VALUE_CHARS = TOKEN + "[]/:&+$=, "
# URI headers hold anything but control characters, '@' (which would make all before it
# a user part, as it does in Kamailio 5.6.3) and ';' (5.6.3 refuses it after the '?').
HEADER_CHARS = TOKEN + "=&?:,/ <>[]"


def _text(alphabet: str, min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


hostnames = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,20}[A-Za-z0-9_.])?", fullmatch=True)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6_references = st.one_of(
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
    st.ip_addresses(v=6).map(lambda a: f"[{a.exploded}]"),
)
hosts = st.one_of(hostnames, ipv4, ipv6_references)
# Behind a user part a host name is letters, digits, '.' and '-' (Kamailio 5.6.3).
hosts_after_user = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.-]{0,20}", fullmatch=True), ipv4, ipv6_references
)
ports = st.one_of(st.none(), st.integers(0, 65535))


def _param_name() -> st.SearchStrategy[str]:
    return _text(PARAM_NAME_CHARS, 1, 8)


def params(
    name_chars: str = PARAM_NAME_CHARS, value_chars: str = PARAM_VALUE_CHARS
) -> st.SearchStrategy[tuple[tuple[str, str | None], ...]]:
    """URI parameters: names as written (any case), a value or None for a flag."""
    pair = st.tuples(
        _text(name_chars, 1, 8),
        st.one_of(st.none(), _text(value_chars, 0, 10)),
    )
    return st.lists(pair, max_size=4).map(tuple)


@st.composite
def sip_uris(draw: st.DrawFn, *, headers: bool = True) -> SipUri:
    """sip: and sips: URIs with user, password, host, port, parameters and headers."""
    user = draw(st.one_of(st.none(), _text(USER_CHARS, 1, 10)))
    # A user part with ';' has no password: "sip:a;b:c@h" is the user "a;b:c".
    password = (
        draw(_text(PASSWORD_CHARS, 0, 8))
        if user is not None and ";" not in user and draw(st.booleans())
        else None
    )
    return SipUri(
        scheme=draw(st.sampled_from(("sip", "sips"))),
        user=user,
        password=password,
        host=draw(hosts if user is None else hosts_after_user),
        port=draw(ports),
        params=draw(params()),
        headers=draw(st.one_of(st.none(), _text(HEADER_CHARS, 0, 12))) if headers else None,
    )


tel_uris = st.builds(
    lambda number, ps: SipUri("tel", user=number, params=ps),
    # The number runs to the first ';' and has no white space.
    _text(DIGITS + "+-.()*#pwABCD", 1, 15),
    params(),
)

uris = st.one_of(sip_uris(), tel_uris)


# --------------------------------------------------------------------------
# name-addrs

# A quoted display name: any text, with '"' and '\' escaped (RFC 3261 25.1 quoted-pair).
quoted_displays = _text(ALNUM + " ,;:<>@.'-", 0, 12).map(lambda s: f'"{s}"') | st.just(
    '"a\\"b\\\\"'
)
token_displays = st.lists(_text(TOKEN, 1, 6), min_size=1, max_size=3).map(" ".join)
displays = st.one_of(st.none(), quoted_displays, token_displays)

HEADER_PARAM_NAME = TOKEN
HEADER_PARAM_VALUE = TOKEN + ":/[]@"
header_params = st.lists(
    st.tuples(
        _text(HEADER_PARAM_NAME, 1, 6),
        st.one_of(st.none(), _text(HEADER_PARAM_VALUE, 0, 8), st.just('"a;b, c"')),
    ),
    max_size=3,
).map(tuple)

# Inside <...> the URI may not hold '>' (the first one closes) or '<'.
angle_uri_texts = st.one_of(sip_uris(headers=False), tel_uris).map(render_uri)


@st.composite
def name_addrs(draw: st.DrawFn) -> NameAddr:
    """``display <uri>;params`` and ``uri;params`` (addr-spec) values."""
    if draw(st.booleans()):
        return NameAddr(draw(angle_uri_texts), draw(displays), draw(header_params), angle=True)
    # An addr-spec's parameters belong to the header, so its URI carries none, and no
    # ';' at all: the first one starts the header parameters (even inside a user part).
    uri = draw(sip_uris(headers=False))
    user = draw(st.one_of(st.none(), _text(USER_CHARS.replace(";", ""), 1, 10)))
    password = uri.password.replace(";", "") if user is not None and uri.password else None
    bare = SipUri(uri.scheme, user, password, uri.host, uri.port)
    return NameAddr(render_uri(bare), None, draw(header_params), angle=False)


# --------------------------------------------------------------------------
# messages

header_names = _text(TOKEN, 1, 12)
# A value has no CR, LF or NUL and no blanks at either end (they are trimmed).
_VALUE_CHARS = string.ascii_letters + string.digits + " \t<>;:=,@\"'./[]?-_+*%~\u00e9"
header_values = _text(_VALUE_CHARS, 0, 30).map(lambda v: v.strip(" \t"))
headers = st.lists(st.builds(Header, header_names, header_values), max_size=8).map(tuple)
bodies = st.one_of(st.just(""), st.text(max_size=40))
request_uris = _text(string.ascii_letters + string.digits + ":@;=.[]<>?&%-", 1, 30)


requests = st.builds(
    SipRequest,
    headers=headers,
    body=bodies,
    method=_text(TOKEN, 1, 10),
    uri=request_uris,
)
responses = st.builds(
    SipResponse,
    headers=headers,
    body=bodies,
    status=st.integers(100, 699),
    reason=st.one_of(st.just(""), st.text(alphabet=_VALUE_CHARS + "/", max_size=20)),
)
messages = st.one_of(requests, responses)


def attempt(parse: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T | None, Any]:
    """``(value, None)`` or ``(None, the SipParseError)``: lets a test assert on either."""
    try:
        return parse(*args, **kwargs), None
    except SipParseError as exc:
        return None, exc


def texts_of(pieces: list[str], max_size: int = 30) -> st.SearchStrategy[str]:
    """Text made of the given pieces: single characters and longer snippets."""
    return st.lists(st.sampled_from(pieces), max_size=max_size).map("".join)
