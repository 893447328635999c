"""Header values: comma lists, name-addr / addr-spec, header parameters.

Rule: splitting respects quoted strings and ``<...>``, so a comma inside a
display name or inside a URI never splits a value.  Every element remembers
where it starts and ends in the header body, because Kamailio's edits keep the
surviving text of a Route header byte for byte.

>>> [e.text for e in split_values('"A, B" <sip:a@x>, <sip:b@y;lr>')]
['"A, B" <sip:a@x>', '<sip:b@y;lr>']
>>> na = parse_name_addr('"Bob" <sip:bob@example.com>;tag=9fxced76sl')
>>> na.display, na.uri_text, na.param("tag")
('"Bob"', 'sip:bob@example.com', '9fxced76sl')
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import SipParseError
from engine.uri import SipUri, parse_uri


@dataclass(frozen=True, slots=True)
class Element:
    """One comma-separated element of a header body, with its offsets."""

    text: str
    start: int
    end: int


def split_values(body: str) -> tuple[Element, ...]:
    """Split a header body on commas outside quotes and angle brackets.

    Elements are stripped of surrounding white space; empty elements are kept
    (as empty text) so callers can reject them.
    """
    elements: list[Element] = []
    # Not a depth counter: the first '>' closes, as Kamailio's parsers read it
    # ('<sip:a;x, <sip:b>' is one element).
    in_angle = False
    quoted = False
    escaped = False
    start = 0
    for i, ch in enumerate(body):
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
            continue
        if ch == '"':
            quoted = True
        elif ch == "<":
            in_angle = True
        elif ch == ">":
            in_angle = False
        elif ch == "," and not in_angle:
            elements.append(_element(body, start, i))
            start = i + 1
    elements.append(_element(body, start, len(body)))
    return tuple(elements)


def _element(body: str, start: int, end: int) -> Element:
    piece = body[start:end]
    lead = len(piece) - len(piece.lstrip())
    text = piece.strip()
    return Element(text, start + lead, start + lead + len(text))


@dataclass(frozen=True, slots=True)
class NameAddr:
    """A name-addr (``"Name" <uri>;params``) or addr-spec (``uri;params``).

    ``uri_text`` is the URI exactly as written; ``params`` are the header
    parameters after ``>`` (or after the URI of an addr-spec) as written.
    """

    uri_text: str
    display: str | None = None
    params: tuple[tuple[str, str | None], ...] = ()
    angle: bool = True

    @property
    def uri(self) -> SipUri:
        """The parsed URI (raises :class:`SipParseError` when unparsable)."""
        return parse_uri(self.uri_text)

    def param(self, name: str) -> str | None:
        """Header parameter value (``""`` for a flag), case-insensitive name; None if absent."""
        wanted = name.lower()
        for n, v in self.params:
            if n.strip().lower() == wanted:
                return "" if v is None else v.strip()
        return None

    def render(self) -> str:
        """The name-addr as text; the inverse of :func:`parse_name_addr`."""
        ptext = "".join(f";{n}" if v is None else f";{n}={v}" for n, v in self.params)
        if not self.angle:
            return self.uri_text + ptext
        disp = f"{self.display} " if self.display else ""
        return f"{disp}<{self.uri_text}>{ptext}"


def _header_params(text: str, where: str) -> tuple[tuple[str, str | None], ...]:
    text = text.strip()
    if not text:
        return ()
    if not text.startswith(";"):
        raise SipParseError(f"unexpected text {text!r} after {where}")
    out: list[tuple[str, str | None]] = []
    for piece in _split_semicolons(text[1:]):
        name, eq, value = piece.partition("=")
        if not name.strip():
            raise SipParseError(f"empty parameter name in {text!r}")
        out.append((name.strip(), value.strip() if eq else None))
    return tuple(out)


def _split_semicolons(text: str) -> list[str]:
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
    return pieces


def parse_name_addr(text: str, *, require_angle: bool = False) -> NameAddr:
    """Parse one name-addr or addr-spec (RFC 3261 section 20.10).

    With ``require_angle`` (Route and Record-Route, as Kamailio's ``parse_rr``)
    an element without ``<...>`` is an error.

    >>> parse_name_addr("sip:127.0.0.1;lr", require_angle=True)
    Traceback (most recent call last):
    ...
    engine.errors.SipParseError: missing '<' in name-addr 'sip:127.0.0.1;lr'
    """
    text = text.strip()
    if not text:
        raise SipParseError("empty value")
    lt = _find_unquoted(text, "<")
    if lt < 0:
        if require_angle:
            raise SipParseError(f"missing '<' in name-addr {text!r}")
        if text.startswith('"'):
            raise SipParseError(f"display name without '<uri>' in {text!r}")
        # addr-spec: parameters after the URI are header parameters (RFC 3261 20.10).
        uri_text, semi, rest = text.partition(";")
        if any(c.isspace() for c in uri_text):
            raise SipParseError(f"white space in addr-spec {text!r}")
        return NameAddr(uri_text, None, _header_params(semi + rest, "URI"), angle=False)
    gt = text.find(">", lt)
    if gt < 0:
        raise SipParseError(f"missing '>' in name-addr {text!r}")
    display = text[:lt].strip() or None
    if display is not None:
        if display.startswith('"'):
            if len(display) < 2 or not display.endswith('"') or _find_unquoted(display, '"') >= 0:
                raise SipParseError(f"bad quoted display name in {text!r}")
        elif '"' in display:
            raise SipParseError(f"stray quote in display name in {text!r}")
    uri_text = text[lt + 1 : gt]
    if "<" in uri_text:
        raise SipParseError(f"nested '<' in name-addr {text!r}")
    if not uri_text.strip():
        raise SipParseError(f"empty URI in name-addr {text!r}")
    return NameAddr(uri_text, display, _header_params(text[gt + 1 :], "'>'"), angle=True)


def _find_unquoted(text: str, char: str) -> int:
    """Index of ``char`` outside a quoted string, -1 when absent or the quote is open."""
    quoted = False
    escaped = False
    for i, ch in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
            continue
        if ch == '"':
            quoted = True
        elif ch == char:
            return i
    return -1


def parse_name_addr_list(body: str, *, require_angle: bool = False) -> tuple[NameAddr, ...]:
    """Parse a comma list of name-addrs (Route, Record-Route, Contact)."""
    out: list[NameAddr] = []
    for n, el in enumerate(split_values(body), start=1):
        if not el.text:
            raise SipParseError(f"empty element {n}")
        try:
            out.append(parse_name_addr(el.text, require_angle=require_angle))
        except SipParseError as exc:
            raise SipParseError(f"value {n}: {exc.what}", column=el.start + 1) from None
    return tuple(out)
