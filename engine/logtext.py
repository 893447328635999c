"""Find a SIP message in text copied from a log, a capture or an email: :func:`clean`.

Rule 1: :func:`clean` never raises.  It returns the message as the parser reads it with the
way back to the user's text (:meth:`CleanText.user_position`), so that every error can
point at the user's own line and column.
Rule 2: a prefix is stripped only where that is unambiguous.  The request line decides: the
first line that, after removing a known prefix (``> `` quoting, indentation, a syslog or ISO
timestamp with its ``host program[pid]:`` tag, ``[...]`` brackets, ngrep's trailing ``.`` for
the CR), reads as a SIP request line.  Later lines lose exactly that kind of prefix -- the
same quoting depth, the same host and program -- and keep anything else.  Lines before the
request line cannot belong to the message (a SIP message starts with its start line) and are
skipped.  The message ends at a ruler line in its head (``-----``, which logs print between
messages) or where its Content-Length says; what follows is left out and counted.
journalctl's continuation lines, indented to where the message began on the first line, lose
that indentation.  The line about the packet just before the message (ngrep's, tcpdump's, a
SIP stack's "sent to ...") is read for its addresses (:mod:`engine.packetline`).
Rule 3: when no line reads as a request line that way, three more forms are tried, in this
order, each only where it is unmistakable:

1. Wireshark's packet details (Copy > All Visible Items, File > Export Packet Dissections,
   ``tshark -V``): the ``Request-Line:`` and the lines right under ``Message Header``,
   without the fields Wireshark dissected under them;
2. a whole message on one log line, its line ends escaped: rsyslog's ``#015#012`` (with
   ``#011`` for a tab), or ``\\r\\n`` as JSON and ``repr()`` write it (with ``\\t``,
   ``\\"`` and ``\\\\``).  Words before the request line are the log's, not the message's;
   lines after it are left out, a message in a quoted string (a JSON field, a ``repr()``)
   ends at its closing quote, and a body ends where its Content-Length says;
3. free words before the request line on its own line (Kamailio's ``INFO: <script>:`` and
   the script's text): a request line is the last three words of its line, the version last;
   a status line runs from its ``SIP/2.0 NNN`` to the end of its line.
   A line that only names the request before the message itself is skipped (``tcpdump -A``
   prints a summary, then the packet's header bytes run into the request line).

>>> c = clean("Nov 29 10:00:01 pbx kamailio[812]: INFO: <script>: got BYE sip:b@x SIP/2.0"
...           "#015#012To: <sip:b@x>;tag=9#015#012#015#012")
>>> c.text.split("\\r\\n")
['BYE sip:b@x SIP/2.0', 'To: <sip:b@x>;tag=9', '', '']
>>> c.user_position(2, 1)
(1, 83)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from engine.packetline import Packet, is_ruler, packet_before, wireshark_packet

MAX_LINES = 2000  # how far down the text a request line is looked for

# --------------------------------------------------------------------------
# prefixes

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_CLOCK = r"\d{1,2}:\d\d:\d\d(?:[.,]\d{1,9})?"
_ZONE = r"(?:Z|[+-]\d\d:?\d\d)?"
_STAMPS: dict[str, re.Pattern[str]] = {
    # Nov 29 10:00:01 (syslog, journalctl short and short-precise)
    "syslog": re.compile(rf"{_MONTH} [ \d]\d {_CLOCK}"),
    # 2026-11-29 10:00:01.123 / 2026-11-29T10:00:01Z / 2026/11/29 10:00:01
    "timestamp": re.compile(rf"\d{{4}}[-/]\d\d[-/]\d\d[T ]{_CLOCK}{_ZONE}"),
    # 10:00:01.123
    "clock": re.compile(rf"{_CLOCK}"),
    # [2026-11-29 10:00:01] or [ts] [info]
    "bracket": re.compile(r"(?:\[[^\[\]\r\n]{1,64}\] ?)*\[[^\[\]\r\n]{1,64}\]"),
}
# After a time stamp: the syslog tag "host program[pid]: " (or "program[pid]: " alone,
# whose [pid] keeps it from being mistaken for a header name) and a level word.
_TAG = re.compile(r"(?:[^\s\[\]]+ [A-Za-z0-9_./-]+(?:\[\d+\])?|[A-Za-z0-9_./-]+\[\d+\]): ")
_LEVEL = re.compile(
    r"(?:<?(?:TRACE|DEBUG|DBG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRIT|CRITICAL)>?:?|"
    r"\[(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR)\]) +",
    re.IGNORECASE,
)
_QUOTE = re.compile(r"(?:> ?)+")
_INDENT = re.compile(r"[ \t]+")
_START = re.compile(r"[A-Za-z][A-Za-z0-9.!%*_+`'~-]* \S+ SIP/\d+\.\d+\Z")
# (A reason phrase holds no escaped line end: "SIP/2.0 200 OK#015#012Via: ..." is a whole
# response logged on one line, for the escaped forms below.)
_STATUS = re.compile(r"SIP/\d+\.\d+ \d{3}(?: (?!.*(?:#01[125]|\\[rnt])).*)?\Z")
# A request line at the end of a line, after free words (a log's own): the last three
# words, the method a word of letters, digits, '-' and '_' not glued to one before it (what
# stands before it -- a quote, a colon, tcpdump's dots for bytes it cannot print -- is the
# log's).
_START_AT_END = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z][A-Za-z0-9_-]* \S+ SIP/\d+\.\d+\Z")
# A status line after free words, to the end of its line (its reason phrase is free text,
# so the first "SIP/2.0 NNN" not glued to a word starts it): tcpdump -A runs a response's
# header bytes into it as into a request line, a JSON log's quote stands before it.
_STATUS_AT_END = re.compile(r"(?<![A-Za-z0-9_-])SIP/\d+\.\d+ \d{3}(?: [^\r\n]*)?\Z")


@dataclass(frozen=True, slots=True)
class Prefix:
    """The prefix found on the request line, as later lines must show it to lose it.

    ``quote`` is the ``>`` quoting depth, ``indent`` the indentation, ``stamp`` the kind of
    time stamp (a key of the stamp patterns, or ``""``) and ``tail`` the literal text after
    the stamp (syslog tag, level word).  ``dots`` is ngrep's trailing ``.`` for each CR.
    ``align`` holds the columns (0-based) where a stamped log's continuation lines may be
    indented to instead (journalctl: where the message began after the tag).  ``literal``
    is text that every later line repeats after those: the start of the free words before
    the request line (Kamailio's `` 8(2230) INFO: <script>: ``, docker compose's
    ``name | ``).
    """

    quote: int = 0
    indent: str = ""
    stamp: str = ""
    tail: str = ""
    dots: bool = False
    align: tuple[int, ...] = ()
    literal: str = ""

    @property
    def kind(self) -> str:
        """A short name of the prefix: ``quote``, ``syslog``, ``quote+timestamp`` ... or ``""``."""
        parts = []
        if self.quote:
            parts.append("quote")
        if self.indent:
            parts.append("indent")
        if self.stamp:
            parts.append(self.stamp)
        if self.dots:
            parts.append("ngrep")
        return "+".join(parts)


# The line end of ngrep's one-line packets (_ESCAPE_STYLES).
NGREP_DOTS = ".."

# How the message was laid out in the user's text (CleanText.form).
LINES = ""  # one message line a text line, perhaps prefixed
ESCAPED = "escaped"  # one log line, its line ends escaped
WIRESHARK = "wireshark"  # Wireshark's packet details


@dataclass(frozen=True, slots=True)
class CleanText:
    """The message as the parser reads it, with the way back to the user's text.

    ``origin[i]`` is the user's 1-based line number of cleaned line ``i + 1`` and
    ``stripped[i]`` the 0-based column in that user line where it starts (how many
    characters were removed from its start).  ``shifts[i]`` (empty when nothing was
    unescaped) lists ``(index, extra)`` pairs: at that 0-based index of the cleaned line
    stands one character that took ``extra + 1`` characters in the user's text.
    ``skipped`` counts the lines before the request line; ``form`` is how the message was
    laid out (:data:`LINES`, :data:`ESCAPED`, :data:`WIRESHARK`), ``escapes`` the line end
    an escaped message used, ``lead`` the words before its request line on the same line
    (not part of the message), ``after`` the lines left out after the message,
    ``trailing`` the characters left out after its body (within its last line),
    ``left_out`` the lines of Wireshark's dissected fields, and ``cut_short`` the cleaned
    line (1-based) that Wireshark shortened, 0 when none.  ``packet`` is what the capture's
    or log's line about the packet says of its addresses (:mod:`engine.packetline`), None
    when no such line stands just before the message.  ``more`` counts the start lines of
    other messages among the lines left out after it, ``next_start`` is the user line
    (1-based) of the first of them, 0 when there is none.
    """

    text: str
    origin: tuple[int, ...]
    stripped: tuple[int, ...]
    prefix: Prefix = Prefix()
    skipped: int = 0
    shifts: tuple[tuple[tuple[int, int], ...], ...] = ()
    form: str = LINES
    escapes: str = ""
    lead: str = ""
    after: int = 0
    trailing: int = 0
    left_out: int = 0
    cut_short: int = 0
    packet: Packet | None = None
    more: int = 0
    next_start: int = 0

    @property
    def kind(self) -> str:
        """The kind of prefix that was stripped (``""`` when none)."""
        return self.prefix.kind

    @property
    def cut_off(self) -> bool:
        """True when the text looks cut off inside the head: no blank line after the
        headers, and the last line stops inside a ``<...>`` or a quoted string (a log's
        line length limit does this).

        >>> clean("BYE sip:b@x SIP/2.0\\nRoute: <sip:p1;lr>, <sip:p2.exam").cut_off
        True
        """
        if "\r\n\r\n" in self.text or self.text.endswith("\r\n"):
            return False
        last = self.text.rpartition("\r\n")[2]
        return last.count("<") > last.count(">") or last.count('"') % 2 == 1

    @property
    def lines_stripped(self) -> int:
        """How many lines lost a prefix."""
        return sum(1 for n in self.stripped if n)

    def user_position(self, line: int, column: int | None) -> tuple[int, int | None]:
        """A 1-based line and column of the cleaned text as a position in the user's text.

        >>> c = clean("junk\\n> BYE sip:b SIP/2.0\\n> To: x\\n")
        >>> c.user_position(2, 1)
        (3, 3)
        """
        if not self.origin:
            return line, column
        i = min(max(line, 1), len(self.origin)) - 1
        user_line = self.origin[i] + max(0, line - 1 - i)
        if column is None or line - 1 != i:
            return user_line, column
        shift = (
            sum(extra for index, extra in self.shifts[i] if index < column - 1)
            if self.shifts
            else 0
        )
        return user_line, column + self.stripped[i] + shift

    def describe(self) -> str:
        """What was removed or read in another way, in words ("" when nothing was)."""
        parts: list[str] = []
        if self.form == WIRESHARK:
            parts.append(
                "took the Request-Line and the header lines under Message Header from "
                "Wireshark's packet details"
                + (
                    f", without the {_count(self.left_out, 'field line')} it dissected under them"
                    if self.left_out
                    else ""
                )
            )
        elif self.form == ESCAPED and self.escapes == NGREP_DOTS:
            parts.append(
                "the message is on one line as ngrep prints a packet without -W byline: each "
                "'..' (CR LF shown as dots) is read as a line end"
            )
        elif self.form == ESCAPED:
            parts.append(
                f"the message is on one log line: its {self.escapes} escapes are read as line ends"
            )
        if self.cut_off:
            parts.append(
                "the text stops inside its last header, with no blank line after the headers: "
                "the message looks cut off (a log's line length limit?), so what is said of "
                "that header is about the cut text"
            )
        if self.skipped:
            parts.append(f"skipped {_count(self.skipped, 'line')} before the request line")
        if self.lead:
            lead = self.lead if len(self.lead) <= 80 else self.lead[:79] + "…"
            parts.append(f"left out {lead!r} before the request line")
        if self.kind and self.lines_stripped:
            names = {
                "quote": "'>' quoting",
                "indent": "indentation",
                "syslog": "syslog prefixes",
                "timestamp": "time stamps",
                "clock": "time stamps",
                "bracket": "[...] prefixes",
            }
            # Lines lose characters only to quoting, indentation or a stamp: never empty.
            kinds = [names[k] for k in self.kind.split("+") if k in names]
            parts.append(
                f"stripped {' and '.join(kinds)} from {_count(self.lines_stripped, 'line')}"
            )
        if self.prefix.literal:
            parts.append(f"stripped {self.prefix.literal!r} from the lines after it")
        if self.prefix.dots:
            parts.append("removed ngrep's trailing '.' (the CR) from each line")
        if self.trailing:
            parts.append(
                f"left out {_count(self.trailing, 'character')} after the message (past its "
                "closing quote or its Content-Length)"
            )
        if self.after:
            more = f" ({_count(self.more, 'more SIP message')})" if self.more else ""
            parts.append(f"left out {_count(self.after, 'line')} after the message{more}")
        return "; ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


def _split_lines(text: str) -> list[str]:
    if "\n" not in text and "\r" in text:
        return text.split("\r")  # old Mac line ends
    return [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]


def _is_start(rest: str, dots: bool = False) -> bool:
    rest = rest.rstrip(" \t")
    if dots:
        rest = rest[:-1]
    return bool(_START.match(rest) or _STATUS.match(rest))


def _log_prefixes(rest: str) -> list[tuple[str, str, int, int]]:
    """Each way a log prefix can be read at the start of ``rest``, longest first:
    (stamp, tail, length, where the logged text begins after the tag)."""
    out: list[tuple[str, str, int, int]] = []
    for name, pattern in _STAMPS.items():
        m = pattern.match(rest)
        if not m or not rest.startswith(" ", m.end()):
            continue
        end = m.end() + 1
        tag = _TAG.match(rest, end)
        ends = [end] if tag is None else [tag.end(), end]
        for e in ends:
            level = _LEVEL.match(rest, e)
            if level:
                out.append((name, rest[end : level.end()], level.end(), e))
            out.append((name, rest[end:e], e, e))
    return out


@dataclass(frozen=True, slots=True)
class _Found:
    """The request line: its index, its prefix, where the message begins, the free words."""

    index: int
    prefix: Prefix
    length: int
    lead: str = ""


def _read_prefix(
    line: str, index: int, free: bool = False, *, dots_first: bool = False
) -> _Found | None:
    """The prefix that makes ``line`` a start line; None when none does.

    With ``free``, words the patterns do not know may stand between the prefix and a
    request or status line (they are the ``lead``); the readings with a time stamp come first then,
    so that later lines can still lose theirs.  With ``dots_first``, ngrep's trailing '.'
    is tried first (a status line reads as one with or without it).
    """
    for dots in (True, False) if dots_first else (False, True):
        if dots and not line.rstrip(" \t").endswith("."):
            continue
        q = _QUOTE.match(line)
        quotes = [(0, 0)] if q is None else [(q.group().count(">"), q.end()), (0, 0)]
        for depth, qlen in quotes:
            rest = line[qlen:]
            ind = _INDENT.match(rest)
            indent = ind.group() if ind else ""
            rest = rest[len(indent) :]
            base = qlen + len(indent)
            bare = ("", "", 0, 0)
            stamped = _log_prefixes(rest)
            for stamp, tail, length, message in [*stamped, bare] if free else [bare, *stamped]:
                after = rest[length:]
                lead = ""
                if free:
                    words = after.rstrip(" \t")
                    words = words[:-1] if dots else words
                    m = _START_AT_END.search(words) or _STATUS_AT_END.search(words)
                    if m is None or m.start() == 0:
                        continue
                    lead = after[: m.start()]
                elif not _is_start(after, dots):
                    continue
                align = (base + message, base + length + len(lead)) if stamp else ()
                prefix = Prefix(depth, indent, stamp, tail, dots, tuple(sorted(set(align))))
                return _Found(index, prefix, base + length + len(lead), lead)
    return None


def _strip(line: str, prefix: Prefix) -> tuple[str, int]:
    """Remove the request line's kind of prefix from a later line: (rest, characters removed)."""
    pos = 0
    for _ in range(prefix.quote):
        if line.startswith(">", pos):
            pos += 1
            if line.startswith(" ", pos):
                pos += 1
    if prefix.indent:
        # Exactly the request line's indentation: a continuation line keeps the rest of its own.
        n = len(prefix.indent)
        if line[pos : pos + n] == prefix.indent:
            pos += n
    if prefix.stamp:
        m = _STAMPS[prefix.stamp].match(line, pos)
        if m is not None:
            after = line[m.end() :]
            if after.startswith(" " + prefix.tail):
                pos = m.end() + 1 + len(prefix.tail)
            elif after.strip() == prefix.tail.strip():
                pos = len(line)  # a prefix alone: an empty line of the message
        else:
            pos = _aligned(line, pos, prefix.align)
    if prefix.literal and line.startswith(prefix.literal, pos):
        pos += len(prefix.literal)
    rest = line[pos:]
    if prefix.dots and rest.endswith("."):
        rest = rest[:-1]
    return rest, pos


# A header line's start, name and colon (to tell a repeated prefix from the message).
_HEADER_START = re.compile(r"[A-Za-z0-9!%'*+._`~-]+[ \t]*:")


def _shared_lead(lines: list[str], found: _Found) -> str:
    """The start of the free words before the request line that the next line repeats, up
    to a blank, when that line is a header without it: a prefix every line of the log has
    (`` 8(2230) INFO: <script>: RCV BYE ...``, then `` 8(2230) INFO: <script>: Via: ...``);
    ``""`` when there is none."""
    lead = found.lead
    following = [ln for ln in lines[found.index + 1 : found.index + 3] if ln.strip()]
    if not lead or not following:
        return ""
    rest = _strip(following[0], found.prefix)[0]
    n = 0
    while n < min(len(lead), len(rest)) and lead[n] == rest[n]:
        n += 1
    shared = lead[: lead.rfind(" ", 0, n) + 1]
    if not shared.strip() or not _HEADER_START.match(rest[len(shared) :]):
        return ""
    return shared


def _aligned(line: str, pos: int, align: tuple[int, ...]) -> int:
    """Where a journalctl continuation line's text begins: past blanks up to one of the
    ``align`` columns (the first whose next character is not blank, else the first the
    blanks reach, so a folded line keeps its own indentation); ``pos`` when none fits."""
    reached = [w for w in align if w > pos and not line[pos:w].strip(" ")]
    for w in reached:
        if line[w : w + 1] not in (" ", "\t"):
            return min(w, len(line))
    return min(reached[0], len(line)) if reached else pos


def clean(text: str) -> CleanText:
    """Find the request line, strip the prefixes or read the other forms; never raises.

    >>> c = clean("2026-11-29 10:00:01.123 INVITE sip:b@x SIP/2.0\\n"
    ...           "2026-11-29 10:00:01.124 Max-Forwards: 70\\n")
    >>> c.text.splitlines()[1], c.stripped, c.kind
    ('Max-Forwards: 70', (24, 24, 0), 'timestamp')
    """
    lines = _split_lines(text)
    found = _first_start(lines, free=False)
    if found is None:
        other = _wireshark(lines) or _escaped(lines)
        if other is not None:
            return other
        found = _first_start(lines, free=True)
    if found is None:
        # Nothing reads as a start line: hand the text over as it is, so the parser's
        # error points at the user's own first line.
        return CleanText(
            "\r\n".join(lines), tuple(range(1, len(lines) + 1)), (0,) * len(lines), Prefix(), 0
        )
    first, prefix, length = found.index, found.prefix, found.length
    literal = _shared_lead(lines, found)
    if literal:
        prefix = replace(prefix, literal=literal)
    pieces: list[_Piece] = []
    for i, line in enumerate(lines[first:], start=first):
        if i == first:
            rest, n = line[length:], length
            if prefix.dots:
                rest = rest.rstrip(" \t")[:-1]
        else:
            rest, n = _strip(line, prefix)
        pieces.append((rest, n, ()))
    pieces = _head_to_ruler(pieces)
    kept, cut = _message_pieces(pieces)
    end = first + len(kept)
    # Characters cut off the last line kept (a body that ends inside a line); the lines
    # after it, and that line when nothing of it is kept, are counted as lines.
    partial = len(pieces[len(kept) - 1][0]) - len(kept[-1][0]) if cut else 0
    if partial and not kept[-1][0]:
        partial, end = 0, end - 1
        kept[-1] = ("", 0, ())
    return CleanText(
        "\r\n".join(p[0] for p in kept),
        tuple(range(first + 1, first + len(kept) + 1)),
        tuple(p[1] for p in kept),
        prefix,
        _nonblank(lines[:first]),
        lead=found.lead.strip(),
        after=_nonblank(lines[end:]),
        more=len(starts := _starts(lines, end)),
        next_start=starts[0] + 1 if starts else 0,
        trailing=partial,
        packet=packet_before(lines, found.index),
    )


def _starts(lines: list[str], begin: int) -> list[int]:
    """The indexes of the lines from ``begin`` on that read as a start line (a request or
    status line, with a prefix of a kind the first one could have had)."""
    return [
        i
        for i, line in enumerate(lines[begin:MAX_LINES], start=begin)
        if line.strip() and _read_prefix(line, i) is not None
    ]


def _head_to_ruler(pieces: list[_Piece]) -> list[_Piece]:
    """The pieces up to a ruler line in the head (``-----``: a log's line between messages,
    FreeSWITCH's after a message without a body), which ends the message."""
    for n, (text, _start, _shifts) in enumerate(pieces):
        if not text.strip(" \t"):
            break  # the blank line: the head ends here
        if n and is_ruler(text):
            return pieces[:n]
    return pieces


def _first_start(lines: list[str], *, free: bool) -> _Found | None:
    for i, line in enumerate(lines[:MAX_LINES]):
        if line.strip():
            found = _read_prefix(line, i, free, dots_first=_ngrep_dots(lines, i))
            if found is not None:
                if free:
                    return _repeated(lines, found) or found
                return _after_summary(lines, found) or found
    return None


def _ngrep_dots(lines: list[str], index: int) -> bool:
    """True when line ``index`` and the next one both end in '.', as ngrep prints a CR (a
    status line's reason phrase could end in one; its next line, a header, hardly)."""
    if not lines[index].rstrip(" \t").endswith("."):
        return False
    after = lines[index + 1 : index + 2]
    return bool(after) and after[0].rstrip(" \t").endswith(".")


def _after_summary(lines: list[str], found: _Found) -> _Found | None:
    """``found`` read again when a line just before it names a request line that it ends
    in: tcpdump -A prints the packet's header bytes, the printable ones among dots, run into
    the request line, and "E..sv..BYE" would pass for a method (RFC 3261 allows '.' in one).
    """
    line = lines[found.index]
    for i in range(found.index - 1, max(found.index - 3, -1), -1):
        before = _read_prefix(lines[i], i, free=True) if lines[i].strip() else None
        if before is None:
            continue
        named = lines[i][before.length :].strip()
        end = len(line.rstrip(" \t"))
        if len(named) < end - found.length and line.rstrip(" \t").endswith(named):
            return _Found(found.index, Prefix(), end - len(named), line[: end - len(named)])
    return None


def _repeated(lines: list[str], found: _Found) -> _Found | None:
    """The next line when it ends in the same request line: a log line that names the
    request before the message itself (tcpdump -A: "IP a > b: SIP: BYE sip:... SIP/2.0",
    then the packet's bytes, the request line after its headers' unprintable ones)."""
    first = lines[found.index][found.length :].strip()
    for j in range(found.index + 1, min(found.index + 3, len(lines))):
        line = lines[j].rstrip(" \t")
        if line.endswith(first):
            again = _read_prefix(lines[j], j, free=True)
            if again is not None and lines[j][again.length :].strip() == first:
                return again
            # The header bytes may end in a printable one ("..kINVITE"): the line holds the
            # named start line at its end all the same.
            cut = len(line) - len(first)
            return _Found(j, Prefix(), cut, lines[j][:cut])
    return None


def _nonblank(lines: list[str]) -> int:
    return sum(1 for ln in lines if ln.strip())


# --------------------------------------------------------------------------
# Wireshark's packet details

# "    Request-Line: INVITE sip:bob@b.example SIP/2.0" (or the Status-Line of a response)
_WIRESHARK_START = re.compile(r"([ \t]*)(?:Request|Status)-Line: ")
# What Wireshark puts at either end of a field it shortened (it shows at most 240
# characters of one): "[truncated]" before, "…" or "[…]" after.
_WIRESHARK_CUT = re.compile(r"\A(?:\[truncated\] ?|\[…\] ?)|(?:…|\[…\])\Z")


def _wireshark(lines: list[str]) -> CleanText | None:
    """The request in Wireshark's packet details, or None when the text is not that."""
    for i, line in enumerate(lines[:MAX_LINES]):
        m = _WIRESHARK_START.match(line)
        if m is None or not _is_start(line[m.end() :]):
            continue
        level = len(m.group(1).expandtabs())
        out = [line[m.end() :].rstrip(" \t")]
        origin, stripped = [i + 1], [m.end()]
        under_header = False
        indent: int | None = None
        left_out = cut_short = 0
        for j in range(i + 1, len(lines)):
            text = lines[j].rstrip(" \t")
            if not text:
                break  # the end of this packet
            depth = len(text) - len(text.lstrip(" \t"))
            if depth <= level:
                if depth == level and text.strip() == "Message Header" and not under_header:
                    under_header = True
                    continue
                break  # Message Body, or the next layer or packet
            if not under_header or depth > (indent if indent is not None else depth):
                left_out += 1  # a field Wireshark dissected (Method, Transport, Route URI ...)
                continue
            if depth < (indent if indent is not None else depth):
                break
            indent = depth
            field = text[depth:]
            cut = _WIRESHARK_CUT.search(field)
            if cut is not None:
                cut_short = cut_short or len(out) + 1
                if cut.start() == 0:
                    depth += cut.end()
                field = _WIRESHARK_CUT.sub("", field)
            elif field.startswith("["):
                left_out += 1  # a field Wireshark worked out ("[Generated Call-ID: ...]")
                continue
            out.append(field)
            origin.append(j + 1)
            stripped.append(depth)
        return CleanText(
            "\r\n".join(out),
            tuple(origin),
            tuple(stripped),
            skipped=_nonblank(lines[:i]),
            form=WIRESHARK,
            left_out=left_out,
            cut_short=cut_short,
            packet=wireshark_packet(lines, i),
        )
    return None


# --------------------------------------------------------------------------
# a message on one log line, its line ends escaped


@dataclass(frozen=True, slots=True)
class _Escapes:
    """One way of escaping a message into a line: the line end, as described to the user,
    the pattern of every escape it uses, and what the escapes other than line ends stand for."""

    name: str
    pattern: re.Pattern[str]
    breaks: frozenset[str]
    chars: dict[str, str]
    quoted: bool = False  # the escaped message may sit in a quoted string


_ESCAPE_STYLES = (
    # rsyslog writes control characters in octal: CR LF as #015#012, a tab as #011.
    _Escapes(
        "#015#012",
        re.compile(r"#015#012|#012|#011"),
        frozenset({"#015#012", "#012"}),
        {"#011": "\t"},
    ),
    # JSON strings and repr() write \r\n (and \t, \", \', \\ and \/).
    _Escapes(
        "\\r\\n",
        re.compile(r"\\r\\n|\\n|\\[t\"'\\/]"),
        frozenset({"\\r\\n", "\\n"}),
        {"\\t": "\t", '\\"': '"', "\\'": "'", "\\\\": "\\", "\\/": "/"},
        quoted=True,
    ),
    # ngrep without -W byline prints a packet on one line, every byte that is not
    # printable as '.': CR LF is "..".  Tried last: a ".." may be the text's own.  Pairs are
    # counted from the end of a run of dots, so a value's own last dot stays ("Subject:
    # Hello." then CR LF is "Hello...").
    _Escapes(NGREP_DOTS, re.compile(r"\.\.(?=(?:\.\.)*(?!\.))"), frozenset({".."}), {}),
)
_CONTENT_LENGTH = re.compile(r"(?:content-length|l)[ \t]*:[ \t]*(\d{1,9})\Z", re.IGNORECASE)

_Piece = tuple[str, int, tuple[tuple[int, int], ...]]  # text, start column, shifts


def _unescape(line: str, style: _Escapes) -> list[_Piece]:
    """``line`` cut at its escaped line ends, other escapes replaced: each piece's text, the
    0-based column in ``line`` where it starts, and its shifts (see :class:`CleanText`)."""
    pieces: list[_Piece] = []
    parts: list[str] = []
    shifts: list[tuple[int, int]] = []
    start = pos = length = 0
    for m in style.pattern.finditer(line):
        parts.append(line[pos : m.start()])
        length += m.start() - pos
        pos = m.end()
        token = m.group()
        if token in style.breaks:
            pieces.append(("".join(parts), start, tuple(shifts)))
            parts, shifts, start, length = [], [], pos, 0
        else:
            parts.append(style.chars[token])
            shifts.append((length, len(token) - 1))
            length += 1
    parts.append(line[pos:])
    pieces.append(("".join(parts), start, tuple(shifts)))
    return pieces


def _escaped(lines: list[str]) -> CleanText | None:
    """The message of the first log line that holds one with escaped line ends, or None."""
    for i, line in enumerate(lines[:MAX_LINES]):
        for style in _ESCAPE_STYLES:
            found = _escaped_start(line, style)
            if found is None:
                continue
            begin, cut, pieces = found
            text = pieces[0][0]
            string_end = len(line)
            quote = line[begin - 1 : begin]
            if style.quoted and quote in ('"', "'"):
                # The message is a quoted string (a JSON field, a repr()): it ends at its
                # closing quote, and what follows is the log's.
                string_end = _closing_quote(line, begin, quote)
                if string_end < len(line):
                    pieces = _unescape(line[:string_end], style)
            first, _start, shifts = pieces[0]
            pieces[0] = (
                first.rstrip(" \t")[cut:],
                begin,
                tuple((index - cut, extra) for index, extra in shifts if index >= cut),
            )
            pieces, trailing = _message_pieces(pieces)
            return CleanText(
                "\r\n".join(p[0] for p in pieces),
                (i + 1,) * len(pieces),
                tuple(p[1] for p in pieces),
                skipped=_nonblank(lines[:i]),
                shifts=tuple(p[2] for p in pieces),
                form=ESCAPED,
                escapes=style.name,
                lead=text[:cut].strip(),
                after=_nonblank(lines[i + 1 :]),
                packet=packet_before(lines, i),
                trailing=trailing + len(line) - string_end,
            )
    return None


def _escaped_start(line: str, style: _Escapes) -> tuple[int, int, list[_Piece]] | None:
    """Where the start line of a message escaped into ``line`` begins: its column in
    ``line``, its index in the first unescaped piece, and the pieces (:func:`_unescape`);
    None when the part before the first escaped line end does not end in a start line."""
    if style.pattern.search(line) is None:
        return None
    pieces = _unescape(line, style)
    if len(pieces) < 2:
        return None
    text, start, shifts = pieces[0]
    words = text.rstrip(" \t")
    m = _START_AT_END.search(words) or _STATUS_AT_END.search(words)
    if m is None:
        return None
    cut = m.start()
    return start + cut + sum(extra for index, extra in shifts if index < cut), cut, pieces


def _closing_quote(line: str, begin: int, quote: str) -> int:
    """The index of the first ``quote`` from ``begin`` on that no backslash escapes, or
    the line's length."""
    pos = begin
    while True:
        pos = line.find(quote, pos)
        if pos < 0:
            return len(line)
        before = pos
        while before > begin and line[before - 1] == "\\":
            before -= 1
        if (pos - before) % 2 == 0:  # an even run of backslashes escapes only itself
            return pos
        pos += 1


def _message_pieces(pieces: list[_Piece]) -> tuple[list[_Piece], int]:
    """The head's pieces without trailing blanks, and the body cut to its Content-Length:
    (pieces, how many characters were cut off)."""
    out: list[_Piece] = []
    length: int | None = None
    for n, (text, start, shifts) in enumerate(pieces):
        if not text.strip(" \t"):
            body = pieces[n + 1 :]
            out.append(("", start, ()))
            if not body:
                return out, 0
            whole = "\r\n".join(p[0] for p in body)
            # Content-Length counts bytes (UTF-8), the line ends as CRLF.
            encoded = whole.encode("utf-8", "surrogatepass")
            if length is None or length >= len(encoded):
                return out + body, 0
            kept = encoded[:length].decode("utf-8", "ignore").split("\r\n")
            body = body[: len(kept)]
            body[-1] = (kept[-1], body[-1][1], body[-1][2])
            return out + body, len(whole) - len("\r\n".join(kept))
        text = text.rstrip(" \t")
        m = _CONTENT_LENGTH.match(text)
        if m is not None:
            length = int(m.group(1))
        out.append((text, start, shifts))
    return out, 0


__all__ = ["ESCAPED", "LINES", "WIRESHARK", "CleanText", "Prefix", "clean"]
