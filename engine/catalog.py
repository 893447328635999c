"""Dialogs in a capture, found fast: one summary per Call-ID from raw SIP payloads.

Rule 1: cheap.  Listing a capture has to keep up with 100,000 messages a second, so a payload
is never parsed: the start line is checked, the Call-ID is found with a byte search, and only
the first message of each Call-ID is looked at more closely (method, From, To).  Nothing of the
messages is kept.
Rule 2: pure and light.  No I/O, and nothing heavier than :mod:`re` is imported, so a command
that only lists dialogs starts fast; :mod:`engine.observe` does the full analysis of one dialog.

>>> sip_offset(b"SIP/2.0 200 OK\\r\\n"), sip_offset(b"GET / HTTP/1.1\\r\\n")
(0, -1)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_CALL_ID_ANY_CASE = re.compile(rb"\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)
_SUMMARY_HEADERS = re.compile(
    rb"\n(call-id|i|from|f|to|t|cseq)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE
)
_SHORT_NAMES = {b"i": b"call-id", b"f": b"from", b"t": b"to"}
_METHOD_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!%*+`'~")


def sip_offset(data: bytes) -> int:
    """Where the SIP start line begins in a payload, -1 when the payload is not SIP.

    Leading CRLFs are keep-alives (RFC 3261 7.5, RFC 5626 4.4.1) and are skipped.  The test is
    cheap on purpose: the start line must be ``SIP/2.0 NNN`` or ``METHOD uri SIP/2.0``.

    >>> sip_offset(b"\\r\\nOPTIONS sip:x SIP/2.0\\r\\n\\r\\n"), sip_offset(b"\\x80\\x00junk")
    (2, -1)
    """
    start = 0
    if data[:1] in (b"\r", b"\n"):
        start = len(data) - len(data.lstrip(b"\r\n"))
    if data[start : start + 8] == b"SIP/2.0 ":
        return start
    nl = data.find(b"\n", start, start + 1024)
    if nl < 0:
        return -1
    end = nl - 1 if data[nl - 1 : nl] == b"\r" else nl
    if data[end - 8 : end] != b" SIP/2.0":
        return -1
    space = data.find(b" ", start, end)
    if space <= start or not _METHOD_CHARS.issuperset(data[start:space]):
        return -1
    return start


def _head_end(data: bytes) -> int:
    end = data.find(b"\r\n\r\n")
    if end < 0:
        end = data.find(b"\n\n")
    return len(data) if end < 0 else end


def call_id_bytes(data: bytes) -> bytes | None:
    """The Call-ID value of a SIP payload as bytes, None when it has none.

    Looks only at the header part, for ``Call-ID`` as usually written first, then for any
    spelling and the compact form ``i``.

    >>> call_id_bytes(b"BYE sip:x SIP/2.0\\r\\ni: abc \\r\\n\\r\\nCall-ID: body")
    b'abc'
    """
    i = data.find(b"\nCall-ID:")
    # The usual spelling, and no empty line before it (else it is in the body).
    if i >= 0 and data.find(b"\r\n\r\n", 0, i + 1) < 0 and data.find(b"\n\n", 0, i + 1) < 0:
        j = data.find(b"\n", i + 9)
        value = data[i + 9 : j if j >= 0 else len(data)].strip()
    else:
        m = _CALL_ID_ANY_CASE.search(data, 0, _head_end(data))
        if m is None:
            return None
        value = m.group(1).strip()
    return value or None


def call_id_of(data: bytes) -> str | None:
    """The Call-ID of a SIP payload as text (UTF-8, bad bytes replaced), None when missing."""
    value = call_id_bytes(data)
    return None if value is None else value.decode("utf-8", "replace")


def _uri_of_header(value: str) -> str:
    """The URI of a From/To value for people: the part in ``<>``, else up to the first ``;``."""
    lt = value.find("<")
    if lt >= 0:
        gt = value.find(">", lt)
        return value[lt + 1 : gt if gt >= 0 else len(value)].strip()
    return value.split(";", 1)[0].strip()


@dataclass(frozen=True, slots=True)
class DialogSummary:
    """One row of the dialog picker: what one Call-ID holds."""

    call_id: str
    method: str  # the first request's method (a response's CSeq method when no request came)
    from_uri: str
    to_uri: str
    messages: int
    elements: int  # distinct transport addresses that sent or received its messages
    start: float | None  # time of its first message, seconds since the epoch
    first_frame: int

    def matches(self, text: str) -> bool:
        """True when ``text`` (case-insensitive) occurs in the Call-ID, method, From or To."""
        needle = text.strip().lower()
        if not needle:
            return True
        return any(
            needle in field.lower()
            for field in (self.call_id, self.method, self.from_uri, self.to_uri)
        )


def _summary_fields(data: bytes) -> tuple[str, str, str, bool]:
    """Method, From URI, To URI and "is a request" of one SIP payload (cheap, never raises)."""
    end = _head_end(data)
    first = data[: data.find(b"\n") if b"\n" in data[:end] else end].strip()
    request = not first.startswith(b"SIP/2.0")
    method = first.split(b" ", 1)[0] if request else b""
    found: dict[bytes, bytes] = {}
    for m in _SUMMARY_HEADERS.finditer(data, 0, end):
        name = m.group(1).lower()
        name = _SHORT_NAMES.get(name, name)
        found.setdefault(name, m.group(2).strip())
    if not request:
        cseq = found.get(b"cseq", b"").split()
        method = cseq[1] if len(cseq) > 1 else b"?"

    def text(value: bytes) -> str:
        return value.decode("utf-8", "replace")

    return (
        text(method),
        _uri_of_header(text(found.get(b"from", b""))),
        _uri_of_header(text(found.get(b"to", b""))),
        request,
    )


class DialogCatalog:
    """Messages streamed in, one summary per Call-ID out (the dialog picker's rows).

    Only the first message of a Call-ID is looked at closely; every other one costs a Call-ID
    search and a count, so listing a capture stays fast and small (nothing of the messages is
    kept).

    >>> cat = DialogCatalog()
    >>> bye = b"BYE sip:b@x SIP/2.0\\r\\nCall-ID: k\\r\\nCSeq: 2 BYE\\r\\n\\r\\n"
    >>> cat.add(bye, 1.5, "a:1", "b:2", 7)
    'k'
    >>> [(d.call_id, d.method, d.messages, d.elements, d.first_frame) for d in cat.dialogs()]
    [('k', 'BYE', 1, 2, 7)]
    """

    def __init__(self) -> None:
        # call-id -> [first frame, start, count, addresses, method, from, to, saw a request]
        self._rows: dict[bytes, list[Any]] = {}
        self.without_call_id = 0

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, data: bytes, time: float | None, src: str, dst: str, frame: int) -> str | None:
        """Count one SIP payload; returns its Call-ID (None when it has none: not counted)."""
        cid = self._add(data, time, src, dst, frame)
        return None if cid is None else cid.decode("utf-8", "replace")

    def record(
        self, frame: int, time: float | None, src: str, dst: str, transport: str, data: bytes
    ) -> None:
        """:meth:`add` with the argument order of a capture reader's sink."""
        # The hot path of listing a capture, once per message: the usual Call-ID header of a
        # CRLF message is found inline, anything else goes through call_id_bytes().
        end = data.find(b"\r\n\r\n")
        i = data.find(b"\nCall-ID:", 0, end) if end > 0 else -1
        if i >= 0:
            j = data.find(b"\r\n", i + 9, end + 2)
            cid: bytes | None = data[i + 9 : j].strip() or None
        else:
            cid = call_id_bytes(data)
        if cid is None:
            self.without_call_id += 1
            return
        row = self._rows.get(cid)
        if row is None:
            method, from_uri, to_uri, request = _summary_fields(data)
            self._rows[cid] = [frame, time, 1, {src, dst}, method, from_uri, to_uri, request]
            return
        row[2] += 1
        addresses = row[3]
        addresses.add(src)
        addresses.add(dst)
        if not row[7] and data[:8] != b"SIP/2.0 ":
            row[4], row[5], row[6], row[7] = _summary_fields(data)

    def _add(self, data: bytes, time: float | None, src: str, dst: str, frame: int) -> bytes | None:
        cid = call_id_bytes(data)
        if cid is None:
            self.without_call_id += 1
            return None
        row = self._rows.get(cid)
        if row is None:
            method, from_uri, to_uri, request = _summary_fields(data)
            self._rows[cid] = [frame, time, 1, {src, dst}, method, from_uri, to_uri, request]
            return cid
        row[2] += 1
        addresses = row[3]
        addresses.add(src)
        addresses.add(dst)
        if not row[7] and data[:8] != b"SIP/2.0 ":
            # The first message was a response (the capture began mid-transaction): the
            # first request seen names the dialog better.
            row[4], row[5], row[6], row[7] = _summary_fields(data)
        return cid

    @property
    def messages(self) -> int:
        """Messages counted (those with a Call-ID)."""
        return sum(row[2] for row in self._rows.values())

    def counts(self) -> dict[str, int]:
        """Messages per Call-ID."""
        return {k.decode("utf-8", "replace"): row[2] for k, row in self._rows.items()}

    def dialogs(self) -> tuple[DialogSummary, ...]:
        """Every Call-ID seen, in the order of its first message."""
        out = []
        for cid, (
            frame,
            start,
            count,
            addresses,
            method,
            from_uri,
            to_uri,
            _r,
        ) in self._rows.items():
            out.append(
                DialogSummary(
                    call_id=cid.decode("utf-8", "replace"),
                    method=method,
                    from_uri=from_uri,
                    to_uri=to_uri,
                    messages=count,
                    elements=len(addresses - {""}),
                    start=start,
                    first_frame=frame,
                )
            )
        return tuple(out)


def search(dialogs: Iterable[DialogSummary], text: str) -> tuple[DialogSummary, ...]:
    """The dialogs whose Call-ID, method, From or To contain ``text`` (case-insensitive)."""
    return tuple(d for d in dialogs if d.matches(text))


@dataclass(frozen=True, slots=True)
class CapturedMessage:
    """One SIP message as a capture shows it.

    ``src`` and ``dst`` are transport addresses ``ip:port`` (IPv6 in brackets), or ``""`` when
    the source does not say (a plain text file of messages); ``transport`` is ``udp``, ``tcp``
    ... or ``""``; ``time`` is in seconds since the epoch, None when unknown; ``frame`` is the
    1-based number of the packet (or text record) the message was read from.
    """

    frame: int
    time: float | None
    src: str
    dst: str
    transport: str
    text: str


__all__ = [
    "CapturedMessage",
    "DialogCatalog",
    "DialogSummary",
    "call_id_bytes",
    "call_id_of",
    "search",
    "sip_offset",
]
