"""A proxy as Kamailio sees itself: listen sockets, aliases, rr and outbound settings.

Rule: :func:`is_myself` is the only locality test the rr functions use, and it
follows Kamailio 5.6.3's ``check_self`` exactly (spec section 2): port 5060
when absent whatever the scheme, transport ignored, IPv6 compared as
addresses, IPv4 and names as text, a ``gr`` parameter is never myself, the
user part is ignored, and no DNS is ever used.

>>> from engine.uri import parse_uri
>>> p = Proxy.build(listen=["udp:127.0.0.1:5060"], aliases=["proxy.example.com"])
>>> is_myself(parse_uri("sips:127.0.0.1;lr"), p), is_myself(parse_uri("sip:127.0.0.1:5070"), p)
(True, False)
>>> is_myself(parse_uri("sip:PROXY.example.COM:5099;lr"), p)
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache

from engine.errors import ConfigError
from engine.uri import DEFAULT_PORT, SipUri, is_ip, is_number, same_ip, valid_host

PROTOCOLS = ("udp", "tcp", "tls", "sctp", "ws", "wss")
PROTO_IDS = {"udp": 1, "tcp": 2, "tls": 3, "sctp": 4, "ws": 5, "wss": 6}


@dataclass(frozen=True, slots=True)
class Socket:
    """A listen socket ``proto:host:port`` with an optional advertised address and name."""

    proto: str
    host: str
    port: int
    advertise_host: str | None = None
    advertise_port: int | None = None
    name: str | None = None

    def __str__(self) -> str:
        return f"{self.proto}:{self.host}:{self.port}"

    def describe(self) -> str:
        """The socket as Kamailio's ``listen=`` line would say it."""
        text = f"{self.proto}:{self.host}:{self.port}"
        if self.advertise_host or self.advertise_port:
            adv = self.advertise_host or self.host
            text += f" advertise {adv}" + (f":{self.advertise_port}" if self.advertise_port else "")
        if self.name:
            text += f' name "{self.name}"'
        return text

    @property
    def is_ipv6(self) -> bool:
        """True for an IPv6 socket."""
        return self.host.startswith("[")


_HOSTPORT = re.compile(r"(\[[^\]]*\]|[^:\[\]]+)(?::([0-9]+))?\Z")


def _split_hostport(text: str, what: str) -> tuple[str, int | None]:
    m = _HOSTPORT.match(text.strip())
    if not m:
        raise ConfigError(f"{what} {text!r}: expected host[:port]{_ipv6_hint(text.strip())}")
    host, port = m.group(1), m.group(2)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if not valid_host(host):
        raise ConfigError(f"{what} {text!r}: invalid host {host!r}")
    # (The length test first: int() refuses strings of more than 4300 digits.)
    if port is not None and (len(port) > 5 or not 0 < int(port) <= 65535):
        raise ConfigError(f"{what} {text!r}: port {port[:20]} is out of range")
    return host, int(port) if port is not None else None


def _ipv6_hint(text: str) -> str:
    """For an IPv6 address written without brackets, how to write it: as it stands, or with
    its last group read as a port (``2001:db8::1:5060`` may mean either)."""
    if text.count(":") < 2 or "[" in text:
        return ""
    head, _, last = text.rpartition(":")
    readings = [f"[{text}]"] if is_ip(f"[{text}]") else []
    if is_number(last) and 0 < int(last) <= 65535 and is_ip(f"[{head}]"):
        readings.append(f"[{head}]:{last}")
    if not readings:
        return ""
    return f" (an IPv6 address goes in brackets: {' or '.join(readings)})"


def parse_socket(text: str) -> Socket:
    """Parse ``proto:host:port [advertise host[:port]] [name NAME]``.

    >>> s = parse_socket("udp:[::1]:5060")
    >>> s.proto, s.host, s.port
    ('udp', '[::1]', 5060)
    >>> parse_socket("tcp:10.0.0.1:5070 advertise 203.0.113.5:5080").advertise_port
    5080
    """
    if len(text) <= 256:
        return _socket_memo(text)
    return _parse_socket(text)


def _parse_socket(text: str) -> Socket:
    words = text.split()
    if not words:
        raise ConfigError("empty listen socket")
    proto, sep, rest = words[0].partition(":")
    if not sep or proto.lower() not in PROTOCOLS:
        raise ConfigError(
            f"listen {text!r}: expected proto:host:port with proto one of {', '.join(PROTOCOLS)}"
        )
    host, port = _split_hostport(rest, f"listen {text!r}:")
    if not is_ip(host):
        raise ConfigError(f"listen {text!r}: the address must be an IPv4 or IPv6 address")
    adv_host: str | None = None
    adv_port: int | None = None
    name: str | None = None
    i = 1
    while i < len(words):
        word = words[i].lower()
        if word == "advertise" and i + 1 < len(words):
            adv_host, adv_port = _split_hostport(words[i + 1], f"listen {text!r}: advertise")
            i += 2
        elif word == "name" and i + 1 < len(words):
            name = words[i + 1].strip('"')
            if not name or '"' in name or "\\" in name:
                # Kamailio reads the name as a quoted string: none, or one with a quote or a
                # backslash in it, could not be written back into a listen line.
                raise ConfigError(f"listen {text!r}: a socket name without quotes or backslashes")
            i += 2
        elif word in ("advertise", "name"):
            wanted = "host[:port]" if word == "advertise" else "a name"
            raise ConfigError(f"listen {text!r}: {word} needs {wanted} after it")
        else:
            raise ConfigError(f"listen {text!r}: unexpected {words[i]!r}")
    return Socket(proto.lower(), host, port or 5060, adv_host, adv_port, name)


# Every request names the sockets it came in and goes out on: remember them.
_socket_memo = lru_cache(maxsize=256)(_parse_socket)


@dataclass(frozen=True, slots=True)
class Alias:
    """An ``alias=`` entry: host, optional port (None matches any port), optional proto."""

    host: str
    port: int | None = None
    proto: str | None = None

    def __str__(self) -> str:
        text = self.host + (f":{self.port}" if self.port else "")
        return f"{self.proto}:{text}" if self.proto else text


def parse_alias(text: str) -> Alias:
    """Parse ``[proto:]host[:port]``.

    >>> parse_alias("udp:udponly.example.com:5060")
    Alias(host='udponly.example.com', port=5060, proto='udp')
    """
    proto: str | None = None
    head, sep, rest = text.partition(":")
    if sep and head.lower() in PROTOCOLS:
        proto, text = head.lower(), rest
    elif sep and ":" not in rest and "." in rest and not head.startswith("["):
        # "xyz:p1.example.com": a word before a host, not a port after one.
        raise ConfigError(
            f"alias {text!r}: {head!r} is not a protocol (one of {', '.join(PROTOCOLS)})"
        )
    host, port = _split_hostport(text, "alias")
    return Alias(host, port, proto)


# Kamailio 5.6.3 rr module parameters and their defaults (spec section 1.1).
RR_DEFAULTS: dict[str, int | str] = {
    "enable_full_lr": 0,
    "append_fromtag": 1,
    "enable_double_rr": 1,
    "add_username": 0,
    "enable_socket_mismatch_warning": 1,
    "custom_user_avp": "",
    "force_send_socket": 0,
    "ignore_sips": 0,
    "sockname_mode": 0,
}
_RR_INT_RANGES = {"enable_double_rr": (0, 2)}


@dataclass(frozen=True, slots=True)
class RrParams:
    """The rr module parameters (``modparam("rr", ...)``), with Kamailio's defaults."""

    enable_full_lr: int = 0
    append_fromtag: int = 1
    enable_double_rr: int = 1
    add_username: int = 0
    enable_socket_mismatch_warning: int = 1
    custom_user_avp: str = ""
    force_send_socket: int = 0
    ignore_sips: int = 0
    sockname_mode: int = 0

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> RrParams:
        """Build from ``{name: value}``; unknown names and bad values raise ConfigError.

        >>> RrParams.from_mapping({"enable_double_rr": "2"}).enable_double_rr
        2
        """
        kwargs: dict[str, int | str] = {}
        for name, raw in values.items():
            if name == "loose_route_mode":
                raise ConfigError(
                    "modparam loose_route_mode does not exist in Kamailio 5.6.3 (added in 6.1); "
                    "call loose_route_mode(n) in the script instead"
                )
            if name not in RR_DEFAULTS:
                close = _suggest(name, RR_DEFAULTS)
                hint = f" (did you mean {close!r}?)" if close else ""
                raise ConfigError(f"unknown rr modparam {name!r}{hint}")
            if isinstance(RR_DEFAULTS[name], str):
                kwargs[name] = str(raw)
                continue
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                raise ConfigError(f"modparam {name}: expected an integer, got {raw!r}")
            try:
                num = int(raw)
            except ValueError:
                raise ConfigError(f"modparam {name}: expected an integer, got {raw!r}") from None
            low, high = _RR_INT_RANGES.get(name, (0, 1))
            if not low <= num <= high:
                raise ConfigError(f"modparam {name}: {num} is not in {low}..{high}")
            kwargs[name] = num
        return cls(**kwargs)  # type: ignore[arg-type]

    def changed(self) -> dict[str, int | str]:
        """The parameters that differ from Kamailio's defaults."""
        return {
            name: getattr(self, name)
            for name, default in RR_DEFAULTS.items()
            if getattr(self, name) != default
        }


def _suggest(name: str, choices: Iterable[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class Outbound:
    """The outbound module (RFC 5626), loaded before rr.

    ``flow_token_secret`` is kept for display: Kamailio 5.6.x ignores its text
    (the key is SHA1 of the empty string, spec section 3.8).
    """

    flow_token_secret: str | None = None
    force_outbound_flag: int | None = None
    force_no_outbound_flag: int | None = None


@dataclass(frozen=True, slots=True)
class Proxy:
    """A Kamailio instance: its name, sockets, aliases and module settings."""

    name: str = "proxy"
    listen: tuple[Socket, ...] = ()
    aliases: tuple[Alias, ...] = ()
    rr: RrParams = field(default_factory=RrParams)
    outbound: Outbound | None = None
    # Worked out once per proxy for locate(), which every rr call asks two or three
    # times: the host keys of its own addresses, and the answers for the hosts and
    # ports it met lately (a cache, not part of the value).
    _own_hosts: frozenset[str] = field(init=False, repr=False, compare=False)
    _matches: dict[tuple[str, int], Locality] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hosts = [s.host for s in self.listen]
        hosts += [s.advertise_host for s in self.listen if s.advertise_host is not None]
        hosts += [a.host for a in self.aliases]
        object.__setattr__(self, "_own_hosts", frozenset(map(_host_key, hosts)))
        object.__setattr__(self, "_matches", {})

    @classmethod
    def build(
        cls,
        *,
        name: str = "proxy",
        listen: Iterable[str] = (),
        aliases: Iterable[str] = (),
        modparams: Mapping[str, object] | None = None,
        outbound: Outbound | None = None,
    ) -> Proxy:
        """Build from the text forms used by vectors and the command line.

        An outbound flag of -1 means "not set", as in Kamailio's outbound module;
        other flag numbers must be 0..63.
        """
        sockets = tuple(parse_socket(s) for s in listen)
        if not sockets:
            raise ConfigError("a proxy needs at least one listen socket")
        if outbound is not None:
            outbound = replace(
                outbound,
                force_outbound_flag=_flag_number(
                    "force_outbound_flag", outbound.force_outbound_flag
                ),
                force_no_outbound_flag=_flag_number(
                    "force_no_outbound_flag", outbound.force_no_outbound_flag
                ),
            )
        rr = RrParams.from_mapping(modparams or {})
        if rr.add_username and outbound is not None:
            # rr_mod.c's mod_init: 'cannot use "add_username" with outbound' (seen on 5.6.3).
            raise ConfigError(
                "modparam add_username=1 cannot be used with the outbound module: Kamailio "
                "5.6.3 refuses to start with both"
            )
        return cls(
            name=name,
            listen=sockets,
            aliases=tuple(parse_alias(a) for a in aliases),
            rr=rr,
            outbound=outbound,
        )

    def socket(self, text: str) -> Socket:
        """The listen socket named ``proto:host:port``; ConfigError when it is not ours."""
        wanted = parse_socket(text)
        for s in self.listen:
            if s.proto == wanted.proto and same_ip(s.host, wanted.host) and s.port == wanted.port:
                return s
        raise ConfigError(f"{text} is not one of this proxy's listen sockets")


def _flag_number(name: str, flag: int | None) -> int | None:
    if flag is None or flag == -1:
        return None
    if isinstance(flag, bool) or not isinstance(flag, int) or not 0 <= flag < 64:
        raise ConfigError(f"outbound {name}: expected a message flag 0..63 (or -1), got {flag!r}")
    return flag


@dataclass(frozen=True, slots=True)
class Locality:
    """Why a URI is (or is not) this proxy: the matching socket or alias, if any."""

    myself: bool
    socket: Socket | None = None
    alias: Alias | None = None
    gruu: bool = False
    # reason(), worked out once: a proxy's few Locality values are kept (Proxy._matches)
    # and their reasons are written into a decision step by almost every rr call.
    _reason: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.gruu:
            reason = "it carries a gr parameter (a GRUU is never this proxy)"
        elif self.socket is not None:
            reason = f"listen {self.socket.describe()}"
        elif self.alias is not None:
            reason = f"alias {self.alias}"
        else:
            reason = "no listen socket or alias matches"
        object.__setattr__(self, "_reason", reason)

    def reason(self) -> str:
        """Plain words for the decision."""
        return self._reason


_NOT_MYSELF = Locality(False)


def locate(uri: SipUri, proxy: Proxy) -> Locality:
    """The full answer of :func:`is_myself`, with the socket or alias that matched."""
    host = uri.host
    if not host or uri.scheme not in _SIP_SCHEMES:
        return _NOT_MYSELF
    # A host without ':' that is none of the proxy's own (the next hop of almost every
    # request) is answered at once, without walking the sockets and aliases, and is not
    # remembered: a stream of distinct next hops would only churn the memo.
    if ":" not in host and (host.lower() if host[0] != "[" else _host_key(host)) not in (
        proxy._own_hosts
    ):
        return _NOT_MYSELF
    key = (host, DEFAULT_PORT if uri.port is None else uri.port)
    matches = proxy._matches
    match = matches.get(key)
    if match is None:
        match = _match(proxy, *key) or _NOT_MYSELF
        if len(matches) >= _MATCHES_MAX:
            matches.clear()
        matches[key] = match
    # Fast: "gr" in the stripped keys first, then the name exactly as Kamailio 5.6.3 reads
    # it ("; gr" and "gr =x" are no gr: seen on runs, RL-PNAME-*).
    if match.myself and "gr" in uri.param_keys and uri.uri_param("gr") is not None:
        return Locality(False, match.socket, match.alias, gruu=True)
    return match


_SIP_SCHEMES = frozenset({"sip", "sips"})
# How many (host, port) answers a proxy keeps (Proxy._matches); cleared when full.
_MATCHES_MAX = 1024


def _host_key(host: str) -> str:
    """How same_ip() compares a host that has no ':' (brackets dropped, lower case).

    A host without ':' names a proxy only if this is one of the proxy's
    ``_own_hosts``: :func:`same_ip` compares such a host with anything as
    ``_host_key(a) == _host_key(b)`` (an IPv6 literal, which has ':', never equals it).
    """
    if host[:1] == "[" and host[-1:] == "]":
        host = host[1:-1]
    return host.lower()


def _match(proxy: Proxy, host: str, port: int) -> Locality | None:
    """The socket (first) or alias that names host:port, as a Locality; None if none does."""
    # Any protocol will do, UDP first (find_socket): the socket named is Kamailio's.
    sock = find_socket(proxy, host, port, None)
    match = Locality(True, socket=sock) if sock is not None else None
    if match is None:
        for a in proxy.aliases:
            if (a.port is None or a.port == port) and same_ip(host, a.host):
                match = Locality(True, alias=a)
                break
    return match


def is_myself(uri: SipUri, proxy: Proxy) -> bool:
    """Kamailio's "is this URI myself" test (spec section 2)."""
    return locate(uri, proxy).myself


def near_miss(uri: SipUri, proxy: Proxy) -> str | None:
    """Why a URI whose host is one of the proxy's own is still not this proxy: its port.

    Words for a decision step (spec section 2: a URI without a port means 5060 whatever
    its scheme, and an alias with a port matches that port only); None when the host is
    none of the proxy's, or when the URI is this proxy after all.

    >>> p = Proxy.build(listen=["udp:10.0.0.1:5080"], aliases=["pbx.example.com:5090"])
    >>> from engine.uri import parse_uri
    >>> print(near_miss(parse_uri("sip:pbx.example.com;lr"), p))  # doctest: +NORMALIZE_WHITESPACE
    its host is that of alias pbx.example.com:5090, but a URI without a port means 5060,
    and this proxy has that host only on port 5090
    """
    host = uri.host
    if not host or uri.scheme not in _SIP_SCHEMES:
        return None
    if ":" not in host and _host_key(host) not in proxy._own_hosts:
        return None  # (the next hop of almost every request: answered at once)
    loc = locate(uri, proxy)
    if loc.myself or loc.gruu:
        return None
    owners: list[str] = []
    ports: list[int] = []
    for s in proxy.listen:
        # A socket is this proxy on its port and its advertised port, by either address.
        if _has_host(s, host):
            owners.append(f"listen {s.describe()}")
            ports.append(s.port)
            if s.advertise_port:
                ports.append(s.advertise_port)
    for a in proxy.aliases:
        if same_ip(host, a.host):
            owners.append(f"alias {a}")
            if a.port is not None:
                ports.append(a.port)
    if not owners:
        return None
    where = sorted(set(ports))
    return (
        f"its host is that of {join_and(owners)}, but "
        + (
            f"its port is {uri.port}"
            if uri.port is not None
            else f"a URI without a port means {DEFAULT_PORT}"
        )
        + f", and this proxy has that host only on port{'s' if len(where) > 1 else ''} "
        + ", ".join(map(str, where))
    )


def join_and(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c`` (for decision sentences).

    >>> join_and(["a"]), join_and(["a", "b", "c"])
    ('a', 'a, b and c')
    """
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1]


def find_socket(proxy: Proxy, host: str, port: int | None, proto: str | None) -> Socket | None:
    """A listen socket with that address (port None = any port, proto None = any).

    With any protocol, the protocols are looked at in a fixed order (UDP, TCP, TLS, SCTP,
    then WS and WSS), whatever order the sockets are listed in: Kamailio 5.6.3 forces
    udp:127.0.0.1:5060 for <sip:127.0.0.1;r2=on;lr> when tcp:127.0.0.1:5060 is listed
    first (RL-SOCKORDER-*).

    >>> p = Proxy.build(listen=["tcp:10.0.0.1:5060", "udp:10.0.0.1:5060"])
    >>> find_socket(p, "10.0.0.1", 5060, None).describe()
    'udp:10.0.0.1:5060'
    >>> find_socket(p, "10.0.0.1", None, "tcp").describe()
    'tcp:10.0.0.1:5060'
    """
    for wanted in (proto,) if proto is not None else PROTOCOLS:
        for s in proxy.listen:
            if s.proto != wanted:
                continue
            if port is not None and s.port != port and s.advertise_port != port:
                continue
            if _has_host(s, host):
                return s
    return None


def _has_host(sock: Socket, host: str) -> bool:
    """Whether ``host`` is the socket's address or its advertised one."""
    return same_ip(host, sock.host) or (
        sock.advertise_host is not None and same_ip(host, sock.advertise_host)
    )
