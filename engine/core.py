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
from engine.headers import parse_name_addr, split_values
from engine.message import SipRequest
from engine.uri import MEMO_LIMIT

#: The headers the core reads before the script runs, as they are usually written.
REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")

# One Via value: protocol name, version and transport, then a sent-by host.
_VIA = re.compile(r"SIP\s*/\s*2\.0\s*/\s*[A-Za-z0-9.!%*_+`'~-]+\s+[^\s;,]")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"\Z', re.DOTALL)
# A quoted parameter value may hold no backslash: ;tag="a\", ;tag="\"" and ;tag="a\\"
# are all dropped (seen on 5.6.3), though a display name may escape a quote.
_QUOTED_PARAM = re.compile(r'"[^"\\]*"\Z')
_BLANK_OR_COMMA = re.compile(r"[\s,]")


def core_problem(request: SipRequest) -> tuple[int | None, str] | None:
    """Why the core drops ``request`` before its script runs: the index of the header
    in ``request.headers`` (None when it is missing) and what is wrong; None when the
    request gets through."""
    for name in REQUIRED:
        positions = request.header_positions(name)
        if not positions:
            return None, f"it has no {name} header"
        first = positions[0]
        value = request.headers[first].value
        problem = _problem_memo(name, value) if len(value) <= MEMO_LIMIT else _problem(name, value)
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
        for element in split_values(value):
            if not _VIA.match(element.text):
                return f"{element.text[:60]!r} is not 'SIP/2.0/<transport> <host>'"
        return None
    if name in ("From", "To"):
        return _address_problem(value)
    if name == "CSeq" and len(value.split()) != 2:
        return f"{value[:60]!r} is not '<number> <method>'"
    return None


# From, To and CSeq values repeat (a dialog's, a batch's): remember recent answers.
_problem_memo = lru_cache(maxsize=2048)(_problem)


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
