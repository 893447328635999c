"""SIP requests and responses as frozen values: :func:`parse_message` and :func:`render`.

Rule 1 (the parser contract, after h11): any ``str`` gives a
:class:`SipRequest`, a :class:`SipResponse` or a :class:`SipParseError` that
says what and where; never any other exception.
Rule 2: headers keep their order, their names as written and repeated
occurrences; look-ups are case-insensitive and know the compact forms.
Folded lines are unfolded into one value; bare-LF line ends are accepted;
:func:`render` always writes CRLF.

>>> msg = parse_message("BYE sip:bob@b.example SIP/2.0\\nv: SIP/2.0/UDP a;branch=z9\\n"
...                     "Route: <sip:p1;lr>,\\n <sip:p2;lr>\\n\\n")
>>> msg.method, msg.uri, msg.header_values("Via")
('BYE', 'sip:bob@b.example', ('SIP/2.0/UDP a;branch=z9',))
>>> msg.header_values("route")
('<sip:p1;lr>, <sip:p2;lr>',)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from engine.errors import SipParseError
from engine.headers import NameAddr, parse_name_addr, split_values

MAX_MESSAGE_SIZE = 65536

COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

_TOKEN = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+\Z")
_STATUS = re.compile(r"SIP/(\d+)\.(\d+) (\d{3})(?: (.*))?\Z")
_REQUEST = re.compile(r"(\S+) (\S+) SIP/(\d+)\.(\d+)\Z")


def canonical_name(name: str) -> str:
    """The lower-case long form of a header name (compact forms expanded).

    >>> canonical_name("v"), canonical_name("CALL-ID")
    ('via', 'call-id')
    """
    low = name.strip().lower()
    return COMPACT_FORMS.get(low, low).lower()


@dataclass(frozen=True, slots=True)
class Header:
    """One header field line: its name as written and its (unfolded) value."""

    name: str
    value: str

    @property
    def key(self) -> str:
        """Canonical lower-case name for comparisons."""
        return canonical_name(self.name)


@dataclass(frozen=True, slots=True)
class _Message:
    headers: tuple[Header, ...] = ()
    body: str = ""

    def header_values(self, name: str) -> tuple[str, ...]:
        """Values of every header line with that name (compact forms included), in order."""
        key = canonical_name(name)
        return tuple(h.value for h in self.headers if h.key == key)

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        vals = self.header_values(name)
        return vals[0] if vals else None

    def list_values(self, name: str) -> tuple[str, ...]:
        """Every comma-separated element of every line of a header, in order."""
        return tuple(el.text for v in self.header_values(name) for el in split_values(v))

    def name_addr(self, name: str) -> NameAddr | None:
        """The first header's value parsed as a name-addr, None when absent."""
        value = self.header(name)
        if value is None:
            return None
        return parse_name_addr(value)

    def with_headers(self, headers: tuple[Header, ...]) -> _Message:
        """A copy with another header list."""
        return replace(self, headers=headers)


@dataclass(frozen=True, slots=True)
class SipRequest(_Message):
    """A request.  ``uri`` is the Request-URI exactly as written."""

    method: str = "OPTIONS"
    uri: str = "sip:invalid"
    version: str = "SIP/2.0"

    @property
    def start_line(self) -> str:
        """The request line."""
        return f"{self.method} {self.uri} {self.version}"

    def with_uri(self, uri: str) -> SipRequest:
        """A copy with another Request-URI."""
        return replace(self, uri=uri)


@dataclass(frozen=True, slots=True)
class SipResponse(_Message):
    """A response."""

    status: int = 200
    reason: str = "OK"
    version: str = "SIP/2.0"

    @property
    def start_line(self) -> str:
        """The status line."""
        return f"{self.version} {self.status} {self.reason}".rstrip()


SipMessage = SipRequest | SipResponse


def render(message: SipMessage) -> str:
    """The message as text with CRLF line ends; the inverse of :func:`parse_message`."""
    lines = [message.start_line]
    lines.extend(f"{h.name}: {h.value}" for h in message.headers)
    return "\r\n".join(lines) + "\r\n\r\n" + message.body


def _column_of_value(line: str) -> int:
    colon = line.find(":")
    rest = line[colon + 1 :]
    return colon + 2 + (len(rest) - len(rest.lstrip()))


def parse_message(text: str) -> SipMessage:
    """Parse a SIP request or response (RFC 3261 section 7).

    >>> parse_message("SIP/2.0 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n").status
    200
    >>> parse_message("INVITE sip:b@x SIP/2.0\\r\\nBad Header\\r\\n\\r\\n")
    Traceback (most recent call last):
    ...
    engine.errors.SipParseError: line 2, column 1: header line without ':': 'Bad Header'
    """
    if not isinstance(text, str):
        raise SipParseError("message is not text")
    if len(text) > MAX_MESSAGE_SIZE:
        raise SipParseError(
            f"message is {len(text)} characters, more than the {MAX_MESSAGE_SIZE} allowed",
            status_hint=513,
        )
    # Leading blank lines are keep-alives (RFC 3261 7.5): skip them.
    offset_lines = 0
    while text.startswith(("\r\n", "\n")):
        text = text[2:] if text.startswith("\r\n") else text[1:]
        offset_lines += 1
    head, body = _split_head(text)
    raw_lines = head.split("\n")
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in raw_lines]
    if not lines or not lines[0].strip():
        raise SipParseError("empty message", line=offset_lines + 1, column=1)
    for n, ln in enumerate(lines, start=offset_lines + 1):
        bad = re.search(r"[\x00\r]", ln)
        if bad:
            raise SipParseError(
                f"control character {bad.group()!r} in line", line=n, column=bad.start() + 1
            )
    start = lines[0]
    first_line_no = offset_lines + 1
    headers: list[Header] = []
    header_lines: list[int] = []
    for n, ln in enumerate(lines[1:], start=first_line_no + 1):
        if ln[:1] in (" ", "\t"):
            if not headers:
                raise SipParseError("continuation line before any header", line=n, column=1)
            prev = headers[-1]
            folded = ln.strip()
            value = f"{prev.value} {folded}" if prev.value else folded
            headers[-1] = Header(prev.name, value)
            continue
        colon = ln.find(":")
        if colon < 0:
            raise SipParseError(f"header line without ':': {ln[:60]!r}", line=n, column=1)
        name = ln[:colon].rstrip(" \t")
        if not _TOKEN.match(name):
            raise SipParseError(
                f"invalid header name {ln[:colon][:60]!r}", line=n, column=1, header=name[:40]
            )
        headers.append(Header(name, ln[colon + 1 :].strip(" \t")))
        header_lines.append(n)
    m = _REQUEST.match(start)
    if m:
        method = m.group(1)
        if not _TOKEN.match(method):
            raise SipParseError(f"invalid method {method!r}", line=first_line_no, column=1)
        if m.group(3) != "2" or m.group(4) != "0":
            raise SipParseError(
                f"unsupported version SIP/{m.group(3)}.{m.group(4)}",
                line=first_line_no,
                column=len(method) + len(m.group(2)) + 3,
                status_hint=505,
            )
        return SipRequest(headers=tuple(headers), body=body, method=method, uri=m.group(2))
    m = _STATUS.match(start)
    if m:
        if m.group(1) != "2" or m.group(2) != "0":
            raise SipParseError("unsupported version", line=first_line_no, column=1)
        return SipResponse(
            headers=tuple(headers),
            body=body,
            status=int(m.group(3)),
            reason=m.group(4) or "",
        )
    raise SipParseError(
        f"not a SIP request or status line: {start[:80]!r}", line=first_line_no, column=1
    )


def _split_head(text: str) -> tuple[str, str]:
    """Split at the first empty line (CRLF CRLF or LF LF); the body may be empty."""
    m = re.search(r"\r?\n\r?\n", text)
    if m is None:
        return text.rstrip("\r\n"), ""
    return text[: m.start()], text[m.end() :]


def header_line_numbers(text: str) -> dict[int, int]:
    """Map header index to its 1-based line number in ``text`` (for error messages)."""
    out: dict[int, int] = {}
    idx = -1
    for n, ln in enumerate(text.split("\n")[1:], start=2):
        ln = ln.rstrip("\r")
        if not ln:
            break
        if ln[:1] in (" ", "\t"):
            continue
        idx += 1
        out[idx] = n
    return out


def value_column(text: str, line_no: int) -> int:
    """1-based column where the value of the header on ``line_no`` starts."""
    lines = text.split("\n")
    if 0 < line_no <= len(lines):
        return _column_of_value(lines[line_no - 1].rstrip("\r"))
    return 1
