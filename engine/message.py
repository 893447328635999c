"""SIP requests and responses as frozen values: :func:`parse_message` and :func:`render`.

Rule 1 (the parser contract, after h11): any ``str`` gives a
:class:`SipRequest`, a :class:`SipResponse` or a :class:`SipParseError` that
says what and where; never any other exception.
Rule 2: headers keep their order, their names as written and repeated
occurrences; look-ups are case-insensitive and know the compact forms.
Folded lines are unfolded into one value; bare-LF line ends are accepted;
:func:`render` always writes CRLF, and ``parse_message(render(m)) == m``.
Rule 3 (speed, issue 2 requirement 8): values are immutable, so the parsers
remember recent results for short texts (header lines here, URIs, name-addrs
and Route lines elsewhere); that never changes an answer, errors are not
remembered.

>>> msg = parse_message("BYE sip:bob@b.example SIP/2.0\\nv: SIP/2.0/UDP a;branch=z9\\n"
...                     "Route: <sip:p1;lr>,\\n <sip:p2;lr>\\n\\n")
>>> msg.method, msg.uri, msg.header_values("Via")
('BYE', 'sip:bob@b.example', ('SIP/2.0/UDP a;branch=z9',))
>>> msg.header_values("route")
('<sip:p1;lr>, <sip:p2;lr>',)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from operator import itemgetter
from types import MappingProxyType
from typing import Any, NamedTuple, NoReturn

from engine.errors import SipParseError
from engine.headers import NameAddr, parse_name_addr, split_values, tag_param
from engine.uri import MEMO_SIZE

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
_STATUS = re.compile(r"SIP/(\d+)\.(\d+) ([0-9]{3})(?: (.*))?\Z")
# A request line as Kamailio 5.6.3 reads it (seen on runs, RL-RLINE*): blanks before the
# method, any method, one space, the URI, blanks, a version that starts with SIP/2.0 in
# any case ("sip/2.0", "SIP/2.0x" pass; "SIP/02.0" and "SIP/2.1" do not), blanks.
_REQUEST = re.compile(r"[ \t]*(\S+) (\S+)[ \t]+(\S+)[ \t]*\Z")
_KEEPALIVES = re.compile(r"(?:\r?\n)*")
# NUL anywhere, or a CR that does not end its line (one CR before each LF, and at the
# very end of the head, is the line end itself).
_BAD_CHAR = re.compile(r"\x00|\r(?!\n|\Z)")


@lru_cache(maxsize=1024)  # a handful of names in practice; every look-up goes through here
def canonical_name(name: str) -> str:
    """The lower-case long form of a header name (compact forms expanded).

    >>> canonical_name("v"), canonical_name("CALL-ID")
    ('via', 'call-id')
    """
    low = name.strip().lower()
    return COMPACT_FORMS.get(low, low).lower()


@lru_cache(maxsize=1024)
def _valid_name(name: str) -> bool:
    return _TOKEN.match(name) is not None


class Header(NamedTuple):
    """One header field line: its name as written and its (unfolded) value.

    A named tuple rather than a dataclass: the parser makes one per line of every
    message, and ``tuple.__new__`` makes one without a Python-level ``__init__``
    (``_everyday_header``, whose recent lines a memo keeps).
    """

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
    # Where each header is, by canonical name: worked out on the first look-up (see
    # header_positions); not part of the value.
    _index: Mapping[str, tuple[int, ...]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def header_positions(self, name: str) -> tuple[int, ...]:
        """Indexes in ``headers`` of every line with that name (compact forms included).

        >>> msg = parse_message("BYE sip:b SIP/2.0\\r\\nv: a\\r\\nTo: b\\r\\nVia: c\\r\\n\\r\\n")
        >>> msg.header_positions("Via"), msg.header_positions("Route")
        ((0, 2), ())
        """
        return self.header_index().get(canonical_name(name), ())

    def header_index(self) -> Mapping[str, tuple[int, ...]]:
        """:meth:`header_positions` for every name at once, keyed by canonical name
        (:func:`canonical_name`); for callers that look up several fixed names."""
        index = self._index
        if index is None:
            index = _index_of_names(tuple(map(_name_of, self.headers)))
            _SET_INDEX(self, index)
        return index

    def header_values(self, name: str) -> tuple[str, ...]:
        """Values of every header line with that name (compact forms included), in order."""
        headers = self.headers
        return tuple([headers[i].value for i in self.header_positions(name)])

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        positions = self.header_positions(name)
        return self.headers[positions[0]].value if positions else None

    def list_values(self, name: str) -> tuple[str, ...]:
        """Every comma-separated element of every line of a header, in order."""
        return tuple(el.text for v in self.header_values(name) for el in split_values(v))

    def tag(self, name: str) -> str:
        """The ``tag`` parameter of the first ``name`` header (To, From); ``""`` if none."""
        return tag_param(self.header(name))

    def name_addr(self, name: str) -> NameAddr | None:
        """The first header's value parsed as a name-addr, None when absent."""
        value = self.header(name)
        if value is None:
            return None
        return parse_name_addr(value)

    def with_headers(self, headers: tuple[Header, ...]) -> _Message:
        """A copy with another header list."""
        return replace(self, headers=headers)


@dataclass(frozen=True, slots=True, init=False)
class SipRequest(_Message):
    """A request.  ``uri`` is the Request-URI exactly as written."""

    method: str = "OPTIONS"
    uri: str = "sip:invalid"
    version: str = "SIP/2.0"

    def __init__(
        self,
        headers: tuple[Header, ...] = (),
        body: str = "",
        method: str = "OPTIONS",
        uri: str = "sip:invalid",
        version: str = "SIP/2.0",
    ) -> None:
        # Written out for speed: a frozen dataclass's own __init__ sets every field with
        # object.__setattr__, twice the cost of the slot setters, and every request
        # parsed makes one.
        _SET_REQUEST[0](self, headers)
        _SET_REQUEST[1](self, body)
        _SET_REQUEST[2](self, method)
        _SET_REQUEST[3](self, uri)
        _SET_REQUEST[4](self, version)
        _SET_INDEX(self, None)

    @property
    def start_line(self) -> str:
        """The request line."""
        return f"{self.method} {self.uri} {self.version}"

    def with_uri(self, uri: str) -> SipRequest:
        """A copy with another Request-URI."""
        return replace(self, uri=uri)


# The slot setters SipRequest.__init__ uses, in the order of its parameters (headers
# and body are _Message's slots).
_SET_REQUEST: tuple[Callable[[SipRequest, Any], None], ...] = tuple(
    getattr(SipRequest, f.name).__set__ for f in fields(SipRequest) if f.init
)
_SET_INDEX: Callable[[_Message, Mapping[str, tuple[int, ...]] | None], None] = _Message.__dict__[
    "_index"
].__set__
_name_of: Callable[[Header], str] = itemgetter(0)


@lru_cache(maxsize=512)
def _index_of_names(names: tuple[str, ...]) -> Mapping[str, tuple[int, ...]]:
    """Where each canonical header name occurs in a list of header names.

    Messages of one kind share their layout (Via, Max-Forwards, From, To, Call-ID,
    CSeq, Route ...): the index of a layout is worked out once and shared, so it
    is handed out read-only.
    """
    index: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        index.setdefault(canonical_name(name), []).append(i)
    return MappingProxyType({key: tuple(found) for key, found in index.items()})


@dataclass(frozen=True, slots=True)
class SipResponse(_Message):
    """A response."""

    status: int = 200
    reason: str = "OK"
    version: str = "SIP/2.0"

    @property
    def start_line(self) -> str:
        """The status line (no space after the code when the reason phrase is empty)."""
        if self.reason:
            return f"{self.version} {self.status:03d} {self.reason}"
        return f"{self.version} {self.status:03d}"


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

    Leading CRLFs (keep-alives, RFC 3261 7.5) are skipped; lines may end in
    CRLF or a bare LF; a line starting with SP or HTAB continues the previous
    header (7.3.1: the line break and the white space become one space).
    Header values are not interpreted here; the Request-URI is kept as text.

    >>> parse_message("SIP/2.0 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n").status
    200
    >>> parse_message("INVITE sip:b@x SIP/2.0\\r\\nBad Header\\r\\n\\r\\n")
    Traceback (most recent call last):
    ...
    engine.errors.SipParseError: line 2, column 1: header line without ':': 'Bad Header'
    """
    if not isinstance(text, str):
        raise SipParseError("message is not text")
    msg = _parse_everyday(text) if len(text) <= MAX_MESSAGE_SIZE else None
    if msg is not None:
        return msg
    return _parse_general(text)


def _parse_everyday(text: str) -> SipMessage | None:
    """The message when it is an everyday one, else None.

    Everyday: a request or status line, header lines that are not folded, CRLF line
    ends.  What is read this way, _parse_general() gives the same message for
    (tests/engine/test_message.py checks); anything else goes there, and so does
    every error.
    """
    end = text.find("\r\n\r\n")
    if end <= 0:
        return None
    lines = text[:end].split("\r\n")
    # Only ordinary heads go through the memo, so that it never holds more than
    # MEMO_SIZE lines of 4 KiB.
    parse_line = _everyday_header_memo if end <= 4096 else _everyday_header
    headers = tuple(map(parse_line, lines[1:]))
    if None in headers:
        return None
    start = lines[0]
    m = _EVERYDAY_REQUEST.match(start)
    if m is not None:
        return SipRequest(headers, text[end + 4 :], m.group(1), m.group(2))  # type: ignore[arg-type]
    m = _EVERYDAY_STATUS.match(start)
    if m is not None:
        return SipResponse(headers, text[end + 4 :], int(m.group(1)), m.group(2) or "")  # type: ignore[arg-type]
    return None


# The start lines of everyday messages (anything else is for _parse_general()).
_EVERYDAY_REQUEST = re.compile(r"([!%'*+\-.0-9A-Z_`a-z~]++) ([^\s\x00]++) SIP/2\.0\Z")
_EVERYDAY_STATUS = re.compile(r"SIP/2\.0 ([0-9]{3})(?: ([^\x00\r\n]*+))?\Z")
_new_tuple = tuple.__new__


def _everyday_header(line: str) -> Header | None:
    """One header line of an everyday head as a Header; None when the line is folded,
    bad, or holds a NUL, a CR or an LF (then _parse_general() reads the message)."""
    name, colon, value = line.partition(":")
    if not colon:
        return None
    name = name.rstrip(" \t")
    if not _valid_name(name) or "\r" in line or "\n" in line or "\x00" in line:
        return None
    return _new_tuple(Header, (name, value.strip(" \t")))


# The same lines come by again and again (Max-Forwards: 70, a proxy's own
# Record-Route, the Route set, From and To of a dialog ...) and a Header is
# immutable: remember the most recent ones.
_everyday_header_memo = lru_cache(maxsize=MEMO_SIZE)(_everyday_header)


def _parse_general(text: str) -> SipMessage:
    """:func:`parse_message` for any text: keep-alives, bare LF, folded lines, errors."""
    if len(text) > MAX_MESSAGE_SIZE:
        # Point at the first character beyond the limit.
        line_start = text.rfind("\n", 0, MAX_MESSAGE_SIZE) + 1
        raise SipParseError(
            f"message is {len(text)} characters, more than the {MAX_MESSAGE_SIZE} allowed",
            line=text.count("\n", 0, MAX_MESSAGE_SIZE) + 1,
            column=MAX_MESSAGE_SIZE - line_start + 1,
            status_hint=513,
        )
    # Leading blank lines are keep-alives (RFC 3261 7.5): skip them.
    offset_lines = 0
    if text[:1] in ("\r", "\n"):
        skip = _KEEPALIVES.match(text).end()  # type: ignore[union-attr]  # always matches
        offset_lines = text.count("\n", 0, skip)
        text = text[skip:]
    head, body = _split_head(text)
    # Each line loses one CR before its LF.  A CR anywhere else is an error, found
    # below; counting first keeps the common all-CRLF head on the fast str methods.
    lone_cr = 0
    if "\r" not in head:
        lines = head.split("\n")
    else:
        lines = head.split("\r\n")
        crlf = len(lines) - 1
        lone_cr = head.count("\r") - crlf - head.endswith("\r")
        if lone_cr or crlf != head.count("\n"):
            lines = [ln[:-1] if ln.endswith("\r") else ln for ln in head.split("\n")]
        elif head.endswith("\r"):
            lines[-1] = lines[-1][:-1]
    first_line_no = offset_lines + 1
    if not lines[0].strip():
        raise SipParseError("empty message", line=first_line_no, column=1)
    bad = _BAD_CHAR.search(head) if lone_cr or "\x00" in head else None
    start = lines[0]
    # The first error said is the first one in the text: the start line is checked before
    # what follows it ("hello" on line 1, not a bad header or a NUL on line 2).
    if bad and bad.start() < len(start):
        _raise_control(bad, head, first_line_no)
    # A status line first: "SIP/2.0 200 SIP/2.0" is a response whose reason phrase
    # looks like a version, never a request (a method cannot contain '/').
    m = _STATUS.match(start) if start.startswith("SIP/") else None
    if m:
        if m.group(1) != "2" or m.group(2) != "0":
            raise SipParseError("unsupported version", line=first_line_no, column=1)
        if bad:
            _raise_control(bad, head, first_line_no)
        return SipResponse(_headers(lines, first_line_no), body, int(m.group(3)), m.group(4) or "")
    m = _REQUEST.match(start)
    if m:
        method, uri, version = m.groups()
        if version[:7].upper() != "SIP/2.0":
            raise SipParseError(
                f"unsupported version {version[:20]}",
                line=first_line_no,
                column=m.start(3) + 1,
                status_hint=505,
            )
        if bad:
            _raise_control(bad, head, first_line_no)
        return SipRequest(_headers(lines, first_line_no), body, method, uri)
    raise SipParseError(
        f"not a SIP request or status line: {start[:80]!r}", line=first_line_no, column=1
    )


def _raise_control(bad: re.Match[str], head: str, first_line_no: int) -> NoReturn:
    """The error for the control character ``bad`` found in ``head``."""
    pos = bad.start()
    raise SipParseError(
        f"control character {bad.group()!r} in line",
        line=first_line_no + head.count("\n", 0, pos),
        column=pos - (head.rfind("\n", 0, pos) + 1) + 1,
    )


def _headers(lines: list[str], first_line_no: int) -> tuple[Header, ...]:
    """The header lines, unfolded, or the SipParseError of the first bad line."""
    names: list[str] = []
    values: list[str] = []
    folds: dict[int, list[str]] | None = None
    n = first_line_no
    for ln in lines[1:]:
        n += 1
        lead = ln[:1]
        if lead == " " or lead == "\t":
            if not names:
                raise SipParseError("continuation line before any header", line=n, column=1)
            folded = ln.strip()
            if folded:  # a blank continuation line adds nothing
                if folds is None:
                    folds = {}
                folds.setdefault(len(names) - 1, [values[-1]]).append(folded)
            continue
        name, colon, value = ln.partition(":")
        if not colon:
            raise SipParseError(f"header line without ':': {ln[:60]!r}", line=n, column=1)
        name = name.rstrip(" \t")
        if not _valid_name(name):
            raise SipParseError(
                f"invalid header name {ln[: ln.find(':')][:60]!r}",
                line=n,
                column=1,
                header=name[:40],
            )
        names.append(name)
        values.append(value.strip(" \t"))
    if folds:
        for idx, parts in folds.items():
            values[idx] = " ".join([p for p in parts if p])
    return tuple(map(Header, names, values))


def _split_head(text: str) -> tuple[str, str]:
    """Split at the first empty line (CRLF CRLF or LF LF); the body may be empty.

    That is the first LF followed by LF or CRLF, with the CR before it if any
    (what ``\\r?\\n\\r?\\n`` finds, without running the regex over the message).
    """
    lf_crlf = text.find("\n\r\n")
    # An LF LF only matters before that (the search stops there, not at the body's end).
    lf_lf = text.find("\n\n", 0, len(text) if lf_crlf < 0 else lf_crlf + 1)
    if lf_lf < 0 and lf_crlf < 0:
        return text.rstrip("\r\n"), ""
    if lf_lf < 0:
        lf, end = lf_crlf, lf_crlf + 3
    else:
        lf, end = lf_lf, lf_lf + 2
    start = lf - 1 if lf and text[lf - 1] == "\r" else lf
    return text[:start], text[end:]


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
