"""SIP, SIPS and tel URIs (RFC 3261 section 19.1, RFC 3966).

Rule 1: parsing keeps every parameter exactly as written (name, value, order,
case), because Kamailio copies Route URIs into ``$du`` and the R-URI verbatim.
Rule 2: look-ups that Kamailio makes case-insensitively (``lr``, ``r2``,
``maddr``, ``transport``, ``gr``, ``ob``) go through :meth:`SipUri.param`,
which ignores case and white space around the name.
Rule 3: ``parse_uri(render_uri(u)) == u``; errors give line 1 and the column.

>>> u = parse_uri("sip:alice@[::1]:5070;lr;maddr=10.0.0.1?subject=hi")
>>> u.user, u.host, u.port, u.has_param("LR"), u.param("maddr")
('alice', '[::1]', 5070, True, '10.0.0.1')
>>> render_uri(u)
'sip:alice@[::1]:5070;lr;maddr=10.0.0.1?subject=hi'
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from engine.errors import SipParseError

SCHEMES = ("sip", "sips", "tel")
DEFAULT_PORT = 5060
#: Parsers remember results for texts up to this long (longer ones are parsed each time).
MEMO_LIMIT = 256
#: How many recent results each parser's memo keeps.  Bigger is not faster: what a memo
#: holds stays alive, and once it holds a few thousand values, every new request's
#: values are made and freed in memory the processor no longer has at hand.  With 1,024
#: a stream of never-seen requests runs about 10 % faster than with 2,048 or 4,096, and
#: streams of up to 1,000 interleaved dialogs as fast (tests/bench/bench_rr_distinct.py).
MEMO_SIZE = 1024

_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?\Z|[A-Za-z0-9]\Z")
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]+\Z")
# Characters never allowed anywhere in a URI as RouteLab reads it.  Like Kamailio's
# parser, parameters and URI headers may hold anything else (a Route URI
# ``sip:p9.example.org;lr, <sip:127.0.0.1;lr`` parses: seen on 5.6.3).
_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_FORBIDDEN_IN_USERINFO = re.compile(r"[>]")
_NOT_IN_PASSWORD = re.compile(r"[;?:]")
_USER_STOP = re.compile(r"[:;?]")
_HOST_END = re.compile(r"[:;]")
_PORT = re.compile(r":([0-9]*)")
# Kamailio 5.6.3 reads a host two ways (seen on runs, tests/engine/test_uri.py).  Behind
# a user part ("sip:u@host") only letters, digits, '.' and '-' may follow a first letter
# or digit.  With no user part it keeps almost anything up to the ':', ';' or '?' that
# ends the host, blanks, quotes and angle brackets included ("sip:127.0.0.1 ;lr" names
# the host "127.0.0.1 "), and refuses only brackets.
_HOST_AFTER_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*+\Z")
_BAD_HOST_CHAR = re.compile(r"[\[\]]")
_SPACE = re.compile(r"\s")  # the characters for which str.isspace() is true


class _UriFields(NamedTuple):
    scheme: str
    user: str | None
    password: str | None
    host: str
    port: int | None
    params: tuple[tuple[str, str | None], ...]
    headers: str | None
    # Worked out from ``params`` once, because the rr functions ask a URI for lr, r2,
    # maddr, gr ... again and again: the parameter names as look-ups compare them
    # (stripped, lower case), and the parameter text with its leading ``;``.
    param_keys: tuple[str, ...]
    param_text: str


class SipUri(_UriFields):
    """A parsed URI.  ``host`` keeps IPv6 brackets; tel URIs have ``host == ""``.

    ``params`` holds ``(name, value)`` pairs exactly as written; ``value`` is
    ``None`` for a flag parameter such as ``;lr``.  ``param_keys`` and
    ``param_text`` follow from ``params``.  A named tuple: the parser makes one
    for every URI it has not seen lately, and a tuple is made in C.
    """

    __slots__ = ()

    def __new__(
        cls,
        scheme: str,
        user: str | None = None,
        password: str | None = None,
        host: str = "",
        port: int | None = None,
        params: tuple[tuple[str, str | None], ...] = (),
        headers: str | None = None,
    ) -> SipUri:
        keys = tuple([n.strip().lower() for n, _ in params])
        text = "".join([f";{n}" if v is None else f";{n}={v}" for n, v in params])
        values = (scheme, user, password, host, port, params, headers, keys, text)
        return _new_tuple(cls, values)

    def __repr__(self) -> str:
        return (
            f"SipUri(scheme={self.scheme!r}, user={self.user!r}, password={self.password!r}, "
            f"host={self.host!r}, port={self.port!r}, params={self.params!r}, "
            f"headers={self.headers!r})"
        )

    def _replace(self, **changes: Any) -> SipUri:
        """A copy with other values (``param_keys`` and ``param_text`` follow ``params``)."""
        for derived in ("param_keys", "param_text"):
            if derived in changes:
                raise TypeError(f"{derived} follows from params")
        values: dict[str, Any] = dict(zip(self._fields[:7], self[:7], strict=True))
        values.update(changes)
        return SipUri(**values)

    def has_param(self, name: str) -> bool:
        """True when a parameter of that name exists (case-insensitive, value irrelevant)."""
        return name.lower() in self.param_keys

    def param(self, name: str) -> str | None:
        """The value of the first parameter of that name, ``""`` for a flag, else None."""
        wanted = name.lower()
        keys = self.param_keys
        if wanted not in keys:
            return None
        value = self.params[keys.index(wanted)][1]
        return "" if value is None else value.strip()

    def uri_param(self, name: str, known: frozenset[str] | None = None) -> str | None:
        """A parameter as Kamailio 5.6.3's URI parser keeps it (maddr, transport, gr,
        user): the value of the last one named ``name`` in any case, with no blanks around
        the name, that has a value, as written; ``""`` when all have none (flags,
        ``name=``); None when there is none.  With ``known``, only values in it (any case)
        count, as for ``transport``.

        Seen on runs: ``; maddr=x`` and ``maddr =x`` hold no maddr, ``maddr= x`` names
        " x", of two maddr values the second counts but ``maddr=x;maddr`` and
        ``maddr=x;maddr=`` keep x, ``;;maddr=x`` has one (the ``;`` an empty parameter
        leaves before a name is skipped), and ``transport=tcp;transport=xyz`` is TCP.
        ``lr`` and ``r2`` are read leniently, blanks and all: see :meth:`has_param`.
        """
        found = None
        for n, v in self.params:
            if n.lstrip(";").lower() != name:
                continue
            if known is not None:
                if v and v.lower() in known:
                    found = v
            elif v or found is None:
                found = v or ""
        return found

    @property
    def is_sip(self) -> bool:
        """True for sip: and sips: URIs (those that name a host)."""
        return self.scheme in ("sip", "sips")

    @property
    def reads_as_tel(self) -> bool:
        """True for a sip: or sips: URI with ``user=phone`` (that value, lower case), which
        Kamailio 5.6.3 reads as a telephone URI: the rr module then sees none of its
        parameters (no lr, no r2, no ftag or other route parameters) and no sips, though
        its host, maddr and transport still count (seen on runs, ``RL-UPHONE*``)."""
        return "user" in self.param_keys and self.is_sip and self.uri_param("user") == "phone"

    @property
    def is_loose(self) -> bool:
        """True when the URI names a loose router as Kamailio 5.6.3 sees it: it has an
        ``lr`` parameter, any value, and does not read as a telephone URI."""
        return self.has_param("lr") and not self.reads_as_tel

    @property
    def rr_params(self) -> str:
        """The parameters as the rr module sees them (``;`` first): none when the URI reads
        as a telephone URI."""
        return "" if self.reads_as_tel else self.param_text

    @property
    def host_for_compare(self) -> str:
        """The host without IPv6 brackets, lower-cased."""
        h = self.host
        if h.startswith("[") and h.endswith("]"):
            h = h[1:-1]
        return h.lower()

    @property
    def port_or_default(self) -> int:
        """Explicit port, or 5060 whatever the scheme (Kamailio's locality rule)."""
        return DEFAULT_PORT if self.port is None else self.port

    def __str__(self) -> str:
        return render_uri(self)


_new_tuple = tuple.__new__


def _new_uri(
    scheme: str,
    user: str | None,
    password: str | None,
    host: str,
    port: int | None,
    params: tuple[tuple[str, str | None], ...],
    keys: tuple[str, ...],
    param_text: str,
) -> SipUri:
    """A SipUri without ``?headers`` whose look-up keys and parameter text are known.

    ``keys`` and ``param_text`` must be what :meth:`SipUri.__new__` would work
    out from ``params`` (tests/engine/test_uri.py checks).
    """
    uri: SipUri = _new_tuple(
        SipUri, (scheme, user, password, host, port, params, None, keys, param_text)
    )
    return uri


def render_uri(uri: SipUri) -> str:
    """Write a URI back as text; the inverse of :func:`parse_uri`.

    >>> render_uri(SipUri("sip", host="p1.example.com", params=(("lr", None),)))
    'sip:p1.example.com;lr'
    """
    out = [uri.scheme, ":"]
    if uri.scheme == "tel":
        out.append(uri.user or "")
    else:
        if uri.user is not None:
            out.append(uri.user)
            if uri.password is not None:
                out.append(":" + uri.password)
            out.append("@")
        out.append(uri.host)
        if uri.port is not None:
            out.append(f":{uri.port}")
    out.append(uri.param_text)
    if uri.headers is not None:
        out.append("?" + uri.headers)
    return "".join(out)


def _fail(what: str, text: str, pos: int) -> SipParseError:
    return SipParseError(f"{what} in URI {text!r}", line=1, column=pos + 1)


def _split_params(text: str) -> tuple[tuple[str, str | None], ...]:
    """Split ``a;b=c;d`` into pairs; quoted values may contain ``;``.

    As Kamailio 5.6.3 reads parameters (seen on runs): a name may be empty, and a ``;``
    right after a separator starts the next name, so ``;;lr`` is one parameter named
    ``;lr`` (not ``lr``), while ``;;;lr`` is ``;`` and then ``lr``.

    >>> _split_params(";lr;x=1;")
    ((';lr', None), ('x', '1'), ('', None))
    >>> _split_params("x;;;lr")
    (('x', None), (';', None), ('lr', None))
    """
    if not text:
        return ()
    pieces = split_quoted(text) if '"' in text else text.split(";")
    params: list[tuple[str, str | None]] = []
    carried = ""  # the ';' an empty piece hands on to the next name
    last = len(pieces) - 1
    for i, piece in enumerate(pieces):
        if not piece and i < last and not carried:
            carried = ";"
            continue
        piece, carried = carried + piece, ""
        name, eq, value = piece.partition("=")
        params.append((name, value) if eq else (piece, None))
    return tuple(params)


def split_quoted(text: str, sep: str = ";") -> list[str]:
    """Split on ``sep`` outside double quotes (each quote toggles; empty pieces kept).

    >>> split_quoted('a;b="x;y";c'), split_quoted('a,"b,c",', ",")
    (['a', 'b="x;y"', 'c'], ['a', '"b,c"', ''])
    """
    if '"' not in text:
        return text.split(sep)
    pieces: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            pieces.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    pieces.append("".join(cur))
    return pieces


_PORT_THEN_PARAMS = re.compile(r":[0-9]+[;?]")


def _split_userinfo(userinfo: str, text: str, base: int) -> tuple[str, str | None]:
    """The user and the password in the text before a URI's '@', as Kamailio 5.6.3
    reads them (learnt from runs, tests/engine/test_uri.py lists them); ``base`` is
    where ``userinfo`` starts in ``text``, for the column of an error:

    * ``user``, ``user;x``, ``user?x``, ``user;x:y`` are user parts, without password;
    * after ``user:`` (a ':' before any ';' or '?') comes a password, which may hold
      no ';', '?' or ':' (``a:b,c`` is fine, ``a:b;c`` and ``h:5070;x`` are not);
    * text starting with an IPv6 reference is a user part only when ';' or '?'
      follows the reference or its numeric port (``[::1];x``, ``[::1]:5060?x``).
    """
    if userinfo[0] == "[":
        close = userinfo.find("]")
        if close < 0:
            raise _fail("unterminated IPv6 reference in user part", text, base)
        after = userinfo[close + 1 :]
        if not (after[:1] in (";", "?") or _PORT_THEN_PARAMS.match(after)):
            raise _fail(
                "an IPv6 reference before '@' must be followed by ';' or '?'",
                text,
                base + close + 1,
            )
        return userinfo, None
    first = _USER_STOP.search(userinfo)
    if first is None or first.group() != ":":
        return userinfo, None
    bad = _NOT_IN_PASSWORD.search(userinfo, first.end())
    if bad is not None:
        raise _fail(f"character {bad.group()!r} not allowed in password", text, base + bad.start())
    return userinfo[: first.start()], userinfo[first.end() :]


def valid_host(host: str) -> bool:
    """True for a host name, an IPv4 address or a bracketed IPv6 reference."""
    if host.startswith("["):
        if not host.endswith("]") or not _IPV6_CHARS.match(host[1:-1]):
            return False
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    return bool(_HOSTNAME.match(host))


def parse_uri(text: str) -> SipUri:
    """Parse a sip:, sips: or tel: URI; raise :class:`SipParseError` on anything else.

    RFC 3261 section 19.1.1 (SIP and SIPS URIs) and RFC 3966 (tel), as far as
    Kamailio's ``parse_uri`` needs them: user and password, host (name, IPv4,
    bracketed IPv6 reference), port (ASCII digits, at most 65535), parameters
    as written and the ``?headers`` part as one string.  Errors give the
    1-based column of the offending part.

    >>> parse_uri("tel:+15551234;phone-context=example.com").user
    '+15551234'
    >>> parse_uri("foo:bar")
    Traceback (most recent call last):
    ...
    engine.errors.SipParseError: line 1, column 1: unsupported scheme 'foo' in URI 'foo:bar'
    """
    if len(text) <= MEMO_LIMIT:
        return _uri_memo(text)
    return _parse_uri(text)


# The everyday shape -- sip[s]:[user[:password]@]host[:port][;params], no IPv6, no
# ?headers, nothing unusual -- in one regex.  Whatever it accepts, _parse_uri_slow()
# gives the same SipUri for (tests/engine/test_uri.py checks); anything else goes there.
# Every run is possessive (``++``, ``*+``): what follows each one is a character the run
# cannot hold (the '@' after a user, the ';' or end after a parameter), so giving
# characters back could never lead to a match, and not trying is what makes this fast.
# The host is one that both of Kamailio's host readers take (see _HOST_AFTER_USER).
_EVERYDAY = re.compile(
    r"(sips?):"
    r"(?:([^@:;?<>\"\s,\x00-\x1f\x7f]++)(?::([^@:;?<>\"\s,\x00-\x1f\x7f]*+))?@)?"
    r"([A-Za-z0-9][A-Za-z0-9.-]*+)"
    r"(?::([0-9]{1,5}))?"
    r"((?:;[^;?@\"\s\x00-\x1f\x7f=]++(?:=[^;?@\"\x00-\x1f\x7f]*+)?)*+)\Z"
)


def _parse_uri(text: str) -> SipUri:
    m = _EVERYDAY.match(text)
    if m is not None:
        scheme, user, password, host, port, ptext = m.groups()
        if port is None or int(port) <= 65535:
            if not ptext:
                return _new_uri(
                    scheme, user, password, host, None if port is None else int(port), (), (), ""
                )
            # What _split_params() and SipUri.__init__ work out, in one loop: the regex
            # has ruled out empty names, white space in names and quotes, and the
            # parameter text is the matched text itself.
            params: list[tuple[str, str | None]] = []
            keys: list[str] = []
            for piece in ptext[1:].split(";"):
                name, eq, value = piece.partition("=")
                params.append((name, value) if eq else (piece, None))
                keys.append(name.lower())
            if _ends_in_empty_maddr(params):
                return _parse_uri_slow(text)  # which says why it cannot be parsed
            return _new_uri(
                scheme,
                user,
                password,
                host,
                None if port is None else int(port),
                tuple(params),
                tuple(keys),
                ptext,
            )
    return _parse_uri_slow(text)


def _parse_uri_slow(text: str) -> SipUri:
    bad = _FORBIDDEN.search(text)
    if bad:
        raise _fail(f"character {bad.group()!r} not allowed", text, bad.start())
    colon = text.find(":")
    if colon <= 0:
        raise _fail("missing scheme", text, 0)
    scheme = text[:colon].lower()
    if scheme not in SCHEMES:
        raise _fail(f"unsupported scheme {text[:colon]!r}", text, 0)
    rest = text[colon + 1 :]
    base = colon + 1
    if scheme == "tel":
        number, _, ptext = rest.partition(";")
        if not number or _SPACE.search(number):
            raise _fail("missing or invalid telephone number", text, base)
        return SipUri("tel", user=number, params=_split_params(ptext))

    user: str | None = None
    password: str | None = None
    # The user part is everything before the first '@', as Kamailio 5.6.3 reads it
    # (seen on runs, tests/engine/test_uri.py): ';', '?', ',', '<' and blanks may stand
    # in it ("sip:a;x?y@host" names host), a second '@' anywhere is an error, and
    # _split_userinfo() says what else it refuses.
    at = rest.find("@")
    if at >= 0:
        userinfo = rest[:at]
        if not userinfo:
            raise _fail("empty user part", text, base)
        second = rest.find("@", at + 1)
        if second >= 0:
            raise _fail("a second '@'", text, base + second)
        bad_user = _FORBIDDEN_IN_USERINFO.search(userinfo)
        if bad_user:
            raise _fail(f"character {bad_user.group()!r} not allowed in user part", text, base)
        user, password = _split_userinfo(userinfo, text, base)
        rest = rest[at + 1 :]
        base += at + 1
    headers: str | None = None
    qmark = rest.find("?")
    if qmark >= 0:
        headers = rest[qmark + 1 :]
        semicolon = headers.find(";")
        if semicolon >= 0:
            # Parameters come before the headers; Kamailio 5.6.3 refuses a ';' after the
            # '?' ("sip:127.0.0.1?x=y;lr" cannot be parsed).
            raise _fail("';' in the URI headers after '?'", text, base + qmark + 1 + semicolon)
        rest = rest[:qmark]
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise _fail("unterminated IPv6 reference", text, base)
        host = rest[: end + 1]
        after = rest[end + 1 :]
    else:
        m = _HOST_END.search(rest)
        if m is None:
            host, after = rest, ""
        else:
            host, after = rest[: m.start()], rest[m.start() :]
    if not host:
        raise _fail("missing host", text, base)
    # An IPv6 reference must be one; other hosts are read as _HOST_AFTER_USER says.
    if host[0] == "[":
        if not valid_host(host):
            raise _fail(f"invalid host {host!r}", text, base)
    elif user is not None:
        if not _HOST_AFTER_USER.match(host):
            raise _fail(
                f"invalid host {host!r}: after a user part a host is letters, digits, '.' "
                "and '-', starting with a letter or digit",
                text,
                base,
            )
    elif _BAD_HOST_CHAR.search(host):
        raise _fail(f"invalid host {host!r}", text, base)
    base += len(host)
    port: int | None = None
    if after.startswith(":"):
        pm = _PORT.match(after)  # ASCII digits only: "\u0665" is not a port
        digits = pm.group(1) if pm else ""
        if digits == "" and after[1:2] in ("", ";"):
            # "host:" with no digits: no port, as on 5.6.3 ("sip:127.0.0.1:;lr" is mine).
            after = after[1:]
            base += 1
        elif not digits or len(digits) > 5 or int(digits) > 65535:
            raise _fail("invalid port", text, base + 1)
        else:
            port = int(digits)
            after = after[1 + len(digits) :]
            base += 1 + len(digits)
    if after and not after.startswith(";"):
        raise _fail(f"unexpected {after[0]!r} after host", text, base)
    params = _split_params(after[1:]) if after else ()
    if params and headers is None and _ends_in_empty_maddr(params):
        raise _fail("an empty maddr at the end", text, text.rfind(";") + 1)
    return SipUri(scheme, user, password, host, port, params, headers)


def _ends_in_empty_maddr(params: Sequence[tuple[str, str | None]]) -> bool:
    """True for ``...;maddr`` and ``...;maddr=`` ending a URI, which Kamailio 5.6.3 cannot
    parse (a maddr without a value elsewhere, ``;maddr?x=y`` too, is no maddr; seen on
    runs, ``RL-PEMPTY-*``)."""
    name, value = params[-1]
    return not value and name.lstrip(";").lower() == "maddr"


# A proxy parses the same few URIs over and over (its own Record-Route URI, the next
# hops, the targets of a dialog), and a SipUri is immutable, so parse_uri() keeps the
# most recent results, as the stdlib's urllib.parse.urlsplit() does.  Errors are not
# kept: a bad URI is parsed again and raises again.
_uri_memo = lru_cache(maxsize=MEMO_SIZE)(_parse_uri)


def same_ip(a: str, b: str) -> bool:
    """Compare two hosts as Kamailio compares addresses.

    IPv6 literals compare as addresses (``[0:0:0:0:0:0:0:1]`` is ``[::1]``);
    everything else, IPv4 included, compares as exact text (``127.000.000.001``
    is not ``127.0.0.1``).

    >>> same_ip("[0:0:0:0:0:0:0:1]", "::1"), same_ip("127.000.000.001", "127.0.0.1")
    (True, False)
    """
    if a == b:
        return True
    a = a[1:-1] if a.startswith("[") and a.endswith("]") else a
    b = b[1:-1] if b.startswith("[") and b.endswith("]") else b
    if ":" in a and ":" in b:
        a6, b6 = _ipv6(a), _ipv6(b)
        if a6 is not None and b6 is not None:
            return a6 == b6
    return a.lower() == b.lower()


@lru_cache(maxsize=1024)
def _ipv6(text: str) -> ipaddress.IPv6Address | None:
    """The address an IPv6 literal names, None when it is not one (kept: sockets repeat)."""
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None


def is_ip(host: str) -> bool:
    """True when the host is an IPv4 address or an IPv6 literal (with or without brackets)."""
    h = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(h)
    except ValueError:
        return False
    return True


def is_number(text: str) -> bool:
    """True for ASCII digits only: ``str.isdigit()`` also takes '²', which ``int()`` refuses.

    >>> is_number("5060"), is_number("²"), is_number("")
    (True, False, False)
    """
    return text.isascii() and text.isdigit()
