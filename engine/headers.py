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

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from engine.errors import SipParseError
from engine.uri import MEMO_LIMIT, MEMO_SIZE, SipUri, parse_uri, split_quoted


@dataclass(frozen=True, slots=True)
class Element:
    """One comma-separated element of a header body, with its offsets."""

    text: str
    start: int
    end: int


_SPLIT_SPECIAL = re.compile(r'[",<>\\]')


def split_values(body: str) -> tuple[Element, ...]:
    """Split a header body on commas outside quotes and angle brackets.

    Elements are stripped of surrounding white space; empty elements are kept
    (as empty text) so callers can reject them.  Inside a quoted string a
    backslash escapes the next character (RFC 3261 25.1 quoted-pair).

    >>> [(e.text, e.start, e.end) for e in split_values(' <sip:a;x, <sip:b>, ')]
    [('<sip:a;x, <sip:b>', 1, 18), ('', 20, 20)]
    """
    if "," not in body:
        return (_element(body, 0, len(body)),)
    elements: list[Element] = []
    # Not a depth counter: the first '>' closes, as Kamailio's parsers read it
    # ('<sip:a;x, <sip:b>' is one element).
    in_angle = False
    quoted = False
    skip = -1  # index of a character escaped by a backslash inside quotes
    start = 0
    # Only the delimiters matter, so jump from one to the next instead of walking
    # every character (this is on the path of every Route header).
    for m in _SPLIT_SPECIAL.finditer(body):
        i = m.start()
        if i == skip:
            continue
        ch = m.group()
        if quoted:
            if ch == "\\":
                skip = i + 1
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


class NameAddr(NamedTuple):
    """A name-addr (``"Name" <uri>;params``) or addr-spec (``uri;params``).

    ``uri_text`` is the URI exactly as written; ``params`` are the header
    parameters after ``>`` (or after the URI of an addr-spec) as written.  A
    named tuple: every Route, To and From value of every request makes one.
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


def _header_params(text: str, where: str, base: int) -> tuple[tuple[str, str | None], ...]:
    """The ``;name=value`` parameters in ``text``; ``base`` is its 0-based column."""
    stripped = text.strip()
    if not stripped:
        return ()
    base += len(text) - len(text.lstrip())
    if stripped[0] != ";":
        raise SipParseError(f"unexpected text {stripped!r} after {where}", column=base + 1)
    out: list[tuple[str, str | None]] = []
    pos = base + 1
    for piece in split_quoted(stripped[1:]):
        name, eq, value = piece.partition("=")
        if not name.strip():
            raise SipParseError(f"empty parameter name in {stripped!r}", column=pos + 1)
        out.append((name.strip(), value.strip() if eq else None))
        pos += len(piece) + 1
    return tuple(out)


def parse_name_addr(text: str, *, require_angle: bool = False) -> NameAddr:
    """Parse one name-addr or addr-spec (RFC 3261 section 20.10).

    With ``require_angle`` (Route and Record-Route, as Kamailio's ``parse_rr``)
    an element without ``<...>`` is an error.  Errors carry the 1-based column
    in ``text`` where the problem is.

    >>> parse_name_addr("sip:127.0.0.1;lr", require_angle=True)
    Traceback (most recent call last):
    ...
    engine.errors.SipParseError: column 1: missing '<' in name-addr 'sip:127.0.0.1;lr'
    >>> parse_name_addr('  "Bob" <sip:bob@b>;tag')
    NameAddr(uri_text='sip:bob@b', display='"Bob"', params=(('tag', None),), angle=True)
    """
    if len(text) <= MEMO_LIMIT:
        return _name_addr_memo(text, require_angle)
    return _parse_name_addr(text, require_angle)


def _parse_name_addr(text: str, require_angle: bool) -> NameAddr:
    stripped = text.strip()
    if not stripped:
        raise SipParseError("empty value", column=1)
    # The common case of every Route header: just "<uri>".
    if (
        stripped[0] == "<"
        and stripped[-1] == ">"
        and stripped.count("<") == 1
        and stripped.count(">") == 1
        and stripped[1:-1].strip()
    ):
        return _new_tuple(NameAddr, (stripped[1:-1], None, (), True))
    off = len(text) - len(text.lstrip())  # where ``stripped`` starts in ``text``
    text = stripped
    lt = find_unquoted(text, "<")
    if lt < 0:
        if require_angle:
            raise SipParseError(f"missing '<' in name-addr {text!r}", column=off + 1)
        if text.startswith('"'):
            raise SipParseError(f"display name without '<uri>' in {text!r}", column=off + 1)
        # addr-spec: parameters after the URI are header parameters (RFC 3261 20.10).
        uri_text, semi, rest = text.partition(";")
        space = _SPACE.search(uri_text)
        if space:
            raise SipParseError(
                f"white space in addr-spec {text!r}", column=off + space.start() + 1
            )
        params = _header_params(semi + rest, "URI", off + len(uri_text))
        return NameAddr(uri_text, None, params, angle=False)
    gt = text.find(">", lt)
    if gt < 0:
        raise SipParseError(f"missing '>' in name-addr {text!r}", column=off + lt + 1)
    display = text[:lt].strip() or None
    if display is not None:
        if display.startswith('"'):
            if len(display) < 2 or not display.endswith('"') or find_unquoted(display, '"') >= 0:
                raise SipParseError(f"bad quoted display name in {text!r}", column=off + 1)
        elif '"' in display:
            raise SipParseError(
                f"stray quote in display name in {text!r}", column=off + display.index('"') + 1
            )
    uri_text = text[lt + 1 : gt]
    if "<" in uri_text:
        raise SipParseError(
            f"nested '<' in name-addr {text!r}", column=off + lt + uri_text.index("<") + 2
        )
    if not uri_text.strip():
        raise SipParseError(f"empty URI in name-addr {text!r}", column=off + lt + 2)
    return NameAddr(uri_text, display, _header_params(text[gt + 1 :], "'>'", off + gt + 1))


_SPACE = re.compile(r"\s")  # exactly str.isspace()
_new_tuple = tuple.__new__


def find_unquoted(text: str, char: str, pos: int = 0) -> int:
    """Index of ``char`` at or after ``pos`` outside a quoted string (backslash escapes
    inside quotes), -1 when absent or inside a quote that never closes.

    >>> find_unquoted('"a<b" <sip:x>', "<")
    6
    """
    if '"' not in text:
        return text.find(char, pos)
    quoted = False
    escaped = False
    for i in range(pos, len(text)):
        ch = text[i]
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == char:
            return i
    return -1


def quote_left_open(text: str, pos: int = 0) -> bool:
    """True when a quoted string opened at or after ``pos`` never closes (backslash
    escapes inside quotes, as :func:`find_unquoted` reads them).

    >>> quote_left_open('a="b', 0), quote_left_open('a="b";c="d"', 0)
    (True, False)
    """
    if '"' not in text[pos:]:
        return False
    return find_unquoted(text + ",", ",", max(pos, text.find('"', pos))) < 0


# To, From and Route values repeat for the whole life of a dialog, and a NameAddr is
# immutable: remember the most recent ones (errors are not remembered).
_name_addr_memo = lru_cache(maxsize=MEMO_SIZE)(_parse_name_addr)


def tag_param(value: str | None) -> str:
    """The ``tag`` of a To/From value as Kamailio 5.6.3 reads it; ``""`` when absent,
    empty or unparsable.

    Each ``tag`` parameter overwrites the one before it, and a quoted value loses its
    quotes (seen on runs: ``;tag=t1;tag=`` has no tag, ``;tag="t1"`` is t1).

    >>> tag_param('"Bob" <sip:bob@b.example>;tag=a6c85cf'), tag_param("<sip:b@x>;tag=")
    ('a6c85cf', '')
    >>> tag_param("<sip:b@x>;tag=t1;tag=t2"), tag_param('<sip:b@x>;tag="t1"')
    ('t2', 't1')
    """
    if value is None:
        return ""
    if len(value) <= MEMO_LIMIT:
        return _tag_memo(value)
    return _tag(value)


def _tag(value: str) -> str:
    found = _tag_everyday(value)
    if found is not None:
        return found
    try:
        params = parse_name_addr(value).params
    except SipParseError:
        return ""
    tag = ""
    for name, pvalue in params:
        if name.strip().lower() == "tag":
            tag = "" if pvalue is None else pvalue.strip()
    return unquote_param(tag)


def unquote_param(value: str, quotes: str = '"') -> str:
    """A parameter value without the quotes around it, as Kamailio's parameter parsers
    give it: To and From tags lose double quotes (``"f1"`` is f1), Route parameters
    single quotes too (``ftag='f1'`` is f1; seen on 5.6.3)."""
    if len(value) >= 2 and value[0] in quotes and value[-1] == value[0]:
        return value[1:-1]
    return value


# A dialog's To and From come with each of its requests: remember the recent answers.
_tag_memo = lru_cache(maxsize=MEMO_SIZE)(_tag)


def _tag_everyday(value: str) -> str | None:
    """:func:`tag_param` for a ``[display] <uri>;params`` value without backslashes, whose
    display name is absent, a token or one quoted string; None for anything else.

    Every To and From of every request comes by here, and their tags are new with each
    dialog, so this is what parse_name_addr() and NameAddr.param() would say, worked out
    without making a NameAddr (tests/engine/test_headers.py checks the two agree).
    """
    if "\\" in value:
        return None
    start = 0
    if '"' in value:
        opening = value.find('"')
        closing = value.find('"', opening + 1)
        if closing < 0 or value[:opening].strip() or '"' in value[closing + 1 :]:
            return None
        start = closing + 1
    lt = value.find("<", start)
    if lt < 0 or (start and value[start:lt].strip()):
        return None
    gt = value.find(">", lt)
    if gt < 0:
        return ""  # missing '>': unparsable, so no tag
    uri = value[lt + 1 : gt]
    if "<" in uri or not uri.strip():
        return ""
    tail = value[gt + 1 :].strip()
    if not tail:
        return ""
    if tail[0] != ";":
        return ""
    tag: str | None = None
    for piece in tail[1:].split(";"):
        name, eq, pvalue = piece.partition("=")
        name = name.strip()
        if not name:
            return ""  # an empty parameter name makes the whole value unparsable
        if name.lower() == "tag":
            tag = pvalue.strip() if eq else ""  # the last one counts, as in _tag()
    return tag or ""


def parse_name_addr_list(body: str, *, require_angle: bool = False) -> tuple[NameAddr, ...]:
    """Parse a comma list of name-addrs (Route, Record-Route, Contact)."""
    out: list[NameAddr] = []
    for n, el in enumerate(split_values(body), start=1):
        if not el.text:
            raise SipParseError(f"empty element {n}", column=el.start + 1)
        try:
            out.append(parse_name_addr(el.text, require_angle=require_angle))
        except SipParseError as exc:
            column = el.start + (exc.column or 1)
            raise SipParseError(f"value {n}: {exc.what}", column=column) from None
    return tuple(out)
