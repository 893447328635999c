"""SIP, SIPS and tel URIs (RFC 3261 section 19.1, RFC 3966).

Rule 1: parsing keeps every parameter exactly as written (name, value, order,
case), because Kamailio copies Route URIs into ``$du`` and the R-URI verbatim.
Rule 2: look-ups that Kamailio makes case-insensitively (``lr``, ``r2``,
``maddr``, ``transport``, ``gr``, ``ob``) go through :meth:`SipUri.param`,
which ignores case and white space around the name.

>>> u = parse_uri("sip:alice@[::1]:5070;lr;maddr=10.0.0.1?subject=hi")
>>> u.user, u.host, u.port, u.has_param("LR"), u.param("maddr")
('alice', '[::1]', 5070, True, '10.0.0.1')
>>> render_uri(u)
'sip:alice@[::1]:5070;lr;maddr=10.0.0.1?subject=hi'
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from engine.errors import SipParseError

SCHEMES = ("sip", "sips", "tel")
DEFAULT_PORT = 5060

_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?\Z|[A-Za-z0-9]\Z")
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:.]+\Z")
# Characters never allowed anywhere in a URI as RouteLab reads it.  Like Kamailio's
# parser, parameters and URI headers may hold anything else (a Route URI
# ``sip:p9.example.org;lr, <sip:127.0.0.1;lr`` parses: seen on 5.6.3).
_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_FORBIDDEN_IN_USERINFO = re.compile(r"[<>\"\s]")
_USERINFO_END = re.compile(r"[<>\"\s,]")


@dataclass(frozen=True, slots=True)
class SipUri:
    """A parsed URI.  ``host`` keeps IPv6 brackets; tel URIs have ``host == ""``.

    ``params`` holds ``(name, value)`` pairs exactly as written; ``value`` is
    ``None`` for a flag parameter such as ``;lr``.
    """

    scheme: str
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    params: tuple[tuple[str, str | None], ...] = ()
    headers: str | None = None

    def has_param(self, name: str) -> bool:
        """True when a parameter of that name exists (case-insensitive, value irrelevant)."""
        wanted = name.lower()
        return any(n.strip().lower() == wanted for n, _ in self.params)

    def param(self, name: str) -> str | None:
        """The value of the first parameter of that name, ``""`` for a flag, else None."""
        wanted = name.lower()
        for n, v in self.params:
            if n.strip().lower() == wanted:
                return "" if v is None else v.strip()
        return None

    @property
    def is_sip(self) -> bool:
        """True for sip: and sips: URIs (those that name a host)."""
        return self.scheme in ("sip", "sips")

    @property
    def is_loose(self) -> bool:
        """True when the URI names a loose router: it has an ``lr`` parameter, any value."""
        return self.has_param("lr")

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

    @property
    def param_text(self) -> str:
        """The parameter string with its leading ``;`` (``""`` when none)."""
        return "".join(f";{n}" if v is None else f";{n}={v}" for n, v in self.params)

    def __str__(self) -> str:
        return render_uri(self)


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


def _split_params(text: str, base: int, whole: str) -> tuple[tuple[str, str | None], ...]:
    """Split ``a;b=c;d`` into pairs; quoted values may contain ``;``."""
    params: list[tuple[str, str | None]] = []
    if not text:
        return ()
    pieces: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            pieces.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    pieces.append("".join(cur))
    pos = base
    for piece in pieces:
        if "=" in piece:
            name, value = piece.split("=", 1)
            pair: tuple[str, str | None] = (name, value)
        else:
            name = piece
            pair = (piece, None)
        if not name.strip():
            raise _fail("empty parameter name", whole, pos)
        params.append(pair)
        pos += len(piece) + 1
    return tuple(params)


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

    >>> parse_uri("tel:+15551234;phone-context=example.com").user
    '+15551234'
    >>> parse_uri("foo:bar")
    Traceback (most recent call last):
    ...
    engine.errors.SipParseError: line 1, column 1: unsupported scheme 'foo' in URI 'foo:bar'
    """
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
        if not number or any(c.isspace() for c in number):
            raise _fail("missing or invalid telephone number", text, base)
        return SipUri("tel", user=number, params=_split_params(ptext, base + len(number) + 1, text))

    headers: str | None = None
    qmark = rest.find("?")
    if qmark >= 0:
        headers = rest[qmark + 1 :]
        rest = rest[:qmark]
    user: str | None = None
    password: str | None = None
    # The user part ends at the first '@' (before anything that cannot be in one).
    stop = _USERINFO_END.search(rest)
    at = rest.find("@", 0, stop.start() if stop else len(rest))
    if at >= 0:
        userinfo = rest[:at]
        if not userinfo:
            raise _fail("empty user part", text, base)
        bad_user = _FORBIDDEN_IN_USERINFO.search(userinfo)
        if bad_user:
            raise _fail(f"character {bad_user.group()!r} not allowed in user part", text, base)
        user, sep, pw = userinfo.partition(":")
        password = pw if sep else None
        rest = rest[at + 1 :]
        base += at + 1
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise _fail("unterminated IPv6 reference", text, base)
        host = rest[: end + 1]
        after = rest[end + 1 :]
    else:
        m = re.match(r"[^:;]*", rest)
        host = m.group() if m else ""
        after = rest[len(host) :]
    if not host:
        raise _fail("missing host", text, base)
    if not valid_host(host):
        raise _fail(f"invalid host {host!r}", text, base)
    base += len(host)
    port: int | None = None
    if after.startswith(":"):
        m = re.match(r":(\d*)", after)
        digits = m.group(1) if m else ""
        if not digits or len(digits) > 5 or int(digits) > 65535:
            raise _fail("invalid port", text, base + 1)
        port = int(digits)
        after = after[1 + len(digits) :]
        base += 1 + len(digits)
    if after and not after.startswith(";"):
        raise _fail(f"unexpected {after[0]!r} after host", text, base)
    params = _split_params(after[1:], base + 1, text) if after else ()
    return SipUri(scheme, user, password, host, port, params, headers)


def same_ip(a: str, b: str) -> bool:
    """Compare two hosts as Kamailio compares addresses.

    IPv6 literals compare as addresses (``[0:0:0:0:0:0:0:1]`` is ``[::1]``);
    everything else, IPv4 included, compares as exact text (``127.000.000.001``
    is not ``127.0.0.1``).

    >>> same_ip("[0:0:0:0:0:0:0:1]", "::1"), same_ip("127.000.000.001", "127.0.0.1")
    (True, False)
    """
    a = a[1:-1] if a.startswith("[") and a.endswith("]") else a
    b = b[1:-1] if b.startswith("[") and b.endswith("]") else b
    if ":" in a and ":" in b:
        try:
            return ipaddress.IPv6Address(a) == ipaddress.IPv6Address(b)
        except ValueError:
            return a.lower() == b.lower()
    return a.lower() == b.lower()


def is_ip(host: str) -> bool:
    """True when the host is an IPv4 address or an IPv6 literal (with or without brackets)."""
    h = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(h)
    except ValueError:
        return False
    return True
