"""Kamailio 5.6.3's rr module: ``loose_route()``, ``record_route()`` and friends.

Rule 1: every operation is pure.  It takes a :class:`Context` (Kamailio's
``sip_msg`` while the script runs: the request as received, ``$ru``, ``$du``,
``$fs``, flags and the pending header edits) and returns a new context plus a
result that carries the return code and the ordered decision steps.
Rule 2: header edits are *pending* until the request is forwarded, exactly as
Kamailio's lumps are: a later rr call still sees the original Route headers,
and :func:`forwarded` applies the edits.
Rule 3: one decision step per branch of Kamailio's decision procedure (spec
sections 3 and 4), each with a stable rule id and a sentence that names the
header values involved.

Deviations from RFC 3261, all Kamailio's and reproduced on purpose, are
explained in the steps themselves: the strict previous hop is detected by
"R-URI host:port is mine" instead of "R-URI is a value I record-routed"
(RFC 3261 16.4), only for in-dialog requests; after that recovery the first
Route is not checked again; ``r2`` removes the second entry without a
locality check; a preloaded Route set that was only this proxy returns -3.

>>> from engine.proxy import Proxy
>>> from engine.message import parse_message
>>> p = Proxy.build(listen=["udp:127.0.0.1:5060"])
>>> req = parse_message("BYE sip:bob@10.0.0.2 SIP/2.0\\r\\nTo: <sip:b@x>;tag=t\\r\\n"
...                     "Route: <sip:127.0.0.1;lr>, <sip:p2.example.org;lr>\\r\\n\\r\\n")
>>> ctx, res = loose_route(Context.start(req, p))
>>> res.rc, ctx.du, route_entries(ctx)
(1, 'sip:p2.example.org;lr', ('<sip:p2.example.org;lr>',))
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

from engine import pv
from engine.ere import EreError, compile_ere
from engine.errors import ScriptError, SipParseError
from engine.headers import (
    NameAddr,
    find_unquoted,
    parse_name_addr,
    quote_left_open,
    split_values,
    unquote_param,
)
from engine.message import Header, SipRequest
from engine.outbound import Flow, TokenStatus, encode_flow_token, inspect_flow_token, key_for
from engine.proxy import (
    Proxy,
    Socket,
    find_socket,
    join_and,
    locate,
    near_miss,
    parse_socket,
)
from engine.uri import MEMO_LIMIT, MEMO_SIZE, SipUri, parse_uri, same_ip, split_quoted

#: What each return code of loose_route() means, in the words the app shows.
RC_MEANING = {
    1: "routed by the Route set (the next hop is $du, the destination URI, if set, else the R-URI)",
    2: "routed down an outbound flow (the Route carried a valid flow token)",
    -1: "not routed by Route headers (none, unparsable, or a dead end)",
    -2: "flow token rejected (tampered, or its socket is not ours)",
    -3: "preloaded Route set consumed: only this proxy was named; route on the R-URI",
}

# loose_route_preloaded() turns loose_route()'s answer into TRUE or FALSE.
PRELOADED_RC_MEANING = {
    1: "TRUE: loose_route() returned -3, a preloaded Route set naming only this proxy, "
    "consumed; route on the R-URI",
    -1: "FALSE: loose_route() did not return -3 (its edits, if any, are made all the same)",
}


def rc_meaning(function: str, rc: int) -> str:
    """A loose_route family call's return code in words (``function`` as called, e.g.
    ``loose_route_preloaded()``); ``""`` for the other functions."""
    if function.startswith("loose_route_preloaded"):
        return PRELOADED_RC_MEANING.get(rc, "")
    if function.startswith("loose_route"):
        return RC_MEANING.get(rc, "")
    return ""


MAX_MADDR = 117
MAX_ROUTE_ENTRIES = 1000
MAX_RR_PARAM_BUFFER = 512

# Named tuples are made with this where speed matters: one C call, no Python __new__.
_new_tuple = tuple.__new__


class Step(NamedTuple):
    """One decision step: a stable rule id and a plain-English sentence."""

    rule: str
    text: str
    function: str = "loose_route"


class RouteHeader(NamedTuple):
    """One ``Route`` header line of the received request, parsed as Kamailio's ``parse_rr``.

    ``elements`` is None when the line cannot be parsed; ``error`` says why.
    """

    position: int  # index in the request's header list
    value: str
    elements: tuple[tuple[NameAddr, int, int, str], ...] | None
    error: str | None = None


def parse_route_body(value: str) -> tuple[tuple[NameAddr, int, int, str], ...]:
    """Split a Route header body into name-addrs the way Kamailio 5.6.3's ``parse_rr`` does.

    Each element is ``[display] <uri> [;params]``.  Whatever stands before the
    ``<`` is the display name, commas included (``junk, <sip:a;lr>`` is one
    element), and the URI runs to the first ``>`` outside a quoted string, even
    inside the URI (``<sip:h;x=">";lr>`` is one URI; observed on 5.6.3).  An
    element without ``<``/``>``, a quoted string that never closes, text after
    ``>`` that is not a parameter, an empty body, a trailing comma, a header that ends
    in ``;`` and a ``name=`` without a value before a ``,`` are errors.

    >>> [e[3] for e in parse_route_body("<sip:a;lr>, , <sip:b;lr>")]
    ['<sip:a;lr>', ', <sip:b;lr>']
    >>> parse_route_body("<sip:a;lr>, junk")
    Traceback (most recent call last):
    ...
    engine.errors.SipParseError: column 13: Route value 2: missing '<' in 'junk'
    """
    n = len(value)
    if value[:1] == "<" and value.find(">") == n - 1 and '"' not in value:
        # The common case, one "<uri>" and nothing else: what the loop below gives.
        return ((_new_tuple(NameAddr, (value[1:-1], None, (), True)), 0, n, value),)
    out: list[tuple[NameAddr, int, int, str]] = []
    pos = 0
    while True:
        while pos < n and value[pos] in " \t":
            pos += 1
        number = len(out) + 1
        if pos >= n:
            raise SipParseError(f"Route value {number}: empty", column=pos + 1)
        start = pos
        lt = find_unquoted(value, "<", pos)
        if lt < 0:
            raise SipParseError(
                f"Route value {number}: missing '<' in {value[start:].strip()!r}",
                column=start + 1,
            )
        gt = find_unquoted(value, ">", lt + 1)
        if gt < 0:
            raise SipParseError(
                f"Route value {number}: missing '>' in {value[start:].strip()!r}"
                + (
                    " (a quoted string in the URI never closes)"
                    if quote_left_open(value, lt)
                    else ""
                ),
                column=lt + 1,
            )
        comma = find_unquoted(value, ",", gt + 1)
        if comma < 0 and quote_left_open(value, gt + 1):
            raise SipParseError(
                f"Route value {number}: a quoted string after '>' never closes",
                column=value.find('"', gt + 1) + 1,
            )
        end = n if comma < 0 else comma
        tail = value[gt + 1 : end].strip()
        if tail and not tail.startswith(";"):
            raise SipParseError(
                f"Route value {number}: unexpected {tail!r} after '>'", column=gt + 2
            )
        params: list[tuple[str, str | None]] = []
        for piece in split_quoted(tail[1:]) if tail else ():
            name, eq, pvalue = piece.partition("=")
            params.append((name.strip(), pvalue.strip() if eq else None))
        if params:
            # Kamailio's parameter parser refuses a ';' with nothing after it at the end of
            # the header, and a "name=" with no value before a ',' (seen on 5.6.3,
            # RL-RRFORM2-*), though ";," and ";x=" at the end pass.
            last_name, last_value = params[-1]
            if comma < 0 and not last_name and last_value is None:
                raise SipParseError(
                    f"Route value {number}: the header ends in a ';' with no parameter after it",
                    column=value.rfind(";", gt) + 1,
                )
            if comma >= 0 and last_value == "":
                raise SipParseError(
                    f"Route value {number}: parameter {last_name!r} has '=' but no value "
                    "before the ','",
                    column=comma + 1,
                )
        display = value[start:lt].strip() or None
        text = value[start:end].rstrip()
        out.append(
            (
                _new_tuple(NameAddr, (value[lt + 1 : gt], display, tuple(params), True)),
                start,
                start + len(text),
                text,
            )
        )
        if comma < 0:
            return tuple(out)
        pos = comma + 1


def route_headers(request: SipRequest) -> tuple[RouteHeader, ...]:
    """The Route header lines of a request, each parsed (or marked unparsable)."""
    headers = request.headers
    out = []
    for pos in request.header_positions("route"):
        value = headers[pos].value
        out.append(
            _route_header_memo(pos, value)
            if len(value) <= MEMO_LIMIT
            else _route_header(pos, value)
        )
    return tuple(out)


def _route_header(position: int, value: str) -> RouteHeader:
    try:
        elements: tuple[tuple[NameAddr, int, int, str], ...] | None = parse_route_body(value)
        error = None
    except SipParseError as exc:
        elements, error = None, exc.what
    return _new_tuple(RouteHeader, (position, value, elements, error))


# A dialog's Route set arrives with each of its requests: remember the parsed lines.
_route_header_memo = lru_cache(maxsize=MEMO_SIZE)(_route_header)


_UNSET = "\x00unset"


class Context(NamedTuple):
    """The request while one proxy's script runs (Kamailio's ``sip_msg``).

    ``deleted`` holds pending deletions of Route elements as ``(line, element)``
    pairs, where ``line`` counts Route header lines from 0.  A named tuple: every
    rr call makes one, and a tuple is made in C (see :func:`_evolve`).
    """

    request: SipRequest
    proxy: Proxy
    received_on: Socket
    send_socket: Socket
    source: str | None = None
    ruri: str = ""
    du: str | None = None
    fs: Socket | None = None
    flags: int = 0
    deleted: frozenset[tuple[int, int]] = frozenset()
    appended_routes: tuple[str, ...] = ()
    record_routes: tuple[str, ...] = ()
    rr_done: bool = False
    rr_param_buffer: str = ""
    route_params: str | None = _UNSET
    next_hop_route: bool = False
    routes: tuple[RouteHeader, ...] = ()  # the received Route lines, parsed once
    # How many Record-Route lumps the rr function built (2 when double-RR is on,
    # even if the second stays empty; 1 for a one-address record_route_preset).
    rr_lumps: int = 0
    # Route lines (counted from 0) that stay as empty "Route:" headers once all their
    # elements are removed, because Kamailio removed them piece by piece.
    emptied_routes: frozenset[int] = frozenset()

    @classmethod
    def start(
        cls,
        request: SipRequest,
        proxy: Proxy,
        *,
        received_on: Socket | str | None = None,
        send_socket: Socket | str | None = None,
        source: str | None = None,
        flags: int = 0,
    ) -> Context:
        """The context as the script begins: nothing changed yet."""
        rcv = _as_socket(proxy, received_on) if received_on is not None else proxy.listen[0]
        snd = _as_socket(proxy, send_socket) if send_socket is not None else rcv
        routes = route_headers(request)
        count = 0  # a loop, not sum() over a generator: this runs for every request
        for rh in routes:
            count += len(rh.elements) if rh.elements else 1
        if count > MAX_ROUTE_ENTRIES:
            # A bound, not Kamailio behaviour: nobody learns from a route set this long, and
            # it keeps every later step (and the app) fast.
            raise SipParseError(
                f"the request has {count} Route values; RouteLab handles at most "
                f"{MAX_ROUTE_ENTRIES}",
                header="Route",
                status_hint=413,
            )
        # The whole tuple at once, in field order: this runs for every request.
        return _new_tuple(
            cls,
            (
                request,
                proxy,
                rcv,
                snd,
                source,
                request.uri,
                None,
                None,
                flags,
                frozenset(),
                (),
                (),
                False,
                "",
                _UNSET,
                False,
                routes,
                0,
                frozenset(),
            ),
        )


def _as_socket(proxy: Proxy, value: Socket | str) -> Socket:
    return value if isinstance(value, Socket) else proxy.socket(value)


_CONTEXT_INDEX = {name: i for i, name in enumerate(Context._fields)}


def _evolve(ctx: Context, **changes: Any) -> Context:
    """``ctx._replace(**changes)`` in a third of the time (every rr call makes one)."""
    values = list(ctx)
    for name, value in changes.items():
        values[_CONTEXT_INDEX[name]] = value
    return _new_tuple(Context, values)


class RrResult(NamedTuple):
    """What one rr function call returned, with its decision steps.

    ``path`` is ``"A"`` (loose), ``"S"`` (strict previous hop) or ``""``;
    ``removed`` lists the Route values this call deleted, ``appended`` the
    Route it appended for a strict next hop, ``added`` the Record-Route
    values it inserted.
    """

    function: str
    rc: int
    steps: tuple[Step, ...]
    path: str = ""
    removed: tuple[str, ...] = ()
    appended: str | None = None
    added: tuple[str, ...] = ()
    local_route: str | None = None
    flow: Flow | None = None
    flow_status: str | None = None
    preloaded: bool = False

    @property
    def meaning(self) -> str:
        """The return code in words (loose_route family)."""
        return rc_meaning(self.function, self.rc)

    @property
    def strict_to_strict(self) -> bool:
        """On the strict-previous-hop path: the next Route is a strict router too, so it
        became the R-URI and the request leaves in strict form, not loose."""
        return self.path == "S" and any(s.rule == "strict-candidate-strict" for s in self.steps)


# --------------------------------------------------------------------------
# helpers


class _Steps:
    """Collects steps for one call (internal; the call returns a tuple)."""

    def __init__(self, function: str) -> None:
        self.function = function
        self.items: list[Step] = []

    def add(self, rule: str, text: str) -> None:
        self.items.append(_new_tuple(Step, (rule, text, self.function)))


def _maddr_target(uri: SipUri, uri_text: str) -> str | None:
    """The value copied into $du / the R-URI: the URI verbatim, or ``sip:maddr[:port]``.

    None when the maddr value is longer than Kamailio accepts (117 characters).  The
    maddr is read as :meth:`SipUri.uri_param` says: the last one, its value as written
    (``;;maddr=x`` has one, though ``;;lr`` has no ``lr``; seen on 5.6.3).
    """
    maddr = uri.uri_param("maddr")
    if maddr is None or maddr == "":
        return uri_text
    if len(maddr) > MAX_MADDR:
        return None
    return f"sip:{maddr}" + (f":{uri.port}" if uri.port is not None else "")


def _maddr_note(uri: SipUri, uri_text: str, target: str, into: str) -> str:
    """What the maddr rule (spec 3.7) left out when ``target`` is not the URI itself: a
    sentence to append to the step that copies it into ``into`` (``"$du"`` or ``"the
    R-URI"``); ``""`` when nothing changed."""
    if target == uri_text:
        return ""
    dropped = []
    if uri.scheme != "sip":
        dropped.append(f"the {uri.scheme}: scheme")
    if uri.user is not None:
        dropped.append(f"the user part {uri.user}")
    if uri.password is not None:
        dropped.append("the password")
    transport = uri.uri_param("transport")
    if transport:
        dropped.append(f"transport={transport}")
    others = [
        n.lstrip(";") for n, _ in uri.params if n.lstrip(";").lower() not in ("maddr", "transport")
    ]
    if others:
        dropped.append(
            ("the parameter " if len(others) == 1 else "the parameters ") + join_and(others)
        )
    if dropped:
        udp = (
            " (the hop goes over UDP)"
            if uri.scheme == "sips" or (transport and transport.lower() != "udp")
            else ""
        )
        plural = len(dropped) > 1 or len(others) > 1
        lost = f", and {join_and(dropped)} {'are' if plural else 'is'} dropped{udp}"
    else:
        lost = ""
    if into == "$du":
        # Only the destination is trimmed: the Route itself goes on as it was, and RFC 3261
        # sends to the maddr address too.
        return (
            f" Because <{uri_text}> has a maddr parameter, Kamailio copies only "
            f"sip:<maddr>[:port] of it into $du{lost}; the Route header itself is not "
            "changed. RFC 3261 also sends to the maddr address (19.1.1)."
        )
    return (
        f" Because <{uri_text}> has a maddr parameter, Kamailio copies only "
        f"sip:<maddr>[:port] of it into {into}{lost}; RFC 3261 would send to the maddr "
        "address (19.1.1) and keep the URI whole."
    )


def _generic_param(text: str, name: str) -> str | None:
    """A parameter in ``;a=1;b`` text as Kamailio's generic parameter parser reads it
    (``is_direction()`` reads ``ftag`` this way): the first of that name, blanks around
    name and value dropped, the value without the double or single quotes around it
    (``ftag='f1'`` is f1; seen on 5.6.3), ``""`` for a flag; None when absent.
    """
    for piece in split_quoted(text):
        key, eq, value = piece.partition("=")
        if key and key.strip().lower() == name:
            return unquote_param(value.strip(), "\"'") if eq else ""
    return None


def _source_addr(source: str | None) -> tuple[str, int] | None:
    if not source:
        return None
    try:
        s = parse_socket(source)
    except Exception:
        return None
    return s.host, s.port


def _same_flow_source(ctx: Context, flow: Flow) -> bool:
    src = _source_addr(ctx.source)
    if src is None:
        return False
    return same_ip(src[0], flow.remote_ip) and src[1] == flow.remote_port


def _sn_params(uri: SipUri) -> tuple[tuple[str, str | None], ...]:
    """The parameters the ``sn`` lookup reads: up to a comma, where that reading stops as at
    the end of a header's parameters (``;lr, <sip:h;sn=s2`` shows it ``lr`` only; seen on
    5.6.3, differential seed 191)."""
    out: list[tuple[str, str | None]] = []
    for name, value in uri.params:
        if "," in name:
            out.append((name.split(",", 1)[0], None))
            break
        if value is not None and "," in value:
            out.append((name, value.split(",", 1)[0]))
            break
        out.append((name, value))
    return tuple(out)


def sn_lookup_refused(uri: SipUri, proxy: Proxy) -> str | None:
    """Why looking for ``sn`` in a Route URI's parameters fails, or None.

    With ``sockname_mode=1`` Kamailio 5.6.3 reads the parameters again to find ``sn``, and
    that reading fails on three things seen on runs (RL-SN-*): a ``name=`` with an empty or
    blank value before another parameter (``;x=;lr``; ``;x=`` last passes), a first
    parameter that starts with a blank or a tab (``sip:h; lr;sn=s2``; later ones may), and a
    last parameter of blanks only (``;lr; >``; an empty last one, ``;lr;``, passes).  Then no
    socket is forced at all, not even the one the Route's address names.  A URI Kamailio
    reads as a telephone URI (``user=phone``) shows the lookup no parameters: no ``sn``, and
    nothing to fail on (RL-SN-80 to -87).  The reading stops at a comma (:func:`_sn_params`).
    """
    return _sn_lookup(uri, proxy)[0]


def _sn_lookup(uri: SipUri, proxy: Proxy) -> tuple[str | None, str]:
    """The sn lookup of a Route URI: why it fails (None when it does not), and the first
    ``sn`` value it reads, as :meth:`SipUri.param` reads one (``""`` for none)."""
    if not proxy.rr.sockname_mode or uri.reads_as_tel:
        return None, ""
    params = _sn_params(uri)
    if not params:
        return None, ""
    if params[0][0][:1] in (" ", "\t"):
        return f"the first parameter {params[0][0]!r} starts with a blank", ""
    for name, value in params[:-1]:
        if value is not None and not value.strip(" \t"):
            return f"'{name}=' has no value before the next parameter", ""
    last, value = params[-1]
    if value is None and last and not last.strip(" \t"):
        return "the last parameter is only blanks", ""
    sn = next((v or "" for n, v in params if n.strip().lower() == "sn"), "")
    return None, sn.strip()


def force_socket_for(uri: SipUri, proxy: Proxy) -> Socket | None:
    """The socket ``rr_do_force_send_socket`` picks for a Route URI (spec 3.9)."""
    refused, sn = _sn_lookup(uri, proxy)
    if refused is not None:
        return None
    if sn:
        # Socket names match in any case: sn=S2 names the socket "s2" (seen on 5.6.3).
        wanted = sn.lower()
        for s in proxy.listen:
            if s.name is not None and s.name.lower() == wanted:
                return s
    proto = _transport(uri)
    port = uri.port
    if port is None:
        port = 5061 if proto == "tls" else 5060
    # Without a transport, find_socket() looks at UDP first, whatever the listen order.
    found = find_socket(proxy, uri.host, port, proto)
    if found is None:
        found = find_socket(proxy, uri.host, uri.port, proto)
    return found


def forced_by(uri: SipUri, text: str, proxy: Proxy, sock: Socket) -> str:
    """How :func:`force_socket_for` came to ``sock`` for the Route value ``text``, in
    words: by the URI's ``sn`` (sockname_mode=1) or by its address."""
    _refused, sn = _sn_lookup(uri, proxy)
    if sn and sock.name is not None and sock.name.lower() == sn.lower():
        return f'the socket "{sock.name}", named by sn={sn} in {text} (sockname_mode=1)'
    if _transport(uri):
        return f"the socket named by the address and transport of {text}"
    return f"the socket named by the address of {text}, UDP first as it names no transport"


def is_r2(uri: SipUri) -> bool:
    """True when the rr module sees an ``r2`` parameter (any value, any case) on a Route URI
    (none on one with user=phone, which it reads as a telephone URI)."""
    return uri.has_param("r2") and not uri.reads_as_tel


def _no_lr(uri: SipUri) -> str:
    """Why a Route is a strict router to Kamailio, for the decision steps."""
    if uri.has_param("lr"):
        return (
            "has lr, but with user=phone Kamailio 5.6.3 reads it as a telephone URI and "
            "sees no lr (to RFC 3261 it would be a loose router)"
        )
    return "has no lr parameter" + hidden_lr(uri)


def hidden_lr(uri: SipUri) -> str:
    """For a URI whose ``;lr`` stands before its ``@``, and so in its user part, a clause
    that says so (for the decision steps and the notes); ``""`` for any other URI."""
    if uri.user is None or not _LR_IN_USER.search(uri.user):
        return ""
    return (
        f": the ';lr' in it stands before its '@', so it belongs to the user part "
        f"{uri.user!r} and the host is {uri.host} (an '@' in a Record-Route parameter, such "
        "as a Call-ID's, does this)"
    )


_LR_IN_USER = re.compile(r";lr(?:[;=]|\Z)", re.IGNORECASE)


_PROTOCOLS = frozenset({"udp", "tcp", "tls", "sctp", "ws", "wss"})


def _transport(uri: SipUri) -> str | None:
    """The protocol a URI's ``transport`` names: the last one Kamailio knows, None for
    none (``transport=xyz`` and ``transport=udp `` are ignored; seen on 5.6.3)."""
    value = uri.uri_param("transport", _PROTOCOLS) if "transport" in uri.param_keys else None
    return value.lower() if value else None


def route_entries(ctx: Context) -> tuple[str, ...]:
    """The Route values of the request as it will leave, one string per value.

    Values are split on commas outside quotes and ``<>`` in the text that will be
    sent, as a capture shows them (a display name such as ``junk,`` splits).
    These are the Route lines of :func:`forwarded`, worked out without making it.
    """
    out: list[str] = []
    for line, rh in enumerate(ctx.routes):
        value = _route_line_sent(ctx, line, rh)
        if value is None:
            pass
        elif "," not in value:  # one value, by far the most common line
            out.append(value.strip())
        else:
            out.extend([el.text for el in split_values(value)])
    for value in ctx.appended_routes:
        out.extend([el.text for el in split_values(value)])
    return tuple(out)


def _route_line_sent(ctx: Context, line: int, rh: RouteHeader) -> str | None:
    """What is left of a received Route line once the pending deletions are made."""
    elements = rh.elements
    deleted = ctx.deleted
    if elements is None or not deleted:
        return rh.value
    if len(elements) == 1:  # one value on the line, by far the most common
        if (line, 0) not in deleted:
            return rh.value
        return "" if line in ctx.emptied_routes else None
    keep = [i for i in range(len(elements)) if (line, i) not in deleted]
    if not keep:
        return "" if line in ctx.emptied_routes else None
    if len(keep) == len(elements):
        return rh.value
    first, last = elements[keep[0]], elements[keep[-1]]
    end = len(rh.value) if keep[-1] == len(elements) - 1 else last[2]
    # Kamailio only ever removes a run of leading values and, on the strict-previous-hop
    # path, the very last one: what survives is one contiguous run, kept byte for byte.
    return rh.value[first[1] : end]


def forwarded(ctx: Context) -> SipRequest:
    """The request as Kamailio would send it: R-URI, Route and Record-Route edits applied."""
    req = ctx.request
    new_headers: list[Header] = [Header("Record-Route", v) for v in ctx.record_routes]
    route_lines = {rh.position: (line, rh) for line, rh in enumerate(ctx.routes)}
    for pos, h in enumerate(req.headers):
        if pos not in route_lines:
            new_headers.append(h)
            continue
        value = _route_line_sent(ctx, *route_lines[pos])
        if value is None:
            continue
        new_headers.append(h if value == h.value else Header(h.name, value))
    new_headers.extend(Header("Route", v) for v in ctx.appended_routes)
    return SipRequest(
        headers=tuple(new_headers),
        body=req.body,
        method=req.method,
        uri=ctx.ruri,
        version=req.version,
    )


# --------------------------------------------------------------------------
# loose_route()


_Finish = Callable[..., tuple[Context, RrResult]]


class _Walk:
    """A cursor over the Route elements, parsing later lines lazily as Kamailio does."""

    def __init__(self, headers: tuple[RouteHeader, ...]) -> None:
        self.headers = headers
        self.error: str | None = None

    def element(self, pos: tuple[int, int]) -> tuple[NameAddr, int, int, str]:
        elements = self.headers[pos[0]].elements
        assert elements is not None
        return elements[pos[1]]

    def next(self, pos: tuple[int, int]) -> tuple[int, int] | None:
        line, idx = pos
        elements = self.headers[line].elements
        assert elements is not None
        if idx + 1 < len(elements):
            return line, idx + 1
        if line + 1 < len(self.headers):
            nxt = self.headers[line + 1]
            if nxt.elements is None:
                self.error = f"Route header {line + 2} cannot be parsed ({nxt.error})"
                return None
            return line + 1, 0
        return None

    def last(self) -> tuple[int, int] | None:
        line = len(self.headers) - 1
        rh = self.headers[line]
        if rh.elements is None:
            self.error = f"Route header {line + 1} cannot be parsed ({rh.error})"
            return None
        return line, len(rh.elements) - 1


def loose_route(ctx: Context, *, mode: int = 0) -> tuple[Context, RrResult]:
    """Kamailio's ``loose_route()`` (``loose_route_mode(mode)`` when mode != 0).

    RFC 3261 16.4 (route information preprocessing) and 16.6 step 6 (strict next
    hop), as Kamailio 5.6.3 ``rr/loose.c`` does them.  In 5.6.3 any non-zero
    ``mode`` means "loose only": the strict-previous-hop check is skipped.
    """
    fn = "loose_route" if mode == 0 else f"loose_route_mode({mode})"
    st = _Steps(fn)
    headers = ctx.routes
    preloaded = False  # set below; done() reads it when the call ends

    def done(
        c: Context,
        rc: int,
        *,
        path: str = "",
        flow: Flow | None = None,
        flow_status: str | None = None,
    ) -> tuple[Context, RrResult]:
        deleted = c.deleted - ctx.deleted if ctx.deleted else c.deleted
        removed = (
            tuple(
                [
                    headers[line].elements[idx][3]  # type: ignore[index]
                    for line, idx in sorted(deleted)
                ]
            )
            if deleted
            else ()
        )
        appended = (
            c.appended_routes[-1] if len(c.appended_routes) > len(ctx.appended_routes) else None
        )
        # The whole tuple at once, in field order: every call ends here.
        res: RrResult = _new_tuple(
            RrResult,
            (
                fn,
                rc,
                tuple(st.items),
                path,
                removed,
                appended,
                (),
                None,
                flow,
                flow_status,
                preloaded,
            ),
        )
        return c, res

    if not headers:
        default = (
            "relays an in-dialog ACK only when it matches a transaction (t_check_trans()) "
            "and drops it otherwise"
            if ctx.request.method == "ACK"
            else "does so for an initial request and answers an in-dialog one 404 Not here"
        )
        st.add(
            "no-route",
            f"The request has no Route header: loose_route() returns -1 (FALSE) and changes "
            f"nothing. What happens next is the script's choice: it may relay the request by "
            f"its R-URI {ctx.ruri}; Kamailio's default configuration {default}.",
        )
        return done(ctx, -1)
    first = headers[0]
    if first.elements is None:
        st.add(
            "route-unparsable",
            f"The first Route header '{first.value}' cannot be parsed ({first.error}); "
            "Kamailio returns -1 and leaves the message unchanged.",
        )
        return done(ctx, -1)
    e1_na, _s, _e, e1_text = first.elements[0]
    try:
        e1 = e1_na.uri
    except SipParseError as exc:
        st.add(
            "route-uri-unparsable",
            f"The first Route URI {e1_na.uri_text} cannot be parsed ({exc.what}): returns -1.",
        )
        return done(ctx, -1)
    try:
        ruri = parse_uri(ctx.ruri)
    except SipParseError as exc:
        st.add("ruri-unparsable", f"The R-URI {ctx.ruri} cannot be parsed ({exc.what}): -1.")
        return done(ctx, -1)

    preloaded = not ctx.request.tag("To")
    if preloaded:
        st.add(
            "preloaded",
            "The To header carries no tag value, so this is an initial (out-of-dialog) request "
            "and its Route set is preloaded. Kamailio takes the loose-routing path and does not "
            "check whether the R-URI is this proxy (RFC 3261 16.4 makes that check for every "
            "request).",
        )
        return _after_loose(ctx, st, headers, e1, e1_text, preloaded=True, done=done)
    ruri_loc = locate(ruri, ctx.proxy)
    if ruri_loc.myself and mode == 0:
        st.add(
            "ruri-is-myself",
            f"In-dialog request whose R-URI {ctx.ruri} is this proxy ({ruri_loc.reason()}): "
            "Kamailio concludes the previous hop was a strict router that put this proxy's "
            "Record-Route URI into the R-URI (RFC 3261 16.4). Note that the RFC asks for an "
            "exact match with a value this proxy record-routed; Kamailio only compares "
            "host and port, so a Contact or target on this address triggers it too.",
        )
        return _after_strict(ctx, st, headers, e1, e1_text, ruri, done=done)
    if ruri_loc.myself:
        st.add(
            "loose-only-mode",
            f"The R-URI {ctx.ruri} is this proxy, but {fn} runs in loose-only mode, so the "
            "strict-previous-hop recovery is skipped.",
        )
    else:
        # A user part names a user agent (a lab's on the proxy's own host, say): no near miss.
        miss = near_miss(ruri, ctx.proxy) if ruri.user is None else None
        st.add(
            "in-dialog",
            f"In-dialog request (To has a tag) and the R-URI {ctx.ruri} is not this proxy"
            + (f" ({miss})" if miss else "")
            + ": loose routing.",
        )
    return _after_loose(ctx, st, headers, e1, e1_text, preloaded=False, done=done)


def _not_taken(
    deleted: frozenset[tuple[int, int]], before: frozenset[tuple[int, int]], line: int
) -> frozenset[tuple[int, int]]:
    """``deleted`` without this call's removals on Route line ``line``.

    Kamailio removes a consumed value that shares its line with the next Route together
    with the comma after it, and only once that Route is taken: when the next Route
    cannot be used, those removals are never made (a value alone on its line goes at
    once, with the line).  Seen on 5.6.3.
    """
    return before | frozenset(d for d in deleted - before if d[0] != line)


_NOT_TAKEN_NOTE = (
    " The removals queued on that Route's line are not made: Kamailio removes a value "
    "together with the comma after it only once the Route after it is taken."
)


def _strict_rewrite(
    ctx: Context,
    st: _Steps,
    walk: _Walk,
    pos: tuple[int, int],
    uri: SipUri,
    text: str,
    **also: Any,
) -> Context | None:
    """RFC 3261 16.6 step 6 as Kamailio's ``handle_sr``: the next hop is a strict router.

    ``also`` holds more context changes to make in the same copy; a ``deleted``
    there is the set of removals made so far (default: the context's).
    """
    na = walk.element(pos)[0]
    target = _maddr_target(uri, na.uri_text)
    if target is None:
        st.add(
            "maddr-too-long",
            f"The maddr of {text} is longer than 117 characters: -1. Kamailio has already "
            f"appended the old R-URI as the last Route <{ctx.request.uri}> by then, and it "
            "stays.",
        )
        return None
    original = ctx.request.uri
    deleted = also.pop("deleted", ctx.deleted) | {(pos[0], i) for i in range(pos[1] + 1)}
    st.add(
        "strict-next-hop",
        f"The next hop {text} {_no_lr(uri)}: it is a strict router (RFC 2543). "
        f"Loose-to-strict transition: the R-URI becomes {target}, that Route is removed, "
        f"and the old R-URI is appended as the last Route <{original}> "
        "(RFC 3261 16.6 step 6; Kamailio appends it after the last header)."
        + _maddr_note(uri, na.uri_text, target, "the R-URI"),
    )
    return _evolve(
        ctx,
        ruri=target,
        deleted=frozenset(deleted),
        appended_routes=(*ctx.appended_routes, f"<{original}>"),
        **also,
    )


def _after_loose(
    ctx: Context,
    st: _Steps,
    headers: tuple[RouteHeader, ...],
    e1: SipUri,
    e1_text: str,
    *,
    preloaded: bool,
    done: _Finish,
) -> tuple[Context, RrResult]:
    finish = done
    walk = _Walk(headers)
    pos = (0, 0)
    loc = locate(e1, ctx.proxy)
    if not loc.myself:
        why = (
            loc.reason()
            if loc.gruu
            else near_miss(e1, ctx.proxy) or "no listen socket or alias of this proxy matches"
        )
        if any(map(str.isspace, e1.host)):
            why += (
                f": its host {e1.host!r} holds white space, which Kamailio 5.6.3 keeps as "
                "part of a host written without a user part, where RFC 3261 allows no blanks"
            )
        if e1.is_loose:
            target = _maddr_target(e1, walk.element(pos)[0].uri_text)
            if target is None:
                st.add("maddr-too-long", f"The maddr of {e1_text} is too long: -1.")
                return finish(_evolve(ctx, route_params=None), -1, path="A")
            st.add(
                "first-route-foreign-loose",
                f"Route 1 {e1_text} is not this proxy ({why}); it is a loose router, so $du "
                f"becomes {target} and the Route headers stay as they are."
                + _maddr_note(e1, walk.element(pos)[0].uri_text, target, "$du"),
            )
            return finish(_evolve(ctx, route_params=None, du=target), 1, path="A")
        st.add(
            "first-route-foreign-strict",
            f"Route 1 {e1_text} is not this proxy ({why}) and {_no_lr(e1)}.",
        )
        new = _strict_rewrite(ctx, st, walk, pos, e1, e1_text, route_params=None)
        if new is None:
            appended = (*ctx.appended_routes, f"<{ctx.request.uri}>")
            return finish(_evolve(ctx, route_params=None, appended_routes=appended), -1, path="A")
        return finish(new, 1, path="A")

    # E1 is this proxy.  What changes is kept in these locals, and the new context is
    # made once, when the call ends (result() below): copying a Context is the most
    # expensive thing loose_route() does.
    params = e1.rr_params  # the local route parameters (check_route_param, is_direction)
    fs = ctx.fs
    du = ctx.du
    myself = f"Route 1 {e1_text} is this proxy ({loc.reason()}"
    if "transport" in e1.param_keys and loc.socket is not None:
        transport = _transport(e1)
        if transport is not None and transport != loc.socket.proto:
            # Locality compares address and port only (spec section 2), UDP first: say so
            # when the socket named differs from the Route's transport.
            myself += f"; its transport={transport} is not compared"
    myself += ")"
    rr = ctx.proxy.rr
    use_ob = False
    flow: Flow | None = None
    flow_status: str | None = None
    if ctx.proxy.outbound is None:
        st.add("route-is-myself", f"{myself}: removed.")
    else:
        status, token_flow = inspect_flow_token(e1.user, key_for(ctx.proxy.outbound))
        flow_status = status.value
        outgoing: bool | None = None  # whether the flow itself sends (a valid token only)
        sock: Socket | None = None
        if status is TokenStatus.VALID and token_flow is not None:
            outgoing = _same_flow_source(ctx, token_flow)
            if not outgoing:
                sock = find_socket(
                    ctx.proxy, token_flow.local_ip, token_flow.local_port, token_flow.proto
                )
        # A token that is refused (-2) leaves the Route where it is.
        token_refused = status is TokenStatus.BAD_MAC or (outgoing is False and sock is None)
        st.add(
            "route-is-myself",
            f"{myself}: its user part is read as an outbound flow token first."
            if token_refused
            else f"{myself}: removed.",
        )
        if status is TokenStatus.BAD_MAC:
            st.add(
                "flow-token-tampered",
                f"The user part of {e1_text} decodes like an outbound flow token but its "
                "HMAC does not verify: tampered or made by another key. loose_route() returns "
                "-2 and changes nothing (RFC 5626 5.3: reject with 403).",
            )
            # Nothing changed: drop the route_params cache update as well.
            return finish(_evolve(ctx, route_params=_UNSET), -2, path="A", flow_status=flow_status)
        if status is TokenStatus.VALID and token_flow is not None:
            flow = token_flow
            if outgoing:
                # Checked before the socket: a token naming a socket this proxy does not
                # have is ignored, not rejected, when the flow itself sends (seen on 5.6.3).
                st.add(
                    "flow-token-outgoing",
                    f"The flow token in {e1_text} is valid, but the request comes from the flow "
                    f"itself ({ctx.source}): it is ignored and routing goes on normally.",
                )
            elif sock is None:
                st.add(
                    "flow-token-socket-unknown",
                    f"The flow token in {e1_text} is valid but names the local socket "
                    f"{token_flow.local_socket}, which this proxy does not listen on: -2.",
                )
                return finish(
                    _evolve(ctx, route_params=_UNSET), -2, path="A", flow_status=flow_status
                )
            else:
                use_ob = True
                fs, du = sock, token_flow.destination
                st.add(
                    "flow-token-used",
                    f"The user part of {e1_text} is a valid outbound flow token for "
                    f"{token_flow.remote_ip}:{token_flow.remote_port} over {token_flow.proto}; "
                    f"the request comes from elsewhere ({ctx.source or 'unknown'}), so it goes "
                    f"down that flow: $du = {token_flow.destination}, send socket {sock}. "
                    "Later Routes never overwrite $du; the return code will be 2.",
                )
    r2_pair = bool(rr.enable_double_rr) and is_r2(e1)
    if rr.force_send_socket and not use_ob and not r2_pair:
        sock = force_socket_for(e1, ctx.proxy)
        if sock is not None:
            fs = sock
            st.add(
                "force-send-socket",
                f"modparam force_send_socket=1: the request will leave from {sock}, "
                f"{forced_by(e1, e1_text, ctx.proxy, sock)}.",
            )
        elif (refused := sn_lookup_refused(e1, ctx.proxy)) is not None:
            st.add(
                "sn-params-refused",
                f"force_send_socket=1 and sockname_mode=1, but Kamailio's parameter parser "
                f"refuses the parameters of {e1_text} ({refused}) while looking for sn: no "
                "socket is forced.",
            )
    deleted = ctx.deleted | {pos}

    def result(
        rc: int, *, next_hop: bool = False, with_flow: bool = True, appended: bool = False
    ) -> tuple[Context, RrResult]:
        # _evolve(ctx, deleted=, route_params=, fs=, du=, next_hop_route=) spelled out:
        # this is the context almost every in-dialog request ends with.
        new: Context = _new_tuple(
            Context,
            (
                ctx.request,
                ctx.proxy,
                ctx.received_on,
                ctx.send_socket,
                ctx.source,
                ctx.ruri,
                du,
                fs,
                ctx.flags,
                deleted,
                (*ctx.appended_routes, f"<{ctx.request.uri}>") if appended else ctx.appended_routes,
                ctx.record_routes,
                ctx.rr_done,
                ctx.rr_param_buffer,
                params,
                True if next_hop else ctx.next_hop_route,
                ctx.routes,
                ctx.rr_lumps,
                ctx.emptied_routes,
            ),
        )
        if with_flow:
            return finish(new, rc, path="A", flow=flow, flow_status=flow_status)
        return finish(new, rc, path="A")

    def unusable(
        line: int, rule: str, text: str, otherwise: str = "", *, next_hop: bool
    ) -> tuple[Context, RrResult]:
        # The next Route cannot be used: -1, without this call's removals on its line.
        # next_hop: whether it was read as the next hop first (rr_next_hop_route()).
        nonlocal deleted
        kept = _not_taken(deleted, ctx.deleted, line)
        st.add(rule, text + (_NOT_TAKEN_NOTE if kept != deleted else otherwise))
        deleted = kept
        return result(-1, next_hop=next_hop, with_flow=False)

    def end_codes() -> tuple[Context, RrResult]:
        if use_ob:
            st.add(
                "flow-end",
                "No Route is left: the request goes down the flow, return code 2.",
            )
            return result(2)
        if preloaded:
            st.add(
                "preloaded-consumed",
                "No Route is left after removing this proxy's own entry of a preloaded Route "
                f"set: loose_route() returns -3 (Kamailio 5.3+). $du and the R-URI "
                f"{ctx.ruri} are unchanged, so routing continues on the R-URI. "
                "The -3 is FALSE in the config language although the Route was consumed.",
            )
            return result(-3)
        st.add(
            "last-route-consumed",
            f"No Route is left: this proxy was the last entry of the route set. Returns 1; "
            f"the next hop is the R-URI {ctx.ruri} (RFC 3261 16.12: forward to the R-URI).",
        )
        return result(1)

    nxt = walk.next(pos)
    if nxt is None:
        if walk.error:
            st.add(
                "late-parse-error",
                f"{walk.error}: loose_route() returns -1, but the removal of {e1_text} already "
                "queued is not rolled back (Kamailio applies header edits at send time).",
            )
            return result(-1)
        return end_codes()
    if r2_pair:
        e2_na, _s, _e, e2_text = walk.element(nxt)
        st.add(
            "r2-pair",
            f"{e1_text} carries r2 and enable_double_rr is on: the next entry {e2_text} is "
            "taken as the other half of this proxy's double Record-Route (RFC 5658) and removed "
            "too, without checking that it names this proxy.",
        )
        if not use_ob:
            try:
                e2 = e2_na.uri
            except SipParseError as exc:
                return unusable(
                    nxt[0],
                    "route-uri-unparsable",
                    f"{e2_text} cannot be parsed ({exc.what}): -1.",
                    next_hop=False,
                )
            sock = force_socket_for(e2, ctx.proxy)
            if sock is not None:
                fs = sock
                st.add(
                    "r2-force-socket",
                    f"The request will leave from {sock}, {forced_by(e2, e2_text, ctx.proxy, sock)}"
                    + (
                        "."
                        if rr.force_send_socket
                        else ". For the second half of an r2 pair this is done even with "
                        "force_send_socket=0."
                    ),
                )
            elif (refused := sn_lookup_refused(e2, ctx.proxy)) is not None:
                st.add(
                    "sn-params-refused",
                    f"sockname_mode=1, but Kamailio's parameter parser refuses the parameters "
                    f"of {e2_text} ({refused}) while looking for sn: no socket is forced.",
                )
            else:
                st.add(
                    "r2-socket-mismatch",
                    f"No listen socket matches {e2_text}; no socket is forced "
                    "(Kamailio logs a socket mismatch warning).",
                )
        deleted = deleted | {nxt}
        nxt2 = walk.next(nxt)
        if nxt2 is None:
            if walk.error:
                st.add(
                    "late-parse-error",
                    f"{walk.error}: returns -1; the queued removals stay.",
                )
                return result(-1)
            return end_codes()
        nxt = nxt2
    n_na, _s, _e, n_text = walk.element(nxt)
    try:
        n_uri = n_na.uri
    except SipParseError as exc:
        # Not the next hop: rr_next_hop_route() stays FALSE (RL-NHR-014).
        return unusable(
            nxt[0],
            "route-uri-unparsable",
            f"The next Route URI {n_na.uri_text} cannot be parsed ({exc.what}): -1",
            "; the queued removals stay.",
            next_hop=False,
        )
    # A Route is the next hop now: rr_next_hop_route() becomes TRUE whatever follows.
    rc_ok = 2 if use_ob else 1
    if not n_uri.is_loose:
        new = _strict_rewrite(
            ctx,
            st,
            walk,
            nxt,
            n_uri,
            n_text,
            deleted=deleted,
            route_params=params,
            fs=fs,
            du=du,
            next_hop_route=True,
        )
        if new is None:
            kept = _not_taken(deleted, ctx.deleted, nxt[0])
            if kept != deleted:
                st.add("removals-not-made", _NOT_TAKEN_NOTE.strip())
            deleted = kept
            return result(-1, next_hop=True, with_flow=False, appended=True)
        if use_ob:
            st.add("flow-keeps-du", f"$du stays the flow address {new.du}: return code 2.")
        return finish(new, rc_ok, path="A", flow=flow, flow_status=flow_status)
    if use_ob:
        st.add(
            "flow-keeps-du",
            f"The next Route {n_text} stays in the message, but $du stays the flow address "
            f"{du}: return code 2.",
        )
        return result(2, next_hop=True)
    target = _maddr_target(n_uri, n_na.uri_text)
    if target is None:
        return unusable(
            nxt[0],
            "maddr-too-long",
            f"The maddr of {n_text} is longer than 117 characters: -1.",
            next_hop=True,
        )
    local_note = ""
    if locate(n_uri, ctx.proxy).myself:
        if not rr.enable_double_rr and is_r2(e1):
            local_note = (
                " Note: that Route names this proxy again. With Route 1 it is the pair of a "
                "double Record-Route (r2), but enable_double_rr=0 makes loose_route() ignore "
                "r2, so it is taken as the next hop and the request is sent back to this "
                "proxy, which gets it again (a spiral, RFC 3261 16.3: a wasted hop). Set "
                "enable_double_rr=1 (the default)."
            )
        else:
            local_note = (
                " Note: that Route names this proxy again but has no r2 pairing, so the "
                "request will be sent back to this proxy: a spiral (RFC 3261 16.3) that "
                "costs a hop, because only two halves that both carry r2 make a pair."
            )
    st.add(
        "next-hop-loose",
        f"The next Route {n_text} is a loose router: $du becomes {target} and it stays in "
        f"the message as the next hop's own Route. Returns 1."
        + _maddr_note(n_uri, n_na.uri_text, target, "$du")
        + local_note,
    )
    du = target
    return result(1, next_hop=True)


# Said when the strict-router recovery gives up before the r2 half's removal is made.
_KEPT_NOTE = (
    "; the r2 half of Route 1 stays in the message (Kamailio removes it only once the "
    "Route after it is taken)."
)


def _after_strict(
    ctx: Context,
    st: _Steps,
    headers: tuple[RouteHeader, ...],
    e1: SipUri,
    e1_text: str,
    ruri: SipUri,
    *,
    done: _Finish,
) -> tuple[Context, RrResult]:
    finish = done
    walk = _Walk(headers)
    pos: tuple[int, int] | None = (0, 0)
    rr = ctx.proxy.rr
    ruri_text = ctx.ruri  # the R-URI the recovery replaces
    before = ctx.deleted  # what _not_taken() keeps when the candidate cannot be used
    if rr.enable_double_rr and is_r2(e1) and locate(e1, ctx.proxy).myself:
        sock = find_socket(ctx.proxy, e1.host, e1.port, _transport(e1))
        if sock is not None:
            ctx = _evolve(ctx, fs=sock)
        st.add(
            "strict-r2-myself",
            f"Route 1 {e1_text} is this proxy with r2 (the other half of its double "
            f"Record-Route): removed" + (f"; the request will leave from {sock}." if sock else "."),
        )
        ctx = _evolve(ctx, deleted=ctx.deleted | {(0, 0)})
        pos = walk.next((0, 0))
        if pos is None:
            st.add(
                "strict-r2-dead-end",
                (walk.error + ": " if walk.error else "No Route is left after it: ")
                + "returns -1, and the removal already queued stays (Kamailio does not roll "
                "back header edits).",
            )
            return finish(ctx, -1, path="S")
    assert pos is not None
    c_na, _s, _e, c_text = walk.element(pos)
    try:
        c_uri = c_na.uri
    except SipParseError as exc:
        st.add(
            "route-uri-unparsable", f"The Route URI {c_na.uri_text} cannot be parsed: {exc.what}."
        )
        return finish(_evolve(ctx, deleted=_not_taken(ctx.deleted, before, pos[0])), -1, path="S")
    # The R-URI's parameters stand for the local Route's from here on; when it has none,
    # they stay unset and are read from the first Route if that is this proxy.  (Seen on
    # 5.6.3: they are taken once the candidate's URI is read, so an r2 half with nothing
    # readable after it leaves them as they were.)  Unlike a Route's, they are kept
    # without the ';' before them: check_route_param(";lr") is FALSE on the R-URI
    # sip:127.0.0.1;lr, check_route_param("lr") TRUE (seen on 5.6.3).
    ctx = _evolve(ctx, route_params=ruri.rr_params[1:] or _UNSET)
    target = _maddr_target(c_uri, c_na.uri_text)
    if target is None:
        kept = _not_taken(ctx.deleted, before, pos[0])
        st.add(
            "maddr-too-long",
            f"The maddr of {c_text} is too long: -1" + (_KEPT_NOTE if kept != ctx.deleted else "."),
        )
        return finish(_evolve(ctx, deleted=kept), -1, path="S")
    if not c_uri.is_loose:
        deleted = set(ctx.deleted) | {(pos[0], i) for i in range(pos[1] + 1)}
        if pos[0] == len(headers) - 1 and pos[1] == len(headers[pos[0]].elements or ()) - 1:
            st.add(
                "strict-candidate-target",
                f"The only remaining Route {c_text} {_no_lr(c_uri)}: it is taken to be the "
                "remote target, which an earlier hop appended when it sent the request to a "
                "strict router (RFC 3261 12.2.1.1, 16.6 step 6), so the R-URI "
                f"becomes {target} and that Route is removed; $du is not set. No Route "
                "is left: the request leaves in loose form (strict-to-loose transition). "
                "Returns 1." + _maddr_note(c_uri, c_na.uri_text, target, "the R-URI"),
            )
        else:
            st.add(
                "strict-candidate-strict",
                f"The next Route {c_text} {_no_lr(c_uri)}: a strict router, so the R-URI "
                f"becomes {target} and that Route is removed; $du is not set and the Routes "
                "after it stay. The request leaves in strict form, as a strict router would "
                "send it. Returns 1." + _maddr_note(c_uri, c_na.uri_text, target, "the R-URI"),
            )
        return finish(_evolve(ctx, ruri=target, deleted=frozenset(deleted)), 1, path="S")
    du = target
    # $du is set, and the r2 half's removal made, before the last Route is looked for: a
    # failure from here on returns -1 with both done (seen on 5.6.3).
    ctx = _evolve(ctx, du=du)
    last = walk.last()
    if last is None:
        st.add(
            "strict-last-unreadable",
            f"$du becomes {du}, then {walk.error}: returns -1 and $du stays set "
            "(Kamailio does not undo it).",
        )
        return finish(ctx, -1, path="S")
    l_na, _s, _e, l_text = walk.element(last)
    try:
        l_uri = l_na.uri
    except SipParseError as exc:
        st.add(
            "route-uri-unparsable",
            f"$du becomes {du}, but the last Route URI {l_na.uri_text} cannot be parsed "
            f"({exc.what}): -1, and $du stays set.",
        )
        return finish(ctx, -1, path="S")
    new_ruri = _maddr_target(l_uri, l_na.uri_text)
    if new_ruri is None:
        st.add("maddr-too-long", f"The maddr of {l_text} is too long: -1 ($du stays set).")
        return finish(ctx, -1, path="S")
    # Kamailio removes the consumed r2 half with the comma after it, and the last entry
    # with the comma before it: when they are the only two of one header line, the two
    # removals leave that line as an empty "Route:" header (seen on 5.6.3).
    emptied = last == pos != (0, 0) and last[0] == 0 and len(headers[0].elements or ()) == 2
    ctx = _evolve(
        ctx,
        ruri=new_ruri,
        deleted=ctx.deleted | {last},
        emptied_routes=(ctx.emptied_routes | {0}) if emptied else ctx.emptied_routes,
    )
    empty_note = (
        " The two removals (the r2 half with the comma after it, this entry with the comma "
        "before it) leave an empty 'Route:' header line in the forwarded request."
        if emptied
        else ""
    )
    self_note = ""
    if locate(c_uri, ctx.proxy).myself:
        if not rr.enable_double_rr and is_r2(c_uri):
            self_note = (
                f" Note: {c_text} is this proxy's own address, the other half of its double "
                "Record-Route (r2), but enable_double_rr=0 makes loose_route() ignore r2, so "
                "$du points back at this proxy, which gets the request again (a spiral, RFC "
                "3261 16.3). Set enable_double_rr=1 (the default)."
            )
        else:
            # With Routes after it, RFC 3261 16.4 would remove this one as the proxy's own
            # once the R-URI is recovered; as the last one, it is what the RFC recovers.
            rfc = "" if last == pos else " (the RFC would remove it first)"
            self_note = (
                f" Note: {c_text} is this proxy's own address, yet Kamailio does not check the "
                "first Route again after the strict-router recovery, so $du points back at "
                f"this proxy{rfc}, which gets the request again (a spiral, RFC 3261 16.3). Use "
                "loose_route_mode(1) when in-dialog R-URIs can legitimately name this proxy."
            )
    if (
        ruri.user is not None
        and not rr.add_username
        and ctx.proxy.outbound is None  # its Record-Route may carry a flow token as user
        and not ruri.has_param("lr")  # lr, ftag: the marks of a Record-Route value
        and "ftag" not in ruri.param_keys
    ):
        # This proxy's Record-Route URIs have no user part: the R-URI was a target.
        self_note += (
            f" The R-URI {ruri_text} has a user part, which this proxy's Record-Route "
            "values do not: it was most likely a real target, and it is gone (the "
            "R-URI-is-myself trap; RFC 3261 16.4 recovers only a value this proxy "
            "record-routed, and would have kept it)."
        )
    maddr_note = _maddr_note(
        c_uri, c_na.uri_text, du, "$du" if last != pos else "$du and the R-URI"
    )
    if last != pos:  # (the only Route left is both: one note)
        maddr_note += _maddr_note(l_uri, l_na.uri_text, new_ruri, "the R-URI")
    if last == pos:
        st.add(
            "strict-candidate-last",
            f"The only remaining Route {c_text} is a loose router: it becomes both $du and the "
            f"R-URI and is removed from the message. Strict-to-loose transition. Returns 1."
            + maddr_note
            + empty_note
            + self_note,
        )
    else:
        st.add(
            "strict-candidate-loose",
            f"The next Route {c_text} is a loose router: $du becomes {du}. Strict-to-loose "
            f"transition: the last Route {l_text} (taken to be the remote target, which an earlier "
            "hop appended when it sent the request to a strict router) becomes the R-URI "
            f"{new_ruri} and is removed. "
            "Returns 1." + maddr_note + self_note,
        )
    return finish(ctx, 1, path="S")


def loose_route_preloaded(ctx: Context) -> tuple[Context, RrResult]:
    """``loose_route_preloaded()``: runs mode 0 and is TRUE (1) only when that gave -3.

    The edits are made either way (spec 1.2, OBS L08).
    """
    new, res = loose_route(ctx)
    rc = 1 if res.rc == -3 else -1
    step = Step(
        "preloaded-only",
        f"loose_route_preloaded() returns {rc}: it is TRUE only when loose_route() "
        f"would have returned -3 (it returned {res.rc}); the edits are made either way.",
        "loose_route_preloaded",
    )
    return new, res._replace(function="loose_route_preloaded", rc=rc, steps=(*res.steps, step))


# --------------------------------------------------------------------------
# local route parameters, is_direction(), check_route_param()


def local_route_params(ctx: Context) -> str | None:
    """The parameters of the local Route (or of the R-URI after strict recovery).

    When no loose_route() has run, Kamailio re-derives them from the first Route
    of the original message if that Route is this proxy (spec 3.11).
    """
    if ctx.route_params != _UNSET:
        return ctx.route_params
    headers = ctx.routes
    if not headers or headers[0].elements is None:
        return None
    try:
        uri = headers[0].elements[0][0].uri
    except SipParseError:
        return None
    return uri.rr_params if locate(uri, ctx.proxy).myself else None


def direction(ctx: Context) -> str:
    """``downstream`` or ``upstream`` as ``is_direction()`` computes it from ``ftag``."""
    return _direction(ctx, local_route_params(ctx))


def _direction(ctx: Context, params: str | None) -> str:
    """:func:`direction` from the local route parameters ``params``."""
    if not params:
        return "downstream"
    ftag = _generic_param(params, "ftag")
    from_tag = ctx.request.tag("From")
    if not ftag or not from_tag or ftag == from_tag:
        return "downstream"
    return "upstream"


def is_direction(ctx: Context, which: str) -> RrResult:
    """``is_direction("upstream"|"downstream")``: 1 when the request goes that way, else -1."""
    wanted = which.strip().lower()
    if wanted not in ("upstream", "downstream"):
        raise ScriptError(f"is_direction: expected upstream or downstream, got {which!r}")
    if not ctx.proxy.rr.append_fromtag:
        raise ScriptError(
            "is_direction() needs modparam append_fromtag=1 (Kamailio refuses to start)"
        )
    params = local_route_params(ctx)
    actual = _direction(ctx, params)
    rc = 1 if actual == wanted else -1
    verdict = f"is_direction({wanted}) is {'TRUE' if rc > 0 else 'FALSE'}."
    if params is None or _generic_param(params, "ftag") is None:
        where = (
            "There is no local Route (no Route of this proxy's was taken)"
            if params is None
            else "The local Route has no ftag"
        )
        text = f"{where}, so Kamailio takes the request to go downstream: {verdict}"
    else:
        # After the strict-previous-hop recovery the R-URI's parameters stand for the local
        # Route's, kept without the ';' before them (see _after_strict).
        source = (
            "The local Route's ftag"
            if params.startswith(";")
            else "The R-URI's ftag (the strict-previous-hop recovery took it for the local Route)"
        )
        text = f"{source} against the From-tag says the request goes {actual}: {verdict}"
    return RrResult("is_direction", rc, (Step("direction", text, "is_direction"),))


def rr_next_hop_route(ctx: Context) -> RrResult:
    """``rr_next_hop_route()``: 1 when a ``loose_route()`` on this message removed this
    proxy's own Route and took the Route after it as the next hop, else -1.

    The mark is made on the loose-routing path only, once the next Route's URI is parsed,
    even if that Route then cannot be used (a maddr too long); a next Route that cannot be
    parsed and the strict-previous-hop recovery never make it (RL-NHR-*).
    """
    fn = "rr_next_hop_route"
    if ctx.next_hop_route:
        text = (
            "A loose_route() on this message removed this proxy's own Route and took the "
            "Route after it as the next hop: rr_next_hop_route() is TRUE."
        )
    else:
        text = (
            "No loose_route() on this message took a Route after this proxy's own as the next "
            "hop (none ran, the first Route was another proxy's, no Route followed or it "
            "could not be parsed, or the R-URI was this proxy: a strict previous hop): "
            "rr_next_hop_route() is FALSE."
        )
    return RrResult(fn, 1 if ctx.next_hop_route else -1, (Step("next-hop-route", text, fn),))


def check_route_param(ctx: Context, pattern: str) -> RrResult:
    """``check_route_param(re)``: case-insensitive search in the local Route's parameters,
    from the ``;`` before the first (the R-URI's after strict recovery start after it).

    ``re`` is a POSIX extended regular expression, as Kamailio compiles it
    (:mod:`engine.ere`: ``[[:digit:]]`` works, ``(?i)`` stops Kamailio from starting).
    """
    try:
        regex = compile_ere(pattern)
    except (EreError, re.error, OverflowError, RecursionError) as exc:
        # EreError: what glibc's regcomp refuses (Kamailio would not start); the others
        # from Python's compiler: nesting it cannot follow, and the like.
        raise ScriptError(
            f"check_route_param: invalid regular expression {pattern[:80]!r}: "
            f"{exc if isinstance(exc, EreError | re.error) else type(exc).__name__}"
        ) from None
    params = local_route_params(ctx)
    if params is None:
        text = "There is no local Route (none of this proxy's Routes was consumed): FALSE."
        rc = -1
    elif not params:
        # Seen on 5.6.3: with no parameters nothing is searched, so even a pattern that
        # matches the empty text is FALSE (a user=phone Route has none for the rr module).
        text = "The local Route has no parameters as the rr module sees them: FALSE."
        rc = -1
    else:
        rc = 1 if regex.search(params) else -1
        text = f"{pattern!r} {'matches' if rc > 0 else 'does not match'} {params!r}."
    return RrResult("check_route_param", rc, (Step("route-param", text, "check_route_param"),))


# --------------------------------------------------------------------------
# record_route() and friends


def _username_unreadable(ctx: Context, st: _Steps) -> bool:
    """With ``add_username=1`` the record_route family reads the R-URI's user part, and an
    R-URI that cannot be parsed makes it return -1 without adding anything (seen on 5.6.3,
    RL-COVER-04 and -13 to -15; with ``add_username=0`` the same request is record-routed)."""
    if not ctx.proxy.rr.add_username:
        return False
    for uri in dict.fromkeys((ctx.request.uri, ctx.ruri)):
        try:
            parse_uri(uri)
        except SipParseError as exc:
            st.add(
                "rr-username-unparsable",
                f"add_username=1, but the R-URI {uri} cannot be parsed ({exc.what}), so "
                "Kamailio cannot take its user part: -1, no Record-Route is added.",
            )
            return True
    return False


def _rr_user(ctx: Context, st: _Steps) -> str | None:
    rr = ctx.proxy.rr
    if rr.add_username:
        # Both parse: _username_unreadable() has returned -1 for the call otherwise.
        user = parse_uri(ctx.request.uri).user or parse_uri(ctx.ruri).user
        if user:
            st.add("rr-username", f"add_username=1: the Record-Route carries the user {user}.")
        return user or None
    if ctx.proxy.outbound is not None:
        return _outbound_rr_user(ctx, st)
    return None


def _flag(ctx: Context, flag: int | None) -> bool:
    return flag is not None and bool(ctx.flags & (1 << flag))


def _fresh_token(ctx: Context) -> str | None:
    src = _source_addr(ctx.source)
    if src is None or ctx.proxy.outbound is None:
        return None
    sock = ctx.received_on
    flow = Flow(sock.proto, sock.host.strip("[]"), sock.port, src[0].strip("[]"), src[1])
    return encode_flow_token(flow, key_for(ctx.proxy.outbound))


def _outbound_rr_user(ctx: Context, st: _Steps) -> str | None:
    """When record_route() puts a flow token in the user part (spec 4.6, vectors J*)."""
    ob = ctx.proxy.outbound
    assert ob is not None
    req = ctx.request

    def fresh(why: str) -> str | None:
        token = _fresh_token(ctx)
        if token:
            st.add(
                "rr-flow-token",
                f"{why}: the Record-Route user part is a new flow token "
                f"for this request's flow ({ctx.source} via {ctx.received_on}).",
            )
        return token

    if _flag(ctx, ob.force_outbound_flag):
        return fresh(f"force_outbound_flag ({ob.force_outbound_flag}) is set")
    if _flag(ctx, ob.force_no_outbound_flag):
        st.add("rr-no-token", "force_no_outbound_flag is set: no flow token.")
        return None
    vias = req.list_values("Via")
    contact = _last_contact(req)
    if req.method.upper() == "REGISTER":
        has_reg_id = contact is not None and (
            contact.param("reg-id") is not None or _uri_param(contact, "reg-id")
        )
        if len(vias) == 1 and has_reg_id:
            return fresh("REGISTER with one Via and a Contact with reg-id")
        return None
    headers = route_headers(req)
    if headers and headers[0].elements is None:
        # The top Route line cannot be parsed: no flow token, whatever the Contact says
        # (seen on 5.6.3, differential seed 3115).
        st.add("rr-no-token", "The top Route header cannot be parsed: no flow token.")
        return None
    if headers and headers[0].elements:
        top_na = headers[0].elements[0][0]
        try:
            top = top_na.uri
        except SipParseError:
            return None
        if not locate(top, ctx.proxy).myself:
            return None
        if top.has_param("ob"):
            status, flow = inspect_flow_token(top.user, key_for(ob))
            if (
                status is TokenStatus.VALID
                and flow is not None
                and not _same_flow_source(ctx, flow)
            ):
                st.add(
                    "rr-flow-token-copied",
                    "The top Route is this proxy with ;ob and a valid flow token from another "
                    "source: the Record-Route reuses that token.",
                )
                return top.user
            return fresh("The top Route is this proxy with ;ob")
    supported = req.list_values("Supported")
    if req.header("Supported") is not None and not any(
        s.strip().lower() == "outbound" for s in supported
    ):
        return None
    if len(vias) > 1:
        return None
    if contact is not None and _uri_param(contact, "ob"):
        return fresh("The Contact URI carries ;ob and this proxy is the first hop")
    return None


def _last_contact(req: SipRequest) -> NameAddr | None:
    value = req.header("Contact")
    if value is None:
        return None
    elements = [el.text for el in split_values(value) if el.text]
    if not elements:
        return None
    try:
        return parse_name_addr(elements[-1])
    except SipParseError:
        return None


def _uri_param(na: NameAddr, name: str) -> bool:
    """True when the URI of a Contact has that parameter as the outbound module sees it:
    the name in any case, blanks after it allowed (the URI is trimmed at its '>') but
    none before (``; ob`` is no ob; seen on 5.6.3, RL-OBP-*)."""
    try:
        params = na.uri.params
    except SipParseError:
        return False
    return any(n.rstrip().lower() == name for n, _ in params)


def _rr_scheme(ctx: Context) -> str:
    if ctx.proxy.rr.ignore_sips or not ctx.ruri.lower().startswith("sips:"):
        return "sip"
    try:
        # sips:...;user=phone is a telephone URI to Kamailio, not a sips one (RL-UPHONE2-*).
        return "sip" if parse_uri(ctx.ruri).reads_as_tel else "sips"
    except SipParseError:
        return "sips"


def _rr_rfc_note(ctx: Context, scheme: str, sockets: tuple[Socket, ...]) -> str:
    """Where the Record-Route just built for ``sockets`` departs from RFC 3261 16.6 step 4,
    in words (``""`` when it does not): its scheme, and its transport parameter."""
    notes = []
    if scheme == "sip":
        if ctx.proxy.rr.ignore_sips and ctx.ruri.lower().startswith("sips:"):
            notes.append(
                "ignore_sips=1 writes sip: although the R-URI is sips:, where the RFC requires "
                "a SIPS URI"
            )
        elif ctx.routes and _any_sips(ctx.routes):  # rare: look closer
            top = _top_route_past_own(ctx)
            if top is not None and top[0].scheme == "sips":
                notes.append(
                    f"Kamailio follows only the R-URI's scheme, but the topmost Route {top[1]} "
                    "is sips:, for which the RFC requires a SIPS URI"
                )
    if sockets[0].proto != "udp" or sockets[-1].proto != "udp":  # one or two sockets
        notes.append(
            "Kamailio names the transport (;transport=) of a socket that is not UDP, so "
            "later requests come back over it; the RFC says a proxy SHOULD NOT unless it "
            "knows the next element supports that transport"
        )
    if not notes:
        return ""
    return "How RFC 3261 16.6 step 4 differs: " + "; ".join(notes) + "."


def _any_sips(routes: tuple[RouteHeader, ...]) -> bool:
    """True when a Route line may hold a sips: URI (a quick look, before parsing any)."""
    return any("sips:" in rh.value.lower() for rh in routes)


def _top_route_past_own(ctx: Context) -> tuple[SipUri, str] | None:
    """The topmost Route that will stay in the request and does not name this proxy (the
    RFC's "topmost Route after 16.4's processing"), parsed, with its text; None when
    there is none or it cannot be read."""
    for line, rh in enumerate(ctx.routes):
        if rh.elements is None:
            return None
        for idx, (na, _s, _e, text) in enumerate(rh.elements):
            if (line, idx) in ctx.deleted:
                continue
            try:
                uri = na.uri
            except SipParseError:
                return None
            if not locate(uri, ctx.proxy).myself:
                return uri, text
    return None


def _rr_ftag(ctx: Context, *, direction_aware: bool) -> str | None:
    if not ctx.proxy.rr.append_fromtag:
        return None
    if direction_aware and direction(ctx) == "upstream":
        return ctx.request.tag("To") or None
    return ctx.request.tag("From") or None


def _rr_address(sock: Socket, *, send_side: bool, sockname: bool = False) -> str:
    """The host part of record_route()'s value for a socket: its advertised address or its
    own, the port when it is not 5060 (an advertised one always on the sending side),
    ``;transport=`` for a socket that is not UDP, and with ``sockname`` (``sockname_mode=1``)
    ``;sn=<name>`` for a named socket, right there, before ``r2`` and ``lr`` (seen on 5.6.3,
    RL-SOCK-*)."""
    host = sock.advertise_host or sock.host
    if sock.advertise_port is not None:
        port = sock.advertise_port
        show = send_side or port != 5060
    else:
        port = sock.port
        show = port != 5060
    text = host + (f":{port}" if show else "")
    if sock.proto != "udp":
        proto = "ws" if sock.proto in ("ws", "wss") else sock.proto
        text += f";transport={proto}"
    if sockname and sock.name:
        text += f";sn={sock.name}"
    return text


def _sockets_differ(a: Socket, b: Socket) -> bool:
    return not (a.proto == b.proto and same_ip(a.host, b.host) and a.port == b.port)


def _filled(ctx: Context, text: str, what: str, steps: list[Step], fn: str) -> str:
    """``text`` with its pseudo-variables filled in (:mod:`engine.pv`), and a step that
    says so when it has any."""
    filled, pairs = pv.fill(text, ctx)
    if not pairs:
        return filled
    each = "; ".join(dict.fromkeys(f"{p.text} ({pv.MODELLED[p.name]}) is {v}" for p, v in pairs))
    steps.append(
        Step(
            "pv-filled",
            f"{what} {text!r} is a format: Kamailio fills in its pseudo-variables when "
            f"{fn}() runs ({each}), which gives {filled!r}.",
            fn,
        )
    )
    return filled


def record_route(ctx: Context, params: str = "") -> tuple[Context, RrResult]:
    """``record_route([params])``: insert this proxy's Record-Route (RFC 3261 16.6 step 4).

    One value for the receiving socket; with ``enable_double_rr`` a second one for the
    sending socket on top when the two differ (always with 2), both marked ``r2=on``.
    """
    st = _Steps("record_route")
    if ctx.rr_done:
        st.add(
            "rr-double-attempt",
            "This request was already record-routed: -1 "
            '("Double attempt to record-route"); the first Record-Route stays.',
        )
        return ctx, RrResult("record_route", -1, tuple(st.items))
    params = _filled(ctx, params, "The parameter text", st.items, "record_route")
    if params and not params.startswith(";"):
        st.add(
            "rr-params-no-semicolon",
            f"The parameters {params!r} do not start with ';': Kamailio appends them as "
            "written, so they run on from the parameter before them.",
        )
    rr = ctx.proxy.rr
    if _username_unreadable(ctx, st):
        return ctx, RrResult("record_route", -1, tuple(st.items))
    user = _rr_user(ctx, st)
    scheme = _rr_scheme(ctx)
    ftag = _rr_ftag(ctx, direction_aware=True)
    lr = ";lr=on" if rr.enable_full_lr else ";lr"
    rcv, snd = ctx.received_on, ctx.send_socket
    double = rr.enable_double_rr == 2 or (rr.enable_double_rr == 1 and _sockets_differ(rcv, snd))
    tail = (f";ftag={ftag}" if ftag else "") + params + ctx.rr_param_buffer

    def value(sock: Socket, send_side: bool) -> str:
        userpart = f"{user}@" if user else ""
        r2 = ";r2=on" if double else ""
        address = _rr_address(sock, send_side=send_side, sockname=bool(rr.sockname_mode))
        return f"<{scheme}:{userpart}{address}{r2}{lr}{tail}>"

    added: tuple[str, ...] = (
        (value(snd, True), value(rcv, False)) if double else (value(rcv, False),)
    )
    if double:
        why = (
            "enable_double_rr=2 always adds two"
            if rr.enable_double_rr == 2
            else f"the request arrived on {rcv} and leaves from {snd}"
        )
        st.add(
            "rr-double",
            f"Double Record-Route ({why}): {added[0]} for the sending side on top, {added[1]} "
            "for the receiving side, both marked r2=on so loose_route() later removes both "
            "(RFC 5658).",
        )
    elif snd is not rcv and _sockets_differ(rcv, snd):
        st.add(
            "rr-single",
            f"Record-Route {added[0]} inserted above the existing headers. It names only the "
            f"receiving socket {rcv}: the request leaves from {snd}, but enable_double_rr=0 "
            "adds no second Record-Route for it, so the elements on that side learn an "
            "address they may not reach (RFC 5658 asks for two here).",
        )
    else:
        st.add(
            "rr-single",
            f"Record-Route {added[0]} inserted above the existing headers "
            f"(the request arrives and leaves on {rcv}).",
        )
    rfc = _rr_rfc_note(ctx, scheme, (snd, rcv) if double else (rcv,))
    if rfc:
        st.add("rr-rfc-differs", rfc)
    if ftag:
        st.add(
            "rr-ftag",
            f"ftag={ftag} names the dialog initiator's tag, so is_direction() can tell "
            "requests from the callee (upstream) later.",
        )
    lumps = 2 if rr.enable_double_rr else 1
    new = _evolve(
        ctx,
        record_routes=added + ctx.record_routes,
        rr_done=True,
        rr_param_buffer="",
        rr_lumps=lumps,
    )
    return new, RrResult("record_route", 1, tuple(st.items), added=added)


def record_route_preset(
    ctx: Context, first: str, second: str | None = None
) -> tuple[Context, RrResult]:
    """``record_route_preset(addr1 [, addr2])``: Record-Route with a given host part (spec 4.2)."""
    st = _Steps("record_route_preset")
    if ctx.rr_done:
        st.add("rr-double-attempt", "Already record-routed: -1.")
        return ctx, RrResult("record_route_preset", -1, tuple(st.items))
    first = _filled(ctx, first, "The address", st.items, "record_route_preset")
    if second is not None:
        second = _filled(ctx, second, "The second address", st.items, "record_route_preset")
    rr = ctx.proxy.rr
    if second is not None and not rr.enable_double_rr:
        st.add(
            "rr-preset-needs-double", "Two addresses need enable_double_rr != 0: -1, nothing added."
        )
        return ctx, RrResult("record_route_preset", -1, tuple(st.items))
    if _username_unreadable(ctx, st):
        return ctx, RrResult("record_route_preset", -1, tuple(st.items))
    user = _rr_user(ctx, st)
    scheme = _rr_scheme(ctx)
    ftag = _rr_ftag(ctx, direction_aware=False)
    lr = ";lr=on" if rr.enable_full_lr else ";lr"
    userpart = f"{user}@" if user else ""
    tail = (f";ftag={ftag}" if ftag else "") + ctx.rr_param_buffer + lr
    added = tuple(f"<{scheme}:{userpart}{a}{tail}>" for a in (first, second) if a is not None)
    st.add(
        "rr-preset",
        "Record-Route " + ", ".join(added) + " inserted as given (no r2 is added "
        "for you: put ;r2=on into both addresses for a double Record-Route).",
    )
    new = _evolve(
        ctx,
        record_routes=added + ctx.record_routes,
        rr_done=True,
        rr_param_buffer="",
        rr_lumps=len(added),
    )
    return new, RrResult("record_route_preset", 1, tuple(st.items), added=added)


def record_route_advertised_address(ctx: Context, address: str) -> tuple[Context, RrResult]:
    """``record_route_advertised_address(addr)`` (spec 4.3)."""
    st = _Steps("record_route_advertised_address")
    fn = "record_route_advertised_address"
    if ctx.rr_done:
        st.add("rr-double-attempt", "Already record-routed: -1.")
        return ctx, RrResult(fn, -1, tuple(st.items))
    address = _filled(ctx, address, "The address", st.items, fn)
    rr = ctx.proxy.rr
    if _username_unreadable(ctx, st):
        return ctx, RrResult("record_route_advertised_address", -1, tuple(st.items))
    user = _rr_user(ctx, st)
    scheme = _rr_scheme(ctx)
    ftag = _rr_ftag(ctx, direction_aware=True)
    lr = ";lr=on" if rr.enable_full_lr else ";lr"
    rcv, snd = ctx.received_on, ctx.send_socket
    differ = rcv.proto != snd.proto or rr.enable_double_rr == 2
    double = bool(rr.enable_double_rr) and differ
    userpart = f"{user}@" if user else ""

    def value(sock: Socket) -> str:
        extra = ""
        if differ:
            extra = f";transport={sock.proto}" + (";r2=on" if rr.enable_double_rr else "")
        ft = f";ftag={ftag}" if ftag else ""
        return f"<{scheme}:{userpart}{address}{extra}{ft}{lr}{ctx.rr_param_buffer}>"

    added = (value(snd), value(rcv)) if double else (value(rcv),)
    st.add("rr-advertised", "Record-Route " + ", ".join(added) + " inserted.")
    new = _evolve(
        ctx,
        record_routes=added + ctx.record_routes,
        rr_done=True,
        rr_param_buffer="",
        rr_lumps=2 if rr.enable_double_rr else 1,  # as record_route(): seen on 5.6.3 (S cases)
    )
    return new, RrResult(fn, 1, tuple(st.items), added=added)


def add_rr_param(ctx: Context, param: str) -> tuple[Context, RrResult]:
    """``add_rr_param(param)``: buffered before any Record-Route, appended after (spec 4.4)."""
    fn = "add_rr_param"
    steps: list[Step] = []
    param = _filled(ctx, param, "The parameter", steps, fn)
    if not ctx.record_routes:
        buffered = ctx.rr_param_buffer + param
        if len(buffered) > MAX_RR_PARAM_BUFFER:
            steps.append(Step("rr-param-overflow", "The 512-byte buffer is full: -1.", fn))
            return ctx, RrResult(fn, -1, tuple(steps))
        steps.append(Step("rr-param-buffered", f"{param} is kept for the next Record-Route.", fn))
        return _evolve(ctx, rr_param_buffer=buffered), RrResult(fn, 1, tuple(steps))
    updated = tuple(
        v[:-1] + param + ">" if v.endswith(">") else v + param for v in ctx.record_routes
    )
    steps.append(Step("rr-param-appended", f"{param} appended to the Record-Route just added.", fn))
    rc = 1
    if ctx.proxy.rr.enable_double_rr and ctx.rr_lumps == 1:
        # Spec 4.4, OBS R07c: double-RR is on but a one-address record_route_preset built a
        # single Record-Route; the parameter is still added, yet the call is FALSE.
        rc = -1
        steps.append(
            Step(
                "rr-param-second-missing",
                "enable_double_rr is on but only one Record-Route was built (a one-address "
                "record_route_preset): Kamailio adds the parameter to it, logs a critical "
                "error about the missing second one and returns -1.",
                fn,
            )
        )
    return _evolve(ctx, record_routes=updated), RrResult(fn, rc, tuple(steps))


def remove_record_route(ctx: Context) -> tuple[Context, RrResult]:
    """``remove_record_route()``: drop this module's Record-Route insertions (flag stays)."""
    fn = "remove_record_route"
    return _evolve(ctx, record_routes=()), RrResult(
        fn, 1, (Step("rr-removed", "The Record-Route values added so far are dropped.", fn),)
    )


__all__ = [
    "PRELOADED_RC_MEANING",
    "RC_MEANING",
    "Context",
    "RouteHeader",
    "RrResult",
    "Step",
    "add_rr_param",
    "check_route_param",
    "direction",
    "force_socket_for",
    "forwarded",
    "hidden_lr",
    "is_direction",
    "is_r2",
    "local_route_params",
    "loose_route",
    "loose_route_preloaded",
    "rc_meaning",
    "record_route",
    "record_route_advertised_address",
    "record_route_preset",
    "remove_record_route",
    "route_entries",
    "route_headers",
    "rr_next_hop_route",
]
