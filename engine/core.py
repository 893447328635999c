"""What Kamailio 5.6.3's core checks before a request reaches the script.

Rule: a request whose Via, From, To, Call-ID or CSeq header is missing or cannot be
read is dropped by the core (it logs "parsing relevant headers failed" or "required
headers not found in request") and ``request_route`` never runs: no ``loose_route()``,
no ``record_route()``, nothing is forwarded.  :func:`core_problem` says which header
stops it.  The rules were learnt from runs of a real 5.6.3 on loopback (the cases are
in tests/engine/test_core.py); the URI inside To and From is not checked by the core
(``To: x`` and ``To: <x>`` pass), their structure is.

>>> from engine.message import parse_message
>>> core_problem(parse_message("BYE sip:b@x SIP/2.0\\r\\nVia: SIP/2.0/UDP a\\r\\n"
...     "From: <sip:a@x>;tag=1\\r\\nTo: <sip:b@x>;tag=a b\\r\\n"
...     "Call-ID: c\\r\\nCSeq: 2 BYE\\r\\n\\r\\n"))
(2, "the To header cannot be read: its tag value 'a b' holds white space")
"""

from __future__ import annotations

import re
from functools import lru_cache

from engine.errors import SipParseError
from engine.headers import parse_name_addr
from engine.message import SipRequest, canonical_name
from engine.uri import MEMO_LIMIT, MEMO_SIZE, split_quoted

#: The headers the core reads before the script runs, as they are usually written.
REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")
_REQUIRED_KEYS = tuple((name, canonical_name(name)) for name in REQUIRED)

# How Kamailio 5.6.3's core reads a Via value (seen on runs, tests/engine/test_core.py):
# "SIP/2.0/<transport>" in any case, blanks allowed around the '/', then blanks and the
# sent-by host (any run of characters up to blanks, ':', ';', ',' or '(', or a closed
# IPv6 reference), a port of digits after a ':' (blanks allowed around it), then
# parameters and a comment last.
_VIA_PROTOCOL = re.compile(
    r"[ \t]*SIP[ \t]*/[ \t]*2\.0[ \t]*/[ \t]*[A-Za-z0-9.!%*_+`'~-]+[ \t]+", re.IGNORECASE
)
_VIA_HOST = re.compile(r"\[[^\]]*\]|[^\s:;,()\[\]]+")
_VIA_PORT = re.compile(r"[ \t]*:[ \t]*([0-9]*)")
# Via parameters the core refuses without a value (";branch", ";received=" ...); rport
# and unknown ones may go without.
_VIA_NEEDS_VALUE = frozenset({"branch", "received", "ttl", "maddr"})
_VIA_TOKEN_VALUE = re.compile(r'"[^"]*"|[^"]*')
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"\Z', re.DOTALL)
# A quoted parameter value may hold no backslash: ;tag="a\", ;tag="\"" and ;tag="a\\"
# are all dropped (seen on 5.6.3), though a display name may escape a quote.
_QUOTED_PARAM = re.compile(r'"[^"\\]*"\Z')
_BLANK_OR_COMMA = re.compile(r"[\s,]")
# The everyday Via, which _via_problem() would pass: one value, a transport, a host name or
# IPv4 address, a port, parameters with values (and rport), no blanks, quotes or comment.
_VIA_PLAIN = re.compile(
    r"SIP/2\.0/[A-Za-z]+ [A-Za-z0-9.-]+(?::[0-9]+)?"
    r"(?:;(?:rport|[A-Za-z0-9.!%*_+`'~-]+=[A-Za-z0-9.!%*_+`'~:-]+))*\Z"
)
# The everyday From or To, which _address_problem() would pass: a display name that is
# one quoted string without backslashes or tokens followed by a space (or none), a
# "<uri>" without blanks, quotes or angle brackets inside, parameters of tokens.
_ADDRESS_PLAIN = re.compile(
    r'(?:"[^"\\\x00-\x1f\x7f]*+" ?|(?:[A-Za-z0-9.!%*_+`\'~-]++ )++)?'
    r'<[^<>"\s]++>'
    r"(?:;[A-Za-z0-9.!%*_+`'~-]++(?:=[A-Za-z0-9.!%*_+`'~-]++)?)*+\Z"
)


def core_problem(request: SipRequest) -> tuple[int | None, str] | None:
    """Why the core drops ``request`` before its script runs: the index of the header
    in ``request.headers`` (None when it is missing) and what is wrong; None when the
    request gets through."""
    index = request.header_index()
    headers = request.headers
    for name, key in _REQUIRED_KEYS:
        positions = index.get(key)
        if not positions:
            return None, f"it has no {name} header"
        first = positions[0]
        value = headers[first].value
        plain = _PLAIN.get(key)
        if plain is not None and plain.match(value) is not None:
            continue
        if key in _CHEAP_CHECKS or len(value) > MEMO_LIMIT:
            problem = _problem(name, value)
        else:
            problem = _problem_memo(name, value)
        if problem is not None:
            return first, f"the {name} header cannot be read: {problem}"
    return None


def drop_error(request: SipRequest) -> SipParseError | None:
    """:func:`core_problem` as the error a batch or the command line reports, or None."""
    problem = core_problem(request)
    if problem is None:
        return None
    index, what = problem
    return SipParseError(
        f"Kamailio 5.6.3 drops this request before the script runs: {what}",
        header=None if index is None else request.headers[index].name,
        status_hint=400,
    )


def _problem(name: str, value: str) -> str | None:
    if name == "Via":
        return _via_problem(value)
    if name in ("From", "To"):
        return _address_problem(value)
    if name == "CSeq" and len(value.split()) != 2:
        return f"{value[:60]!r} is not '<number> <method>'"
    return None


# Everyday values are let through at once, without the full check and without the memo:
# each request has a Via of its own, and a stream of new dialogs brings new From and To
# values with every request.  CSeq (new with each request) and Call-ID are checked at
# once too.  Other From, To and Via values repeat (a dialog's, a batch's): the memo
# remembers the recent answers.
_PLAIN = {"via": _VIA_PLAIN, "from": _ADDRESS_PLAIN, "to": _ADDRESS_PLAIN}
_CHEAP_CHECKS = frozenset({"cseq", "call-id"})
_problem_memo = lru_cache(maxsize=MEMO_SIZE)(_problem)


def _via_problem(line: str) -> str | None:
    """Why the core cannot read a Via header line, or None.  Empty values between commas
    are skipped; one before the first comma or after the last is an error."""
    values = split_quoted(line, ",")
    if len(values) > 1 and not values[0].strip():
        return "it starts with an empty value before ','"
    if len(values) > 1 and not values[-1].strip():
        return "it ends with an empty value after ','"
    for value in values:
        if value.strip() or len(values) == 1:
            problem = _via_value_problem(value)
            if problem is not None:
                return problem
    return None


def _via_value_problem(value: str) -> str | None:
    shown = repr(value.strip()[:60])
    m = _VIA_PROTOCOL.match(value)
    if m is None:
        return f"{shown} is not 'SIP/2.0/<transport> <host>'"
    host = _VIA_HOST.match(value, m.end())
    if host is None:
        return f"{shown} has no host (an IPv6 address must be in brackets)"
    pos = host.end()
    if value.startswith(":", _skip_blanks(value, pos)):
        port = _VIA_PORT.match(value, pos)
        if port is None or not port.group(1):
            return f"{shown} has a ':' but no port"
        pos = port.end()
    rest = value[_skip_blanks(value, pos) :]
    if rest.startswith(";"):
        params, paren, comment = rest[1:].partition("(")
        problem = _via_params_problem(shown, params)
        if problem is None and paren:
            problem = _via_comment_problem(shown, comment)
        return problem
    if rest.startswith("("):
        return _via_comment_problem(shown, rest[1:])
    if rest:
        return f"{shown} has {rest[:20]!r} after its host"
    return None


def _skip_blanks(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _via_params_problem(shown: str, params: str) -> str | None:
    pieces = split_quoted(params)
    if not pieces[-1].strip():
        return f"{shown} ends in ';'"
    for piece in pieces:
        pname, eq, pvalue = piece.partition("=")
        pname, pvalue = pname.strip(), pvalue.strip()
        if not pname:
            return f"{shown} has a parameter without a name"
        if pname.lower() in _VIA_NEEDS_VALUE and not pvalue:
            return f"{shown} has no value for its {pname} parameter"
        if eq and not _VIA_TOKEN_VALUE.fullmatch(pvalue):
            return f"{shown} has a quote inside its {pname} value"
    return None


def _via_comment_problem(shown: str, after_paren: str) -> str | None:
    """A comment ends the value: nothing but blanks may follow its ')'."""
    close = after_paren.find(")")
    if close < 0:
        return f"{shown} has a comment that never closes"
    if after_paren[close + 1 :].strip():
        return f"{shown} has text after its comment"
    return None


def _address_problem(value: str) -> str | None:
    try:
        na = parse_name_addr(value)
    except SipParseError as exc:
        return exc.what
    if na.display is not None and na.display.startswith('"') and not _QUOTED.match(na.display):
        return f"the display name {na.display[:60]} is more than one quoted string"
    for pname, pvalue in na.params:
        if pvalue is None:
            continue
        if pvalue.startswith('"'):
            if not _QUOTED_PARAM.match(pvalue):
                if "\\" in pvalue:
                    return (
                        f"its {pname} value {pvalue[:60]} holds a backslash, which a quoted "
                        "parameter value may not"
                    )
                return f"its {pname} value {pvalue[:60]} is a quoted string that never closes"
        elif _BLANK_OR_COMMA.search(pvalue):
            what = "a comma" if "," in pvalue else "white space"
            return f"its {pname} value {pvalue[:60]!r} holds {what}"
    return None
