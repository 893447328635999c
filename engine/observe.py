"""Observed traffic: dialogs found in a capture, and what each proxy did with an in-dialog request
compared with what Kamailio 5.6.3's ``loose_route()`` says it should have done.

Rule 1: pure.  ``gui/capture.py`` reads the files and hands over :class:`CapturedMessage` values
(or, when only listing, raw payload bytes to a :class:`DialogCatalog`); nothing here touches a
file, a clock or a socket.
Rule 2: traffic is evidence, never an error.  A message that cannot be parsed is kept, shown and
reported; a dialog that cannot become a scenario still becomes an observed trace.  Nothing a
capture contains makes these functions raise.
Rule 3: a prediction is the rr engine's own, run at a :class:`~engine.proxy.Proxy` built from what
the capture shows of that element: the addresses it sent from and received on, and the names in
the Via and Record-Route values it inserted.  The comparison is in the words of the trace: "P2
sent the BYE to 10.0.0.5:5060, but its route set says sip:p3.example.com;lr".

How elements are found: every transport address (``ip:port``) is one element, and addresses are
merged when the traffic shows they are one proxy: a request (or response) that arrived on one
address left from another with the arriving message's Via list under a new top Via (the Via
branch parameters match), the sent-by of a Via names the sender's IP with another port (TCP
clients), or the Record-Route values a proxy inserted name another captured address (double
record-routing, RFC 5658).  An element that forwarded a request (it sent a request under a
second Via) is a proxy, every other element a user agent.

>>> inv = ("INVITE sip:bob@192.0.2.20 SIP/2.0\\r\\n"
...        "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa\\r\\n"
...        "From: <sip:alice@a.example>;tag=1\\r\\nTo: <sip:bob@b.example>\\r\\n"
...        "Call-ID: c1\\r\\nCSeq: 1 INVITE\\r\\nContent-Length: 0\\r\\n\\r\\n")
>>> obs = observe([CapturedMessage(1, 0.0, "192.0.2.10:5060", "192.0.2.20:5060", "udp", inv)])
>>> [(e.name, e.role) for e in obs.elements]
[('alice', 'caller'), ('bob', 'callee')]
>>> call_id_of(inv.encode())
'c1'
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache, partial

import networkx as nx

from engine.catalog import (
    CapturedMessage,
    DialogCatalog,
    DialogSummary,
    call_id_bytes,
    call_id_of,
    search,
    sip_offset,
)
from engine.dialog import TARGET_REFRESH, RouteSet
from engine.errors import EngineError, ScenarioError, SipParseError
from engine.headers import parse_name_addr, split_values, tag_param
from engine.message import SipRequest, SipResponse, parse_message
from engine.outbound import TokenStatus, inspect_flow_token, key_for
from engine.proxy import Alias, Outbound, Proxy, Socket, locate
from engine.rr import RC_MEANING, Context, RrResult, loose_route, route_entries
from engine.scenario import (
    DIALOG_METHODS,
    MAX_ITEMS,
    ProxyNode,
    RequestSpec,
    Scenario,
    UserAgent,
    dumps,
    is_call_id,
    is_element_name,
    is_method,
    loads,
)
from engine.trace import Decision, Flag, RrCall, StepKind, Trace, TraceStep, loose_route_flags
from engine.uri import SipUri, is_ip, is_number, parse_uri

#: The transports a capture may show a SIP message on.
TRANSPORTS = ("udp", "tcp", "tls", "sctp", "ws", "wss")
#: Those that open a connection from a client port (an ephemeral one, not a listen socket).
CONNECTIONS = frozenset({"tcp", "tls", "ws", "wss"})

# --------------------------------------------------------------------------
# observed messages


def normal_address(text: str) -> str:
    """An address as RouteLab compares addresses: ``host:port``, IPv6 compressed in brackets.

    >>> normal_address("[2001:DB8:0::1]:5060"), normal_address("P1.Example.com:5070")
    ('[2001:db8::1]:5060', 'p1.example.com:5070')
    """
    text = text.strip()
    if not text:
        return ""
    host, port = _split_address(text)
    return _address(host, port)


def _split_address(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        end = text.find("]")
        host = text[1:end] if end > 0 else text[1:]
        rest = text[end + 1 :] if end > 0 else ""
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") > 1:  # a bare IPv6 address (sipdump, sngrep): the port is last
        host, _, port = text.rpartition(":")
        if not is_number(port):
            host, port = text, ""
    else:
        host, _, port = text.partition(":")
    return host, int(port) if is_number(port) and len(port) <= 5 else None


def _address(host: str, port: int | None, default: int = 5060) -> str:
    host = host.strip().strip("[]").lower()
    if ":" in host:
        try:
            host = f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            host = f"[{host}]"
    return f"{host}:{default if port is None else port}"


def _host_of(address: str) -> str:
    return address.rsplit(":", 1)[0]


def _port_of(address: str) -> int:
    tail = address.rsplit(":", 1)[-1]
    return int(tail) if is_number(tail) and len(tail) <= 5 else 5060


@dataclass(frozen=True, slots=True)
class _Via:
    transport: str
    sent_by: str  # normalised address
    key: str  # the branch, else the whole value: what ties a forwarded copy to its original
    received: str  # where a response goes back to (received/rport, else sent-by)


_VIA = re.compile(
    r"\s*SIP\s*/\s*2\.0\s*/\s*([A-Za-z0-9-]+)\s+(\[[^\]]*\]|[^;:\s]+)(?:\s*:\s*([0-9]{1,5}))?\s*(.*)",
    re.DOTALL,
)


def _parse_via(value: str) -> _Via | None:
    m = _VIA.match(value)
    if m is None:
        return None
    transport, host, port, rest = m.groups()
    params: dict[str, str] = {}
    for piece in rest.split(";")[1:]:
        name, _, val = piece.partition("=")
        params.setdefault(name.strip().lower(), val.strip())
    port_num = int(port) if port else None
    sent_by = _address(host, port_num)
    branch = params.get("branch", "")
    received_host = params.get("received") or host
    rport = params.get("rport", "")
    back = _address(received_host, int(rport) if is_number(rport) and len(rport) <= 5 else port_num)
    return _Via(transport.lower(), sent_by, branch or value.strip(), back)


class _M:
    """One observed message with what the analysis needs (internal, filled step by step)."""

    __slots__ = (
        "cap",
        "cseq",
        "dst",
        "error",
        "i",
        "method",
        "msg",
        "retransmission_of",
        "rr",
        "src",
        "status",
        "text",
        "to_tag",
        "transport",
        "vias",
    )

    def __init__(self, i: int, cap: CapturedMessage) -> None:
        self.i = i
        self.cap = cap
        self.text = _crlf(cap.text)
        self.msg: SipRequest | SipResponse | None = None
        self.error = ""
        self.method = "?"
        self.status: int | None = None
        self.cseq = ""
        self.vias: tuple[_Via, ...] = ()
        self.to_tag = ""
        self.rr: tuple[str, ...] = ()
        self.src = normal_address(cap.src)
        self.dst = normal_address(cap.dst)
        self.transport = cap.transport.lower()
        self.retransmission_of: int | None = None
        try:
            self.msg = parse_message(self.text)
        except SipParseError as exc:
            self.error = str(exc)
            first = self.text.split("\r\n", 1)[0]
            self.method = first.split(" ", 1)[0][:20] if first else "?"
            return
        msg = self.msg
        cseq = (msg.header("CSeq") or "").split()
        self.cseq = " ".join(cseq[:2])
        if isinstance(msg, SipRequest):
            self.method = msg.method
        else:
            self.status = msg.status
            self.method = cseq[1] if len(cseq) > 1 else "?"
        vias = []
        for value in msg.list_values("Via"):
            via = _parse_via(value)
            if via is not None:
                vias.append(via)
        self.vias = tuple(vias)
        if not self.transport and vias:
            self.transport = vias[0].transport
        self.to_tag = tag_param(msg.header("To"))
        self.rr = tuple(v.strip() for v in msg.list_values("Record-Route") if v.strip())

    @property
    def request(self) -> SipRequest | None:
        return self.msg if isinstance(self.msg, SipRequest) else None

    @property
    def top_key(self) -> str:
        return self.vias[0].key if self.vias else ""


def _crlf(text: str) -> str:
    if "\n" in text and "\r\n" not in text:
        return text.replace("\n", "\r\n")
    return text


def _routes(msg: SipRequest | SipResponse | None) -> tuple[str, ...]:
    if msg is None:
        return ()
    return tuple(v.strip() for v in msg.list_values("Route") if v.strip())


# --------------------------------------------------------------------------
# results


@dataclass(frozen=True, slots=True)
class Element:
    """One element of the observed dialog.

    ``addresses`` are the transport addresses the capture shows it on; ``extra`` the other
    addresses it named itself by (Via sent-by, Record-Route); ``names`` the host names it used
    in Via and Record-Route values (or that reached it as a Request-URI, for user agents);
    ``reached_as`` the host names requests reached it by in their top (loose) Route: names a
    name table resolves to it, which it need not take for its own (not used for locality).
    """

    name: str
    kind: str  # "ua" or "proxy"
    role: str  # "caller", "callee", "ua" or "proxy"
    addresses: tuple[str, ...]
    extra: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    transports: tuple[str, ...] = ()
    reached_as: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Difference:
    """One thing a proxy did that ``loose_route()`` would not have done."""

    step: int
    element: str
    method: str
    field: str  # "next-hop", "r-uri", "route", "rc", "reply"
    predicted: str
    observed: str
    text: str


@dataclass(frozen=True, slots=True)
class Check:
    """One in-dialog request at one proxy: the prediction, the observation, the verdict.

    ``outcome`` is ``"match"``, ``"mismatch"`` or ``"unverified"`` (the capture does not show
    enough to tell: no message out of the proxy, or a next hop that names no captured element).
    """

    step: int  # the trace step of the message the proxy received
    out_step: int | None  # the step of the message it sent (or the reply), None when not seen
    element: str
    method: str
    rc: int | None
    predicted_ruri: str
    predicted_next_hop: str
    predicted_routes: tuple[str, ...]
    observed_ruri: str
    observed_next_hop: str
    observed_routes: tuple[str, ...]
    outcome: str
    differences: tuple[Difference, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class Observation:
    """One dialog of a capture: its elements, its messages as a trace, and the checks."""

    call_id: str
    title: str
    elements: tuple[Element, ...]
    groups: tuple[tuple[str, str], ...]  # address -> element name (what a user may edit)
    trace: Trace
    checks: tuple[Check, ...]
    route_sets: tuple[tuple[str, tuple[str, ...]], ...]  # (element, its route set)
    caller: str
    callee: str
    path: tuple[str, ...]  # the elements the dialog-creating request visited, in order
    unparsable: tuple[str, ...] = ()  # "frame N: why", for messages the parser rejected
    scenario: Scenario | None = None
    scenario_problem: str = ""  # why no scenario could be built, when scenario is None

    @property
    def differences(self) -> tuple[Difference, ...]:
        """Every difference of every check, in trace order."""
        return tuple(d for c in self.checks for d in c.differences)

    def element(self, name: str) -> Element | None:
        """The element of that name, or None."""
        return next((e for e in self.elements if e.name == name), None)


# --------------------------------------------------------------------------
# grouping addresses into elements


class _Groups:
    """Union-find over addresses."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def add(self, a: str) -> None:
        self.parent.setdefault(a, a)

    def find(self, a: str) -> str:
        self.add(a)
        root = a
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[a] != root:
            self.parent[a], a = root, self.parent[a]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # The smaller address wins: the root, and so the grouping, does not depend on order.
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


class _Analysis:
    """The whole analysis of one dialog (internal; :func:`observe` returns frozen values)."""

    def __init__(self, messages: Sequence[CapturedMessage]) -> None:
        self.ms = [_M(i, cap) for i, cap in enumerate(messages)]
        self.call_id = ""
        for m in self.ms:
            if m.msg is not None:
                self.call_id = m.msg.header("Call-ID") or ""
                if self.call_id:
                    break
        self._fill_addresses()
        seen: dict[tuple[str, str, str], int] = {}
        for m in self.ms:
            key = (m.src, m.dst, m.text)
            if key in seen:
                m.retransmission_of = seen[key]
            else:
                seen[key] = m.i
        self.pairs = self._pair_requests()
        self.response_pairs = self._pair_responses()

    # -- addresses -------------------------------------------------------------

    def _fill_addresses(self) -> None:
        """Derive the addresses a text file does not give, from Via, Route and R-URI."""
        if all(m.src and m.dst for m in self.ms):
            return
        for m in self.ms:
            if not m.vias:
                continue
            if m.request is not None and not m.src:
                m.src = m.vias[0].sent_by
            elif m.request is None and not m.dst:
                m.dst = m.vias[0].received
        by_top: dict[str, list[_M]] = {}
        for m in self.ms:
            if m.request is not None and m.vias:
                by_top.setdefault(m.top_key, []).append(m)
        for m in self.ms:
            if m.request is None or m.dst:
                continue
            nxt = next(
                (
                    o
                    for o in self.ms[m.i + 1 :]
                    if o.request is not None
                    and len(o.vias) >= 2
                    and o.vias[1].key == m.top_key
                    and o.src
                ),
                None,
            )
            if nxt is not None:
                m.dst = nxt.src
                continue
            m.dst = _uri_address(_first_route_or_ruri(m.request))
        for m in self.ms:
            if m.request is not None or m.src or not m.vias:
                continue
            origin = next((o for o in by_top.get(m.top_key, ()) if o.i < m.i and o.dst), None)
            if origin is not None:
                m.src = origin.dst

    # -- pairing copies of one message at one element --------------------------

    def _pair_requests(self) -> dict[int, int]:
        """Request received (index) -> the copy the receiver sent on (index)."""
        received: dict[tuple[str, str, str], list[_M]] = {}
        for m in self.ms:
            if m.request is not None and m.vias:
                received.setdefault((m.cseq, m.method, m.top_key), []).append(m)
        pairs: dict[int, int] = {}
        for out in self.ms:
            if out.request is None or len(out.vias) < 2:
                continue
            for m in received.get((out.cseq, out.method, out.vias[1].key), ()):
                if m.i < out.i and m.i not in pairs and m.retransmission_of is None:
                    pairs[m.i] = out.i
                    break
        return pairs

    def _pair_responses(self) -> dict[int, int]:
        """Response received (index) -> the copy the receiver sent on (index)."""
        received: dict[tuple[str, int | None, tuple[str, ...]], list[_M]] = {}
        for m in self.ms:
            if m.msg is not None and m.request is None and len(m.vias) >= 2:
                key = (m.cseq, m.status, tuple(v.key for v in m.vias[1:]))
                received.setdefault(key, []).append(m)
        pairs: dict[int, int] = {}
        for out in self.ms:
            if out.msg is None or out.request is not None or not out.vias:
                continue
            key = (out.cseq, out.status, tuple(v.key for v in out.vias))
            for m in received.get(key, ()):
                if m.i < out.i and m.i not in pairs and m.retransmission_of is None:
                    pairs[m.i] = out.i
                    break
        return pairs

    def added_record_routes(self, i: int) -> tuple[str, ...]:
        """The Record-Route values the receiver of message ``i`` added when it forwarded it."""
        out_i = self.pairs.get(i) if self.ms[i].request is not None else None
        if out_i is None:
            return ()
        before, after = self.ms[i].rr, self.ms[out_i].rr
        if len(after) >= len(before) and after[len(after) - len(before) :] == before:
            return after[: len(after) - len(before)]
        return tuple(v for v in after if v not in before)

    def auto_groups(self) -> _Groups:
        groups = _Groups()
        universe = {a for m in self.ms for a in (m.src, m.dst) if a}
        for a in sorted(universe):
            groups.add(a)
        for i, o in [*self.pairs.items(), *self.response_pairs.items()]:
            if self.ms[i].dst and self.ms[o].src:
                groups.union(self.ms[i].dst, self.ms[o].src)
        for m in self.ms:
            if not m.src or not m.vias or m.request is None:
                continue
            sent_by = m.vias[0].sent_by
            if sent_by in universe and _host_of(sent_by) == _host_of(m.src):
                groups.union(sent_by, m.src)
        for i in self.pairs:
            proxy_addr = self.ms[self.pairs[i]].src
            for value in self.added_record_routes(i):
                addr = _route_address(value)
                if addr and addr in universe and proxy_addr:
                    groups.union(addr, proxy_addr)
        return groups


def _first_route_or_ruri(request: SipRequest) -> str:
    routes = _routes(request)
    if routes:
        try:
            na = parse_name_addr(routes[0])
        except SipParseError:
            return request.uri
        return na.uri_text
    return request.uri


def _uri_address(uri_text: str, *, maddr: bool = True) -> str:
    """The transport address a URI names without DNS (maddr, default port), "" for none;
    with ``maddr`` False, the host and port as written (what locality compares)."""
    try:
        uri = parse_uri(uri_text)
    except SipParseError:
        return ""
    return _address_of(uri, maddr=maddr)


def _address_of(uri: SipUri, *, maddr: bool = True) -> str:
    """:func:`_uri_address` for a URI already parsed."""
    if not uri.is_sip or not uri.host:
        return ""
    host = (uri.param("maddr") if maddr else None) or uri.host
    transport = (uri.param("transport") or "").lower()
    default = 5061 if uri.scheme == "sips" or transport == "tls" else 5060
    return _address(host, uri.port, default)


def _value_uri(value: str) -> SipUri | None:
    """The URI of a Route or Record-Route value, None when it cannot be read."""
    try:
        return parse_uri(parse_name_addr(value).uri_text)
    except SipParseError:
        return None


_EDGE_KEY = key_for(Outbound())  # Kamailio 5.6.3's flow-token key, whatever the secret


def _is_flow_token(user: str | None) -> bool:
    """True when a URI's user part is a flow token Kamailio 5.6.3 made: the mark of a proxy
    with the outbound module (RFC 5626 edge proxy)."""
    return bool(user) and inspect_flow_token(user, _EDGE_KEY)[0] is TokenStatus.VALID


def _has_flow_token(value: str) -> bool:
    """True when a Record-Route value's user part is such a flow token."""
    uri = _value_uri(value)
    return uri is not None and _is_flow_token(uri.user)


def _loose_route_host(value: str) -> str:
    """The host of a Route value whose URI has lr (lower case), "" for any other."""
    uri = _value_uri(value)
    return uri.host.lower() if uri is not None and uri.is_sip and uri.has_param("lr") else ""


def _route_address(value: str, *, maddr: bool = True) -> str:
    uri = _value_uri(value)
    return "" if uri is None else _address_of(uri, maddr=maddr)


_NAME_BAD = re.compile(r"[^A-Za-z0-9 _.+-]+")


def element_name(text: str, fallback: str) -> str:
    """A name a scenario accepts (1-40 letters, digits, spaces, ``_ . + -``), from any text.

    >>> element_name("+1 555 (home)", "UA"), element_name("", "UA")
    ('1 555 home', 'UA')
    """
    name = _NAME_BAD.sub("", text).strip(" _.+-")[:40].strip()
    return name if is_element_name(name) else fallback


def _next_free(prefix: str, n: int, taken: set[str]) -> int:
    """The next number after ``n`` whose ``prefix`` name nobody has taken."""
    n += 1
    while f"{prefix}{n}" in taken:
        n += 1
    return n


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        taken.add(name)
        return name
    n = 2
    while True:
        candidate = f"{name[:36]} {n}"
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        n += 1


# --------------------------------------------------------------------------
# observe()


def auto_groups(messages: Sequence[CapturedMessage]) -> dict[str, str]:
    """The automatic grouping of a dialog's addresses: ``{address: element name}``.

    A user interface shows it, lets the user give two addresses the same name (merge) or
    different names (split), and passes the result back to :func:`observe` as ``groups``.
    """
    return dict(observe(messages, with_scenario=False).groups)


def observe(
    messages: Sequence[CapturedMessage],
    *,
    groups: Mapping[str, str] | None = None,
    title: str = "",
    with_scenario: bool = True,
) -> Observation:
    """Analyse one dialog's messages (in capture order): elements, trace, checks, scenario.

    ``groups`` maps addresses to element names and overrides the automatic grouping for the
    addresses it lists (same name = one element).  ``with_scenario=False`` skips building the
    scenario (a report of many dialogs does not need it).  Never raises on any traffic.
    """
    an = _Analysis(messages)
    return _Build(an, groups or {}, title).result(with_scenario=with_scenario)


class _Build:
    """Turns an analysis into an Observation (internal)."""

    def __init__(self, an: _Analysis, groups: Mapping[str, str], title: str) -> None:
        self.an = an
        # Elements that record-route without lr (RFC 2543 strict routers), with one such value;
        # filled by _element_facts().
        self.strict: dict[str, str] = {}
        # Elements whose Record-Route carries an outbound flow token (RFC 5626 edge proxies),
        # with one such value; filled by _element_facts().
        self.edges: dict[str, str] = {}
        ms = an.ms
        self.title = title or f"Observed dialog {an.call_id or '(no Call-ID)'}"
        auto = an.auto_groups()
        addresses = sorted(auto.parent)
        # Root -> addresses, then the user's names override.
        label_of: dict[str, str] = {}
        user = {normal_address(a): n for a, n in groups.items() if normal_address(a)}
        for a in addresses:
            label_of[a] = f"user:{user[a]}" if a in user else f"auto:{auto.find(a)}"
        members: dict[str, list[str]] = {}
        for a in addresses:
            members.setdefault(label_of[a], []).append(a)
        self.label_of = label_of
        self.members = members
        # Kinds: a group that forwarded a request, or passed a response on, is a proxy.
        forwarders = {label_of[ms[o].src] for o in an.pairs.values() if ms[o].src}
        forwarders |= {label_of[ms[o].src] for o in an.response_pairs.values() if ms[o].src}
        forwarders |= {
            label_of[m.src]
            for m in ms
            if m.request is not None and len(m.vias) >= 2 and m.src in label_of
        }
        self.forwarders = forwarders
        self._rr_results: dict[int, RrResult] = {}
        self._proxies: dict[str, Proxy] = {}
        self._client_ports: set[str] | None = None
        # INVITE transactions by their top Via branch: an ACK with the same one is hop by hop.
        self._invites: dict[str, int] = {}
        for m in ms:
            if m.method == "INVITE" and m.request is not None and m.vias:
                self._invites.setdefault(m.top_key, m.i)
        self._find_dialog_ends()
        # The names the elements get without the user's: an element the user did not name
        # keeps its own where it can (naming one proxy does not renumber the others).
        defaults = _Build(an, {}, title).default_names() if user else {}
        self._name_groups(user, defaults)

    # -- who is who --------------------------------------------------------------

    def _find_dialog_ends(self) -> None:
        an, ms, lab = self.an, self.an.ms, self.label_of
        initial = [
            m
            for m in ms
            if m.request is not None and not m.to_tag and m.method not in ("ACK", "CANCEL")
        ]
        requests = initial or [m for m in ms if m.request is not None]
        self.initial: _M | None = None
        self.path: list[str] = []
        self.caller_label = ""
        self.callee_label = ""
        if not requests:
            if ms and ms[0].src:
                self.caller_label = lab.get(ms[0].src, "")
                self.callee_label = lab.get(ms[0].dst, "")
            return
        fewest = min(len(m.vias) for m in requests)
        first = next(m for m in requests if len(m.vias) == fewest)
        self.initial = first if initial else None
        self.caller_label = lab.get(first.src, "")
        # Follow the request hop by hop.
        m: _M | None = first
        visited: list[str] = [self.caller_label] if self.caller_label else []
        last = first
        while m is not None:
            last = m
            to = lab.get(m.dst, "")
            if to and to not in visited:
                visited.append(to)
            nxt = an.pairs.get(m.i)
            m = ms[nxt] if nxt is not None else None
        # The callee: who answered the request with a To-tag (a 2xx first) and forwarded nothing.
        bottom = first.top_key
        copies = [o for o in ms if o.request is not None and o.vias and o.vias[-1].key == bottom]
        ends = [lab.get(o.dst, "") for o in copies if o.i not in an.pairs and o.dst]
        answered = {
            lab.get(o.src, "")
            for o in ms
            if o.status is not None and 200 <= o.status < 300 and o.cseq == first.cseq
        }
        callee = next((e for e in ends if e in answered and e not in self.forwarders), "")
        callee = callee or next((e for e in ends if e not in self.forwarders), "")
        self.callee_label = callee or lab.get(last.dst, "")
        self.path = [v for v in visited if v != self.callee_label]
        if self.callee_label:
            self.path.append(self.callee_label)

    def default_names(self) -> dict[str, str]:
        """Address -> the name of its element (with the automatic grouping)."""
        return {a: self.names[label] for a, label in self.label_of.items()}

    def _name_groups(self, user: Mapping[str, str], defaults: Mapping[str, str]) -> None:
        ms = self.an.ms
        taken: set[str] = set()
        names: dict[str, str] = {}
        # User names first (they may rename anything), then the names the other elements have
        # without the user's, then the dialog's ends, then proxies in path order, then
        # everything else in order of appearance.
        for label in self.members:
            if label.startswith("user:"):
                names[label] = _unique(element_name(label[5:], "E"), taken)
        for label, addresses in self.members.items():
            if label in names:
                continue
            default = next(
                (defaults[a] for a in addresses if a in defaults and defaults[a] not in taken),
                None,
            )
            if default is not None:
                names[label] = default
                taken.add(default)
        initial = self.initial
        from_user = to_user = ""
        if initial is not None and initial.msg is not None:
            from_user = _user_of(initial.msg.header("From"))
            to_user = _user_of(initial.msg.header("To"))
        for label, who, fallback in (
            (self.caller_label, from_user, "Caller"),
            (self.callee_label, to_user, "Callee"),
        ):
            # A dialog end that forwarded requests is a proxy (the capture does not reach the
            # user agent behind it): it is named like the other proxies.
            if label and label not in names and label not in self.forwarders:
                names[label] = _unique(element_name(who, fallback), taken)
        order: list[str] = []
        for label in self.path:
            if label not in order:
                order.append(label)
        for m in ms:
            for a in (m.src, m.dst):
                found = self.label_of.get(a)
                if found and found not in order:
                    order.append(found)
        n_proxy = n_ua = 0
        for label in order:
            if label in names:
                continue
            if label in self.forwarders:
                n_proxy = _next_free("P", n_proxy, taken)
                names[label] = _unique(f"P{n_proxy}", taken)
            else:
                n_ua = _next_free("UA", n_ua, taken)
                names[label] = _unique(f"UA{n_ua}", taken)
        self.names = names

    # -- helpers -----------------------------------------------------------------

    def name_of(self, address: str) -> str:
        label = self.label_of.get(address)
        return self.names.get(label, "") if label else ""

    def _element_facts(self) -> dict[str, dict[str, set[str]]]:
        """Per element name: extra addresses, host names, transports (from Via and RR); the
        proxies that record-route without lr go into ``self.strict``."""
        ms = self.an.ms
        facts: dict[str, dict[str, set[str]]] = {}
        self.strict.clear()
        self.edges.clear()

        def bucket(name: str) -> dict[str, set[str]]:
            return facts.setdefault(
                name, {"extra": set(), "names": set(), "transports": set(), "reached": set()}
            )

        universe = set(self.label_of)
        uas = self._ua_names()
        for m in ms:
            sender = self.name_of(m.src)
            if sender and m.transport:
                bucket(sender)["transports"].add(m.transport)
            receiver = self.name_of(m.dst)
            if receiver and m.transport:
                bucket(receiver)["transports"].add(m.transport)
            if sender and m.request is not None and m.vias:
                sent_by = m.vias[0].sent_by
                host = _host_of(sent_by)
                if _is_ip_host(host):
                    if sent_by not in universe:
                        bucket(sender)["extra"].add(sent_by)
                else:
                    bucket(sender)["names"].add(sent_by)
            if receiver and sender in uas and m.request is not None:
                # A user agent sends a request to its loose top Route (RFC 3261 8.1.2): a host
                # name there resolves to the element it reached.  (Not a proxy's: that choice
                # is what the analysis checks, so it cannot vouch for it.)
                routes = _routes(m.request)
                host = _loose_route_host(routes[0]) if routes else ""
                if host and not _is_ip_host(host):
                    bucket(receiver)["reached"].add(host)
            if receiver in uas and m.request is not None and m.i not in self.an.pairs:
                # A request that reached a user agent: its R-URI host names it (its contact),
                # when it is a name.
                addr = _uri_address(m.request.uri)
                if addr and not _is_ip_host(_host_of(addr)):
                    bucket(receiver)["names"].add(addr)
        for i in self.an.pairs:
            proxy = self.name_of(ms[self.an.pairs[i]].src)
            if not proxy:
                continue
            for value in self.an.added_record_routes(i):
                uri = _value_uri(value)  # read once for every fact below
                if uri is None:
                    continue
                if not uri.has_param("lr"):  # Kamailio's Record-Route always has lr
                    self.strict.setdefault(proxy, value)
                if _is_flow_token(uri.user):
                    self.edges.setdefault(proxy, value)
                addr = _address_of(uri)
                if not addr:
                    continue
                if _is_ip_host(_host_of(addr)):
                    if addr not in universe:
                        bucket(proxy)["extra"].add(addr)
                else:
                    bucket(proxy)["names"].add(addr)
                # With a maddr, the host it is sent to is the maddr, but the host the proxy
                # recognises as its own (locality) is the URI's: a name to learn too.
                written = _address_of(uri, maddr=False)
                if written != addr and written and not _is_ip_host(_host_of(written)):
                    bucket(proxy)["names"].add(written)
        # Contacts name their user agents.
        for m in ms:
            if m.msg is None:
                continue
            sender = self.name_of(m.src)
            if not sender or sender not in uas:
                continue
            contact = m.msg.header("Contact")
            if contact:
                try:
                    addr = _uri_address(parse_name_addr(split_values(contact)[0].text).uri_text)
                except SipParseError:
                    addr = ""
                if addr and not _is_ip_host(_host_of(addr)):
                    bucket(sender)["names"].add(addr)
        return facts

    def client_ports(self) -> set[str]:
        """Addresses that are only the client end of connections (TCP, TLS, WS): every message
        from or to them goes over a connection, no request arrives there, and no Via sent-by
        or Record-Route value names them.  An element's listen sockets are not among them: a
        proxy sending over TCP from 10.0.0.1:40001 listens on its Via's 10.0.0.1:5060."""
        found = self._client_ports
        if found is not None:
            return found
        ms = self.an.ms
        seen: set[str] = set()
        listening: set[str] = set()
        for m in ms:
            for a in (m.src, m.dst):
                if a:
                    seen.add(a)
                    if m.transport not in CONNECTIONS:
                        listening.add(a)
            if m.request is not None and m.dst:
                listening.add(m.dst)
            listening.update(v.sent_by for v in m.vias)
        for i in self.an.pairs:
            listening.update(_route_address(v) for v in self.an.added_record_routes(i))
        found = self._client_ports = seen - listening
        return found

    def listen_addresses(self, el: Element) -> tuple[str, ...]:
        """The element's addresses a listen socket may be on: its addresses and the others it
        named itself by, without the client ports of its connections (unless nothing else
        is left)."""
        every = (*el.addresses, *el.extra)
        ports = self.client_ports()
        return tuple(a for a in every if a not in ports) or every

    def _ua_names(self) -> set[str]:
        return {n for label, n in self.names.items() if label not in self.forwarders}

    # -- the result --------------------------------------------------------------

    def result(self, *, with_scenario: bool = True) -> Observation:
        an, ms = self.an, self.an.ms
        facts = self._element_facts()
        elements: list[Element] = []
        by_name: dict[str, Element] = {}
        for label, addrs in self.members.items():
            name = self.names[label]
            kind = "proxy" if label in self.forwarders else "ua"
            role = (
                "caller"
                if label == self.caller_label
                else "callee"
                if label == self.callee_label
                else kind
            )
            f = facts.get(name, {})
            el = Element(
                name=name,
                kind=kind,
                role=role,
                addresses=tuple(addrs),
                extra=tuple(sorted(f.get("extra", ()))),
                names=tuple(sorted(f.get("names", ()))),
                transports=tuple(t for t in TRANSPORTS if t in f.get("transports", ())),
                reached_as=tuple(sorted(f.get("reached", ()))),
            )
            elements.append(el)
            by_name[name] = el
        order = {self.names[label]: i for i, label in enumerate(self.path)}
        elements.sort(key=lambda e: (order.get(e.name, len(order)), e.addresses))
        self.elements = tuple(elements)
        self.by_name = by_name
        # Host names -> element (for predicted next hops that name a host).
        self.host_names: dict[str, str] = {}
        for el in elements:
            for n in el.names:
                self.host_names.setdefault(n, el.name)
                self.host_names.setdefault(_host_of(n), el.name)
            for a in el.extra:
                self.host_names.setdefault(a, el.name)
        for el in elements:  # after every element's own names
            for n in el.reached_as:
                self.host_names.setdefault(n, el.name)
        steps, checks, labels = self._steps()
        trace = Trace(
            title=self.title,
            steps=tuple(steps),
            requests=tuple(labels),
            warnings=tuple(self._warnings()),
        )
        caller = self.names.get(self.caller_label, "")
        callee = self.names.get(self.callee_label, "")
        unparsable = tuple(f"frame {m.cap.frame}: {m.error}" for m in ms if m.msg is None)
        obs = Observation(
            call_id=an.call_id,
            title=self.title,
            elements=self.elements,
            groups=tuple(sorted((a, self.names[self.label_of[a]]) for a in self.label_of)),
            trace=trace,
            checks=tuple(checks),
            route_sets=self._route_sets(caller, callee),
            caller=caller,
            callee=callee,
            path=tuple(self.names[label] for label in self.path if label in self.names),
            unparsable=unparsable,
        )
        if not with_scenario:
            return obs
        try:
            scenario = _Scenario(self, obs).build()
            problem = ""
        except ScenarioError as exc:
            scenario, problem = None, str(exc)
        return replace(obs, scenario=scenario, scenario_problem=problem)

    def _warnings(self) -> list[str]:
        out = []
        for m in self.an.ms:
            if m.msg is None:
                out.append(f"Message {m.i + 1} (frame {m.cap.frame}) is not valid SIP: {m.error}")
        if self.initial is None and self.an.ms:
            out.append(
                "The capture does not show the dialog-creating request: elements are known only "
                "by their addresses and Via values, so Route values that name a proxy otherwise "
                "may show up as differences."
            )
        return out

    def _route_sets(self, caller: str, callee: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The route sets the two ends learned from Record-Route (RFC 3261 12.1.1, 12.1.2)."""
        ms, out = self.an.ms, []
        initial = self.initial
        if initial is None:
            return ()
        if caller:
            answers = [
                m
                for m in ms
                if m.status is not None
                and 200 <= m.status < 300
                and m.cseq == initial.cseq
                and self.name_of(m.dst) == caller
            ]
            # Else the copy nearest to the caller: the last one captured.
            answers = answers or [
                m
                for m in reversed(ms)
                if m.status is not None and 200 <= m.status < 300 and m.cseq == initial.cseq
            ]
            if answers:
                rs = RouteSet.from_record_route(answers[0].rr, uac=True)
                out.append((caller, rs.uris))
        if callee:
            arrived = [
                m
                for m in ms
                if m.request is not None
                and m.cseq == initial.cseq
                and m.method == initial.method
                and self.name_of(m.dst) == callee
            ]
            if arrived:
                rs = RouteSet.from_record_route(arrived[0].rr, uac=False)
                out.append((callee, rs.uris))
        return tuple(out)

    # -- steps and checks --------------------------------------------------------

    def _steps(self) -> tuple[list[TraceStep], list[Check], list[str]]:
        an, ms = self.an, self.an.ms
        incoming = {o: i for i, o in an.pairs.items()}
        incoming.update({o: i for i, o in an.response_pairs.items()})
        groups: dict[tuple[str, str], int] = {}
        labels: list[str] = []
        # Each check is shown at the step of what the proxy sent (or at the step that brought
        # it the request, when the capture shows nothing it sent).
        checks: dict[int, list[Check]] = {}
        found: list[Check] = []
        for m in ms:
            if m.request is not None and self._checkable(m):
                check_ = self._check(m)
                found.append(check_)
                at = check_.out_step if check_.out_step is not None else m.i
                checks.setdefault(at, []).append(check_)
        hop_by_hop = {m.i for m in ms if self._hop_by_hop_ack(m)}
        steps: list[TraceStep] = []
        for m in ms:
            key = (m.cseq, m.method) if m.msg is not None else (f"#{m.i}", m.method)
            if m.msg is not None and m.status is not None:
                key = (m.cseq, m.cseq.split(" ", 1)[-1] if m.cseq else m.method)
            if key not in groups:
                groups[key] = len(labels)
                sender = self.name_of(m.src) or "?"
                if m.msg is None:
                    labels.append(f"unreadable message from {sender}")
                elif m.status is not None:
                    labels.append(f"{m.method} (answered by {sender})")
                else:
                    labels.append(f"{m.method} from {sender}")
            steps.append(
                self._step(m, groups[key], labels, incoming, checks.get(m.i, []), hop_by_hop)
            )
        return steps, found, labels

    def _checkable(self, m: _M) -> bool:
        """An in-dialog request that arrived at a proxy (the first copy, not a retransmission)."""
        if m.retransmission_of is not None or not m.to_tag or m.method == "CANCEL":
            return False
        label = self.label_of.get(m.dst)
        return bool(label) and label in self.forwarders and not self._hop_by_hop_ack(m)

    def _hop_by_hop_ack(self, m: _M) -> bool:
        """An ACK for a non-2xx final response: the INVITE's transaction (RFC 3261 17.1.1.3)."""
        if m.method != "ACK" or m.request is None or not m.vias:
            return False
        first = self._invites.get(m.top_key)
        return first is not None and first < m.i

    def _proxy(self, name: str) -> Proxy:
        """The Proxy the rr engine sees for an element (built once per element)."""
        proxy = self._proxies.get(name)
        if proxy is None:
            proxy = self._proxies[name] = self._build_proxy(name)
        return proxy

    def _build_proxy(self, name: str) -> Proxy:
        el = self.by_name[name]
        sockets: list[Socket] = []
        aliases: list[Alias] = []
        transports = el.transports or ("udp",)
        for addr in self.listen_addresses(el):
            host, port = _host_of(addr), _port_of(addr)
            if _is_ip_host(host):
                for t in transports:
                    sock = Socket(t, host, port)
                    if sock not in sockets:
                        sockets.append(sock)
            else:
                aliases.append(Alias(host, port))
        for n in el.names:
            alias = Alias(_host_of(n), _port_of(n))
            if alias not in aliases:
                aliases.append(alias)
        if not sockets:
            # Known only by names (a text file without addresses): a placeholder socket that no
            # URI names, the names as aliases.
            sockets.append(Socket("udp", "0.0.0.0", 5060))
        # An edge proxy's flow tokens are checked with Kamailio 5.6's key, whatever its
        # secret (engine.outbound): the outbound module's settings are not needed for that.
        outbound = Outbound() if name in self.edges else None
        return Proxy(name=name, listen=tuple(sockets), aliases=tuple(aliases), outbound=outbound)

    def _self_loop_hint(self, element: str, receiver: str, kept: tuple[str, ...]) -> str:
        """A hint when a proxy kept a Route naming itself and sent the request to itself."""
        if receiver != element or not kept:
            return ""
        try:
            uri = parse_name_addr(kept[0]).uri_text
        except SipParseError:
            return ""
        named, _addr = self._resolve(uri)
        if named != element:
            return ""
        return (
            f" The Route {element} kept names {element} itself, as its Record-Route did, and it "
            f"sent the request to itself: {element} does not take that name for its own (not "
            "among its aliases, or an alias with another port), so the request goes round in "
            "a loop."
        )

    def _unanswered_invite(self, m: _M, element: str) -> _M | None:
        """For an ACK at ``element``: the INVITE of its dialog and CSeq number that reached
        ``element`` earlier and got nothing above 100 back from it before the ACK, if any (tm
        absorbs such an ACK; engine/simulate.py plays the same rule)."""
        ms = self.an.ms
        wanted = f"{m.cseq.split(' ')[0]} INVITE"
        invite = next(
            (
                o
                for o in reversed(ms[: m.i])
                if o.status is None
                and o.cseq == wanted
                and o.to_tag == m.to_tag
                and self.name_of(o.dst) == element
            ),
            None,
        )
        if invite is None:
            return None
        answered = any(
            o.status is not None
            and o.status > 100
            and o.cseq == wanted
            and self.name_of(o.src) == element
            for o in ms[invite.i + 1 : m.i]
        )
        return None if answered else invite

    def _check(self, m: _M) -> Check:
        an, ms = self.an, self.an.ms
        request = m.request
        assert request is not None
        element = self.name_of(m.dst)
        proxy = self._proxy(element)
        received_on = next(
            (
                s
                for s in proxy.listen
                if _address(s.host, s.port) == m.dst and (s.proto == m.transport or not m.transport)
            ),
            proxy.listen[0],
        )
        source = f"{m.transport or 'udp'}:{m.src}" if _is_ip_host(_host_of(m.src)) else None
        try:
            ctx, res = loose_route(
                Context.start(request, proxy, received_on=received_on, source=source)
            )
            routes = route_entries(ctx)
        except EngineError as exc:  # pragma: no cover - the rr engine takes any parsed request
            return Check(
                m.i, None, element, m.method, None, "", "", (), "", "", (), "unverified",
                note=f"loose_route() could not run: {exc}",
            )  # fmt: skip
        target = ctx.du or ctx.ruri
        out_i = an.pairs.get(m.i)
        call = f"loose_route() at {element} returns {res.rc} ({res.meaning})"
        base = Check(
            step=m.i,
            out_step=None,
            element=element,
            method=m.method,
            rc=res.rc,
            predicted_ruri=ctx.ruri,
            predicted_next_hop=target if res.rc > 0 else "",
            predicted_routes=routes,
            observed_ruri="",
            observed_next_hop="",
            observed_routes=(),
            outcome="unverified",
        )
        self._rr_results[m.i] = res
        if element in self.strict:
            return replace(
                base,
                out_step=out_i,
                note=(
                    f"{element} record-routed {self.strict[element]}, without lr: an RFC 2543 "
                    "strict router, not Kamailio (whose Record-Route always has lr), so RouteLab "
                    "does not hold it to loose_route()."
                ),
            )
        if out_i is None:
            reply = next(
                (
                    o
                    for o in ms[m.i + 1 :]
                    if o.status is not None
                    and o.status >= 300
                    and o.cseq == m.cseq
                    and o.top_key == m.top_key
                    and self.name_of(o.src) == element
                ),
                None,
            )
            if reply is None:
                invite = self._unanswered_invite(m, element) if res.rc > 0 else None
                if invite is None:
                    return replace(
                        base, note=f"{call}; the capture shows nothing {element} sent on."
                    )
                return replace(
                    base,
                    outcome="match",
                    note=(
                        f"{call}; {element} sent nothing on, as Kamailio's tm does: the INVITE "
                        f"with this dialog's CSeq {invite.cseq.split(' ')[0]} (step "
                        f"{invite.i + 1}) has had nothing above 100 Trying back through "
                        f"{element}, so tm takes this ACK for that transaction's own and absorbs "
                        "it (RFC 3261 17.2.3 would match an ACK by its Via branch)."
                    ),
                )
            observed = f"{reply.status} {_reason(reply)}".strip()
            own = _kamailio_reply(request, reply.status or 0, _reason(reply), target)
            if own is not None:
                return replace(
                    base,
                    out_step=reply.i,
                    observed_next_hop=observed,
                    outcome="match",
                    note=f"{call}; {element} answered {observed}: {own}",
                )
            diffs: tuple[Difference, ...] = ()
            if res.rc > 0:
                diffs = (
                    Difference(
                        reply.i,
                        element,
                        m.method,
                        "reply",
                        f"route to {target}",
                        observed,
                        f"{element} answered the {m.method} with {observed}, but "
                        f"loose_route() returns {res.rc} there and the request would go to "
                        f"{target}.",
                    ),
                )
            return replace(
                base,
                out_step=reply.i,
                observed_next_hop=observed,
                outcome="mismatch" if diffs else "match",
                differences=diffs,
                note=(
                    f"{call}; {element} answered {observed}"
                    + ("" if diffs else ", as a configuration does when loose_route() fails")
                    + "."
                ),
            )
        out = ms[out_i]
        out_req = out.request
        assert out_req is not None
        observed_routes = _routes(out_req)
        receiver = self.name_of(out.dst)
        diffs_list: list[Difference] = []
        unverified = ""
        sent_to = f"{out.dst} ({receiver})" if receiver and out.dst else out.dst or receiver
        if res.rc < 0:
            diffs_list.append(
                Difference(
                    out.i,
                    element,
                    m.method,
                    "rc",
                    f"loose_route() = {res.rc}",
                    f"forwarded to {sent_to}",
                    f"{element} forwarded the {m.method} to {sent_to}, but loose_route() "
                    f"returns {res.rc} there ({RC_MEANING.get(res.rc, '')}); Kamailio's "
                    + (
                        "default configuration relays such an ACK only when it matches a "
                        "transaction, and drops it otherwise."
                        if m.method == "ACK"
                        else "default configuration answers 404 Not here instead."
                    ),
                )
            )
        else:
            predicted_element, predicted_addr = self._resolve(target)
            same = (predicted_element and predicted_element == receiver) or (
                predicted_addr and predicted_addr == out.dst
            )
            if not same:
                if predicted_element or (predicted_addr and _is_ip_host(_host_of(predicted_addr))):
                    diffs_list.append(
                        Difference(
                            out.i,
                            element,
                            m.method,
                            "next-hop",
                            target,
                            sent_to,
                            f"{element} sent the {m.method} to {sent_to}, but "
                            + (
                                f"its route set says {target}"
                                if ctx.du
                                else f"loose_route() leaves its R-URI {target} as the next hop"
                            )
                            + (f" ({predicted_element})" if predicted_element else "")
                            + ".",
                        )
                    )
                else:
                    unverified = (
                        f"the next hop {target} names no element of the capture, so RouteLab "
                        f"cannot tell whether {sent_to} is it"
                    )
            if out_req.uri != ctx.ruri:
                diffs_list.append(
                    Difference(
                        out.i,
                        element,
                        m.method,
                        "r-uri",
                        ctx.ruri,
                        out_req.uri,
                        f"{element} sent the {m.method} with R-URI {out_req.uri}, but "
                        f"loose_route() gives {ctx.ruri}."
                        + _strict_recovery_hint(element, request, out_req.uri),
                    )
                )
            if _norm_routes(observed_routes) != _norm_routes(routes):
                diffs_list.append(
                    Difference(
                        out.i,
                        element,
                        m.method,
                        "route",
                        ", ".join(routes) or "(none)",
                        ", ".join(observed_routes) or "(none)",
                        f"{element} sent the {m.method} with Route "
                        f"{', '.join(observed_routes) or '(none)'}, but loose_route() leaves "
                        f"{', '.join(routes) or '(none)'}."
                        + self._self_loop_hint(element, receiver, observed_routes),
                    )
                )
        outcome = "mismatch" if diffs_list else "unverified" if unverified else "match"
        note = call + "; "
        if diffs_list:
            note += " ".join(d.text for d in diffs_list)
        elif unverified:
            note += unverified[0].upper() + unverified[1:] + "."
        else:
            note += (
                f"{element} did exactly that: R-URI {out_req.uri}, sent to {sent_to}, "
                f"Route {', '.join(observed_routes) or '(none)'}."
            )
        return replace(
            base,
            out_step=out_i,
            observed_ruri=out_req.uri,
            observed_next_hop=sent_to,
            observed_routes=observed_routes,
            outcome=outcome,
            differences=tuple(diffs_list),
            note=note,
        )

    def _resolve(self, uri_text: str) -> tuple[str, str]:
        """The element and the address a predicted next hop names ("" when unknown)."""
        addr = _uri_address(uri_text)
        if not addr:
            return "", ""
        element = self.name_of(addr)
        if element:
            return element, addr
        host = _host_of(addr)
        found = self.host_names.get(addr) or (
            self.host_names.get(host) if not _is_ip_host(host) else ""
        )
        return found or "", addr

    def _step(
        self,
        m: _M,
        request: int,
        labels: list[str],
        incoming: dict[int, int],
        checks: list[Check],
        hop_by_hop: set[int],
    ) -> TraceStep:
        ms = self.an.ms
        sender = self.name_of(m.src) or "?"
        receiver = self.name_of(m.dst) or None
        m_in = ms[incoming[m.i]] if m.i in incoming else None
        proxy_sent = m_in is not None or (m.request is not None and len(m.vias) >= 2)
        if m.status is not None:
            kind = StepKind.RESPONSE
        elif m.request is not None and proxy_sent and self.label_of.get(m.src) in self.forwarders:
            kind = StepKind.PROXY
        else:
            kind = StepKind.UAC
        flags: set[Flag] = set()
        notes: list[str] = []
        rr_calls: tuple[RrCall, ...] = ()
        mismatch = ""
        over = f" over {m.transport}" if m.transport else ""
        where = f"{m.src or '?'} -> {m.dst or '?'}{over}"
        when = f" at {utc_text(m.cap.time)}" if m.cap.time is not None else ""
        notes.append(f"Observed: frame {m.cap.frame}{when}, {where}.")
        if m.msg is None:
            notes.append(f"Not valid SIP: {m.error}.")
        if m.retransmission_of is not None:
            notes.append(f"A retransmission of step {m.retransmission_of + 1}.")
        if m.i in hop_by_hop:
            notes.append(
                "An ACK for a non-2xx final response belongs to the INVITE transaction (RFC "
                "3261 17.1.1.3): it goes hop by hop and loose_route() does not route it."
            )
        added: tuple[str, ...] = ()
        if m_in is not None and m.request is not None:
            added = self.an.added_record_routes(m_in.i)
            if len(added) >= 2:
                flags.add(Flag.DOUBLE_RECORD_ROUTE)
            elif added:
                flags.add(Flag.RECORD_ROUTE)
        for check_ in checks:
            res = self._rr_results.get(check_.step)
            if res is not None and check_.element == sender:
                rr_calls = (
                    RrCall(
                        "loose_route()",
                        res.rc,
                        res.meaning,
                        tuple(Decision(s.rule, s.function, s.text) for s in res.steps),
                    ),
                )
                if check_.outcome == "match":
                    proxy = self._proxy(check_.element)
                    flags |= loose_route_flags(res, partial(_names_proxy, proxy=proxy))
            notes.append(f"Predicted: {check_.note}")
            if check_.differences:
                flags.add(Flag.MISMATCH)
                mismatch = " ".join(d.text for d in check_.differences)
                notes.insert(0, f"Predicted ≠ observed: {mismatch}")
        routes_before = _routes(m_in.msg) if m_in is not None else ()
        routes_after = _routes(m.msg)
        removed = tuple(r for r in routes_before if r not in routes_after)
        ruri_before = m_in.request.uri if m_in is not None and m_in.request is not None else ""
        return TraceStep(
            index=m.i,
            request=request,
            element=sender,
            kind=kind,
            method=m.method,
            message_in=m_in.text if m_in is not None else "",
            message_out=m.text,
            label=labels[request],
            status=m.status,
            next_element=receiver,
            next_hop=m.dst or None,
            ruri_before=ruri_before,
            ruri_after=m.request.uri if m.request is not None else "",
            routes_before=routes_before,
            routes_after=routes_after,
            routes_removed=removed if kind is StepKind.PROXY else (),
            record_routes_added=added,
            rr_calls=rr_calls,
            flags=tuple(f for f in Flag if f in flags),
            note=" ".join(notes),
            received_on=f"{m_in.transport}:{m_in.dst}" if m_in is not None and m_in.dst else None,
            sent_from=f"{m.transport}:{m.src}" if m.src and m.transport else None,
            next_address=f"{m.transport}:{m.dst}" if m.dst and m.transport else None,
            mismatch=mismatch,
        )


def utc_text(seconds: float) -> str:
    """A capture time for people: UTC, to the microsecond.

    >>> utc_text(1700000000.037)
    '2023-11-14 22:13:20.037000 UTC'
    """
    try:
        stamp = dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return f"{seconds} s"
    return stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _reason(m: _M) -> str:
    return m.msg.reason if isinstance(m.msg, SipResponse) else ""


def _norm_routes(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(" ".join(v.split()) for v in values)


def _names_proxy(value: str, proxy: Proxy) -> bool:
    """Whether a Route value names the proxy (is_myself, as engine.simulate asks it)."""
    uri = _value_uri(value)
    return uri is not None and locate(uri, proxy).myself


@lru_cache(maxsize=1024)
def _is_ip_host(host: str) -> bool:
    return bool(host) and is_ip(host)


def _user_of(value: str | None) -> str:
    if not value:
        return ""
    try:
        uri = parse_name_addr(value).uri
    except SipParseError:
        return ""
    return uri.user or ""


# --------------------------------------------------------------------------
# the observed dialog as a scenario (what simulate() can replay)

_PLACEHOLDER_NET = "198.51.100."  # RFC 5737 TEST-NET-2: for elements a capture names only by name


class _Scenario:
    """Builds the scenario a dialog suggests (internal): who is where, the requests in order."""

    def __init__(self, build: _Build, obs: Observation) -> None:
        self.b = build
        self.obs = obs
        self.placeholders: dict[str, str] = {}

    def build(self) -> Scenario:
        try:
            return self._build(minimal=False)
        except ScenarioError:
            return self._build(minimal=True)

    # -- pieces --------------------------------------------------------------------

    def _ip_address(self, el: Element) -> tuple[str, int]:
        """The element's main IP address and port (its own Via sent-by when captured)."""
        ms = self.b.an.ms
        own = [
            m.vias[0].sent_by
            for m in ms
            if m.request is not None and m.vias and self.b.name_of(m.src) == el.name
        ]
        for addr in (*own, *el.addresses, *el.extra):
            if addr in el.addresses or addr in el.extra:
                host = _host_of(addr)
                if _is_ip_host(host):
                    return host, _port_of(addr)
        if el.name not in self.placeholders:
            self.placeholders[el.name] = f"{_PLACEHOLDER_NET}{len(self.placeholders) + 1}"
        port = _port_of(el.addresses[0]) if el.addresses else 5060
        return self.placeholders[el.name], port

    def _socket(self, el: Element) -> Socket:
        host, port = self._ip_address(el)
        return Socket(el.transports[0] if el.transports else "udp", host, port)

    def _sockets(self, el: Element) -> tuple[Socket, ...]:
        out: list[Socket] = []
        for addr in self.b.listen_addresses(el):
            host = _host_of(addr)
            if not _is_ip_host(host):
                continue
            for t in el.transports or ("udp",):
                sock = Socket(t, host, _port_of(addr))
                if sock not in out:
                    out.append(sock)
        return tuple(out) or (self._socket(el),)

    def _uri_to(self, el: Element) -> str:
        sock = self._socket(el)
        tail = f";transport={sock.proto}" if sock.proto != "udp" else ""
        return f"sip:{sock.host}:{sock.port}{tail}"

    @staticmethod
    def _uri_at(address: str, transport: str) -> str:
        """A SIP URI for a transport address as the capture shows it (``host:port``)."""
        tail = f";transport={transport}" if transport and transport != "udp" else ""
        return f"sip:{_host_of(address)}:{_port_of(address)}{tail}"

    @staticmethod
    def _sip_uri(text: str) -> str:
        try:
            uri = parse_uri(text)
        except SipParseError:
            return ""
        return text if uri.is_sip and len(text) <= 1000 else ""

    def _contact(self, m: _M | None) -> str:
        if m is None or m.msg is None:
            return ""
        value = m.msg.header("Contact")
        if not value:
            return ""
        try:
            return self._sip_uri(parse_name_addr(split_values(value)[0].text).uri_text)
        except SipParseError:
            return ""

    def _ua(self, el: Element, *, aor_header: str, contact: str, minimal: bool) -> UserAgent:
        initial = self.b.initial
        aor = display = ""
        if initial is not None and initial.msg is not None and not minimal:
            value = initial.msg.header(aor_header) or ""
            try:
                na = parse_name_addr(value)
                aor = self._sip_uri(na.uri_text)
                display = (na.display or "").strip('"')
            except SipParseError:
                pass
        if '"' in display or "\\" in display or len(display) > 200:
            display = ""
        sock = self._socket(el)
        host = sock.host
        return UserAgent(
            name=el.name,
            address=Socket(sock.proto, host, sock.port),
            contact=contact or f"sip:{element_name(el.name, 'ua').replace(' ', '')}@{host}",
            aor=aor,
            display=display,
        )

    def _responses(self, m: _M, receiver: str, *, initial: bool) -> tuple[int, ...] | None:
        if m.method == "ACK":
            return ()
        statuses: list[int] = []
        for o in self.b.an.ms[m.i + 1 :]:
            if (
                o.status is not None
                and o.cseq == m.cseq
                and self.b.name_of(o.dst) == receiver
                and o.retransmission_of is None
            ):
                if 101 <= o.status <= 199 and initial and o.status not in statuses:
                    statuses.append(o.status)
                elif 200 <= o.status <= 699:
                    statuses.append(o.status)
                    return tuple(statuses) if initial else (o.status,)
        return None

    def _build(self, *, minimal: bool) -> Scenario:
        b, obs = self.b, self.obs
        initial = b.initial
        if initial is None or initial.request is None:
            raise ScenarioError("dialog", "the capture does not show the dialog-creating request")
        if initial.method not in DIALOG_METHODS:
            raise ScenarioError(
                "dialog.method",
                f"{initial.method} does not create a dialog (a scenario plays one of "
                f"{', '.join(DIALOG_METHODS)})",
            )
        caller, callee = b.by_name.get(obs.caller), b.by_name.get(obs.callee)
        if caller is None or callee is None or caller.name == callee.name:
            raise ScenarioError("dialog", "the capture does not show both ends of the dialog")
        answers = [
            m
            for m in b.an.ms
            if m.status is not None and 200 <= m.status < 300 and b.name_of(m.src) == callee.name
        ]
        agents = [
            self._ua(caller, aor_header="From", contact=self._contact(initial), minimal=minimal),
            self._ua(
                callee,
                aor_header="To",
                contact=self._contact(answers[0] if answers else None),
                minimal=minimal,
            ),
        ]
        parties = {caller.name, callee.name}
        proxies: list[ProxyNode] = []
        for el in obs.elements:
            if el.name in parties:
                continue
            if el.kind != "proxy":
                agents.append(self._ua(el, aor_header="", contact="", minimal=True))
                continue
            proxies.append(self._proxy_node(el, minimal=minimal))
        first_hop = b.name_of(initial.dst)
        routes = tuple(_routes(initial.request))
        if not routes and first_hop in {p.name for p in proxies}:
            hop = b.by_name[first_hop]
            # The address the caller sent to (a proxy on IPv4 and IPv6 is reached on the one
            # the capture shows), else any address of that proxy.
            to = (
                self._uri_at(initial.dst, initial.transport)
                if _is_ip_host(_host_of(initial.dst))
                else self._uri_to(hop)
            )
            agents[0] = replace(agents[0], outbound_proxy=to)
        dialog = RequestSpec(
            method=initial.method,
            sender=caller.name,
            recipient=callee.name,
            request_uri=self._request_uri(initial.request.uri),
            route=None if minimal or not routes else self._route_values(routes),
            responses=self._responses(initial, caller.name, initial=True),
        )
        requests = [] if minimal else self._requests(parties)
        names: dict[str, str] = {}
        if not minimal:
            for el in obs.elements:
                for n in el.names:
                    host = _host_of(n)
                    if not _is_ip_host(host) and len(host) <= 255:
                        names.setdefault(host, el.name)
            for el in obs.elements:  # names requests reached it by, after its own
                for host in el.reached_as:
                    if len(host) <= 255:
                        names.setdefault(host, el.name)
        differences = obs.differences
        description = self._description()
        scenario = Scenario(
            title=_one_line(obs.title)[:200] or "Observed dialog",
            description=description,
            highlights=tuple(_one_line(d.text)[:2000] for d in differences[:MAX_ITEMS]),
            call_id=obs.call_id if is_call_id(obs.call_id) else "",
            user_agents=tuple(agents),
            proxies=tuple(proxies),
            names=tuple(sorted(names.items())),
            dialog=dialog,
            requests=tuple(requests[:MAX_ITEMS]),
        )
        # The written file must load: a round trip through the loader checks every field.
        return loads(dumps(scenario))

    def _request_uri(self, text: str) -> str | None:
        try:
            parse_uri(text)
        except SipParseError:
            return None
        return text

    @staticmethod
    def _route_values(routes: Iterable[str]) -> tuple[str, ...] | None:
        out: list[str] = []
        for value in routes:
            for el in split_values(value):
                try:
                    na = parse_name_addr(el.text, require_angle=True)
                    parse_uri(na.uri_text)
                except SipParseError:
                    return None
                out.append(el.text)
        return tuple(out) or None

    def _proxy_node(self, el: Element, *, minimal: bool) -> ProxyNode:
        b = self.b
        initial = b.initial
        assert initial is not None
        aliases = [] if minimal else [Alias(_host_of(n), None) for n in el.names]
        record_routes = False
        forward_to: str | None = None
        location: tuple[tuple[str, str], ...] = ()
        for i, o in b.an.pairs.items():
            m, out = b.an.ms[i], b.an.ms[o]
            if m.cseq != initial.cseq or m.method != initial.method:
                continue
            if b.name_of(out.src) != el.name:
                continue
            record_routes = record_routes or bool(b.an.added_record_routes(i))
            nxt = b.by_name.get(b.name_of(out.dst))
            if nxt is None or minimal:
                continue
            m_req, out_req = m.request, out.request
            assert m_req is not None
            assert out_req is not None
            if m_req.uri == out_req.uri:
                # Where the capture shows it sent the request (a next proxy with an IPv4 and an
                # IPv6 address is reached on the one it was), else any address of that proxy.
                sent_to = out.dst if _is_ip_host(_host_of(out.dst)) else ""
                forward_to = forward_to or (
                    self._uri_at(sent_to, out.transport) if sent_to else self._uri_to(nxt)
                )
            elif self._sip_uri(m_req.uri) and self._sip_uri(out_req.uri):
                target = parse_uri(m_req.uri)
                if target.user and not location:
                    location = ((m_req.uri, out_req.uri),)
                    if not _is_ip_host(target.host):
                        alias = Alias(target.host.lower(), None)
                        if alias not in aliases:
                            aliases.append(alias)
        # What the capture shows of the element's kind: a Record-Route without lr is an RFC
        # 2543 strict router's, one with a flow token an RFC 5626 edge proxy's.
        profile = "kamailio-default" if record_routes else "no-record-route"
        outbound = None
        if el.name in b.strict:
            profile = "rfc2543-strict"
        elif el.name in b.edges:
            profile, outbound = "outbound-edge", Outbound()
        return ProxyNode(
            name=el.name,
            listen=self._sockets(el),
            aliases=tuple(aliases),
            profile=profile,
            outbound=outbound,
            forward_to=forward_to,
            location=location,
        )

    def _requests(self, parties: set[str]) -> list[RequestSpec]:
        b = self.b
        out: list[RequestSpec] = []
        contacts = {
            self.obs.caller: self._contact(b.initial),
        }
        for m in b.an.ms:
            sender = b.name_of(m.src)
            if (
                m.request is None
                or not m.to_tag
                or sender not in parties
                or m.retransmission_of is not None
                or len(m.vias) > 1
                or m.method in ("CANCEL", "REGISTER")
                or b._hop_by_hop_ack(m)
                or not is_method(m.method)
            ):
                continue
            contact = self._contact(m) if m.method in TARGET_REFRESH else ""
            refresh = None
            if contact and contact != contacts.get(sender, contact):
                refresh = contact
            if contact:
                contacts[sender] = contact
            out.append(
                RequestSpec(
                    method=m.method,
                    sender=sender,
                    responses=self._responses(m, sender, initial=False) or None,
                    contact=refresh,
                    note=f"Observed in frame {m.cap.frame}.",
                )
            )
        return out

    def _description(self) -> str:
        obs = self.obs
        lines = [
            f"Imported from a capture: Call-ID {obs.call_id or '(none)'}, "
            f"{len(obs.trace.steps)} messages.",
        ]
        for element, uris in obs.route_sets:
            shown = ", ".join(f"<{u}>" for u in uris) or "(empty)"
            lines.append(f"Route set {element} learned from Record-Route: {shown}.")
        if self.placeholders:
            lines.append(
                "Elements the capture names only by host name got documentation addresses: "
                + ", ".join(f"{n} = {ip}" for n, ip in sorted(self.placeholders.items()))
                + "."
            )
        lines.append(
            "The proxies are modelled as Kamailio's default configuration (record_route() when "
            "the capture shows them record-routing); replaying the scenario shows what they "
            "should have done."
        )
        diffs = obs.differences
        lines.append(
            f"{len(diffs)} difference(s) between what the proxies did and loose_route()."
            if diffs
            else "The proxies did what loose_route() says on every in-dialog request checked."
        )
        return "\n".join(_one_line(line)[:2000] for line in lines)


def _one_line(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()


# --------------------------------------------------------------------------
# graph and report


def _strict_recovery_hint(element: str, request: SipRequest, sent_ruri: str) -> str:
    """A hint when a proxy put the last Route of an in-dialog request into its R-URI: what
    Kamailio's loose_route() does when the R-URI names the proxy itself."""
    routes = _routes(request)
    if not request.tag("To") or not routes:
        return ""
    try:
        last = parse_name_addr(routes[-1]).uri_text
    except SipParseError:
        return ""
    if last != sent_ruri:
        return ""
    return (
        f" {element} put the last Route into the R-URI: Kamailio's recovery from a strict "
        f"previous hop, which it runs when the R-URI ({request.uri}) names the proxy itself. "
        f"So {element} takes that host for one of its own (an alias the capture cannot show); "
        "if it is another element's, that alias is the fault (RFC 3261 16.4 asks for a value "
        "the proxy record-routed, Kamailio only compares host and port)."
    )


# The replies Kamailio 5.6.3's tm sends itself when t_relay() cannot send the request on
# (seen on runs: tests/differential's chain checks), by status, and what each means.
_TM_OWN_REPLIES = {
    477: "the send to the next hop failed",
    478: "the next hop's name is not resolvable",
    500: "it has no socket for the next hop's transport or address family",
}


def _kamailio_reply(request: SipRequest, status: int, reason: str, target: str) -> str | None:
    """Why a reply a proxy sent instead of forwarding is what Kamailio's default config
    does, or None: tm's own answer when the request cannot be sent on (its reason phrase
    names tm, "(477/TM)"), or maxfwd's 483 for a request that arrived with Max-Forwards 0."""
    if status in _TM_OWN_REPLIES and reason.endswith("/TM)"):
        return (
            f"Kamailio's tm answers so when t_relay() cannot send to {target or 'the next hop'} "
            f"({_TM_OWN_REPLIES[status]})."
        )
    if status == 483 and (request.header("Max-Forwards") or "").strip() == "0":
        return (
            "the request arrived with Max-Forwards 0, and the default config answers 483 "
            "before loose_route() (RFC 3261 16.3 step 3)."
        )
    return None


def observed_graph(obs: Observation) -> nx.DiGraph[str]:
    """The elements and the hops the messages took, as a frozen graph.

    The same attributes as :func:`engine.topology.topology` gives a simulated dialog (node
    ``kind``, ``role``, ``address``, ``aliases``; edge ``steps``, ``requests``, ``methods``,
    ``kinds``, ``flags``; graph ``title``, ``caller``, ``callee``, ``path``), so
    :func:`engine.topology.layout` places it the same way.
    """
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.graph.update(title=obs.title, caller=obs.caller, callee=obs.callee, path=obs.path)
    for el in obs.elements:
        graph.add_node(
            el.name,
            kind=el.kind,
            role=el.role,
            address=", ".join(el.addresses),
            aliases=el.names,
            other_addresses=el.extra,
        )
    flag_order = {f: i for i, f in enumerate(Flag)}
    for step in obs.trace.steps:
        a, b = step.element, step.next_element
        if not b or a not in graph or b not in graph:
            continue
        if not graph.has_edge(a, b):
            graph.add_edge(a, b, steps=(), requests=(), methods=(), kinds=(), flags=())
        data = graph.edges[a, b]
        data["steps"] = (*data["steps"], step.index)
        for key, value in (
            ("requests", step.request),
            ("methods", step.method),
            ("kinds", "response" if step.kind is StepKind.RESPONSE else "request"),
        ):
            if value not in data[key]:
                data[key] = (*data[key], value)
        flags = {Flag(f) for f in data["flags"]} | set(step.flags)
        data["flags"] = tuple(f.value for f in sorted(flags, key=flag_order.__getitem__))
    frozen: nx.DiGraph[str] = nx.freeze(graph)
    return frozen


def report(obs: Observation, *, source: str = "") -> str:
    """The predicted-versus-observed report of one dialog, as Markdown."""
    lines = [f"# Predicted versus observed: Call-ID {obs.call_id or '(none)'}", ""]
    if source:
        lines += [f"Source: {source}", ""]
    lines.append(
        f"{len(obs.trace.steps)} messages, {len(obs.elements)} elements, "
        f"{len(obs.checks)} in-dialog hops through a proxy checked, "
        f"{len(obs.differences)} difference(s). Each hop checked is numbered by the step of "
        "the in-dialog request as it reached the proxy."
    )
    lines += ["", "## Elements", "", "| element | kind | addresses | also known as |"]
    lines.append("|---|---|---|---|")
    for el in obs.elements:
        known = ", ".join((*el.names, *el.extra)) or "-"
        lines.append(f"| {el.name} | {el.role} | {', '.join(el.addresses) or '-'} | {known} |")
    if obs.route_sets:
        lines += ["", "## Route sets learned from Record-Route", ""]
        for element, uris in obs.route_sets:
            lines.append(f"- {element}: " + (", ".join(f"<{u}>" for u in uris) or "(empty)"))
    diffs = [c for c in obs.checks if c.outcome == "mismatch"]
    lines += ["", f"## Differences ({len(obs.differences)})", ""]
    if not diffs:
        lines.append("None: every checked hop did what loose_route() says.")
    for c in diffs:
        for d in c.differences:
            lines.append(f"- step {c.step + 1}, {d.element}, {d.method}: {d.text}")
        lines.append(
            f"  - predicted: loose_route() = {c.rc}, R-URI {c.predicted_ruri}, next hop "
            f"{c.predicted_next_hop or '(none)'}, Route {', '.join(c.predicted_routes) or '(none)'}"
        )
        lines.append(
            f"  - observed: R-URI {c.observed_ruri or '-'}, sent to "
            f"{c.observed_next_hop or '-'}, Route {', '.join(c.observed_routes) or '(none)'}"
        )
    others = [c for c in obs.checks if c.outcome != "mismatch"]
    if others:
        lines += ["", "## Hops that agree or cannot be checked", ""]
        for c in others:
            lines.append(f"- step {c.step + 1}, {c.element}, {c.method} ({c.outcome}): {c.note}")
    notes = [*obs.trace.warnings]
    if obs.scenario is None and obs.scenario_problem:
        notes.append(f"No scenario: {obs.scenario_problem}")
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


__all__ = [
    "CapturedMessage",
    "Check",
    "DialogCatalog",
    "DialogSummary",
    "Difference",
    "Element",
    "Observation",
    "auto_groups",
    "call_id_bytes",
    "call_id_of",
    "element_name",
    "normal_address",
    "observe",
    "observed_graph",
    "report",
    "search",
    "sip_offset",
]
