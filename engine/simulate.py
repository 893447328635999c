"""Play a scenario hop by hop: :func:`simulate` turns a :class:`Scenario` into a :class:`Trace`.

Rule 1: this is the only module that imports all the others (h11's ``_connection``).  Every
element is a deterministic state machine: user agents follow RFC 3261 (:mod:`engine.dialog`),
Kamailio proxies run their profile (:mod:`engine.profiles`) with the rr functions of
:mod:`engine.rr`, and an RFC 2543 strict router is implemented here directly.
Rule 2: no clocks, no randomness.  Call-ID, tags and Via branches come from the scenario and
from counters, so the same scenario always gives a byte-identical trace.
Rule 3: a request that cannot go on (an unresolvable next hop, a 403/404/483 reply, a loop, a
missing dialog) ends with a step flagged ``DEAD_END``; nothing raises for a valid scenario.
Rule 4: of tm, what shows in a dialog played request after request (measured on Kamailio
5.6.3): when t_relay() cannot send, tm answers itself (477, 478 or 500) back along the Via
path; an INVITE that nothing above 100 Trying answers stays open at every Kamailio proxy
that relayed it, and an ACK of the same dialog and CSeq is absorbed at the first of them.

Simplifications, all stated in the steps' notes: responses to in-dialog requests and provisional
responses are summarised in one step each (the final response that sets up the dialog is shown
hop by hop); a BYE does not end the dialog, so a scenario may send one from each side; 100 Trying
is not shown.

>>> from engine.scenario import loads
>>> trace = simulate(loads('''{"format": 1, "title": "Direct",
...   "user_agents": [
...     {"name": "Alice", "address": "udp:192.0.2.10:5060", "contact": "sip:alice@192.0.2.10"},
...     {"name": "Bob", "address": "udp:192.0.2.20:5060", "contact": "sip:bob@192.0.2.20"}],
...   "dialog": {"method": "INVITE", "from": "Alice", "to": "Bob"},
...   "requests": [{"method": "BYE", "from": "Bob"}]}'''))
>>> trace.requests
('INVITE from Alice', 'BYE from Bob')
>>> [(s.element, s.kind.value, s.status) for s in trace.steps_of(1)]
[('Bob', 'uac', None), ('Alice', 'uas', None), ('Alice', 'response', 200)]
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from engine.dialog import (
    TARGET_REFRESH,
    Dialog,
    RouteSet,
    build_request,
    build_response,
    contact_of,
    in_dialog_request,
    is_loose,
    plan_request,
    uac_dialog,
    uas_dialog,
)
from engine.errors import EngineError, SipParseError
from engine.headers import parse_name_addr, split_values
from engine.message import Header, SipRequest, SipResponse, render
from engine.profiles import PROFILES, Kind, Preloaded, Profile
from engine.proxy import Proxy, Socket, locate
from engine.rr import (
    Context,
    RrResult,
    forwarded,
    hidden_lr,
    is_r2,
    loose_route,
    record_route,
    record_route_preset,
)
from engine.scenario import ProxyNode, RequestSpec, Scenario, UserAgent, check
from engine.trace import Decision, Flag, RrCall, StepKind, Trace, TraceStep, loose_route_flags
from engine.uri import SipUri, is_ip, is_number, parse_uri, same_ip

MAX_HOPS = 100
# The replies Kamailio 5.6.3's tm sends itself when t_relay() cannot send a request.
_TM_REPLIES = {
    477: "Unfortunately error on sending to next hop occurred (477/TM)",
    478: "Unresolvable destination (478/TM)",
    500: "I'm terribly sorry, server error occurred (7/TM)",
}
_FLAG_ORDER = {f: i for i, f in enumerate(Flag)}


# --------------------------------------------------------------------------
# addresses and the name table


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a message arrives: the element and its socket (``proto:host:port``)."""

    element: str
    socket: Socket


@dataclass(frozen=True, slots=True)
class _Nowhere:
    """Why a URI leads to no element, and what a Kamailio proxy does about it.

    ``address``: the address the URI names, where it names one.  ``silent``: it is an
    element's address on a port nobody listens on, which a proxy still sends to (UDP: the
    datagram goes, no answer ever comes back).  Otherwise the proxy cannot send at all and
    its tm answers the request itself with ``status`` (seen on Kamailio 5.6.3 runs: 477 when
    the address is on no element, so the send fails, 478 for a name it cannot resolve, 500
    when it has no socket for the transport or family), or with an error not measured here
    (``status`` None).
    """

    reason: str
    address: Socket | None = None
    silent: bool = False
    status: int | None = None


def _is_v6(host: str) -> bool:
    return ":" in host


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "x"


class _Network:
    """Who listens where, and how names resolve (the scenario's name table; never real DNS)."""

    def __init__(self, scenario: Scenario) -> None:
        self.agents = {u.name: u for u in scenario.user_agents}
        self.proxies = {p.name: p for p in scenario.proxies}
        self.names = {host.lower(): node for host, node in scenario.names}
        self.cache: dict[str, Endpoint | _Nowhere] = {}

    def resolve(self, uri_text: str) -> Endpoint | _Nowhere:
        """:meth:`lookup`, remembered per URI text (the network does not change in a run)."""
        found = self.cache.get(uri_text)
        if found is None:
            found = self.cache[uri_text] = self.lookup(uri_text)
        return found

    def has_address(self, host: str) -> bool:
        """Whether an element has this IP address (on any port or transport)."""
        return any(same_ip(u.address.host, host) for u in self.agents.values()) or any(
            same_ip(sock.host, host) for p in self.proxies.values() for sock in p.listen
        )

    def lookup(self, uri_text: str) -> Endpoint | _Nowhere:
        """The element a URI leads to, or the reason it leads nowhere.

        RFC 3263 in miniature: ``maddr`` overrides the host, ``transport`` (else UDP, TLS for
        sips) picks the protocol, the port defaults to 5060 (5061 for TLS), a host name is
        looked up in the name table.
        """
        try:
            uri = parse_uri(uri_text)
        except SipParseError as exc:
            return _Nowhere(f"{uri_text} cannot be parsed ({exc.what})")
        if not uri.is_sip:
            return _Nowhere(f"{uri_text} is not a sip: URI, so it names no address to send to")
        maddr = uri.param("maddr")
        host = maddr or uri.host
        transport = uri.param("transport")
        proto = transport.lower() if transport else ("tls" if uri.scheme == "sips" else "udp")
        port = uri.port or _default_port(proto)
        how = f"maddr {maddr}" if maddr else host
        if is_ip(host):
            for u in self.agents.values():
                if same_ip(u.address.host, host) and u.address.port == port:
                    return Endpoint(u.name, Socket(proto, u.address.host, port))
            for p in self.proxies.values():
                found = _proxy_socket(p, proto, port, host)
                if found is not None:
                    return Endpoint(p.name, found)
            reason = f"nothing listens on {proto}:{_bracket(host)}:{port} ({uri_text})"
            if self.has_address(host):
                return _closed_port(reason, Socket(proto, host, port))
            # No element has the address: sending to it fails at once (477 over UDP).
            address = Socket(proto, host, port)
            return _Nowhere(reason, address, status=477 if proto == "udp" else None)
        node = self.names.get(host.lower())
        if node is None:
            return _Nowhere(
                f"{host} is not in the name table, so {uri_text} cannot be resolved "
                "(RouteLab never uses real DNS)",
                status=478,
            )
        if node in self.agents:
            u = self.agents[node]
            if u.address.port != port:
                return _closed_port(
                    f"{how} is {node}, but {node} listens on port {u.address.port}, not {port}",
                    Socket(proto, u.address.host, port),
                )
            return Endpoint(node, Socket(proto, u.address.host, port))
        found = _proxy_socket(self.proxies[node], proto, port, None)
        if found is None:
            return _closed_port(
                f"{how} is {node}, but {node} has no {proto} socket on port {port}",
                Socket(proto, self.proxies[node].listen[0].host, port),
            )
        return Endpoint(node, found)


def _closed_port(reason: str, address: Socket) -> _Nowhere:
    """An element's address on a port or transport it does not listen on: over UDP a proxy
    sends there all the same and no answer comes; over TCP or TLS its connection fails and
    tm answers with an error (not measured here)."""
    return _Nowhere(reason, address, silent=address.proto == "udp")


def _bracket(host: str) -> str:
    return f"[{host}]" if _is_v6(host) and not host.startswith("[") else host


def _proxy_socket(node: ProxyNode, proto: str, port: int, host: str | None) -> Socket | None:
    for s in node.listen:
        if s.proto != proto or port not in (s.port, s.advertise_port):
            continue
        if host is None or same_ip(host, s.host):
            return s
        if s.advertise_host is not None and same_ip(host, s.advertise_host):
            return s
    return None


def _send_socket(node: ProxyNode, dest: Socket, arrived: Socket | None = None) -> Socket | None:
    """The socket Kamailio sends from without a forced socket (mhomed=0): for UDP the socket
    the request arrived on, when the destination has its address family (each UDP socket has
    its own receiving process; seen on 5.6.3, chain check named-sockets-between-two-networks),
    else the first one listed with the destination's protocol and family."""
    if arrived is not None and arrived.proto == "udp" == dest.proto:
        for s in node.listen:
            if (
                s.proto == "udp"
                and s.port == arrived.port
                and same_ip(s.host, arrived.host)
                and s.is_ipv6 == _is_v6(dest.host)
            ):
                return s
    for s in node.listen:
        if s.proto == dest.proto and s.is_ipv6 == _is_v6(dest.host):
            return s
    return None


def _suited(node: ProxyNode, forced: Socket, dest: Socket) -> Socket | None:
    """The socket a forced send socket (r2, force_send_socket, a flow token) sends from
    towards ``dest``, as Kamailio 5.6.3 does it (seen on runs, tests/differential's chain
    checks): the forced socket itself when its transport and address family suit; for
    another transport, the proxy's socket of that transport on the same address and port;
    None when neither suits (Kamailio then ignores the forced socket)."""
    if forced.proto != dest.proto:
        same_place = [
            s
            for s in node.listen
            if s.proto == dest.proto and s.port == forced.port and same_ip(s.host, forced.host)
        ]
        if not same_place:
            return None
        forced = same_place[0]
    return forced if forced.is_ipv6 == _is_v6(dest.host) else None


def _sent_by(sock: Socket) -> str:
    """``host[:port]`` of a socket as it goes into a Via or a strict router's Record-Route:
    the port is left out only when it is the transport's default (5061 for TLS, else 5060;
    RFC 3261 18.2.1 and 19.1.2), so that reading it back gives the same socket."""
    host = sock.advertise_host or sock.host
    port = sock.advertise_port or sock.port
    return host + (f":{port}" if port != _default_port(sock.proto) else "")


def _default_port(proto: str) -> int:
    return 5061 if proto.lower() == "tls" else 5060


def _via(sock: Socket, proto: str, branch: str) -> str:
    return f"SIP/2.0/{proto.upper()} {_sent_by(sock)};branch={branch}"


# --------------------------------------------------------------------------
# small message helpers


def _max_forwards(request: SipRequest) -> int | None:
    value = (request.header("Max-Forwards") or "").strip()
    return int(value) if is_number(value) else None


def _outgoing(request: SipRequest, via: str, *, drop_routes: bool = False) -> SipRequest:
    """Decrement the (first) Max-Forwards, put this element's Via on top of the Via headers.

    Every request simulated here has a Via and a numeric Max-Forwards above 0 by the time it
    is forwarded: user agents write both (:func:`engine.dialog.build_request`), proxies keep
    them, and a Max-Forwards of 0 is answered (or an ACK dropped) before forwarding.
    """
    headers: list[Header] = []
    via_done = mf_done = False
    for h in request.headers:
        key = h.key
        if drop_routes and key == "route":
            continue
        if key == "via" and not via_done:
            headers.append(Header("Via", via))
            via_done = True
        if key == "max-forwards" and not mf_done:
            mf_done = True
            value = h.value.strip()
            if is_number(value) and int(value) > 0:
                h = Header(h.name, str(int(value) - 1))
        headers.append(h)
    return SipRequest(
        headers=tuple(headers),
        body=request.body,
        method=request.method,
        uri=request.uri,
        version=request.version,
    )


def _transaction_key(message: SipRequest | SipResponse) -> tuple[tuple[str, str, str], str]:
    """What tm matches an ACK to an unanswered INVITE transaction by: Call-ID, CSeq number
    and From tag, then the To tag (seen on Kamailio 5.6.3 runs: the Via branch plays no
    part, a different To tag, From tag or CSeq number does).  A response carries the To tag
    its request may have lacked, so answers are found by the first three alone."""
    cseq = (message.header("CSeq") or "").split()
    call = (message.header("Call-ID") or "", cseq[0] if cseq else "", message.tag("From"))
    return call, message.tag("To")


def _pop_via(response: SipResponse) -> SipResponse:
    headers = list(response.headers)
    for i, h in enumerate(headers):
        if h.key != "via":
            continue
        parts = split_values(h.value)
        if len(parts) > 1:
            headers[i] = Header(h.name, h.value[parts[1].start :])
        else:
            del headers[i]
        break
    return replace(response, headers=tuple(headers))


def _cseq_method(message: SipResponse) -> str:
    parts = (message.header("CSeq") or "").split()
    return parts[-1] if parts else ""


def _uri_of(value: str) -> str:
    try:
        return parse_name_addr(value).uri_text
    except SipParseError:
        return value.strip().strip("<>")


def _is_local(value: str, proxy: Proxy) -> bool:
    try:
        return locate(parse_uri(_uri_of(value)), proxy).myself
    except SipParseError:
        return False


class _Routes:
    """Route values per message, read once: messages are immutable values, so a message's
    identity (kept alive with its entry) names its Route values for the whole run."""

    def __init__(self) -> None:
        self.cache: dict[int, tuple[SipRequest, tuple[str, ...]]] = {}

    def __call__(self, message: SipRequest) -> tuple[str, ...]:
        hit = self.cache.get(id(message))
        if hit is None or hit[0] is not message:
            hit = (message, message.list_values("Route"))
            self.cache[id(message)] = hit
        return hit[1]


def _call(function: str, call: str, rc: int, rule: str, text: str) -> RrCall:
    """A script action that is not an rr function (reply, relay, lookup ...), as a trace call."""
    return RrCall(call, rc, "", (Decision(rule, function, text),))


def _rr_call(text: str, res: RrResult) -> RrCall:
    meaning = res.meaning
    return RrCall(
        text, res.rc, meaning, tuple(Decision(s.rule, s.function, s.text) for s in res.steps)
    )


def _hidden_lr(uri_text: str) -> str:
    """:func:`engine.rr.hidden_lr` for a URI's text (nothing when it cannot be parsed)."""
    try:
        return hidden_lr(parse_uri(uri_text))
    except SipParseError:
        return ""


def _lookup(node: ProxyNode, ruri: SipUri) -> str | None:
    for aor, contact in node.location:
        try:
            a = parse_uri(aor)
        except SipParseError:  # pragma: no cover - validated on load
            continue
        if a.user == ruri.user and a.host.lower() == ruri.host.lower():
            return contact
    return None


# --------------------------------------------------------------------------
# one proxy hop


@dataclass
class _Hop:
    """What one element did with a request (internal, mutable while it is built)."""

    calls: list[RrCall] = field(default_factory=list)
    flags: set[Flag] = field(default_factory=set)
    ruri: str = ""
    du: str | None = None
    fs: Socket | None = None
    removed: list[str] = field(default_factory=list)
    appended: str | None = None
    added: tuple[str, ...] = ()
    reply: tuple[int, str] | None = None
    drop: str | None = None
    relay: SipRequest | None = None  # the request as it leaves, before Via and Max-Forwards
    drop_routes: bool = False
    record_routed: bool = False
    notes: list[str] = field(default_factory=list)
    security: str | None = None
    target: str | None = None  # a non-Kamailio element's next hop when it is not the R-URI


class _Script:
    """Runs one Kamailio profile for one request at one proxy."""

    def __init__(self, node: ProxyNode, proxy: Proxy, profile: Profile) -> None:
        self.node = node
        self.proxy = proxy
        self.profile = profile
        self.local: dict[str, bool] = {}

    def is_local(self, value: str) -> bool:
        """Whether a Route value names this proxy (remembered per value)."""
        found = self.local.get(value)
        if found is None:
            found = self.local[value] = _is_local(value, self.proxy)
        return found

    def run(
        self, request: SipRequest, received_on: Socket, send_socket: Socket, source: str
    ) -> _Hop:
        node, profile = self.node, self.profile
        method = request.method
        hop = _Hop(ruri=request.uri)
        mf = _max_forwards(request)
        if mf == 0:
            # RFC 3261 16.3 step 3; the default config answers with sl_send_reply(), which
            # sends nothing for an ACK.
            reply = 'sl_send_reply("483", "Too Many Hops")'
            if method == "ACK":
                _drop_ack(
                    hop, "mf_process_maxfwd_header", 'mf_process_maxfwd_header("10")',
                    "max-forwards-exhausted", 483, "Too Many Hops", rc=-1,
                )  # fmt: skip
                return hop
            hop.calls.append(
                _call(
                    "mf_process_maxfwd_header",
                    'mf_process_maxfwd_header("10")',
                    -1,
                    "max-forwards-exhausted",
                    "Max-Forwards is 0: the request may not be forwarded again "
                    f"(RFC 3261 16.3 step 3): {reply}.",
                )
            )
            hop.reply = (483, "Too Many Hops")
            return hop
        ctx = Context.start(
            request, self.proxy, received_on=received_on, send_socket=send_socket, source=source
        )
        if request.tag("To"):
            ctx, res = self._loose_route(ctx, hop)
            if res.rc > 0:
                if method in profile.record_route_in_dialog:
                    ctx = self._record_route(ctx, hop, in_dialog=True)
                return self._relay(ctx, hop)
            if res.rc == -2:
                return self._reply(
                    hop, *profile.flow_token_rejected, "flow-token-rejected", method=method
                )
            if method == "ACK":
                return _drop(
                    hop,
                    _call(
                        "t_check_trans",
                        "t_check_trans()",
                        -1,
                        "ack-discarded",
                        "loose_route() did not route the ACK and no transaction matches it "
                        "(t_check_trans() fails for the ACK of a 2xx): it is discarded silently.",
                    ),
                )
            return self._reply(hop, *profile.not_routed, "not-routed", method=method)
        has_route = bool(ctx.routes)
        if has_route and profile.preloaded is Preloaded.DENY:
            hop.calls.append(
                _call(
                    "is_present_hf",
                    'is_present_hf("Route")',
                    1,
                    "preload-denied",
                    "An initial request (no To-tag) with a Route header: this profile "
                    "refuses to be steered by a caller's preloaded Route set.",
                )
            )
            return self._reply(hop, 403, "Preload Route denied", "preload-denied", method=method)
        if has_route and profile.preloaded is Preloaded.REMOVE:
            values = tuple(request.list_values("Route"))
            hop.removed.extend(values)
            hop.drop_routes = True
            hop.calls.append(
                _call(
                    "remove_hf",
                    'remove_hf("Route")',
                    1,
                    "remove-preloaded-routes",
                    f"Initial request: the preloaded Route header(s) {', '.join(values)} are "
                    "removed, as Kamailio's default config does, so a caller cannot steer "
                    "this proxy. Routing goes on with the R-URI.",
                )
            )
        if profile.preloaded is Preloaded.HONOUR:
            ctx, res = self._loose_route(ctx, hop, initial=True)
            if res.rc in (1, 2):
                if method in profile.record_route:
                    ctx = self._record_route(ctx, hop)
                if res.rc == 1 and has_route:
                    target = ctx.du or ctx.ruri
                    hop.security = (
                        f"The caller's preloaded Route set decides where {node.name} sends this "
                        f"initial request ({target}): without authentication first, anyone can "
                        f"use {node.name} to reach hosts that trust it (open relay, "
                        "authorization bypass)."
                    )
                return self._relay(ctx, hop)
            if res.rc == -2:
                return self._reply(
                    hop, *profile.flow_token_rejected, "flow-token-rejected", method=method
                )
        if method in profile.record_route:
            ctx = self._record_route(ctx, hop)
        return self._route_initial(ctx, hop)

    # -- pieces -------------------------------------------------------------

    def _loose_route(
        self, ctx: Context, hop: _Hop, *, initial: bool = False
    ) -> tuple[Context, RrResult]:
        mode = self.node.loose_route_mode
        ctx, res = loose_route(ctx, mode=mode)
        text = f"loose_route_mode({mode})" if mode else "loose_route()"
        hop.calls.append(_rr_call(text, res))
        hop.removed.extend(res.removed)
        if res.appended:
            hop.appended = res.appended
        hop.flags |= loose_route_flags(
            res, self.is_local, initial_without_route=initial and not ctx.routes
        )
        return ctx, res

    def _record_route(self, ctx: Context, hop: _Hop, *, in_dialog: bool = False) -> Context:
        preset = self.node.record_route_preset
        if preset:
            second = preset[1] if len(preset) > 1 else None
            ctx, res = record_route_preset(ctx, preset[0], second)
            text = "record_route_preset(" + ", ".join(f'"{a}"' for a in preset) + ")"
        else:
            params = self.node.record_route_params
            ctx, res = record_route(ctx, params)
            text = f'record_route("{params}")' if params else "record_route()"
        hop.calls.append(_rr_call(text, res))
        hop.record_routed = True
        hop.added = res.added
        if len(res.added) == 1:
            hop.flags.add(Flag.RECORD_ROUTE)
        elif len(res.added) > 1:
            hop.flags.add(Flag.DOUBLE_RECORD_ROUTE)
        if in_dialog and res.added:
            hop.notes.append(
                f"The default config record-routes in-dialog {ctx.request.method} requests "
                "(RFC 6665); the dialog's route set does not change."
            )
        return ctx

    def _route_initial(self, ctx: Context, hop: _Hop) -> _Hop:
        node = self.node
        try:
            ruri = parse_uri(ctx.ruri)
        except SipParseError:
            ruri = None
        if ruri is not None and ruri.is_sip and locate(ruri, self.proxy).myself:
            if not ruri.user:
                return self._reply(
                    hop, 484, "Address Incomplete", "no-user", method=ctx.request.method
                )
            contact = _lookup(node, ruri)
            if contact is None:
                hop.calls.append(
                    _call(
                        "lookup",
                        'lookup("location")',
                        -1,
                        "location-not-found",
                        f"The R-URI {ctx.ruri} is this proxy's domain, and the location "
                        "service has no contact for it.",
                    )
                )
                return self._reply(
                    hop, 404, "Not Found", "location-not-found", method=ctx.request.method
                )
            hop.calls.append(
                _call(
                    "lookup",
                    'lookup("location")',
                    1,
                    "location-found",
                    f"The R-URI {ctx.ruri} is this proxy's domain: the location service "
                    f"rewrites it to the registered contact {contact} (RFC 3261 16.5).",
                )
            )
            ctx = ctx._replace(ruri=contact)
        elif node.forward_to and ctx.du is None:
            hop.calls.append(
                _call(
                    "$du",
                    f'$du = "{node.forward_to}"',
                    1,
                    "forward-to",
                    f"The R-URI {ctx.ruri} is not this proxy's: the config sends initial "
                    f"requests for other domains to {node.forward_to} ($du), leaving the "
                    "R-URI alone.",
                )
            )
            ctx = ctx._replace(du=node.forward_to)
        return self._relay(ctx, hop)

    def _relay(self, ctx: Context, hop: _Hop) -> _Hop:
        hop.ruri, hop.du, hop.fs = ctx.ruri, ctx.du, ctx.fs
        out = forwarded(ctx)
        hop.relay = out
        target = ctx.du or ctx.ruri
        via = "$du" if ctx.du else "the R-URI"
        hop.calls.append(
            _call(
                "t_relay",
                "t_relay()",
                1,
                "relay",
                f"The request is relayed to {via}: {target}.",
            )
        )
        return hop

    def _reply(self, hop: _Hop, status: int, reason: str, rule: str, *, method: str) -> _Hop:
        call = f'sl_send_reply("{status}", "{reason}")'
        if method == "ACK":
            _drop_ack(hop, "sl_send_reply", call, rule, status, reason)
            return hop
        hop.reply = (status, reason)
        hop.calls.append(
            _call(
                "sl_send_reply",
                call,
                1,
                rule,
                f"The proxy answers {status} {reason} and the request goes no further.",
            )
        )
        return hop


def _drop_ack(
    hop: _Hop, function: str, call: str, rule: str, status: int, reason: str, *, rc: int = 1
) -> None:
    """An ACK the script would answer with ``status``: nothing answers an ACK (RFC 3261 17),
    and Kamailio's sl_send_reply() sends nothing for one, so the ACK is dropped silently."""
    _drop(
        hop,
        _call(
            function,
            call,
            rc,
            rule,
            f'The script answers with sl_send_reply("{status}", "{reason}") here, but an ACK '
            "never gets a response (RFC 3261 17): sl_send_reply() sends nothing for an ACK, so "
            "the ACK is dropped silently and goes no further.",
        ),
    )


def _drop(hop: _Hop, call: RrCall) -> _Hop:
    """The request goes no further and nothing answers it: ``call`` (the last) says why."""
    hop.drop = call.decisions[-1].text
    hop.calls.append(call)
    return hop


def _strict_router(node: ProxyNode, request: SipRequest, received_on: Socket) -> _Hop:
    """An RFC 2543 strict router: R-URI := top Route (removed); record-routes without lr."""
    hop = _Hop(ruri=request.uri)
    if _max_forwards(request) == 0:
        if request.method == "ACK":
            return _drop(
                hop,
                _call(
                    "rfc2543",
                    "Max-Forwards check",
                    -1,
                    "max-forwards-exhausted",
                    "Max-Forwards is 0, so the ACK may not be forwarded again (RFC 3261 16.3 "
                    "step 3), and an ACK never gets a response: it is dropped silently.",
                ),
            )
        hop.calls.append(
            _call(
                "rfc2543",
                "Max-Forwards check",
                -1,
                "max-forwards-exhausted",
                "Max-Forwards is 0: 483 Too Many Hops.",
            )
        )
        hop.reply = (483, "Too Many Hops")
        return hop
    routes = request.list_values("Route")
    if routes:
        top = routes[0]
        new_ruri = _uri_of(top)
        headers: list[Header] = []
        done = False
        for h in request.headers:
            if h.key == "route" and not done:
                done = True
                rest = [el.text for el in split_values(h.value)][1:]
                if rest:
                    headers.append(Header(h.name, ", ".join(rest)))
                continue
            headers.append(h)
        hop.removed.append(top)
        hop.ruri = new_ruri
        hop.calls.append(
            _call(
                "rfc2543",
                "strict routing (RFC 2543)",
                1,
                "rfc2543-strict-route",
                f"A strict router replaces the R-URI {request.uri} with the top Route "
                f"{new_ruri}, removes that Route and forwards to the new R-URI. It never "
                "looks for lr: the R-URI it received was its own Record-Route URI.",
            )
        )
        hop.relay = SipRequest(
            headers=tuple(headers),
            body=request.body,
            method=request.method,
            uri=new_ruri,
            version=request.version,
        )
        return hop
    out = request
    initial = not request.tag("To")
    profile = PROFILES[node.profile]
    if initial and request.method in profile.record_route:
        addr = _sent_by(received_on)
        if received_on.proto != "udp":
            addr += f";transport={received_on.proto}"
        value = f"<sip:{addr}>"
        hop.added = (value,)
        hop.flags.add(Flag.RECORD_ROUTE)
        out = replace(out, headers=(Header("Record-Route", value), *out.headers))
        hop.calls.append(
            _call(
                "rfc2543",
                "Record-Route (RFC 2543)",
                1,
                "rfc2543-record-route",
                f"Record-Route {value} inserted: an RFC 2543 proxy's URI has no lr, so "
                "RFC 3261 elements will treat it as a strict router.",
            )
        )
    try:
        ruri = parse_uri(out.uri)
    except SipParseError:
        ruri = None
    proxy = node.as_proxy()
    if initial and ruri is not None and ruri.is_sip and locate(ruri, proxy).myself:
        contact = _lookup(node, ruri)
        if contact is None:
            hop.calls.append(
                _call(
                    "rfc2543",
                    "location lookup",
                    -1,
                    "location-not-found",
                    f"No contact is registered for {out.uri}: 404 Not Found.",
                )
            )
            hop.reply = (404, "Not Found")
            return hop
        out = out.with_uri(contact)
        hop.calls.append(
            _call(
                "rfc2543",
                "location lookup",
                1,
                "location-found",
                f"The R-URI becomes the registered contact {contact}.",
            )
        )
    elif node.forward_to:
        hop.target = node.forward_to
        hop.calls.append(
            _call(
                "rfc2543",
                "forward",
                1,
                "forward-to",
                f"Initial requests for other domains go to {node.forward_to}.",
            )
        )
    hop.ruri = out.uri
    hop.relay = out
    return hop


# --------------------------------------------------------------------------
# the run


@dataclass(frozen=True, slots=True)
class _Arrival:
    element: str
    request: SipRequest
    chain: tuple[str, ...]  # elements that put a Via on the request, sender first


class _Run:
    """The mutable state of one simulation (internal; simulate() returns frozen values)."""

    def __init__(self, scenario: Scenario) -> None:
        self.sc = scenario
        self.net = _Network(scenario)
        self.steps: list[TraceStep] = []
        self.proxies = {p.name: p.as_proxy() for p in scenario.proxies}
        self.scripts = {
            p.name: _Script(p, self.proxies[p.name], PROFILES[p.profile]) for p in scenario.proxies
        }
        self.contacts = {u.name: u.contact for u in scenario.user_agents}
        self.dialogs: dict[str, Dialog] = {}
        self.branches: dict[str, int] = {}
        caller = scenario.user_agent(scenario.dialog.sender)
        assert caller is not None
        digest = hashlib.sha1(scenario.title.encode("utf-8")).hexdigest()
        self.call_id = scenario.call_id or f"{digest[:12]}@{caller.address.host.strip('[]')}"
        self.index = 0
        self.label = ""
        self.renders: dict[int, tuple[SipRequest | SipResponse, str]] = {}
        self.routes = _Routes()
        # The INVITE transactions each Kamailio proxy's tm holds that nothing above 100 Trying
        # has answered yet (the request was dropped further on without a reply): Call-ID,
        # CSeq number and From tag -> the INVITE's To tag (_transaction_key()).  An ACK of
        # the same dialog and CSeq is matched to one of them and absorbed (see proxy_hop).
        self.unanswered: dict[str, dict[tuple[str, str, str], str]] = {}

    # -- helpers -------------------------------------------------------------

    def tag(self, ua: str) -> str:
        return f"{_slug(ua)}-tag"

    def branch(self, element: str) -> str:
        n = self.branches.get(element, 0) + 1
        self.branches[element] = n
        return f"z9hG4bK-{_slug(element)}-{n}"

    def text(self, message: SipRequest | SipResponse | None) -> str:
        if message is None:
            return ""
        # Keyed by identity; the message is kept alive with its text so the id stays unique.
        cached = self.renders.get(id(message))
        if cached is None or cached[0] is not message:
            cached = (message, render(message))
            self.renders[id(message)] = cached
        return cached[1]

    def add(self, **kw: object) -> TraceStep:
        for name in ("message_in", "message_out"):
            value = kw.get(name)
            if not isinstance(value, str):
                kw[name] = self.text(value)  # type: ignore[arg-type]
        flags = kw.get("flags", ())
        assert isinstance(flags, set | tuple | list)
        kw["flags"] = tuple(sorted(set(flags), key=_FLAG_ORDER.__getitem__))
        step = TraceStep(index=len(self.steps), request=self.index, label=self.label, **kw)  # type: ignore[arg-type]
        self.steps.append(step)
        return step

    def answered(self, message: SipRequest | SipResponse, chain: tuple[str, ...]) -> None:
        """A response above 100 to ``message`` (the request, or the response itself) went
        back through the proxies in ``chain`` (sender first): their tm transactions for it
        are answered."""
        if isinstance(message, SipResponse) and message.status <= 100:
            return
        transaction, _to_tag = _transaction_key(message)
        for element in chain[1:]:
            self.unanswered.get(element, {}).pop(transaction, None)

    def local_reply(
        self,
        request: SipRequest,
        element: str,
        chain: tuple[str, ...],
        status: int,
        reason: str,
        replier: str,
    ) -> dict[str, Any]:
        """The step fields of ``element`` answering ``request`` itself (its ``replier``, sl or
        tm, adds the To tag): the response and its way back through ``chain``, whose
        transactions it answers."""
        self.answered(request, chain)
        response = build_response(request, status, to_tag=f"{_slug(element)}-{replier}")
        path = (element, *reversed(chain))
        return {
            "message_out": replace(response, reason=reason),
            "status": status,
            "next_element": path[1] if len(path) > 1 else None,
            "path": path,
        }

    def stopped(self, hop: _Hop, flags: set[Flag]) -> dict[str, object]:
        """The step fields of a request the script relayed that goes no further."""
        return {
            "flags": flags | {Flag.DEAD_END},
            # remove_hf("Route") took the Route headers out: they do not leave with the request.
            "routes_after": (
                self.routes(hop.relay) if hop.relay is not None and not hop.drop_routes else ()
            ),
            "next_hop": hop.du or hop.target or hop.ruri,
        }

    def ua_socket(self, ua: UserAgent, dest: Socket) -> Socket | None:
        if ua.address.is_ipv6 != _is_v6(dest.host):
            return None
        return Socket(dest.proto, ua.address.host, ua.address.port)

    # -- requests ------------------------------------------------------------

    def play(self) -> Trace:
        sc = self.sc
        labels = [f"{sc.dialog.method} from {sc.dialog.sender}"]
        labels += [f"{r.method} from {r.sender}" for r in sc.requests]
        self.label = labels[0]
        self.initial(sc.dialog)
        for i, spec in enumerate(sc.requests, start=1):
            self.index, self.label = i, labels[i]
            self.in_dialog(spec)
        return Trace(
            title=sc.title, steps=tuple(self.steps), requests=tuple(labels), warnings=warnings(sc)
        )

    def initial(self, spec: RequestSpec) -> None:
        caller = self.sc.user_agent(spec.sender)
        callee = self.sc.user_agent(spec.recipient)
        assert caller is not None
        assert callee is not None
        ruri = spec.request_uri or callee.address_of_record
        routes = spec.route or ()
        if routes:
            next_hop, why = _uri_of(routes[0]), f"the top Route {routes[0]} (its preloaded route)"
            if not is_loose(next_hop, lr_on_as_strict=caller.lr_on_as_strict):
                why += " -- a strict first Route: RouteLab sends to it all the same"
        elif caller.outbound_proxy:
            next_hop, why = caller.outbound_proxy, f"its outbound proxy {caller.outbound_proxy}"
        else:
            next_hop, why = ruri, "the R-URI (no Route, no outbound proxy)"
        display = f'"{caller.display}" ' if caller.display else ""
        callee_display = f'"{callee.display}" ' if callee.display else ""

        def make(via: str) -> SipRequest:
            return build_request(
                method=spec.method,
                request_uri=ruri,
                via=via,
                from_=f"{display}<{caller.address_of_record}>;tag={self.tag(caller.name)}",
                to=f"{callee_display}<{callee.address_of_record}>",
                call_id=self.call_id,
                cseq=1,
                routes=routes,
                contact=self.contacts[caller.name],
                max_forwards=spec.max_forwards,
                extra=spec.headers,
                route_style=caller.route_style,
            )

        note = f"{caller.name} sends the {spec.method} to {why} (RFC 3261 8.1.2)."
        arrival, sent = self.send(caller, make, next_hop, note, spec=spec)
        if arrival is None or sent is None:
            return
        self.answer_initial(spec, arrival, sent)

    def send(
        self,
        ua: UserAgent,
        make: Callable[[str], SipRequest],
        next_hop: str,
        note: str,
        *,
        spec: RequestSpec,
        route_set: tuple[str, ...] = (),
        remote_target: str | None = None,
    ) -> tuple[_Arrival | None, SipRequest | None]:
        """The UAC step, then the request's trip hop by hop."""
        dest = self.net.resolve(next_hop)
        sock = None if isinstance(dest, _Nowhere) else self.ua_socket(ua, dest.socket)
        if isinstance(dest, _Nowhere) or sock is None:
            why = (
                dest.reason
                if isinstance(dest, _Nowhere)
                else f"{ua.name} has no socket of that family"
            )
            request = make(_via(ua.address, "udp", self.branch(ua.name)))
            self.add(
                element=ua.name,
                kind=StepKind.UAC,
                method=spec.method,
                message_in="",
                message_out=request,
                next_hop=next_hop,
                ruri_after=request.uri,
                routes_after=self.routes(request),
                flags={Flag.DEAD_END},
                route_set=route_set,
                remote_target=remote_target,
                note=f"{note} Dead end: {why}.",
            )
            return None, None
        request = make(_via(sock, dest.socket.proto, self.branch(ua.name)))
        self.add(
            element=ua.name,
            kind=StepKind.UAC,
            method=spec.method,
            message_in="",
            message_out=request,
            next_element=dest.element,
            next_hop=next_hop,
            next_address=str(dest.socket),
            sent_from=str(sock),
            ruri_after=request.uri,
            routes_after=self.routes(request),
            route_set=route_set,
            remote_target=remote_target,
            note=note,
        )
        return self.travel(ua.name, request, dest, sock), request

    def travel(
        self, sender: str, request: SipRequest, dest: Endpoint, src: Socket
    ) -> _Arrival | None:
        chain = [sender]
        seen: dict[str, set[tuple[str, tuple[str, ...]]]] = {}
        current = request
        for _ in range(MAX_HOPS):
            element = dest.element
            if element in self.net.agents:
                return _Arrival(element, current, tuple(chain))
            key = (current.uri, self.routes(current))
            flags: set[Flag] = set()
            loop_note = ""
            if element in seen:
                if key in seen[element]:
                    self.add(
                        element=element,
                        kind=StepKind.PROXY,
                        method=current.method,
                        message_in=current,
                        message_out="",
                        received_on=str(dest.socket),
                        ruri_before=current.uri,
                        ruri_after=current.uri,
                        routes_before=key[1],
                        routes_after=key[1],
                        flags={Flag.LOOP, Flag.DEAD_END},
                        note=(
                            f"Loop: the {current.method} reaches {element} again with the same "
                            "R-URI and Route set, so it would go round until Max-Forwards runs "
                            "out"
                            + (
                                " and then be dropped, since nobody answers an ACK (RFC 3261 17)."
                                if current.method == "ACK"
                                else " and someone answers 483 Too Many Hops."
                            )
                            + " RFC 3261 16.3 calls this a loop, not a spiral. RouteLab stops it "
                            "here."
                        ),
                    )
                    # The 483 at the end answers the proxies' transactions (an ACK opens none).
                    self.answered(current, (*chain, element))
                    return None
                flags.add(Flag.SPIRAL)
                # Said first: what the proxy then does (a reply, say) follows from it.
                loop_note = (
                    f"The request came back to {element}, which already handled it: RFC 3261 "
                    "16.3 calls this a spiral, not a loop (the R-URI or Route set changed), and "
                    "Kamailio processes it again. "
                )
            seen.setdefault(element, set()).add(key)
            outcome = self.proxy_hop(
                element, current, dest.socket, src, tuple(chain), flags, loop_note
            )
            if outcome is None:
                return None
            current, dest, src = outcome
            chain.append(element)
        self.add(
            element=dest.element,
            kind=StepKind.PROXY,
            method=current.method,
            message_in=current,
            message_out="",
            flags={Flag.DEAD_END, Flag.LOOP},
            note=f"RouteLab stops after {MAX_HOPS} hops.",
        )
        self.answered(current, tuple(chain))
        return None

    def proxy_hop(
        self,
        element: str,
        request: SipRequest,
        arrived: Socket,
        src: Socket,
        chain: tuple[str, ...],
        flags: set[Flag],
        loop_note: str,
    ) -> tuple[SipRequest, Endpoint, Socket] | None:
        node = self.net.proxies[element]
        profile = PROFILES[node.profile]
        common: dict[str, object] = {
            "element": element,
            "kind": StepKind.PROXY,
            "method": request.method,
            "message_in": request,
            "received_on": str(arrived),
            "ruri_before": request.uri,
            "routes_before": self.routes(request),
        }
        try:
            if profile.kind is Kind.RFC2543_STRICT:
                hop = _strict_router(node, request, arrived)
            else:
                hop = self.scripts[element].run(request, arrived, arrived, str(src))
            result = self.next_hop(element, node, hop, arrived)
            if isinstance(result, tuple) and result[1] != arrived and hop.record_routed:
                # record_route() builds the sending side's value from the socket the request
                # really leaves from: run the script again with that socket (it is pure).
                hop = self.scripts[element].run(request, arrived, result[1], str(src))
                result = self.next_hop(element, node, hop, arrived)
        except EngineError as exc:  # pragma: no cover - a valid scenario does not get here
            self.add(
                **common,
                message_out="",
                flags=flags | {Flag.DEAD_END},
                note=f"RouteLab cannot go on: {exc}",
            )
            return None
        flags |= hop.flags
        if hop.security:
            flags.add(Flag.SECURITY)
        notes = [*hop.notes]
        if hop.security:
            notes.append(hop.security)
        fields: dict[str, object] = {
            **common,
            "ruri_after": hop.ruri,
            "du_after": hop.du,
            "forced_socket": str(hop.fs) if hop.fs else None,
            "routes_removed": tuple(hop.removed),
            "route_appended": hop.appended,
            "record_routes_added": hop.added,
            "rr_calls": tuple(hop.calls),
        }
        transaction, to_tag = _transaction_key(request)
        tm = profile.kind is Kind.KAMAILIO
        if (
            tm
            and request.method == "ACK"
            and hop.reply is None
            and hop.drop is None
            and hop.relay is not None
            and self.unanswered.get(element, {}).get(transaction) == to_tag
        ):
            self.add(
                **fields,
                **self.stopped(hop, flags),
                message_out="",
                note=loop_note
                + " ".join(
                    [
                        f"t_relay() does not send the ACK on: {element}'s tm still holds the "
                        f"INVITE with CSeq {transaction[1]} of this dialog, which nothing but 100 "
                        "Trying has answered (no reply came back from further on). "
                        "Kamailio 5.6.3 takes this ACK for that transaction's own ACK and "
                        "absorbs it, ending the transaction, though its Via branch is not the "
                        "INVITE's; RFC 3261 17.2.3 matches an ACK to an INVITE transaction by "
                        "that branch, so a proxy following the RFC would send this ACK on.",
                        *notes,
                    ]
                ),
            )
            return None
        if hop.reply is not None:
            status, reason = hop.reply
            reply = self.local_reply(request, element, chain, status, reason, "sl")
            self.add(
                **fields,
                **reply,
                flags=flags | {Flag.DEAD_END},
                routes_after=(),
                note=loop_note
                + " ".join(
                    [
                        f"{element} answers {status} {reason}: the request ends here; "
                        f"the reply travels back along the Via path "
                        f"({' -> '.join(reply['path'])}).",
                        *notes,
                    ]
                ),
            )
            return None
        if hop.drop is not None or hop.relay is None:
            self.add(
                **fields,
                message_out="",
                flags=flags | {Flag.DEAD_END},
                routes_after=(),
                note=loop_note + (hop.drop or "The request goes no further."),
            )
            return None
        assert isinstance(result, tuple | _Nowhere)
        sent = not isinstance(result, _Nowhere) or result.silent
        if tm and sent and request.method == "INVITE":
            # tm sent the INVITE on: its transaction waits for an answer (and so do those of
            # the proxies before) until one above 100 Trying comes back through it.
            self.unanswered.setdefault(element, {})[transaction] = to_tag
        if isinstance(result, _Nowhere):
            if tm and result.silent:
                notes.append(
                    f"Kamailio sends it to {result.address} all the same, and no answer "
                    "comes: only after its fr_timer would tm answer 408 Request Timeout."
                )
            elif tm:
                # tm cannot send it: it answers the request itself, back through every
                # proxy before (an ACK gets no answer; some errors are not measured here).
                if result.status is None or request.method == "ACK":
                    self.answered(request, chain)
                else:
                    reason = _TM_REPLIES[result.status]
                    reply = self.local_reply(request, element, chain, result.status, reason, "tm")
                    self.add(
                        **fields,
                        **reply,
                        **self.stopped(hop, flags),
                        note=loop_note
                        + " ".join(
                            [
                                f"Dead end: {result.reason}. Kamailio's tm cannot send the "
                                f"{request.method} and answers {result.status} {reason} itself; "
                                "the reply travels back along the Via path "
                                f"({' -> '.join(reply['path'])}).",
                                *notes,
                            ]
                        ),
                    )
                    return None
            self.add(
                **fields,
                **self.stopped(hop, flags),
                message_out="",
                note=loop_note + " ".join([f"Dead end: {result.reason}.", *notes]),
            )
            return None
        dest, sock, socket_note = result
        if socket_note is not None:
            notes.append(socket_note)
        out = _outgoing(
            hop.relay, _via(sock, sock.proto, self.branch(element)), drop_routes=hop.drop_routes
        )
        target = hop.du or hop.target or hop.ruri
        source = "$du" if hop.du else "its forwarding target" if hop.target else "the R-URI"
        summary = (
            f"{element} sends the {request.method} to {dest.element} ({dest.socket}), "
            f"resolved from {source} {target}."
        )
        self.add(
            **fields,
            message_out=out,
            flags=flags,
            routes_after=self.routes(out),
            next_element=dest.element,
            next_hop=target,
            next_address=str(dest.socket),
            sent_from=str(sock),
            note=loop_note + " ".join([summary, *notes]),
        )
        return out, dest, sock

    def next_hop(
        self, element: str, node: ProxyNode, hop: _Hop, arrived: Socket | None = None
    ) -> tuple[Endpoint, Socket, str | None] | _Nowhere:
        """Where the request goes and the socket it leaves from (with a note when that is not
        the forced socket), or why it cannot go on."""
        if hop.relay is None:
            return _Nowhere("no request to send")
        target = hop.du or hop.target or hop.ruri
        dest = self.net.resolve(target)
        if isinstance(dest, _Nowhere):
            if dest.address is not None and _send_socket(node, dest.address) is None:
                return replace(dest, silent=False, status=500)  # nothing to send it from
            return dest
        note = None
        if hop.fs is not None:
            forced = _suited(node, hop.fs, dest.socket)
            if forced is hop.fs:
                return dest, forced, None
            if forced is not None:
                note = (
                    f"The forced socket {hop.fs} speaks {hop.fs.proto.upper()}, but "
                    f"{dest.socket} needs {dest.socket.proto.upper()}: Kamailio sends from "
                    f"{forced}, the {dest.socket.proto.upper()} socket of the same address and "
                    "port."
                )
                return dest, forced, note
            why = (
                f"is {'IPv6' if hop.fs.is_ipv6 else 'IPv4'} and {dest.socket} is not"
                if hop.fs.proto == dest.socket.proto
                else f"speaks {hop.fs.proto.upper()} and {element} has no "
                f"{dest.socket.proto.upper()} socket on {hop.fs.host}:{hop.fs.port}"
            )
            note = (
                f"the forced socket {hop.fs} {why}: Kamailio ignores it (it logs a mismatch "
                "warning)"
            )
        sock = _send_socket(node, dest.socket, arrived)
        if sock is None:
            family = "IPv6" if _is_v6(dest.socket.host) else "IPv4"
            cannot = f"{element} has no {dest.socket.proto} {family} socket to reach {dest.socket}"
            return _Nowhere(cannot if note is None else f"{note}, and {cannot}", status=500)
        if note is not None:
            note = f"{note[0].upper()}{note[1:]} and sends from {sock}, as without one."
        return dest, sock, note

    # -- answers ---------------------------------------------------------------

    def answer_initial(self, spec: RequestSpec, arrival: _Arrival, sent: SipRequest) -> None:
        ua = self.net.agents[arrival.element]
        req = arrival.request
        statuses = spec.answers(initial=True)
        to_tag = self.tag(ua.name)
        contact = self.contacts[ua.name]
        final = statuses[-1]
        uas = uas_dialog(req, local_tag=to_tag, local_target=contact) if final < 300 else None
        leftover = self.routes(req)
        extra = (
            f" Route values are left ({', '.join(leftover)}): a UA does not process Route."
            if leftover
            else ""
        )
        self.add(
            element=ua.name,
            kind=StepKind.UAS,
            method=req.method,
            message_in=req,
            message_out="",
            ruri_before=req.uri,
            routes_before=leftover,
            route_set=uas.route_set.uris if uas else (),
            remote_target=uas.remote_target if uas else None,
            note=(
                f"{ua.name} receives the {req.method} and answers "
                f"{', '.join(map(str, statuses))}."
                + (
                    f" Its dialog (RFC 3261 12.1.1): route set = the Record-Route values in "
                    f"order ({', '.join(uas.route_set.uris) or 'empty'}), remote target = the "
                    f"Contact {uas.remote_target}."
                    if uas
                    else " No dialog is set up."
                )
                + extra
            ),
        )
        for status in statuses[:-1]:
            resp = build_response(req, status, to_tag=to_tag, contact=contact)
            self.summary(ua.name, resp, arrival.chain, note="A provisional response.")
        response = build_response(req, final, to_tag=to_tag, contact=contact)
        received = self.hops_back(ua.name, response, arrival.chain)
        caller = self.net.agents[arrival.chain[0]]
        if uas is None:
            self.add(
                element=caller.name,
                kind=StepKind.RESPONSE,
                method=req.method,
                message_in=received,
                message_out="",
                status=final,
                flags={Flag.DEAD_END},
                note=f"{caller.name} gets {final}: no dialog, so later requests cannot be sent.",
            )
            return
        self.dialogs[ua.name] = uas
        uac = uac_dialog(sent, received, local_target=self.contacts[caller.name])
        self.dialogs[caller.name] = uac
        rr = received.list_values("Record-Route")
        self.add(
            element=caller.name,
            kind=StepKind.RESPONSE,
            method=req.method,
            message_in=received,
            message_out="",
            status=final,
            route_set=uac.route_set.uris,
            remote_target=uac.remote_target,
            note=(
                f"{caller.name} receives the {final}. Its dialog (RFC 3261 12.1.2): route set = "
                f"the Record-Route values in reverse ({', '.join(uac.route_set.uris) or 'empty'}"
                f"{'' if rr else ': no proxy record-routed'}), remote target = the Contact "
                f"{uac.remote_target}. The route set is now fixed for the dialog."
            ),
        )

    def hops_back(
        self, responder: str, response: SipResponse, chain: tuple[str, ...]
    ) -> SipResponse:
        """The final response hop by hop along the Via path; returns it as the UAC gets it."""
        self.answered(response, chain)
        proxies = list(reversed(chain[1:]))
        nxt = proxies[0] if proxies else chain[0]
        self.add(
            element=responder,
            kind=StepKind.RESPONSE,
            method=_cseq_method(response),
            message_in="",
            message_out=response,
            status=response.status,
            next_element=nxt,
            note=(
                f"{responder} sends {response.status} {response.reason} to the top Via ({nxt}); "
                + (
                    "it copies the request's Record-Route values in order (RFC 3261 12.1.1)."
                    if 101 <= response.status <= 299
                    else "a response that sets up no dialog carries no Record-Route (RFC 3261 "
                    "12.1.1 copies them into 101..299 responses only)."
                )
            ),
        )
        current = response
        for i, element in enumerate(proxies):
            out = _pop_via(current)
            nxt = proxies[i + 1] if i + 1 < len(proxies) else chain[0]
            self.add(
                element=element,
                kind=StepKind.RESPONSE,
                method=_cseq_method(current),
                message_in=current,
                message_out=out,
                status=current.status,
                next_element=nxt,
                note=(
                    f"{element} removes its own Via and sends the {current.status} on to the "
                    f"next Via ({nxt}); Record-Route passes unchanged (RFC 3261 16.7)."
                ),
            )
            current = out
        return current

    def summary(
        self, responder: str, response: SipResponse, chain: tuple[str, ...], *, note: str
    ) -> SipResponse:
        """One step for a response's whole way back; returns it as the UAC gets it."""
        self.answered(response, chain)
        received = response
        for _ in chain[1:]:
            received = _pop_via(received)
        path = (responder, *reversed(chain))
        self.add(
            element=responder,
            kind=StepKind.RESPONSE,
            method=_cseq_method(response),
            message_in="",
            message_out=response,
            status=response.status,
            next_element=chain[0],
            path=path,
            note=(
                f"{response.status} {response.reason} travels back along the Via path "
                f"({' -> '.join(path)}), each proxy removing its own Via. {note}"
            ),
        )
        return received

    def in_dialog(self, spec: RequestSpec) -> None:
        ua = self.net.agents[spec.sender]
        dialog = self.dialogs.get(ua.name)
        if dialog is None:
            self.add(
                element=ua.name,
                kind=StepKind.UAC,
                method=spec.method,
                message_in="",
                message_out="",
                flags={Flag.DEAD_END},
                note=f"{ua.name} has no dialog (it was never set up), so it cannot send "
                f"the {spec.method}.",
            )
            return
        if spec.contact is not None:
            self.contacts[ua.name] = spec.contact
            dialog = replace(dialog, local_target=spec.contact)
        route_set = None if spec.route is None else RouteSet.from_route_values(spec.route)
        used = dialog.route_set if route_set is None else route_set
        target = dialog.remote_target if spec.request_uri is None else spec.request_uri
        plan = plan_request(used, target, lr_on_as_strict=ua.lr_on_as_strict)
        holder: list[Dialog] = []

        def make(via: str) -> SipRequest:
            new, request, _ = in_dialog_request(
                dialog,
                spec.method,
                via=via,
                max_forwards=spec.max_forwards,
                extra=spec.headers,
                route_style=ua.route_style,
                plan=plan,
            )
            holder[:] = [new]
            return request

        first = used.uris[0] if used.uris else ""
        # A stack that knows only a bare ;lr reads lr=on as no lr (ua.lr_on_as_strict): the
        # RFC's rule does not make that route strict, the stack does.
        misread = plan.strict and ua.lr_on_as_strict and is_loose(first)
        how = (
            "no route set: R-URI = remote target, no Route"
            if not used.uris
            else (
                f"{ua.name}'s stack does not recognise the lr=on of the first route {first} "
                "and treats it as a strict router (Kamailio reads lr with any value as a loose "
                "router's mark; lr=on is an older spelling some proxies still write), so it "
                "builds the request by 12.2.1.1's strict branch: R-URI "
                "= that route, Route = the rest with the remote target appended last"
                if misread
                else f"the first route {first} is strict{_hidden_lr(first)}: R-URI = that "
                "route, Route = the rest with the remote target appended last"
                if plan.strict
                else f"the first route {first} is loose: R-URI = remote target, Route = the "
                "route set"
            )
        )
        edited = " The route set was edited by hand for this request." if route_set else ""
        refresh = f" New Contact {spec.contact} (a target refresh)." if spec.contact else ""
        note = (
            f"{ua.name} builds the {spec.method} from the dialog (RFC 3261 12.2.1.1): {how}; "
            f"it sends it to {plan.next_hop} (8.1.2).{edited}{refresh}"
            + (f" {spec.note}" if spec.note else "")
        )
        arrival, sent = self.send(
            ua,
            make,
            plan.next_hop,
            note,
            spec=spec,
            route_set=used.uris,
            remote_target=target,
        )
        if holder:
            self.dialogs[ua.name] = holder[0]
        if arrival is None or sent is None:
            return
        self.answer_in_dialog(spec, arrival)

    def answer_in_dialog(self, spec: RequestSpec, arrival: _Arrival) -> None:
        ua = self.net.agents[arrival.element]
        req = arrival.request
        dialog = self.dialogs.get(ua.name)
        matches = (
            dialog is not None
            and dialog.call_id == (req.header("Call-ID") or "")
            and dialog.local_tag == req.tag("To")
            and dialog.remote_tag == req.tag("From")
        )
        common: dict[str, object] = {
            "element": ua.name,
            "kind": StepKind.UAS,
            "method": req.method,
            "message_in": req,
            "ruri_before": req.uri,
            "routes_before": self.routes(req),
        }
        if not matches or dialog is None:
            if req.method == "ACK":
                self.add(
                    **common,
                    message_out="",
                    flags={Flag.DEAD_END},
                    note=f"{ua.name} has no dialog for this ACK and drops it.",
                )
                return
            resp = build_response(req, 481, to_tag=self.tag(ua.name))
            self.add(
                **common,
                message_out="",
                flags={Flag.DEAD_END},
                status=481,
                note=f"{ua.name} has no matching dialog: 481.",
            )
            self.summary(ua.name, resp, arrival.chain, note="The request failed.")
            return
        refreshed = ""
        new_contact = contact_of(req)
        if req.method in TARGET_REFRESH and new_contact and new_contact != dialog.remote_target:
            dialog = dialog.refreshed(new_contact)
            self.dialogs[ua.name] = dialog
            refreshed = (
                f" Target refresh: the remote target becomes {new_contact}; the route set stays "
                "as it was (RFC 3261 12.2.2)."
            )
        leftover = self.routes(req)
        extra = f" Route values are left ({', '.join(leftover)})." if leftover else ""
        statuses = spec.answers(initial=False)
        self.add(
            **common,
            message_out="",
            route_set=dialog.route_set.uris,
            remote_target=dialog.remote_target,
            note=(
                f"{ua.name} receives the {req.method}"
                + (f" and answers {statuses[0]}." if statuses else " (no response to an ACK).")
                + refreshed
                + extra
            ),
        )
        if not statuses:
            return
        resp = build_response(req, statuses[0], contact=self.contacts[ua.name])
        sender = arrival.chain[0]
        note = ""
        received_contact = contact_of(resp)
        sender_dialog = self.dialogs.get(sender)
        if (
            sender_dialog is not None
            and 200 <= resp.status < 300
            and req.method in TARGET_REFRESH
            and received_contact
            and received_contact != sender_dialog.remote_target
        ):
            self.dialogs[sender] = sender_dialog.refreshed(received_contact)
            note = f"{sender}'s remote target becomes {received_contact} (target refresh)."
        self.summary(ua.name, resp, arrival.chain, note=note or f"{sender} receives it.")


# --------------------------------------------------------------------------
# public functions


def simulate(scenario: Scenario) -> Trace:
    """Play the scenario's dialog hop by hop and return the trace.

    The dialog-creating request goes first, its responses travel back along the Via path, then
    each in-dialog request is built from the sender's dialog state and played.  Deterministic:
    the same scenario always gives an equal trace.  A scenario edited with
    :func:`dataclasses.replace` is validated first (:func:`engine.scenario.check`), so bad input
    raises :class:`~engine.errors.ScenarioError` and nothing else.

    >>> from engine.scenario import RequestSpec, Scenario
    >>> bad = Scenario(title="t", dialog=RequestSpec(method="INVITE", sender="A", recipient="B"))
    >>> simulate(bad)
    Traceback (most recent call last):
    ...
    engine.errors.ScenarioError: dialog.from: 'A' is not a user agent
    """
    check(scenario)
    return _Run(scenario).play()


def _preset_has_r2(address: str) -> bool:
    """Whether loose_route() will see an r2 parameter on a record_route_preset() address
    (:func:`engine.rr.is_r2`).  An address with a pseudo-variable is known only at run time:
    it gets the benefit of the doubt."""
    if "$" in address:
        return True
    try:
        uri = parse_uri(f"sip:{address}")
    except SipParseError:  # pragma: no cover - validated on load
        return False
    return is_r2(uri)


def warnings(scenario: Scenario) -> tuple[str, ...]:
    """Configuration problems worth a learner's attention, one sentence each.

    >>> from engine.scenario import loads
    >>> s = loads('''{"format": 1, "title": "t",
    ...   "user_agents": [{"name": "A", "address": "udp:192.0.2.1:5060", "contact": "sip:a@x"}],
    ...   "proxies": [{"name": "P", "listen": ["udp:192.0.2.2:5060"],
    ...                "outbound": {"flow_token_secret": "s3cret"}}],
    ...   "dialog": {"method": "INVITE", "from": "A", "to": "A"}}''')
    >>> print(warnings(s)[0])  # doctest: +ELLIPSIS
    P: flow_token_secret is ignored by Kamailio 5.6.3...
    """
    out: list[str] = []
    for node in scenario.proxies:
        profile = PROFILES[node.profile]
        name = node.name
        proxy = node.as_proxy()
        if profile.preloaded is Preloaded.HONOUR:
            out.append(
                f"{name}: profile {profile.name} follows the Route headers a caller puts into an "
                f"initial request, so anyone can make {name} relay to any host it can reach (an "
                "open relay that also bypasses checks made on the R-URI); Kamailio's default "
                'config removes them with remove_hf("Route").'
            )
        if node.outbound is not None:
            if node.outbound.flow_token_secret:
                out.append(
                    f"{name}: flow_token_secret is ignored by Kamailio 5.6.3 (the HMAC key is "
                    "SHA1 of the empty string whatever the secret says; fixed in 5.8), so anyone "
                    "can forge flow tokens."
                )
            else:
                out.append(
                    f"{name}: no flow_token_secret: Kamailio draws a random key at each start, "
                    "so flow tokens of existing dialogs fail (-2) after a restart. RouteLab "
                    "uses the fixed key 5.6.3 uses with a secret."
                )
        if profile.kind is Kind.KAMAILIO and not node.loose_route_mode:
            for ua in scenario.user_agents:
                try:
                    uri = parse_uri(ua.contact)
                except SipParseError:  # pragma: no cover - validated on load
                    continue
                loc = locate(uri, proxy)
                if loc.myself:
                    out.append(
                        f"{name}: {ua.name}'s Contact {ua.contact} is an address of {name} "
                        f"({loc.reason()}), so in-dialog requests to {ua.name} look to "
                        "loose_route() as if a strict router had put this proxy into the "
                        "R-URI; use loose_route_mode(1)."
                    )
        if len(node.record_route_preset) == 2 and not all(
            _preset_has_r2(a) for a in node.record_route_preset
        ):
            out.append(
                f"{name}: record_route_preset() with two addresses does not add ;r2=on: "
                "loose_route() will remove only the first one and send in-dialog requests back "
                f"to {name} itself."
            )
        families = {(s.proto, s.is_ipv6) for s in node.listen}
        if not node.rr.enable_double_rr and len(families) > 1:
            out.append(
                f"{name}: enable_double_rr=0 with sockets of different protocols or address "
                "families: the Record-Route names only the receiving side, which the other "
                "side of the dialog may not reach."
            )
    return tuple(out)


__all__ = ["Endpoint", "simulate", "warnings"]
