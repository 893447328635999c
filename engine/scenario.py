"""Scenarios: user agents, proxies, a name table and the requests of one dialog, as frozen values.

Rule 1 (the parser contract): :func:`loads` turns *any* text into a :class:`Scenario` or raises
:class:`~engine.errors.ScenarioError` whose ``path`` names the exact place
(``proxies[2].listen[0]``) -- never another exception.  An unknown key gets a suggestion.
Rule 2: strings in, strings out.  :func:`dumps` writes the canonical file text and
``loads(dumps(s)) == s``; reading and writing files is the caller's business.

Edit a scenario with :func:`dataclasses.replace`, then call :func:`check` (which :func:`loads`
runs too) to validate the cross references again.

>>> text = '''{"format": 1, "title": "Direct call",
...   "user_agents": [
...     {"name": "Alice", "address": "udp:192.0.2.10:5060", "contact": "sip:alice@192.0.2.10"},
...     {"name": "Bob", "address": "udp:192.0.2.20:5060", "contact": "sip:bob@192.0.2.20"}],
...   "dialog": {"method": "INVITE", "from": "Alice", "to": "Bob"},
...   "requests": [{"method": "ACK", "from": "Alice"}, {"method": "BYE", "from": "Bob"}]}'''
>>> s = loads(text)
>>> s.dialog.sender, [r.method for r in s.requests]
('Alice', ['ACK', 'BYE'])
>>> loads(dumps(s)) == s
True
>>> loads('{"format": 1, "title": "x", "proxies": [{"name": "P", "lisen": []}]}')
Traceback (most recent call last):
...
engine.errors.ScenarioError: proxies[0]: unknown key 'lisen' (did you mean 'listen'?)
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

from engine.dialog import TARGET_REFRESH
from engine.errors import ConfigError, ScenarioError, ScriptError, SipParseError
from engine.headers import parse_name_addr
from engine.message import Header
from engine.profiles import PROFILES
from engine.proxy import (
    RR_DEFAULTS,
    Alias,
    Outbound,
    Proxy,
    RrParams,
    Socket,
    parse_alias,
    parse_socket,
)
from engine.pv import parse_format
from engine.uri import parse_uri, same_ip, valid_host

FORMAT = 1
MAX_TEXT = 1_000_000
MAX_ITEMS = 200  # user agents, proxies, requests, list entries: generous, keeps simulate() fast

DIALOG_METHODS = ("INVITE", "SUBSCRIBE", "REFER")
DEFAULT_RESPONSES = {"INVITE": (180, 200), "SUBSCRIBE": (200,), "REFER": (202,)}
ROUTE_STYLES = ("lines", "comma")


@dataclass(frozen=True, slots=True, kw_only=True)
class UserAgent:
    """A user agent: its name, its transport address, Contact and address of record.

    ``outbound_proxy`` is where initial requests go when they carry no Route (RFC 3261 8.1.2);
    ``route_style`` says whether the UA writes its route set as one Route line per value or as
    one comma-separated line; ``lr_on_as_strict`` models stacks that only recognise a bare
    ``;lr`` and take ``;lr=on`` for a strict router.
    """

    name: str
    address: Socket
    contact: str
    aor: str = ""
    display: str = ""
    outbound_proxy: str | None = None
    route_style: str = "lines"
    lr_on_as_strict: bool = False

    @property
    def address_of_record(self) -> str:
        """The From/To URI: ``aor``, else the Contact URI."""
        return self.aor or self.contact


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyNode:
    """A proxy: Kamailio's view of itself (sockets, aliases, rr and outbound) plus its script.

    ``location`` maps an address of record to a contact (the location service the default
    config consults when the R-URI is this proxy); ``forward_to`` is the URI put into ``$du``
    for initial requests to foreign domains; ``record_route_params`` are passed to
    ``record_route()``; a non-empty ``record_route_preset`` calls ``record_route_preset()``
    with those one or two addresses instead.
    """

    name: str
    listen: tuple[Socket, ...]
    aliases: tuple[Alias, ...] = ()
    rr: RrParams = field(default_factory=RrParams)
    outbound: Outbound | None = None
    profile: str = "kamailio-default"
    loose_route_mode: int = 0
    record_route_params: str = ""
    record_route_preset: tuple[str, ...] = ()
    forward_to: str | None = None
    location: tuple[tuple[str, str], ...] = ()

    def as_proxy(self) -> Proxy:
        """The :class:`~engine.proxy.Proxy` the rr functions see."""
        return Proxy(
            name=self.name,
            listen=self.listen,
            aliases=self.aliases,
            rr=self.rr,
            outbound=self.outbound,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestSpec:
    """One request to play.

    For the dialog-creating request: ``recipient`` is the callee, ``request_uri`` defaults to its
    address of record, ``route`` is the caller's preloaded Route set and ``responses`` the
    callee's answers (provisional ones, then the final one).  For an in-dialog request:
    ``route`` (when not None) replaces the sender's route set for this request (a hand edit),
    ``request_uri`` replaces the remote target, ``contact`` is a new Contact for the sender (a
    target refresh) and ``responses`` is the final answer (none for ACK).
    """

    method: str
    sender: str
    recipient: str = ""
    request_uri: str | None = None
    route: tuple[str, ...] | None = None
    responses: tuple[int, ...] | None = None
    contact: str | None = None
    headers: tuple[Header, ...] = ()
    max_forwards: int = 70
    note: str = ""

    def answers(self, *, initial: bool) -> tuple[int, ...]:
        """The responses to send: the given ones, else the method's usual ones."""
        if self.responses is not None:
            return self.responses
        if self.method == "ACK":
            return ()
        return DEFAULT_RESPONSES.get(self.method, (200,)) if initial else (200,)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A whole teaching case: who is where, how names resolve, and the dialog to play."""

    title: str
    dialog: RequestSpec
    description: str = ""
    highlights: tuple[str, ...] = ()
    user_agents: tuple[UserAgent, ...] = ()
    proxies: tuple[ProxyNode, ...] = ()
    names: tuple[tuple[str, str], ...] = ()
    requests: tuple[RequestSpec, ...] = ()
    call_id: str = ""

    def user_agent(self, name: str) -> UserAgent | None:
        """The user agent of that name, or None."""
        return next((u for u in self.user_agents if u.name == name), None)

    def proxy(self, name: str) -> ProxyNode | None:
        """The proxy of that name, or None."""
        return next((p for p in self.proxies if p.name == name), None)

    @property
    def element_names(self) -> tuple[str, ...]:
        """Every element: user agents first, then proxies, in file order."""
        return tuple(u.name for u in self.user_agents) + tuple(p.name for p in self.proxies)


# --------------------------------------------------------------------------
# reading


_MISSING: Any = object()

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.+-]{0,39}\Z")
_METHOD = re.compile(r"[A-Z][A-Z0-9_-]{0,31}\Z")
_HEADER_NAME = re.compile(r"[A-Za-z0-9.!%*_+`'~-]+\Z")


def is_element_name(text: str) -> bool:
    """Whether a scenario takes ``text`` as an element name (1 to 40 letters, digits, spaces
    or ``_ . + -``, starting with a letter or digit).

    >>> is_element_name("P1"), is_element_name(" P1"), is_element_name("x" * 41)
    (True, False, False)
    """
    return _NAME.match(text) is not None


def is_method(text: str) -> bool:
    """Whether a scenario takes ``text`` as a request method (upper case, at most 32).

    >>> is_method("BYE"), is_method("bye")
    (True, False)
    """
    return _METHOD.match(text) is not None


def is_call_id(text: str) -> bool:
    """Whether a scenario takes ``text`` as its Call-ID: one word of 1 to 200 characters.

    >>> is_call_id("a84b4c76e66710@pc33"), is_call_id("a b"), is_call_id("")
    (True, False, False)
    """
    return 0 < len(text) <= 200 and not any(c.isspace() for c in text)


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _suggest(name: str, choices: tuple[str, ...] | list[str]) -> str:
    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {found[0]!r}?)" if found else ""


def _fail(path: str, what: str) -> NoReturn:
    raise ScenarioError(path, what)


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


class _Obj:
    """A JSON object being read, with its path and the keys it may have."""

    def __init__(self, data: object, path: str, keys: tuple[str, ...], what: str) -> None:
        if not isinstance(data, dict):
            _fail(path, f"expected {what} (an object), got {_type_name(data)}")
        self.data: dict[str, object] = data
        self.path = path
        for key in data:
            if key not in keys:
                _fail(path, f"unknown key {key!r}{_suggest(key, keys)}")

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, default: object = _MISSING) -> object:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            _fail(self.path, f"missing key {key!r}")
        return default

    def text(self, key: str, default: object = _MISSING, *, single_line: bool = True) -> str:
        value = self.get(key, default)
        return _text(value, self.at(key), single_line=single_line)

    def opt_text(self, key: str) -> str | None:
        value = self.get(key, None)
        return None if value is None else _text(value, self.at(key))

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.get(key, default)
        return _integer(value, self.at(key), low, high)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            _fail(self.at(key), f"expected true or false, got {_type_name(value)}")
        return value

    def items(self, key: str) -> Iterator[tuple[str, object]]:
        value = self.get(key, [])
        yield from _items(value, self.at(key))


def _text(value: object, path: str, *, single_line: bool = True) -> str:
    if not isinstance(value, str):
        _fail(path, f"expected a string, got {_type_name(value)}")
    if len(value) > 10_000:
        _fail(path, f"text of {len(value)} characters is too long (at most 10000)")
    bad = _CONTROL.search(value.replace("\n", "") if not single_line else value)
    if bad:
        _fail(path, f"control character {bad.group()!r} is not allowed")
    return value


def _integer(value: object, path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        shown = f" {value}" if isinstance(value, float) else ""
        _fail(path, f"expected an integer, got {_type_name(value)}{shown}")
    if not low <= value <= high:
        shown = str(value) if abs(value) < 10**12 else "a number"
        _fail(path, f"{shown} is out of range ({low}..{high})")
    return value


def _items(value: object, path: str) -> Iterator[tuple[str, object]]:
    if not isinstance(value, list):
        _fail(path, f"expected a list, got {_type_name(value)}")
    if len(value) > MAX_ITEMS:
        _fail(path, f"{len(value)} entries is too many (at most {MAX_ITEMS})")
    for i, item in enumerate(value):
        yield f"{path}[{i}]", item


def _mapping(value: object, path: str) -> Iterator[tuple[str, str, object]]:
    if not isinstance(value, dict):
        _fail(path, f"expected an object, got {_type_name(value)}")
    if len(value) > MAX_ITEMS:
        _fail(path, f"{len(value)} entries is too many (at most {MAX_ITEMS})")
    for key, item in value.items():
        yield f"{path}[{json.dumps(key)}]", key, item


def _uri(value: object, path: str) -> str:
    text = _text(value, path)
    try:
        parse_uri(text)
    except SipParseError as exc:
        _fail(path, f"not a SIP URI: {exc.what}")
    _plain_uri(text, path)
    return text


# What a URI a user agent writes may not hold unescaped (RFC 3261 25.1): Kamailio's parser
# lets blanks and the like through (engine.uri), but a scenario's messages must be well formed.
# (A comma may stand in a user part, RFC 3261 25.1's "user-unreserved".)
_URI_FORBIDDEN = re.compile(r'[\s<>"]')


def _plain_uri(text: str, path: str) -> None:
    bad = _URI_FORBIDDEN.search(text)
    if bad is not None:
        shown = "a blank" if bad.group().isspace() else repr(bad.group())
        _fail(
            path,
            f"not a SIP URI: {shown} is not allowed in one (column {bad.start() + 1} of "
            f"{text!r}; RFC 3261 25.1 has it escaped as %{ord(bad.group()):02X})",
        )


def _sip_uri(value: object, path: str) -> str:
    text = _uri(value, path)
    if not parse_uri(text).is_sip:
        _fail(path, f"{text!r} must be a sip: or sips: URI")
    return text


def _route_value(value: object, path: str) -> str:
    text = _text(value, path)
    try:
        na = parse_name_addr(text, require_angle=True)
        na.uri  # noqa: B018 - parse it to validate
    except SipParseError as exc:
        _fail(path, f"not a Route value <uri>: {exc.what}")
    _plain_uri(na.uri_text, path)
    return text


_PORT = re.compile(r":(\d+)(?:\s|\Z)")


def _socket(value: object, path: str) -> Socket:
    text = _text(value, path).strip()
    for m in _PORT.finditer(text):
        if len(m.group(1)) > 5 or int(m.group(1)) > 65535 or int(m.group(1)) == 0:
            shown = m.group(1) if len(m.group(1)) <= 12 else m.group(1)[:12] + "..."
            _fail(path, f"port {shown} is out of range")
    try:
        return parse_socket(text)
    except ConfigError as exc:
        _fail(path, str(exc))


def _alias(value: object, path: str) -> Alias:
    text = _text(value, path)
    try:
        return parse_alias(text)
    except ConfigError as exc:
        _fail(path, str(exc))


def _name(value: object, path: str) -> str:
    text = _text(value, path)
    if not is_element_name(text):
        _fail(path, f"{text!r}: a name is 1 to 40 letters, digits, spaces or _ . + -")
    return text


def _check_format(text: str, path: str) -> None:
    """A format with pseudo-variables Kamailio and RouteLab both take (engine.pv)."""
    try:
        parse_format(text)
    except ScriptError as exc:
        _fail(path, str(exc))


def _rr(value: object, path: str) -> RrParams:
    kwargs: dict[str, object] = {}
    for _quoted, key, item in _mapping(value, path):
        # The modparams are names, so their paths read as fields: rr.enable_full_lr (the
        # composer shows the error under that field).
        p = f"{path}.{key}"
        if key == "loose_route_mode":
            _fail(
                p,
                "loose_route_mode is not an rr modparam in Kamailio 5.6.3 (added in 6.1); "
                "set the proxy's loose_route_mode key instead",
            )
        if key not in RR_DEFAULTS:
            _fail(path, f"unknown key {key!r}{_suggest(key, tuple(RR_DEFAULTS))}")
        default = RR_DEFAULTS[key]
        if isinstance(default, str):
            kwargs[key] = _text(item, p)
            continue
        high = 2 if key == "enable_double_rr" else 1
        kwargs[key] = _integer(item, p, 0, high)
    try:
        return RrParams.from_mapping(kwargs)
    except ConfigError as exc:  # pragma: no cover - every value was checked above
        _fail(path, str(exc))


def _outbound(value: object, path: str) -> Outbound | None:
    if value is None:
        return None
    obj = _Obj(
        value,
        path,
        ("flow_token_secret", "force_outbound_flag", "force_no_outbound_flag"),
        "the outbound module settings",
    )
    flags: list[int | None] = []
    for key in ("force_outbound_flag", "force_no_outbound_flag"):
        raw = obj.get(key, None)
        flags.append(None if raw is None else _integer(raw, obj.at(key), 0, 63))
    return Outbound(
        flow_token_secret=obj.opt_text("flow_token_secret"),
        force_outbound_flag=flags[0],
        force_no_outbound_flag=flags[1],
    )


_UA_KEYS = (
    "name",
    "address",
    "contact",
    "aor",
    "display",
    "outbound_proxy",
    "route_style",
    "lr_on_as_strict",
)


def _user_agent(value: object, path: str) -> UserAgent:
    obj = _Obj(value, path, _UA_KEYS, "a user agent")
    style = obj.text("route_style", "lines")
    if style not in ROUTE_STYLES:
        _fail(obj.at("route_style"), f"{style!r} is not one of {', '.join(ROUTE_STYLES)}")
    aor = obj.get("aor", "")
    outbound = obj.get("outbound_proxy", None)
    display = obj.text("display", "")
    if '"' in display or "\\" in display:
        _fail(obj.at("display"), "a display name cannot contain '\"' or '\\'")
    return UserAgent(
        name=_name(obj.get("name"), obj.at("name")),
        address=_socket(obj.get("address"), obj.at("address")),
        contact=_sip_uri(obj.get("contact"), obj.at("contact")),
        aor=_sip_uri(aor, obj.at("aor")) if aor != "" else "",
        display=display,
        outbound_proxy=None if outbound is None else _sip_uri(outbound, obj.at("outbound_proxy")),
        route_style=style,
        lr_on_as_strict=obj.boolean("lr_on_as_strict", False),
    )


_PROXY_KEYS = (
    "name",
    "listen",
    "aliases",
    "rr",
    "outbound",
    "profile",
    "loose_route_mode",
    "record_route_params",
    "record_route_preset",
    "forward_to",
    "location",
)


def _proxy(value: object, path: str) -> ProxyNode:
    obj = _Obj(value, path, _PROXY_KEYS, "a proxy")
    name = _name(obj.get("name"), obj.at("name"))
    listen = tuple(_socket(v, p) for p, v in obj.items("listen"))
    if not listen:
        _fail(obj.at("listen"), "a proxy needs at least one listen socket")
    profile = obj.text("profile", "kamailio-default")
    if profile not in PROFILES:
        _fail(obj.at("profile"), f"unknown profile {profile!r}{_suggest(profile, list(PROFILES))}")
    params = obj.text("record_route_params", "")
    if params and not params.startswith(";"):
        _fail(
            obj.at("record_route_params"),
            f"must start with ';', got {params!r} (Kamailio would append it as written, "
            "run on into the parameter before it)",
        )
    if any(c in params for c in "<>, "):
        _fail(obj.at("record_route_params"), "must not contain '<', '>', ',' or spaces")
    _check_format(params, obj.at("record_route_params"))
    preset = tuple(_text(v, p) for p, v in obj.items("record_route_preset"))
    if len(preset) > 2:
        _fail(obj.at("record_route_preset"), "record_route_preset takes one or two addresses")
    for i, addr in enumerate(preset):
        where = f"{obj.at('record_route_preset')}[{i}]"
        _check_format(addr, where)
        if "$" in addr:
            continue  # its address is known only when a request fills it in
        if addr.lower().startswith(("sip:", "sips:")):
            _fail(where, "give host[:port][;params] without the scheme: Kamailio adds sip:")
        if not addr.strip():
            _fail(where, "empty: give host[:port][;params]")
        try:
            uri = parse_uri(f"sip:{addr}")
        except SipParseError as exc:
            _fail(where, f"not a host[:port][;params] address: {exc.what}")
        if uri.user is not None or uri.headers is not None:
            _fail(where, "give host[:port][;params] without scheme or user part")
    rr = _rr(obj.get("rr", {}), obj.at("rr"))
    outbound = _outbound(obj.get("outbound", None), obj.at("outbound"))
    if rr.add_username and outbound is not None:
        _fail(
            f"{obj.at('rr')}.add_username",
            "add_username=1 cannot be used with the outbound module: Kamailio 5.6.3 refuses "
            "to start with both (rr: 'cannot use \"add_username\" with outbound')",
        )
    forward = obj.get("forward_to", None)
    location: list[tuple[str, str]] = []
    for p, key, item in _mapping(obj.get("location", {}), obj.at("location")):
        location.append((_sip_uri(key, p), _sip_uri(item, p)))
    return ProxyNode(
        name=name,
        listen=listen,
        aliases=tuple(_alias(v, p) for p, v in obj.items("aliases")),
        rr=rr,
        outbound=outbound,
        profile=profile,
        loose_route_mode=obj.integer("loose_route_mode", 0, 0, 255),
        record_route_params=params,
        record_route_preset=preset,
        forward_to=None if forward is None else _sip_uri(forward, obj.at("forward_to")),
        location=tuple(location),
    )


_REQUEST_KEYS = (
    "method",
    "from",
    "to",
    "request_uri",
    "route",
    "responses",
    "contact",
    "headers",
    "max_forwards",
    "note",
)


def _header(value: object, path: str) -> Header:
    text = _text(value, path)
    name, sep, rest = text.partition(":")
    if not sep or not _HEADER_NAME.match(name.strip()):
        _fail(path, f"expected 'Name: value', got {text!r}")
    written = _WRITTEN.get(Header(name.strip(), "").key)
    if written is not None:
        _fail(path, f"RouteLab writes {name.strip()} itself; {written}")
    return Header(name.strip(), rest.strip())


# The headers a user agent's request gets from the scenario (engine.dialog.build_request),
# by the keys of their full names (Header.key reads a compact form as one), with where to set
# them instead.
_WRITTEN = {
    key: where
    for names, where in (
        (("via",), "each element adds its own"),
        (("max-forwards",), "set max_forwards instead"),
        (("from", "to"), "the dialog's parties and tags give it"),
        (("call-id",), "set call_id instead"),
        (("cseq",), "the dialog counts it"),
        (("contact",), "set contact instead"),
        (("route",), "set route instead"),
        (("content-length",), "a scenario's requests carry no body"),
    )
    for key in names
}


def _request(value: object, path: str, *, initial: bool) -> RequestSpec:
    keys = _REQUEST_KEYS if initial else tuple(k for k in _REQUEST_KEYS if k != "to")
    obj = _Obj(value, path, keys, "a request")
    method = obj.text("method")
    if not is_method(method):
        _fail(obj.at("method"), f"{method!r} is not a SIP method in upper case")
    if initial and method not in DIALOG_METHODS:
        _fail(
            obj.at("method"),
            f"{method} does not create a dialog; use one of {', '.join(DIALOG_METHODS)}",
        )
    if not initial and method in ("CANCEL", "REGISTER"):
        _fail(obj.at("method"), f"{method} is not an in-dialog request")
    route_raw = obj.get("route", None)
    route = (
        None
        if route_raw is None
        else tuple(_route_value(v, p) for p, v in _items(route_raw, obj.at("route")))
    )
    responses_raw = obj.get("responses", None)
    responses: tuple[int, ...] | None = None
    if responses_raw is not None:
        responses = tuple(
            _integer(v, p, 100, 699) for p, v in _items(responses_raw, obj.at("responses"))
        )
        _check_responses(responses, obj.at("responses"), method=method, initial=initial)
    uri = obj.get("request_uri", None)
    contact = obj.get("contact", None)
    if contact is not None and method not in TARGET_REFRESH:
        _fail(
            obj.at("contact"),
            f"a {method} is not a target refresh request: it carries no Contact and leaves the "
            "remote target alone (RFC 3261 12.2); give a new contact with one of "
            f"{', '.join(sorted(TARGET_REFRESH))}",
        )
    return RequestSpec(
        method=method,
        sender=_name(obj.get("from"), obj.at("from")),
        recipient=_name(obj.get("to"), obj.at("to")) if initial else "",
        request_uri=None if uri is None else _uri(uri, obj.at("request_uri")),
        route=route,
        responses=responses,
        contact=None if contact is None else _sip_uri(contact, obj.at("contact")),
        headers=tuple(_header(v, p) for p, v in obj.items("headers")),
        max_forwards=obj.integer("max_forwards", 70, 0, 255),
        note=obj.text("note", "", single_line=False),
    )


def _check_responses(responses: tuple[int, ...], path: str, *, method: str, initial: bool) -> None:
    if method == "ACK":
        if responses:
            _fail(path, "an ACK gets no response")
        return
    if not responses:
        _fail(path, "give at least the final response")
    for i, status in enumerate(responses[:-1]):
        if not 101 <= status <= 199:
            _fail(f"{path}[{i}]", f"{status}: only provisional responses (101..199) come first")
    if not 200 <= responses[-1] <= 699:
        _fail(f"{path}[{len(responses) - 1}]", f"{responses[-1]}: the last response must be final")
    if not initial and len(responses) > 1:
        _fail(path, "an in-dialog request takes only its final response")


_TOP_KEYS = (
    "format",
    "title",
    "description",
    "highlights",
    "call_id",
    "user_agents",
    "proxies",
    "names",
    "dialog",
    "requests",
)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _decode(text: str) -> object:
    try:
        data = json.loads(
            text.removeprefix("\ufeff"),  # a byte-order mark, as some editors write one
            object_pairs_hook=_unique_pairs,
            parse_constant=_reject_constant,
            parse_float=_finite,
        )
    except json.JSONDecodeError as exc:
        raise ScenarioError("", _json_error(exc)) from None
    except RecursionError:
        raise ScenarioError("", "not a scenario: the JSON is nested too deeply") from None
    except ValueError as exc:  # duplicate keys, NaN/Infinity, numbers too long or too large
        raise ScenarioError("", f"not valid JSON: {exc}") from None
    return data


def _json_error(exc: json.JSONDecodeError) -> str:
    """What is wrong at the JSON parser's stop, in words: a comma before a closing bracket
    and a comment said as such (JSON allows neither), else the parser's message."""
    doc, pos = exc.doc, exc.pos
    if doc.startswith(("//", "/*"), pos):
        what = "a comment (JSON has none)"
    else:
        before = len(doc[:pos].rstrip())
        if before and doc[before - 1] == "," and doc[pos : pos + 1] in ("}", "]"):
            what, pos = f"a comma before '{doc[pos]}' (JSON allows no trailing comma)", before - 1
        else:
            what = exc.msg.removesuffix(" at")  # ("Invalid control character at")
    line = doc.count("\n", 0, pos) + 1
    column = pos - (doc.rfind("\n", 0, pos) + 1) + 1
    return f"not valid JSON: {what} at line {line}, column {column}"


def _no_surrogates(value: object, path: str) -> None:
    """ScenarioError at the first string holding a lone surrogate (a ``\\ud800`` escape
    JSON lets through, which is no character and cannot be written out)."""
    if isinstance(value, str):
        bad = next((c for c in value if "\ud800" <= c <= "\udfff"), None)
        if bad is not None:
            _fail(path, f"the escape \\u{ord(bad):04x} is a lone surrogate, not a character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_surrogates(key, path)
            _no_surrogates(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _no_surrogates(item, f"{path}[{i}]")


def loads(text: str) -> Scenario:
    """Read a scenario from JSON text and validate it (see :func:`check`).

    >>> loads('{"format": 2}')
    Traceback (most recent call last):
    ...
    engine.errors.ScenarioError: format: this RouteLab reads scenario format 1, not 2
    """
    if not isinstance(text, str):
        raise ScenarioError("", f"expected the scenario as text, got {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise ScenarioError("", f"{len(text)} characters is too long (at most {MAX_TEXT})")
    scenario = _read(_decode(text))
    _check_references(scenario)
    return scenario


def _read(data: object) -> Scenario:
    """A scenario from JSON data, every value validated where it is (not the references
    between the parts: :func:`_check_references`)."""
    _no_surrogates(data, "")
    obj = _Obj(data, "", _TOP_KEYS, "a scenario")
    fmt = obj.get("format")
    if fmt != FORMAT or type(fmt) is not int:  # (1.0 and true equal 1 in Python)
        shown = json.dumps(fmt)[:20] if isinstance(fmt, int | float | str) else _type_name(fmt)
        _fail("format", f"this RouteLab reads scenario format {FORMAT}, not {shown}")
    names: list[tuple[str, str]] = []
    for p, host, node in _mapping(obj.get("names", {}), "names"):
        if not valid_host(host) or len(host) > 255:
            _fail(p, f"{host[:80]!r} is not a host name")
        names.append((host, _name(node, p)))
    return Scenario(
        title=_title(obj),
        description=obj.text("description", "", single_line=False),
        highlights=tuple(_text(v, p, single_line=False) for p, v in obj.items("highlights")),
        call_id=_call_id(obj),
        user_agents=tuple(_user_agent(v, p) for p, v in obj.items("user_agents")),
        proxies=tuple(_proxy(v, p) for p, v in obj.items("proxies")),
        names=tuple(names),
        dialog=_request(obj.get("dialog"), "dialog", initial=True),
        requests=tuple(_request(v, p, initial=False) for p, v in obj.items("requests")),
    )


def _title(obj: _Obj) -> str:
    value = obj.text("title")
    if not value.strip():
        _fail(
            obj.at("title"), "empty: a scenario needs a title (the window and the library show it)"
        )
    return value


def _call_id(obj: _Obj) -> str:
    value = obj.text("call_id", "")
    if value and not is_call_id(value):
        _fail("call_id", "a Call-ID is one word of at most 200 characters")
    return value


# --------------------------------------------------------------------------
# cross-reference checks


def check(scenario: Scenario) -> None:
    """Validate the references between the parts; raise ScenarioError at the first problem.

    Every value passes the same checks :func:`loads` makes (the scenario is read back from
    :func:`to_jsonable` by the loader's own validators, so the error paths are the same); then
    names are unique and known, no two elements share a transport address, the dialog is
    between two user agents and the in-dialog requests come from one of them.

    >>> s = loads('''{"format": 1, "title": "t",
    ...   "user_agents": [{"name": "A", "address": "udp:192.0.2.1:5060", "contact": "sip:a@x"}],
    ...   "dialog": {"method": "INVITE", "from": "A", "to": "A"}}''')
    >>> from dataclasses import replace
    >>> check(replace(s, requests=(RequestSpec(method="BYE", sender="Zed"),)))
    Traceback (most recent call last):
    ...
    engine.errors.ScenarioError: requests[0].from: 'Zed' is not a party of the dialog (A)
    >>> check(replace(s, dialog=replace(s.dialog, method="ACK")))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    engine.errors.ScenarioError: dialog.method: ACK does not create a dialog; use one of ...
    """
    try:
        data = to_jsonable(scenario)
    except (AttributeError, TypeError, ValueError) as exc:  # a value of the wrong type
        raise ScenarioError("", f"not a scenario: a value has the wrong type ({exc})") from None
    _read(data)
    _check_references(scenario)


def _check_references(scenario: Scenario) -> None:
    seen: dict[str, str] = {}
    named = [(f"user_agents[{i}]", u.name) for i, u in enumerate(scenario.user_agents)]
    named += [(f"proxies[{i}]", p.name) for i, p in enumerate(scenario.proxies)]
    for where, name in named:
        if name in seen:
            _fail(f"{where}.name", f"{name!r} is already the name of {seen[name]}")
        seen[name] = where
    _check_addresses(scenario)
    elements = scenario.element_names
    hosts: set[str] = set()
    for host, node in scenario.names:
        where = f"names[{json.dumps(host)}]"
        if host.lower() in hosts:
            _fail(where, f"{host!r} is listed twice")
        hosts.add(host.lower())
        if node not in elements:
            _fail(where, f"no element is called {node!r}{_suggest(node, elements)}")
    agents = tuple(u.name for u in scenario.user_agents)
    d = scenario.dialog
    for key, value in (("from", d.sender), ("to", d.recipient)):
        if value not in agents:
            what = "a proxy, not a user agent" if value in elements else "not a user agent"
            _fail(f"dialog.{key}", f"{value!r} is {what}{_suggest(value, agents)}")
    if d.responses is not None:
        _check_responses(d.responses, "dialog.responses", method=d.method, initial=True)
    parties = tuple(dict.fromkeys((d.sender, d.recipient)))
    for i, r in enumerate(scenario.requests):
        if r.sender not in parties:
            _fail(
                f"requests[{i}].from",
                f"{r.sender!r} is not a party of the dialog ({', '.join(parties)})",
            )
        if r.responses is not None:
            _check_responses(
                r.responses, f"requests[{i}].responses", method=r.method, initial=False
            )
    for i, p in enumerate(scenario.proxies):
        if p.profile not in PROFILES:
            _fail(f"proxies[{i}].profile", f"unknown profile {p.profile!r}")


def _check_addresses(scenario: Scenario) -> None:
    # A user agent is found by host and port alone, whatever the transport (simulate's
    # name lookup), so its address clashes with any socket on it; two proxy sockets clash
    # only with the same transport.
    owners: list[tuple[Socket, str, bool]] = []

    def clash(sock: Socket, ua: bool) -> str | None:
        """Who already has ``sock``'s address, in words; None when nobody does."""
        for other, who, other_ua in owners:
            same_port = other.port == sock.port
            same_proto = ua or other_ua or other.proto == sock.proto
            if same_port and same_proto and same_ip(other.host, sock.host):
                if (ua or other_ua) and other.proto != sock.proto:
                    return (
                        f"{who} ({other}: a user agent takes its host and port for every transport)"
                    )
                return who
        return None

    for i, u in enumerate(scenario.user_agents):
        who = clash(u.address, True)
        if who:
            _fail(f"user_agents[{i}].address", f"{u.address} is already used by {who}")
        owners.append((u.address, u.name, True))
    for i, p in enumerate(scenario.proxies):
        names: set[str] = set()
        for j, sock in enumerate(p.listen):
            who = clash(sock, False)
            if who:
                listed = " (listed twice)" if who == p.name else ""
                _fail(f"proxies[{i}].listen[{j}]", f"{sock} is already used by {who}{listed}")
            if sock.name is not None:
                if sock.name.lower() in names:  # (Kamailio matches socket names in any case)
                    _fail(f"proxies[{i}].listen[{j}]", f"another socket is named {sock.name!r}")
                names.add(sock.name.lower())
            owners.append((sock, p.name, False))


# --------------------------------------------------------------------------
# writing


def _socket_text(sock: Socket) -> str:
    return sock.describe()


def _ua_json(u: UserAgent) -> dict[str, object]:
    out: dict[str, object] = {"name": u.name, "address": _socket_text(u.address)}
    out["contact"] = u.contact
    if u.aor:
        out["aor"] = u.aor
    if u.display:
        out["display"] = u.display
    if u.outbound_proxy is not None:
        out["outbound_proxy"] = u.outbound_proxy
    if u.route_style != "lines":
        out["route_style"] = u.route_style
    if u.lr_on_as_strict:
        out["lr_on_as_strict"] = True
    return out


def _proxy_json(p: ProxyNode) -> dict[str, object]:
    out: dict[str, object] = {"name": p.name, "listen": [_socket_text(s) for s in p.listen]}
    if p.aliases:
        out["aliases"] = [str(a) for a in p.aliases]
    if p.rr.changed():
        out["rr"] = p.rr.changed()
    if p.outbound is not None:
        ob: dict[str, object] = {}
        for key in ("flow_token_secret", "force_outbound_flag", "force_no_outbound_flag"):
            value = getattr(p.outbound, key)
            if value is not None:
                ob[key] = value
        out["outbound"] = ob
    out["profile"] = p.profile
    if p.loose_route_mode:
        out["loose_route_mode"] = p.loose_route_mode
    if p.record_route_params:
        out["record_route_params"] = p.record_route_params
    if p.record_route_preset:
        out["record_route_preset"] = list(p.record_route_preset)
    if p.forward_to is not None:
        out["forward_to"] = p.forward_to
    if p.location:
        out["location"] = dict(p.location)
    return out


def _request_json(r: RequestSpec, *, initial: bool) -> dict[str, object]:
    out: dict[str, object] = {"method": r.method, "from": r.sender}
    if initial:
        out["to"] = r.recipient
    if r.request_uri is not None:
        out["request_uri"] = r.request_uri
    if r.route is not None:
        out["route"] = list(r.route)
    if r.responses is not None:
        out["responses"] = list(r.responses)
    if r.contact is not None:
        out["contact"] = r.contact
    if r.headers:
        out["headers"] = [f"{h.name}: {h.value}" for h in r.headers]
    if r.max_forwards != 70:
        out["max_forwards"] = r.max_forwards
    if r.note:
        out["note"] = r.note
    return out


def to_jsonable(scenario: Scenario) -> dict[str, object]:
    """The scenario as JSON-ready data, keys in file order, defaults left out.

    >>> s = Scenario(title="t", dialog=RequestSpec(method="INVITE", sender="A", recipient="B"))
    >>> to_jsonable(s)["dialog"]
    {'method': 'INVITE', 'from': 'A', 'to': 'B'}
    """
    out: dict[str, object] = {"format": FORMAT, "title": scenario.title}
    if scenario.description:
        out["description"] = scenario.description
    if scenario.highlights:
        out["highlights"] = list(scenario.highlights)
    if scenario.call_id:
        out["call_id"] = scenario.call_id
    out["user_agents"] = [_ua_json(u) for u in scenario.user_agents]
    out["proxies"] = [_proxy_json(p) for p in scenario.proxies]
    out["names"] = dict(scenario.names)
    out["dialog"] = _request_json(scenario.dialog, initial=True)
    out["requests"] = [_request_json(r, initial=False) for r in scenario.requests]
    return out


def dumps(scenario: Scenario) -> str:
    """The scenario as canonical file text (2-space indent, trailing newline).

    >>> s = Scenario(title="t", dialog=RequestSpec(method="INVITE", sender="A", recipient="B"))
    >>> dumps(s).splitlines()[1]
    '  "format": 1,'
    """
    return json.dumps(to_jsonable(scenario), indent=2, ensure_ascii=False) + "\n"


__all__ = [
    "DIALOG_METHODS",
    "FORMAT",
    "ProxyNode",
    "RequestSpec",
    "Scenario",
    "UserAgent",
    "check",
    "dumps",
    "is_call_id",
    "is_element_name",
    "is_method",
    "loads",
    "to_jsonable",
]
