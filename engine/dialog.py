"""User agents per RFC 3261: dialog state, in-dialog requests and responses, as frozen values.

Rule 1: the :class:`RouteSet` is fixed when the dialog is set up (RFC 3261 12.1): the UAS keeps
the Record-Route values of the request in order (12.1.1), the UAC takes those of the response
in reverse (12.1.2).  Target refresh requests change only the remote target (12.2).
Rule 2: building a request is a pure function of the dialog state (12.2.1.1), including the
strict first route: R-URI = first route, remote target appended as the last Route value.

>>> rs = RouteSet.from_record_route(["<sip:p2.domain.com;lr>", "<sip:p1.example.com;lr>"], uac=True)
>>> rs.uris
('sip:p1.example.com;lr', 'sip:p2.domain.com;lr')
>>> plan = plan_request(rs, "sip:callee@u2.domain.com")
>>> plan.request_uri, plan.next_hop
('sip:callee@u2.domain.com', 'sip:p1.example.com;lr')
>>> plan.routes
('<sip:p1.example.com;lr>', '<sip:p2.domain.com;lr>')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from engine.errors import SipParseError
from engine.headers import parse_name_addr, split_values, tag_param
from engine.message import Header, SipRequest, SipResponse
from engine.uri import parse_uri, render_uri

#: Requests that update the remote target (RFC 3261 12.2, RFC 3311, RFC 6665 4.1, RFC 3515).
TARGET_REFRESH = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})
#: Requests that carry a Contact header (dialog-creating and target refresh requests).
WITH_CONTACT = TARGET_REFRESH

REASONS = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    503: "Service Unavailable",
    600: "Busy Everywhere",
    603: "Decline",
}


def reason_phrase(status: int) -> str:
    """The usual reason phrase of a status code.

    >>> reason_phrase(481), reason_phrase(299)
    ('Call/Transaction Does Not Exist', 'OK')
    """
    if status in REASONS:
        return REASONS[status]
    return {1: "Trying", 2: "OK", 3: "Redirect", 4: "Client Error", 5: "Server Error"}.get(
        status // 100, "Global Failure"
    )


def is_loose(uri: str, *, lr_on_as_strict: bool = False) -> bool:
    """Whether a route URI names a loose router (it has ``lr``).

    ``lr_on_as_strict`` models user agents that only recognise a bare ``;lr`` (an ``lr`` with a
    value such as Kamailio's ``enable_full_lr`` ``;lr=on`` is then taken for a strict router).

    >>> is_loose("sip:p1;lr=on"), is_loose("sip:p1;lr=on", lr_on_as_strict=True)
    (True, False)
    """
    try:
        parsed = parse_uri(uri)
    except SipParseError:
        return False
    if not lr_on_as_strict:
        return parsed.is_loose
    return any(n.strip().lower() == "lr" and v is None for n, v in parsed.params)


def request_uri_form(uri: str) -> str:
    """A URI as it may stand in a Request-URI: ``method`` parameter and headers removed.

    RFC 3261 12.2.1.1 with the table of 19.1.1 (``method`` and URI headers are not allowed in a
    Request-URI).

    >>> request_uri_form("sip:proxy1;lr;method=INVITE?subject=x")
    'sip:proxy1;lr'
    """
    try:
        parsed = parse_uri(uri)
    except SipParseError:
        return uri
    params = tuple((n, v) for n, v in parsed.params if n.strip().lower() != "method")
    return render_uri(parsed._replace(params=params, headers=None))


@dataclass(frozen=True, slots=True)
class RouteSet:
    """A dialog's route set: URIs in the order the requests will visit them."""

    uris: tuple[str, ...] = ()

    @classmethod
    def from_record_route(cls, values: Iterable[str], *, uac: bool) -> RouteSet:
        """The route set from Record-Route header values (each may hold a comma list).

        The UAS keeps the order (RFC 3261 12.1.1), the UAC reverses it (12.1.2); every URI
        parameter is kept.  Values that cannot be read are skipped.

        >>> RouteSet.from_record_route(["<sip:a;lr>, <sip:b;lr>"], uac=False).uris
        ('sip:a;lr', 'sip:b;lr')
        """
        uris: list[str] = []
        for value in values:
            for el in split_values(value):
                if not el.text:
                    continue
                try:
                    # rec-route = name-addr (RFC 3261 20.30): the angle brackets are required.
                    uris.append(parse_name_addr(el.text, require_angle=True).uri_text)
                except SipParseError:
                    continue
        return cls(tuple(reversed(uris)) if uac else tuple(uris))

    @classmethod
    def from_route_values(cls, values: Iterable[str]) -> RouteSet:
        """A route set from ``<uri>`` values as written in a Route header (a hand edit)."""
        return cls.from_record_route(values, uac=False)

    def header_values(self) -> tuple[str, ...]:
        """The route set as Route header values, ``<uri>`` each."""
        return tuple(f"<{u}>" for u in self.uris)


@dataclass(frozen=True, slots=True)
class RequestPlan:
    """Where an in-dialog request goes: its R-URI, its Route values and its next hop.

    ``next_hop`` is the URI the UA resolves to send the request (RFC 3261 8.1.2): the R-URI
    when the first route is strict (``strict``) or there is no route, else the first Route.
    """

    request_uri: str
    routes: tuple[str, ...]
    next_hop: str
    strict: bool = False


def plan_request(
    route_set: RouteSet, remote_target: str, *, lr_on_as_strict: bool = False
) -> RequestPlan:
    """RFC 3261 12.2.1.1: the R-URI and Route values of a request within a dialog.

    >>> rs = RouteSet(("sip:proxy1", "sip:proxy2", "sip:proxy3;lr", "sip:proxy4"))
    >>> p = plan_request(rs, "sip:user@remoteua")
    >>> p.request_uri, p.routes, p.strict
    ('sip:proxy1', ('<sip:proxy2>', '<sip:proxy3;lr>', '<sip:proxy4>', '<sip:user@remoteua>'), True)
    >>> plan_request(RouteSet(), "sip:user@remoteua").routes
    ()
    """
    if not route_set.uris:
        return RequestPlan(remote_target, (), remote_target)
    first = route_set.uris[0]
    if is_loose(first, lr_on_as_strict=lr_on_as_strict):
        return RequestPlan(remote_target, route_set.header_values(), first)
    # "the UAC MUST place the first URI from the route set into the Request-URI, stripping any
    # parameters that are not allowed in a Request-URI ... [and] MUST add a Route header field
    # containing the remainder of the route set values in order, including all parameters ...
    # [then] place the remote target URI into the Route header field as the last value."
    ruri = request_uri_form(first)
    routes = (*RouteSet(route_set.uris[1:]).header_values(), f"<{remote_target}>")
    return RequestPlan(ruri, routes, ruri, strict=True)


@dataclass(frozen=True, slots=True)
class Dialog:
    """One side's dialog state (RFC 3261 12.1).

    ``local_uri`` / ``remote_uri`` are the From / To name-addrs without tags; ``local_cseq`` is
    the CSeq number of the last request this side sent, ``invite_cseq`` that of its last INVITE
    (an ACK reuses it).
    """

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str
    remote_uri: str
    local_target: str
    remote_target: str
    route_set: RouteSet
    local_cseq: int = 0
    invite_cseq: int = 0

    def refreshed(self, contact: str) -> Dialog:
        """The state after a target refresh: only the remote target changes (12.2.1.2/12.2.2)."""
        return replace(self, remote_target=contact)


def _contact_uri(message: SipRequest | SipResponse) -> str | None:
    value = message.header("Contact")
    if value is None:
        return None
    try:
        return parse_name_addr(split_values(value)[0].text).uri_text
    except SipParseError:
        return None


def _from_uri(request: SipRequest) -> str:
    try:
        return parse_name_addr(request.header("From") or "").uri_text
    except SipParseError:
        return ""


def _without_tag(value: str | None) -> str:
    if value is None:
        return ""
    try:
        na = parse_name_addr(value)
    except SipParseError:
        return value
    return na._replace(params=tuple(p for p in na.params if p[0].lower() != "tag")).render()


def uas_dialog(request: SipRequest, *, local_tag: str, local_target: str) -> Dialog:
    """The UAS's dialog state on answering a dialog-creating request with 2xx (12.1.1).

    Route set = the request's Record-Route values in order; remote target = its Contact.
    A request without a (readable) Contact breaks RFC 3261 8.1.1.8; the remote target is then
    the From URI, the caller's address of record and the one URI in the request that names the
    caller (never the R-URI, which names the UAS itself), or empty when From cannot be read.

    >>> req = SipRequest(method="INVITE", uri="sip:b@u2", headers=(
    ...     Header("Record-Route", "<sip:p2;lr>"), Header("Record-Route", "<sip:p1;lr>"),
    ...     Header("From", "<sip:a@x>;tag=1"), Header("To", "<sip:b@y>"),
    ...     Header("Call-ID", "c1"), Header("CSeq", "1 INVITE"), Header("Contact", "<sip:a@u1>")))
    >>> d = uas_dialog(req, local_tag="2", local_target="sip:b@u2")
    >>> d.route_set.uris, d.remote_target, d.remote_tag
    (('sip:p2;lr', 'sip:p1;lr'), 'sip:a@u1', '1')
    """
    return Dialog(
        call_id=request.header("Call-ID") or "",
        local_tag=local_tag,
        remote_tag=tag_param(request.header("From")),
        local_uri=_without_tag(request.header("To")),
        remote_uri=_without_tag(request.header("From")),
        local_target=local_target,
        remote_target=_contact_uri(request) or _from_uri(request),
        route_set=RouteSet.from_record_route(request.header_values("Record-Route"), uac=False),
        local_cseq=0,
    )


def uac_dialog(request: SipRequest, response: SipResponse, *, local_target: str) -> Dialog:
    """The UAC's dialog state on a 2xx to its dialog-creating request (12.1.2).

    Route set = the response's Record-Route values in reverse; remote target = its Contact.

    >>> req = SipRequest(method="INVITE", uri="sip:b@y", headers=(
    ...     Header("From", "<sip:a@x>;tag=1"), Header("To", "<sip:b@y>"),
    ...     Header("Call-ID", "c1"), Header("CSeq", "7 INVITE")))
    >>> resp = SipResponse(headers=(Header("Record-Route", "<sip:p2;lr>, <sip:p1;lr>"),
    ...     Header("To", "<sip:b@y>;tag=2"), Header("Contact", "<sip:b@u2>")))
    >>> d = uac_dialog(req, resp, local_target="sip:a@u1")
    >>> d.route_set.uris, d.remote_target, d.remote_tag, d.local_cseq
    (('sip:p1;lr', 'sip:p2;lr'), 'sip:b@u2', '2', 7)
    """
    cseq = _cseq_number(request)
    return Dialog(
        call_id=request.header("Call-ID") or "",
        local_tag=tag_param(request.header("From")),
        remote_tag=tag_param(response.header("To")),
        local_uri=_without_tag(request.header("From")),
        remote_uri=_without_tag(request.header("To")),
        local_target=local_target,
        remote_target=_contact_uri(response) or request.uri,
        route_set=RouteSet.from_record_route(response.header_values("Record-Route"), uac=True),
        local_cseq=cseq,
        invite_cseq=cseq if request.method == "INVITE" else 0,
    )


def _cseq_number(message: SipRequest | SipResponse) -> int:
    value = (message.header("CSeq") or "0").split()
    try:
        return int(value[0]) if value else 0
    except ValueError:
        return 0


def contact_of(message: SipRequest | SipResponse) -> str | None:
    """The first Contact URI of a message, or None.

    >>> contact_of(SipResponse(headers=(Header("Contact", '"B" <sip:b@u2;ob>, <sip:b@u3>'),)))
    'sip:b@u2;ob'
    """
    return _contact_uri(message)


def _route_headers(routes: tuple[str, ...], style: str) -> tuple[Header, ...]:
    if not routes:
        return ()
    if style == "comma":
        return (Header("Route", ", ".join(routes)),)
    return tuple(Header("Route", r) for r in routes)


def build_request(
    *,
    method: str,
    request_uri: str,
    via: str,
    from_: str,
    to: str,
    call_id: str,
    cseq: int,
    routes: tuple[str, ...] = (),
    contact: str | None = None,
    max_forwards: int = 70,
    extra: tuple[Header, ...] = (),
    route_style: str = "lines",
) -> SipRequest:
    """A request as a user agent writes it (headers in the usual order, no body).

    >>> r = build_request(method="BYE", request_uri="sip:b@u2", via="SIP/2.0/UDP u1;branch=z9",
    ...                   from_="<sip:a@x>;tag=1", to="<sip:b@y>;tag=2", call_id="c", cseq=2,
    ...                   routes=("<sip:p1;lr>", "<sip:p2;lr>"), route_style="comma")
    >>> r.header("Route"), r.header("CSeq")
    ('<sip:p1;lr>, <sip:p2;lr>', '2 BYE')
    """
    headers: list[Header] = [
        Header("Via", via),
        Header("Max-Forwards", str(max_forwards)),
        *_route_headers(routes, route_style),
        Header("From", from_),
        Header("To", to),
        Header("Call-ID", call_id),
        Header("CSeq", f"{cseq} {method}"),
    ]
    if contact is not None:
        headers.append(Header("Contact", f"<{contact}>"))
    headers.extend(extra)
    headers.append(Header("Content-Length", "0"))
    return SipRequest(headers=tuple(headers), method=method, uri=request_uri)


def in_dialog_request(
    dialog: Dialog,
    method: str,
    *,
    via: str,
    route_set: RouteSet | None = None,
    request_uri: str | None = None,
    max_forwards: int = 70,
    extra: tuple[Header, ...] = (),
    route_style: str = "lines",
    lr_on_as_strict: bool = False,
    plan: RequestPlan | None = None,
) -> tuple[Dialog, SipRequest, RequestPlan]:
    """Build a request within a dialog (RFC 3261 12.2.1.1); returns the new state too.

    ``route_set`` replaces the dialog's route set for this request only (a hand edit);
    ``request_uri`` replaces the remote target.  ``plan`` is the :func:`plan_request` result
    for them when the caller has made it already (it is then followed as given).  An ACK
    reuses the CSeq number of the INVITE it acknowledges; every other request takes the next
    number (12.2.1.1).

    >>> d = Dialog(call_id="c", local_tag="1", remote_tag="2", local_uri="<sip:a@x>",
    ...            remote_uri="<sip:b@y>", local_target="sip:a@u1", remote_target="sip:b@u2",
    ...            route_set=RouteSet(("sip:p1", "sip:p2;lr")), local_cseq=1, invite_cseq=1)
    >>> new, bye, plan = in_dialog_request(d, "BYE", via="SIP/2.0/UDP u1;branch=z9hG4bK-1")
    >>> bye.start_line, bye.header_values("Route"), bye.header("CSeq"), new.local_cseq
    ('BYE sip:p1 SIP/2.0', ('<sip:p2;lr>', '<sip:b@u2>'), '2 BYE', 2)
    """
    if plan is None:
        plan = plan_request(
            dialog.route_set if route_set is None else route_set,
            dialog.remote_target if request_uri is None else request_uri,
            lr_on_as_strict=lr_on_as_strict,
        )
    if method == "ACK":
        cseq = dialog.invite_cseq or dialog.local_cseq
        new = dialog
    else:
        cseq = dialog.local_cseq + 1
        new = replace(
            dialog,
            local_cseq=cseq,
            invite_cseq=cseq if method == "INVITE" else dialog.invite_cseq,
        )
    request = build_request(
        method=method,
        request_uri=plan.request_uri,
        via=via,
        from_=f"{dialog.local_uri};tag={dialog.local_tag}",
        to=f"{dialog.remote_uri};tag={dialog.remote_tag}",
        call_id=dialog.call_id,
        cseq=cseq,
        routes=plan.routes,
        contact=dialog.local_target if method in WITH_CONTACT else None,
        max_forwards=max_forwards,
        extra=extra,
        route_style=route_style,
    )
    return new, request, plan


def build_response(
    request: SipRequest,
    status: int,
    *,
    to_tag: str | None = None,
    contact: str | None = None,
) -> SipResponse:
    """The response a UAS sends: Via, From, To (with its tag), Call-ID, CSeq copied, and the
    Record-Route values copied in order for 1xx (but 100) and 2xx (RFC 3261 8.2.6, 12.1.1).

    >>> req = SipRequest(method="INVITE", uri="sip:b@u2", headers=(
    ...     Header("Record-Route", "<sip:p1;lr>"), Header("Via", "SIP/2.0/UDP u1;branch=z9hG4bK1"),
    ...     Header("To", "<sip:b@y>")))
    >>> resp = build_response(req, 200, to_tag="t2", contact="sip:b@u2")
    >>> resp.start_line, resp.header("To"), resp.header("Record-Route")
    ('SIP/2.0 200 OK', '<sip:b@y>;tag=t2', '<sip:p1;lr>')
    """
    headers: list[Header] = [h for h in request.headers if h.key == "via"]
    if 101 <= status < 300:
        headers.extend(h for h in request.headers if h.key == "record-route")
    for name in ("From", "To", "Call-ID", "CSeq"):
        value = request.header(name)
        if value is None:
            continue
        if name == "To" and to_tag and not tag_param(value):
            value = f"{value};tag={to_tag}"
        headers.append(Header(name, value))
    if contact is not None and 101 <= status < 300 and request.method in WITH_CONTACT:
        headers.append(Header("Contact", f"<{contact}>"))
    headers.append(Header("Content-Length", "0"))
    return SipResponse(headers=tuple(headers), status=status, reason=reason_phrase(status))


__all__ = [
    "REASONS",
    "TARGET_REFRESH",
    "Dialog",
    "RequestPlan",
    "RouteSet",
    "build_request",
    "build_response",
    "contact_of",
    "in_dialog_request",
    "is_loose",
    "plan_request",
    "reason_phrase",
    "request_uri_form",
    "uac_dialog",
    "uas_dialog",
]
