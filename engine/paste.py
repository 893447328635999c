"""A SIP request pasted from a capture, a log or an email: clean it, read it, guess the proxy.

Rule 1 (the parser contract): :func:`read_pasted` turns *any* text into a
:class:`PastedRequest` or raises :class:`~engine.errors.SipParseError` whose line and column
are positions in the text **as the user pasted it** -- the log prefixes and skipped lines are
accounted for -- never another exception.
Rule 2: the text is cleaned by :func:`engine.logtext.clean` first: log prefixes, quoting,
one-line messages with escaped line ends and Wireshark's packet details (its module
docstring says exactly what is read and when).

Then :func:`guess_proxy` names the receiving proxy's addresses from the top Route (or from an
R-URI with ``lr``, the trace of a strict previous hop) and :func:`closest_scenario` builds a
:class:`~engine.scenario.Scenario` a learner can open: caller, that proxy, next hop.

>>> pasted = read_pasted(
...     "Nov 29 10:00:01 pbx kamailio[812]: BYE sip:bob@192.0.2.20 SIP/2.0\\n"
...     "Nov 29 10:00:01 pbx kamailio[812]: To: <sip:bob@b.example>;tag=9\\n"
...     "Nov 29 10:00:01 pbx kamailio[812]: Route: <sip:192.0.2.1;lr>, <sip:p2.example;lr>\\n")
>>> pasted.request.method, pasted.clean.kind
('BYE', 'syslog')
>>> guess_proxy(pasted.request).listen
('udp:192.0.2.1:5060',)
>>> read_pasted("> INVITE sip:b@x SIP/2.0\\n> Route <sip:p1;lr>\\n")
Traceback (most recent call last):
...
engine.errors.SipParseError: line 2, column 3, Route <sip: invalid header name 'Route <sip'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from engine.batch import VectorRun, evaluate
from engine.core import core_problem
from engine.dialog import RequestPlan, RouteSet, contact_of, plan_request
from engine.errors import ConfigError, ScenarioError, SipParseError
from engine.headers import parse_name_addr, split_values
from engine.logtext import CleanText, Prefix, clean
from engine.message import (
    SipRequest,
    SipResponse,
    canonical_name,
    header_line_numbers,
    parse_message,
    value_column,
)
from engine.packetline import Packet, hostport
from engine.proxy import PROTOCOLS, Proxy, Socket, is_myself, parse_alias, parse_socket
from engine.rr import parse_route_body
from engine.scenario import (
    DIALOG_METHODS,
    ProxyNode,
    RequestSpec,
    Scenario,
    UserAgent,
    check,
    dumps,
    loads,
)
from engine.script import parse_script
from engine.simulate import simulate
from engine.trace import StepKind, Trace, TraceStep
from engine.uri import SipUri, is_ip, is_number, parse_uri, same_ip, valid_host

MAX_PASTE = 256 * 1024
PROXY_NAME = "Proxy"
CALLER_NAME = "Caller"
NEXT_HOP_NAME = "Next hop"

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_HEADER_NAME = re.compile(r"([A-Za-z][A-Za-z0-9.!%*_+`'~-]*)[ \t]*:")
# Headers a log or a capture shows alone, often enough to be named when pasted so (by
# their long names: compact forms are read through canonical_name).
_SIP_HEADERS = frozenset(
    {
        "route",
        "record-route",
        "via",
        "to",
        "from",
        "call-id",
        "cseq",
        "contact",
        "max-forwards",
        "content-length",
        "content-type",
        "user-agent",
        "server",
        "allow",
        "supported",
        "path",
        "service-route",
    }
)


# --------------------------------------------------------------------------
# reading


@dataclass(frozen=True, slots=True)
class PastedRequest:
    """A pasted request, read: the request, the cleaned text and what Kamailio will not parse.

    ``warnings`` are Route values Kamailio 5.6.3 cannot parse, placed in the user's text;
    ``loose_route()`` still runs (and says what it does with them).  ``dropped`` says,
    placed likewise, why Kamailio's core would drop the request before its script runs
    (a log excerpt often lacks Via, Call-ID or CSeq): the outcome shown is then what the
    script would do if the request got that far.
    """

    request: SipRequest
    clean: CleanText
    warnings: tuple[SipParseError, ...] = ()
    dropped: SipParseError | None = None

    @property
    def in_dialog(self) -> bool:
        """True when the To header has a tag (Kamailio's ``has_totag()``)."""
        return bool(self.request.tag("To"))


_NO_ROUTES = RouteSet()  # frozen: one shared empty route set

#: Requests whose responses can set up a dialog (RFC 3261 12.1, RFC 6665 4.1, RFC 3515 2.4.4).
DIALOG_CREATING = frozenset({"INVITE", "SUBSCRIBE", "REFER"})


@dataclass(frozen=True, slots=True)
class PastedResponse:
    """A pasted response, read.

    A proxy sends a response back along its Via headers (RFC 3261 16.7), so no rr function
    decides anything for it; what a response teaches is the dialog and the route sets it
    sets up, which :func:`read_response` explains.
    """

    response: SipResponse
    clean: CleanText


@dataclass(frozen=True, slots=True)
class ResponseReading:
    """What a response sets up, in sentences and values.

    ``caller`` and ``callee`` are the two route sets (empty when no dialog is set up);
    ``plan`` is the caller's next in-dialog request (``next_method``), and ``next_request``
    that request as text, ready to paste, when the caller has a remote target.
    """

    sentences: tuple[str, ...]
    dialog: bool = False
    caller: RouteSet = _NO_ROUTES
    callee: RouteSet = _NO_ROUTES
    target: str | None = None
    plan: RequestPlan | None = None
    next_method: str = "BYE"
    next_request: str | None = None


def read_response(response: SipResponse) -> ResponseReading:
    """The dialog a response sets up: both route sets, and the caller's next request.

    >>> ok = parse_message(
    ...     "SIP/2.0 200 OK\\r\\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\\r\\n"
    ...     "Record-Route: <sip:p2.example;lr>, <sip:p1.example;lr>\\r\\n"
    ...     "From: <sip:a@x>;tag=1\\r\\nTo: <sip:b@y>;tag=2\\r\\nCall-ID: c\\r\\n"
    ...     "CSeq: 1 INVITE\\r\\nContact: <sip:b@192.0.2.20>\\r\\n\\r\\n")
    >>> reading = read_response(ok)
    >>> reading.caller.uris, reading.plan.request_uri
    (('sip:p1.example;lr', 'sip:p2.example;lr'), 'sip:b@192.0.2.20')
    """
    status, cseq = response.status, (response.header("CSeq") or "").split()
    method = cseq[1].upper() if len(cseq) > 1 else ""
    next_method = "BYE" if method == "INVITE" else "SUBSCRIBE"
    said = [
        f"{response.start_line} answers {method or 'a request whose CSeq names no method'}. "
        "Each proxy removes its own Via and sends a response on to the next Via (RFC 3261 "
        "16.7), so loose_route() and record_route() decide nothing for it: what it teaches "
        "is the route set it sets up."
    ]
    to_tag = response.tag("To")
    if method not in DIALOG_CREATING:
        said.append(f"A response to {method or 'it'} sets up no dialog, so no route set either.")
        return ResponseReading(tuple(said), next_method=next_method)
    if not 101 <= status <= 299:
        said.append(
            f"A {status} sets up no dialog: only a 2xx, or a 101-199 with a To tag (an early "
            "dialog), does (RFC 3261 12.1)."
        )
        return ResponseReading(tuple(said), next_method=next_method)
    if not to_tag:
        said.append("It has no To tag, so it sets up no dialog (RFC 3261 12.1).")
        return ResponseReading(tuple(said), next_method=next_method)
    said.append(f"It sets up {'an early' if status < 200 else 'a'} dialog (To tag {to_tag}).")
    values = response.header_values("Record-Route")
    callee = RouteSet.from_record_route(values, uac=False)
    caller = RouteSet.from_record_route(values, uac=True)
    written = sum(1 for v in values for el in split_values(v) if el.text)
    if not values:
        said.append(
            "It has no Record-Route, so both route sets are empty: in-dialog requests go "
            "straight to the other side's Contact, past every proxy (a proxy stays on the path "
            "only by record-routing the initial request, RFC 3261 16.6 step 4)."
        )
    else:
        said.append(
            f"Its Record-Route holds {len(callee.uris)} URI{'s' * (len(callee.uris) != 1)}. "
            f"The callee's route set is that list in order (RFC 3261 12.1.1): "
            f"{', '.join(callee.header_values())}. The caller's route set is the same list "
            f"reversed (12.1.2): {', '.join(caller.header_values())}."
        )
        if written > len(callee.uris):
            left = written - len(callee.uris)
            said.append(
                f"{left} Record-Route value{'s' * (left != 1)} cannot be read as <URI> (a "
                "Record-Route value needs the angle brackets, RFC 3261 20.30) and "
                f"{'are' if left != 1 else 'is'} left out here."
            )
    target = contact_of(response)
    if target is None:
        said.append(
            "It has no Contact URI, so the caller has no remote target to send its requests "
            "to (a 2xx or 1xx that sets up a dialog must carry one, RFC 3261 12.1.1)."
        )
        return ResponseReading(tuple(said), True, caller, callee, next_method=next_method)
    plan = plan_request(caller, target)
    said.append(f"The caller's remote target is the Contact {target}.")
    if not plan.routes:
        said.append(
            f"So the caller's {next_method} goes straight to {target}: R-URI {target}, no Route."
        )
    elif plan.strict:
        said.append(
            f"The caller's first route <{caller.uris[0]}> has no lr: it is a strict router "
            f"(RFC 2543). So the caller's {next_method} carries it as the R-URI "
            f"{plan.request_uri} and the remote target as the last Route (RFC 3261 12.2.1.1): "
            f"Route {', '.join(plan.routes)}."
        )
    else:
        said.append(
            f"So the caller's {next_method} has the R-URI {plan.request_uri} and Route "
            f"{', '.join(plan.routes)}, and goes first to {plan.next_hop} (a loose router)."
        )
    return ResponseReading(
        tuple(said),
        True,
        caller,
        callee,
        target,
        plan,
        next_method,
        _next_request(response, plan, next_method),
    )


def _next_request(response: SipResponse, plan: RequestPlan, method: str) -> str:
    """The caller's next in-dialog request as text: the response's From, To and Call-ID,
    the caller's own Via (the response's last) with a new branch, the next CSeq."""
    vias = response.list_values("Via")
    sent_by = vias[-1].split(";", 1)[0].strip() if vias else "SIP/2.0/UDP caller.invalid"
    number = (response.header("CSeq") or "").split()[:1]
    cseq = int(number[0]) + 1 if number and is_number(number[0]) else 1
    lines = [
        f"{method} {plan.request_uri} SIP/2.0",
        f"Via: {sent_by};branch=z9hG4bK-routelab-{cseq}",
        "Max-Forwards: 70",
        f"From: {response.header('From') or '<sip:caller.invalid>'}",
        f"To: {response.header('To') or '<sip:callee.invalid>'}",
        f"Call-ID: {response.header('Call-ID') or 'routelab'}",
        f"CSeq: {cseq} {method}",
        *(f"Route: {value}" for value in plan.routes),
        "Content-Length: 0",
    ]
    return "\r\n".join(lines) + "\r\n\r\n"


def _moved(exc: SipParseError, cleaned: CleanText) -> SipParseError:
    if exc.line is None:
        return exc
    line, column = cleaned.user_position(exc.line, exc.column)
    return SipParseError(
        exc.what, line=line, column=column, header=exc.header, status_hint=exc.status_hint
    )


def read_pasted(text: str) -> PastedRequest:
    """Clean and parse a pasted request; errors point into the user's text.

    >>> read_pasted("SIP/2.0 200 OK\\r\\n\\r\\n")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    engine.errors.SipParseError: line 1, column 1: this is a response (SIP/2.0 200 OK); ...
    """
    pasted = read_pasted_message(text)
    if isinstance(pasted, PastedResponse):
        line, column = pasted.clean.user_position(1, 1)
        raise SipParseError(
            f"this is a response ({pasted.response.start_line[:60]}); paste a request",
            line=line,
            column=column,
        )
    return pasted


def read_pasted_message(text: str) -> PastedRequest | PastedResponse:
    """Clean and parse a pasted request or response; errors point into the user's text."""
    if not isinstance(text, str):
        raise SipParseError("the pasted message is not text")
    if len(text) > MAX_PASTE:
        raise SipParseError(f"{len(text)} characters is too long to paste (at most {MAX_PASTE})")
    if not text.strip():
        raise SipParseError("nothing pasted yet: paste a SIP request", line=1, column=1)
    cleaned = clean(text)
    if cleaned.cut_short:
        line, column = cleaned.user_position(cleaned.cut_short, 1)
        raise SipParseError(
            "Wireshark shortened this header line (it shows at most 240 characters of a "
            "field), so the message is incomplete: copy the message itself instead (right-click "
            "Session Initiation Protocol > Copy > ...as Printable Text)",
            line=line,
            column=column,
        )
    try:
        message = parse_message(cleaned.text)
    except SipParseError as error:
        exc = error
        first = next((ln for ln in cleaned.text.split("\r\n") if ln.strip()), "")
        header = _HEADER_NAME.match(first.lstrip("> \t"))  # quoting, indentation
        if header is not None and canonical_name(header.group(1)) in _SIP_HEADERS:
            # A header (a Route set copied alone) read as a start line: say what it is.
            exc = SipParseError(
                f"line 1 is a {header.group(1)} header, not a request line: paste the whole "
                "request, from its request line (BYE sip:bob@example.com SIP/2.0) on",
                line=1,
                column=1,
            )
        raise _moved(exc, cleaned) from None
    if isinstance(message, SipResponse):
        return PastedResponse(message, cleaned)
    return PastedRequest(
        message, cleaned, _route_warnings(message, cleaned), _dropped(message, cleaned)
    )


# What a Route set copied alone is wrapped in (wrap_route_set): a BYE inside a dialog for
# Route lines, a 200 OK to an INVITE for Record-Route lines; documentation addresses.
_WRAP_HEAD = (
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-routelab-wrapped",
    "From: <sip:caller@atlanta.example.com>;tag=caller-tag",
    "To: <sip:callee@biloxi.example.com>;tag=callee-tag",
    "Call-ID: wrapped-route-set@routelab",
)
_ROUTE_LINE = re.compile(r"(route|record-route)[ \t]*:[ \t]*(\S.*)", re.IGNORECASE)


def wrap_route_set(text: str) -> tuple[str, str] | None:
    """A request or response that carries ``text`` when it is only Route lines or only
    Record-Route lines (a route set copied alone from a log): (what it was wrapped in, the
    message); None for anything else.

    Route lines go into the caller's BYE, to the callee's address; Record-Route lines into
    the callee's 200 OK to an INVITE, whose reading shows the route set of each side.

    >>> what, message = wrap_route_set("> Route: <sip:192.0.2.1;lr>, <sip:p2.example;lr>")
    >>> what, message.splitlines()[0], message.splitlines()[-2]
    ('a BYE', 'BYE sip:callee@192.0.2.20 SIP/2.0', 'Route: <sip:192.0.2.1;lr>, <sip:p2.example;lr>')
    """
    values: list[str] = []
    kinds = set()
    for raw in text.splitlines():
        line = raw.strip().lstrip("> \t")
        if not line:
            continue
        m = _ROUTE_LINE.fullmatch(line.rstrip())
        if m is None:
            return None
        kinds.add(m.group(1).lower())
        values.append(m.group(2))
    if len(kinds) != 1 or len(values) > 200:
        return None
    if kinds == {"route"}:
        lines = [
            "BYE sip:callee@192.0.2.20 SIP/2.0",
            *_WRAP_HEAD,
            "CSeq: 2 BYE",
            "Max-Forwards: 70",
            *(f"Route: {v}" for v in values),
            "Content-Length: 0",
        ]
        return "a BYE", "\n".join(lines) + "\n"
    lines = [
        "SIP/2.0 200 OK",
        *_WRAP_HEAD,
        "CSeq: 1 INVITE",
        *(f"Record-Route: {v}" for v in values),
        "Contact: <sip:callee@192.0.2.20>",
        "Content-Length: 0",
    ]
    return "a 200 OK to an INVITE", "\n".join(lines) + "\n"


def _dropped(request: SipRequest, cleaned: CleanText) -> SipParseError | None:
    problem = core_problem(request)
    if problem is None:
        return None
    index, what = problem
    line = 1 if index is None else header_line_numbers(cleaned.text).get(index, 1)
    return _moved(SipParseError(what, line=line, column=1), cleaned)


def _route_warnings(request: SipRequest, cleaned: CleanText) -> tuple[SipParseError, ...]:
    lines = header_line_numbers(cleaned.text)
    out: list[SipParseError] = []
    for index, header in enumerate(request.headers):
        if header.key != "route":
            continue
        try:
            parse_route_body(header.value)
        except SipParseError as exc:
            line = lines.get(index, 1)
            start = value_column(cleaned.text, line)
            physical = cleaned.text.split("\r\n")[line - 1]
            column = start + (exc.column or 1) - 1
            if column > len(physical):  # inside a folded continuation: the header's start
                column = start
            out.append(_moved(SipParseError(exc.what, line=line, column=column), cleaned))
    return tuple(out)


# --------------------------------------------------------------------------
# the receiving proxy


@dataclass(frozen=True, slots=True)
class ProxyGuess:
    """The receiving proxy's addresses as guessed, and where from."""

    listen: tuple[str, ...]
    aliases: tuple[str, ...]
    source: str
    # The only socket is PLACEHOLDER_V4, standing in for an address the text does not give.
    placeholder: bool = False


PLACEHOLDER_V4 = "192.0.2.1"
PLACEHOLDER_V6 = "[2001:db8::1]"


def _route_uris(request: SipRequest) -> list[str]:
    out: list[str] = []
    for value in request.list_values("Route"):
        try:
            out.append(parse_name_addr(value).uri_text)
        except SipParseError:
            continue
    return out


def _transport(uri: SipUri) -> tuple[str, int]:
    transport = (uri.param("transport") or "").lower()
    proto = transport if transport in PROTOCOLS else ("tls" if uri.scheme == "sips" else "udp")
    port = uri.port or (5061 if proto in ("tls", "wss") else 5060)
    return proto, port


def guess_proxy(request: SipRequest, packet: Packet | None = None) -> ProxyGuess:
    """The addresses of the proxy receiving ``request``, guessed from its URIs and from
    ``packet``, the capture's line about it (:mod:`engine.packetline`), when it names where
    the request went: that socket comes first (the request arrived on it).

    The proxy is named by the top Route (RFC 3261 16.4: a loose router finds itself there),
    unless the R-URI carries ``lr`` -- or, in a dialog, has no user part -- : then a strict
    router before it put this proxy's Route value into the R-URI (the remote target, a
    Contact, has a user part).  Without Route headers the R-URI names it.  A host name becomes an
    alias of a placeholder address.

    >>> route = "Route: <sip:p1.example.com:5070;transport=tcp;lr>"
    >>> g = guess_proxy(parse_message(f"BYE sip:b@x SIP/2.0\\r\\n{route}\\r\\n\\r\\n"))
    >>> g.listen, g.aliases
    (('tcp:192.0.2.1:5070',), ('p1.example.com:5070',))
    >>> sent = Packet(1, "T 198.51.100.7:5060 -> 203.0.113.5:5070", "tcp", destination=(
    ...     "203.0.113.5", 5070))
    >>> g = guess_proxy(parse_message(f"BYE sip:b@x SIP/2.0\\r\\n{route}\\r\\n\\r\\n"), sent)
    >>> g.listen, g.aliases
    (('tcp:203.0.113.5:5070',), ('p1.example.com:5070',))
    """
    guess = _guess_from_uris(request)
    if packet is None or packet.destination is None:
        listen = guess.listen or (f"{guess.proto}:{PLACEHOLDER_V4}:{guess.port}",)
        source = guess.source or "nothing: no usable Route or R-URI, so a placeholder address"
        return ProxyGuess(listen, guess.aliases, source, placeholder=not guess.listen)
    host, port = packet.destination
    proto = packet.proto if packet.proto in PROTOCOLS else guess.proto
    sockets = [f"{proto}:{hostport(host, port)}"]
    # An address the URIs name stays this proxy's too (a proxy on two networks); a name
    # becomes an alias of the address the request arrived on.
    for text in guess.listen:
        sock = parse_socket(text)
        if not (sock.port == port and same_ip(sock.host, host)):
            sockets.append(text)
    source = packet.describe() + (f" and {guess.source}" if guess.source else "")
    return ProxyGuess(tuple(sockets), guess.aliases, source)


@dataclass(frozen=True, slots=True)
class _UriGuess:
    """What the request's URIs say of the receiving proxy: the transport and port of the URI
    that names it, a socket when that URI's host is an address, an alias when it is a name,
    and which URI it was (``source``, empty when none could be used)."""

    proto: str = "udp"
    port: int = 5060
    listen: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    source: str = ""


def _guess_from_uris(request: SipRequest) -> _UriGuess:
    routes = _route_uris(request)
    try:
        ruri = parse_uri(request.uri)
    except SipParseError:
        ruri = None
    chosen: tuple[str, str] | None = None
    from_top = False  # the top Route names the proxy (not the R-URI)
    if ruri is not None and ruri.is_sip and ruri.is_loose:
        chosen = (request.uri, f"the R-URI {request.uri} (it has lr: a strict router put it there)")
    elif ruri is not None and ruri.is_sip and routes and not ruri.user and request.tag("To"):
        chosen = (
            request.uri,
            f"the R-URI {request.uri} (no user part, and Route headers follow: a strict "
            "router put this proxy there)",
        )
    elif routes:
        chosen = (routes[0], f"the top Route <{routes[0]}>")
        from_top = True
    elif ruri is not None and ruri.is_sip:
        chosen = (request.uri, f"the R-URI {request.uri} (there is no Route header)")
    uri = None
    if chosen is not None:
        try:
            uri = parse_uri(chosen[0])
        except SipParseError:
            uri = None
    if uri is None or not uri.is_sip or not uri.host:
        return _UriGuess()
    assert chosen is not None
    proto, port = _transport(uri)
    named = [uri]
    source = chosen[1]
    partner = _r2_partner(uri, routes) if from_top else None
    if partner is not None:
        # The other half of this proxy's double Record-Route names it too (RFC 5658).
        named.append(partner)
        source += f" and its r2 partner <{routes[1]}>"
    listen: list[str] = []
    aliases: list[str] = []
    for u in named:
        u_proto, u_port = _transport(u)
        if is_ip(u.host):
            listen.append(f"{u_proto}:{u.host}:{u_port}")
        else:
            aliases.append(u.host + (f":{u.port}" if u.port else ""))
    # (Both halves of an r2 pair may name the same address.)
    return _UriGuess(
        proto, port, tuple(dict.fromkeys(listen)), tuple(dict.fromkeys(aliases)), source
    )


def _r2_partner(top: SipUri, routes: Sequence[str]) -> SipUri | None:
    """The Route after ``top`` when both carry r2: the two halves of one proxy's double
    Record-Route, so both name the proxy."""
    if len(routes) < 2 or not top.has_param("r2"):
        return None
    try:
        second = parse_uri(routes[1])
    except SipParseError:
        return None
    if not second.is_sip or not second.host or not second.has_param("r2"):
        return None
    return second


def build_proxy(
    listen: Sequence[str], aliases: Sequence[str] = (), name: str = PROXY_NAME
) -> Proxy:
    """A :class:`Proxy` from the form's lines; ConfigError names the bad line.

    >>> build_proxy(["udp:10.0.0.1:5060", "tcp:10.0.0.1"], ["example.com"]).listen[1].port
    5060
    >>> build_proxy(["udp:example.com:5060"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    engine.errors.ConfigError: listen line 1: listen 'udp:example.com:5060': the address must ...
    """
    sockets: list[Socket] = []
    for i, text in enumerate(listen, start=1):
        if not text.strip():
            continue
        try:
            sockets.append(parse_socket(text.strip()))
        except ConfigError as exc:
            raise ConfigError(f"listen line {i}: {exc}") from None
    if not sockets:
        raise ConfigError("give at least one listen socket, e.g. udp:192.0.2.1:5060")
    parsed = []
    for i, text in enumerate(aliases, start=1):
        if not text.strip():
            continue
        try:
            parsed.append(parse_alias(text.strip()))
        except ConfigError as exc:
            raise ConfigError(f"alias line {i}: {exc}") from None
    return Proxy(name=name, listen=tuple(sockets), aliases=tuple(parsed))


def run_loose_route(request: SipRequest, proxy: Proxy) -> VectorRun:
    """``loose_route()`` on exactly this request at this proxy (engine.batch.evaluate).

    >>> p = build_proxy(["udp:192.0.2.1:5060"])
    >>> req = parse_message("BYE sip:b@192.0.2.20 SIP/2.0\\r\\nTo: <sip:b@x>;tag=1\\r\\n"
    ...                     "Route: <sip:192.0.2.1;lr>\\r\\n\\r\\n")
    >>> run_loose_route(req, p).fields["rc"]
    1
    """
    return evaluate(request, proxy, parse_script("loose_route()"))


# --------------------------------------------------------------------------
# the closest scenario


@dataclass(frozen=True, slots=True)
class PastedScenario:
    """A scenario built from a pasted request, and how faithful it is.

    ``step`` is the index of the proxy's step for the pasted request in ``trace`` (None when
    the request never reaches the proxy); ``differences`` lists what the scenario's request
    or its ``loose_route()`` outcome does differently from the pasted one (empty: it
    reproduces it); ``notes`` say what was approximated.
    """

    scenario: Scenario
    trace: Trace
    step: int | None
    differences: tuple[str, ...]
    notes: tuple[str, ...]


class _Addresses:
    """Hands out documentation addresses that nothing else uses."""

    def __init__(self, used: Sequence[str]) -> None:
        self.used = list(used)

    def take(self, v6: bool) -> str:
        pool = (
            [f"[2001:db8::{n:x}]" for n in range(0x10, 0x100)]
            if v6
            else [f"192.0.2.{n}" for n in range(10, 250)]
            + [f"198.51.100.{n}" for n in range(10, 250)]
        )
        for host in pool:
            if not any(same_ip(host, u) for u in self.used):
                self.used.append(host)
                return host
        raise ScenarioError("", "no free documentation address left")  # pragma: no cover


def _uri_hosts(request: SipRequest, proxy: Proxy) -> list[str]:
    hosts = [s.host for s in proxy.listen] + [s.advertise_host or "" for s in proxy.listen]
    for text in [request.uri, *_route_uris(request)]:
        try:
            uri = parse_uri(text)
        except SipParseError:
            continue
        hosts.append(uri.host)
        hosts.append(uri.param("maddr") or "")
    return [h for h in hosts if h and is_ip(h)]


def _angle_routes(request: SipRequest, notes: list[str]) -> tuple[str, ...]:
    """The Route values as a scenario stores them (``<uri>`` name-addrs)."""
    out: list[str] = []
    for value in request.list_values("Route"):
        try:
            parse_name_addr(value, require_angle=True).uri  # noqa: B018 - validate
            out.append(value)
            continue
        except SipParseError:
            pass
        wrapped = f"<{value}>"
        try:
            parse_uri(value)
            # A URI Kamailio reads may hold a '>' that no name-addr can (found by fuzzing).
            parse_name_addr(wrapped, require_angle=True).uri  # noqa: B018 - validate
        except SipParseError:
            notes.append(f"The Route value {value!r} cannot be read and is left out.")
            continue
        out.append(wrapped)
        notes.append(f"The Route value {value} is written {wrapped} in the scenario.")
    return tuple(out[:200])


def _target_of(uri_text: str) -> tuple[str, int, str] | None:
    """(host, port, proto) a URI sends to, RouteLab's way (maddr, transport, default port)."""
    try:
        uri = parse_uri(uri_text)
    except SipParseError:
        return None
    if not uri.is_sip or not uri.host:
        return None
    proto, port = _transport(uri)
    return uri.param("maddr") or uri.host, port, proto


def _route_style(request: SipRequest) -> str:
    lines = request.header_values("Route")
    return "comma" if len(lines) == 1 and len(request.list_values("Route")) > 1 else "lines"


def _in_dialog_plan(
    request: SipRequest, routes: tuple[str, ...], proxy: Proxy
) -> tuple[tuple[str, ...], str, bool]:
    """The route set and remote target a UA needs to write this R-URI and Route set."""
    uris = RouteSet.from_route_values(routes).uris
    candidates: list[tuple[tuple[str, ...], str]] = [(routes, request.uri)]
    try:
        ruri = parse_uri(request.uri)
        myself = ruri.is_sip and is_myself(ruri, proxy)
    except SipParseError:
        myself = False
    if uris and myself:
        # A strict previous hop: the UA's first route (this proxy, no lr) went into the R-URI
        # and the remote target became the last Route (RFC 3261 12.2.1.1).
        strict = (f"<{request.uri}>", *(f"<{u}>" for u in uris[:-1]))
        candidates.append((strict, uris[-1]))
    wanted = (request.uri, tuple(uris))
    for route_set, target in candidates:
        plan = plan_request(RouteSet.from_route_values(route_set), target)
        if (plan.request_uri, RouteSet.from_route_values(plan.routes).uris) == wanted:
            return route_set, target, True
    return routes, request.uri, False


def closest_scenario(pasted: PastedRequest, proxy: Proxy) -> PastedScenario:
    """A scenario whose proxy receives the pasted request (or the closest one a UA sends).

    Caller -> Proxy -> Next hop.  An initial request is the dialog-creating request with its
    preloaded Route set, at a proxy running the ``honour-preloaded`` profile (its script calls
    ``loose_route()`` first).  An in-dialog request (To has a tag) comes after an INVITE that
    goes straight from Caller to Next hop, with the pasted Route set as a hand-edited route set,
    at a proxy running Kamailio's default config.  Host names in the Route set and R-URI go
    into the name table.  Then the scenario is simulated and the proxy's step compared with
    ``loose_route()`` run on the pasted request itself.

    Raises ScenarioError when no scenario can carry the request.
    """
    request = pasted.request
    notes: list[str] = [
        "Via, From, To, Call-ID, CSeq and tags are the scenario's own; the R-URI, Route set, "
        "method and Max-Forwards come from the pasted request."
    ]
    in_dialog = pasted.in_dialog
    method = request.method
    if in_dialog and method in ("CANCEL", "REGISTER"):
        raise ScenarioError(
            "", f"a {method} within a dialog cannot be played in a scenario; see the outcome here"
        )
    if not in_dialog and method not in DIALOG_METHODS:
        notes.append(
            f"A scenario's first request creates a dialog, so the {method} is played as an "
            "INVITE (loose_route() does not look at the method)."
        )
        method = "INVITE"
    routes = _angle_routes(request, notes)
    try:
        max_forwards = int((request.header("Max-Forwards") or "70").strip())
    except ValueError:
        max_forwards = 70
        notes.append("Max-Forwards cannot be read: the scenario uses 70.")
    max_forwards = min(max(max_forwards, 0), 255)
    run = run_loose_route(request, proxy)
    addresses = _Addresses(_uri_hosts(request, proxy))
    names: dict[str, str] = {}
    proxy_v6 = proxy.listen[0].is_ipv6

    # How the caller reaches the proxy: the first Route (or the R-URI), else its outbound proxy.
    route_set, target = routes, request.uri
    if in_dialog:
        route_set, target, exact = _in_dialog_plan(request, routes, proxy)
        if not exact:
            notes.append(
                "A user agent cannot write this R-URI with this Route set (RFC 3261 12.2.1.1), "
                "so the scenario's request differs from the pasted one."
            )
        plan = plan_request(RouteSet.from_route_values(route_set), target)
        first_hop: str | None = plan.next_hop
    else:
        first_hop = parse_name_addr(routes[0]).uri_text if routes else None
    outbound_proxy = None
    reach = _target_of(first_hop) if first_hop else None
    if reach is not None and not is_ip(reach[0]) and valid_host(reach[0]):
        names[reach[0].lower()] = PROXY_NAME
        if not any(
            s.proto == reach[2] and reach[1] in (s.port, s.advertise_port) for s in proxy.listen
        ):
            notes.append(
                f"The proxy has no {reach[2]} socket on port {reach[1]}, so {first_hop} does not "
                "reach it in the scenario."
            )
    elif reach is not None and not any(
        s.proto == reach[2] and reach[1] in (s.port, s.advertise_port) and same_ip(reach[0], s.host)
        for s in proxy.listen
    ):
        notes.append(f"{first_hop} is not one of the proxy's sockets: the request goes elsewhere.")
    if first_hop is None:
        sock = proxy.listen[0]
        outbound_proxy = f"sip:{sock.host}:{sock.port};transport={sock.proto}"
        notes.append("The caller has no Route: it sends to the proxy as its outbound proxy.")
    caller_v6 = proxy_v6 if reach is None or not is_ip(reach[0]) else ":" in reach[0]

    # Where the proxy sends it: $du, else the R-URI, as loose_route() left them.
    nxt = run.context.du or run.context.ruri
    location: tuple[tuple[str, str], ...] = ()
    callee_host, callee_port = "", 5060
    dest = _target_of(nxt)
    if dest is not None:
        host, port, _proto = dest
        nxt_uri = parse_uri(nxt)
        if is_myself(nxt_uri, proxy):
            notes.append(
                f"The request goes on by the R-URI {nxt}, which is the proxy itself: its "
                "location service sends it to Next hop."
            )
            if nxt_uri.user:
                location = ((f"sip:{nxt_uri.user}@{nxt_uri.host}", ""),)
        elif is_ip(host):
            if not any(same_ip(host, sock.host) for sock in proxy.listen):
                callee_host, callee_port = host, port
        elif valid_host(host) and host.lower() not in names:
            names[host.lower()] = NEXT_HOP_NAME
            callee_port = port
    caller_port = 5060
    packet = pasted.clean.packet
    # The packet's source is reserved first, so that no placeholder address takes it.
    sent_from = _caller_address(packet, caller_v6, addresses)
    if not callee_host:
        callee_host = addresses.take(proxy_v6)
    if sent_from is not None and packet is not None:
        caller_host, caller_port = sent_from
        notes.append(
            f"Caller is at {hostport(caller_host.strip('[]'), caller_port)}, where line "
            f"{packet.line} of the paste says the request came from."
        )
    else:
        caller_host = addresses.take(caller_v6)
    callee_contact = f"sip:next-hop@{callee_host}" + (
        f":{callee_port}" if callee_port != 5060 else ""
    )
    location = tuple((aor, callee_contact) for aor, _ in location)
    caller = UserAgent(
        name=CALLER_NAME,
        address=Socket("udp", caller_host, caller_port),
        contact=f"sip:caller@{caller_host}" + (f":{caller_port}" if caller_port != 5060 else ""),
        outbound_proxy=outbound_proxy,
        route_style=_route_style(request),
    )
    callee = UserAgent(
        name=NEXT_HOP_NAME,
        address=Socket("udp", callee_host, callee_port),
        contact=callee_contact,
    )
    node = ProxyNode(
        name=PROXY_NAME,
        listen=proxy.listen,
        aliases=proxy.aliases,
        rr=proxy.rr,
        outbound=proxy.outbound,
        profile="kamailio-default" if in_dialog else "honour-preloaded",
        location=location,
    )
    if in_dialog:
        dialog = RequestSpec(method="INVITE", sender=CALLER_NAME, recipient=NEXT_HOP_NAME)
        requests: tuple[RequestSpec, ...] = (
            RequestSpec(
                method=method,
                sender=CALLER_NAME,
                request_uri=target,
                route=route_set,
                max_forwards=max_forwards,
                responses=None if method == "ACK" else (200,),
            ),
        )
        notes.append(
            "The INVITE that sets up the dialog goes straight from Caller to Next hop; the "
            "pasted request then uses its own Route set (a hand-edited route set)."
        )
    else:
        dialog = RequestSpec(
            method=method,
            sender=CALLER_NAME,
            recipient=NEXT_HOP_NAME,
            request_uri=request.uri,
            route=routes,
            max_forwards=max_forwards,
        )
        requests = ()
    # Line ends first: a CR of a CRLF is not a stray control character.
    head = _CONTROL.sub("?", pasted.clean.text.split("\r\n\r\n", 1)[0].replace("\r\n", "\n"))
    rc = run.fields.get("rc")
    scenario = Scenario(
        title=f"Pasted {request.method} at the proxy",
        description=(
            "Built from a pasted request; loose_route() at the proxy returns "
            f"{rc} ({run.results[-1].meaning}).\n\n{head[:6000]}"
        ),
        highlights=tuple(s.text for s in run.results[-1].steps)[:20],
        user_agents=(caller, callee),
        proxies=(node,),
        names=tuple(sorted(names.items())),
        dialog=dialog,
        requests=requests,
    )
    try:
        check(scenario)
        scenario = loads(dumps(scenario))
    except ScenarioError as exc:
        what = f"the scenario built from the request is invalid: {exc.what}"
        raise ScenarioError(exc.path, what) from None
    trace = simulate(scenario)
    index = 1 if in_dialog else 0
    step = next(
        (s for s in trace.steps_of(index) if s.element == PROXY_NAME and s.kind is StepKind.PROXY),
        None,
    )
    differences = _differences(request, run, step)
    return PastedScenario(
        scenario, trace, None if step is None else step.index, differences, tuple(notes)
    )


def _caller_address(
    packet: Packet | None, v6: bool, addresses: _Addresses
) -> tuple[str, int] | None:
    """The caller's host (IPv6 in brackets) and port as the packet line names the
    request's source; None when it names none, or one of another IP version or in use."""
    if packet is None or packet.source is None:
        return None
    host, port = packet.source
    if (":" in host) != v6 or any(same_ip(host, used) for used in addresses.used):
        return None
    addresses.used.append(host)
    return (f"[{host}]" if v6 else host), port


def _norm(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(" ".join(v.split()) for v in values)


def _differences(request: SipRequest, run: VectorRun, step: TraceStep | None) -> tuple[str, ...]:
    if step is None:
        return ("In the scenario the request never reaches the proxy.",)
    out: list[str] = []
    try:
        arrived = parse_message(step.message_in)
    except SipParseError:  # pragma: no cover - the simulator writes valid messages
        arrived = None
    if isinstance(arrived, SipRequest):
        if arrived.method != request.method:
            out.append(f"The method is {arrived.method}, not {request.method}.")
        if arrived.uri != request.uri:
            out.append(f"The R-URI arrives as {arrived.uri}, not {request.uri}.")
        got, want = _norm(arrived.list_values("Route")), _norm(request.list_values("Route"))
        if got != want:
            out.append(
                f"The Route set arrives as {', '.join(got) or '(none)'}, "
                f"not {', '.join(want) or '(none)'}."
            )
    calls = [c for c in step.rr_calls if c.call.startswith("loose_route")]
    want_rc = run.fields.get("rc")
    if not calls:
        out.append(f"The proxy's script does not call loose_route() (it returns {want_rc} here).")
        return tuple(out)
    if calls[-1].rc != want_rc:
        out.append(f"loose_route() returns {calls[-1].rc} in the scenario, {want_rc} here.")
    relayed = step.status is None and bool(step.message_out)
    if relayed:
        if step.ruri_after != run.fields["ruri"]:
            out.append(f"The R-URI becomes {step.ruri_after}, here {run.fields['ruri']}.")
        if step.du_after != run.fields["du"]:
            out.append(f"$du becomes {step.du_after}, here {run.fields['du']}.")
        if _norm(step.routes_after) != _norm(run.fields["routes"]):
            out.append(
                f"The Route set leaves as {', '.join(step.routes_after) or '(none)'}, here "
                f"{', '.join(run.fields['routes']) or '(none)'}."
            )
    return tuple(out)


__all__ = [
    "CleanText",
    "PastedRequest",
    "PastedResponse",
    "PastedScenario",
    "Prefix",
    "ProxyGuess",
    "ResponseReading",
    "build_proxy",
    "clean",
    "closest_scenario",
    "guess_proxy",
    "read_pasted",
    "read_pasted_message",
    "read_response",
    "run_loose_route",
]
