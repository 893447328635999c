"""Deterministic generator of vector inputs for the differential run.

Everything comes from one seeded :class:`random.Random`; the same seed gives the same vectors,
byte for byte.  The inputs use the shared vector format (``/work/shared/vectors/README.md``)
without ``expected``; :mod:`.kamailio` records that from a real Kamailio.

Two families:

* ``G…`` -- requests with Route sets of 0 to 5 entries mixing the proxy's own addresses and
  aliases (with and without port, IPv4 and IPv6, case variants, near misses) with foreign hosts;
  ``lr`` / ``lr=on`` / no ``lr`` / ``r2=on`` / ``ftag`` / ``maddr`` / ``gr`` / ``transport`` /
  ``sips:`` / display names / user parts / URI headers / blanks and odd characters after a
  host; one or several Route header lines; with and without
  To-tag; R-URI foreign or naming the proxy; scripts mostly ``loose_route()``, some
  ``record_route()`` and both.  Spread over a few proxy configurations.
* ``F…`` -- outbound flow tokens (the ``outbound`` module loaded): valid tokens built with
  HMAC-SHA1 as the spec's section 3.8 describes (5.6.3 keys it with SHA1 of the empty string,
  whatever ``flow_token_secret`` says), sent from the flow's own address and from elsewhere;
  tampered tokens, tokens naming sockets the proxy lacks, users that are not tokens.

Port use: the proxies listen on 5060 and 5080 of 127.0.0.1, 127.0.0.2 and ::1 (vectors compare
addresses literally, so the ports are fixed); requests come from ports 25061-25064 (flow tokens)
and 25070-25073.  The recorder checks that each port is free before using it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import random
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

SEED = 5_6_3
GENERAL_COUNT = 600
FLOW_COUNT = 64
SCRIPT_COUNT = 96

_DEFAULT_RR = {"enable_full_lr": 0, "append_fromtag": 1, "enable_double_rr": 1}

PROXIES: dict[str, dict[str, Any]] = {
    # Several sockets: different IPs, ports and families, so r2 pairs and double RR cross them.
    "multi": {
        "listen": [
            "udp:127.0.0.1:5060",
            "udp:127.0.0.2:5060",
            "udp:127.0.0.1:5080",
            "udp:[::1]:5060",
        ],
        "aliases": ["proxy.example.com", "pbx.example.org:5090", "udp:udponly.example.com:5060"],
        "modparams": dict(_DEFAULT_RR),
    },
    # No double RR, forced sockets, lr=on, no ftag.
    "single-rr": {
        # Named sockets without sockname_mode: an sn in a Route must change nothing.
        "listen": ["udp:127.0.0.1:5060 name s1", "udp:[::1]:5060 name s6"],
        "aliases": ["proxy.example.com", "Edge.Example.NET:5060"],
        "modparams": {
            "enable_full_lr": 1,
            "append_fromtag": 0,
            "enable_double_rr": 0,
            "force_send_socket": 1,
        },
    },
    # Nothing listens on 5060: a portless own address is not "myself" here.
    "port5080": {
        "listen": ["udp:127.0.0.1:5080", "udp:[::1]:5080"],
        "aliases": ["proxy.example.com:5080", "sip.example.com"],
        "modparams": {
            "enable_full_lr": 0,
            "append_fromtag": 1,
            "enable_double_rr": 2,
            "force_send_socket": 1,
        },
    },
    "outbound": {
        "listen": ["udp:127.0.0.1:5060", "udp:[::1]:5060"],
        "aliases": ["proxy.example.com"],
        "modparams": dict(_DEFAULT_RR),
        "outbound": {
            "loaded": True,
            "flow_token_secret": "routelab-secret",
            "force_outbound_flag": 1,
            "force_no_outbound_flag": 2,
        },
    },
    # Named sockets, one advertised: record_route() adds ;sn=, loose_route() forces the
    # socket an sn names (sockname_mode=1, force_send_socket=1).
    "named": {
        "listen": [
            "udp:127.0.0.1:5060 advertise 203.0.113.5:5080 name s1",
            "udp:127.0.0.1:5062 name s2",
            "udp:[::1]:5060 name s6",
        ],
        "aliases": ["proxy.example.com"],
        "modparams": {**_DEFAULT_RR, "sockname_mode": 1, "force_send_socket": 1},
    },
}
# The outbound proxy again, its sockets named and one advertised: flow tokens name the real
# socket, Record-Route values carry ;sn= (flow-token vectors only).
PROXIES["outbound-named"] = {
    **PROXIES["outbound"],
    "listen": [
        "udp:127.0.0.1:5060 advertise 203.0.113.5:5080 name o4",
        "udp:[::1]:5060 name o6",
        "tcp:127.0.0.1:5060 name t4",  # a flow token naming it is one of this proxy's flows
    ],
    "modparams": {**_DEFAULT_RR, "sockname_mode": 1, "force_send_socket": 1},
}
# The R-URI's user in the Record-Route (add_username), sips R-URIs record-routed as sip:
# (ignore_sips), two Record-Route values always.
PROXIES["username"] = {
    "listen": ["udp:127.0.0.1:5060", "udp:127.0.0.1:5080"],
    "aliases": ["proxy.example.com"],
    "modparams": {
        "enable_full_lr": 1,
        "append_fromtag": 1,
        "enable_double_rr": 2,
        "add_username": 1,
        "ignore_sips": 1,
    },
}
# TCP sockets beside the UDP ones (requests still arrive over UDP): double Record-Route
# between UDP and TCP, sockets forced by a Route's transport=tcp, r2 pairs across transports.
PROXIES["tcp"] = {
    "listen": [
        "udp:127.0.0.1:5060",
        "tcp:127.0.0.1:5060",
        "tcp:127.0.0.1:5070",
        "udp:[::1]:5060",
        "tcp:[::1]:5060",
    ],
    "aliases": ["proxy.example.com", "tcp:tcponly.example.com:5070"],
    "modparams": {**_DEFAULT_RR, "force_send_socket": 1},
}
# The same sockets, TCP listed first: a Route URI without a transport still forces the UDP
# socket (protocols are looked at in a fixed order, not in the order they are listed).
PROXIES["tcp-first"] = {
    **PROXIES["tcp"],
    "listen": [
        "tcp:127.0.0.1:5060",
        "udp:127.0.0.1:5060",
        "tcp:[::1]:5060",
        "udp:[::1]:5060",
        "tcp:127.0.0.1:5070",
    ],
}
GENERAL_PROXY_WEIGHTS = {
    "multi": 5,
    "single-rr": 2,
    "port5080": 2,
    "outbound": 1,
    "named": 1,
    "username": 1,
    "tcp": 1,
    "tcp-first": 1,
}
SOCKET_NAMES = ["s1", "s2", "s6", "S2", "nosuch", ""]

SOURCES_V4 = [f"udp:127.0.0.1:{port}" for port in range(25070, 25074)]
SOURCES_V6 = [f"udp:[::1]:{port}" for port in range(25070, 25074)]

FOREIGN_HOSTS = [
    "p1.example.org",
    "p2.example.net",
    "proxy2.example.com",
    "10.0.0.7",
    "192.0.2.33:5070",
    "[2001:db8::5]",
    "[2001:db8::5]:5070",
    "u1.example.com",
]
TARGETS = [
    "sip:bob@10.0.0.2:5062",
    "sip:bob@u2.example.com",
    "sip:carol@[2001:db8::9]:5064",
    "sips:bob@10.0.0.2:5063",
    "sip:bob@10.0.0.2:5062;transport=udp",
]
METHODS_IN_DIALOG = ["BYE", "ACK", "INFO", "INVITE", "UPDATE", "NOTIFY", "MESSAGE", "PRACK"]
METHODS_INITIAL = ["INVITE", "MESSAGE", "OPTIONS", "SUBSCRIBE", "REGISTER", "PUBLISH"]


# --------------------------------------------------------------------------- addresses


@dataclass(frozen=True, slots=True)
class Listen:
    text: str  # udp:127.0.0.1:5060, without advertise or name
    host: str  # 127.0.0.1 or [::1]
    port: int
    name: str | None = None
    advertise: str | None = None  # host[:port]

    @property
    def ipv6(self) -> bool:
        return self.host.startswith("[")


def listens(proxy: dict[str, Any]) -> list[Listen]:
    out = []
    for spec in proxy["listen"]:
        words = spec.split()
        text = words[0]
        _, rest = text.split(":", 1)
        host, port = rest.rsplit(":", 1)
        name = words[words.index("name") + 1] if "name" in words else None
        advertise = words[words.index("advertise") + 1] if "advertise" in words else None
        out.append(Listen(text, host, int(port), name, advertise))
    return out


@dataclass(frozen=True, slots=True)
class Alias:
    host: str
    port: int | None


def aliases(proxy: dict[str, Any]) -> list[Alias]:
    out = []
    for text in proxy.get("aliases", []):
        rest = text.split(":", 1)[1] if text.split(":", 1)[0] in {"udp", "tcp", "tls"} else text
        host, _, port = rest.partition(":")
        out.append(Alias(host, int(port) if port else None))
    return out


def _case_variant(rng: random.Random, name: str) -> str:
    roll = rng.random()
    if roll < 0.55:
        return name
    if roll < 0.7:
        return name.upper()
    if roll < 0.8:
        return name.title()
    return "".join(c.upper() if rng.random() < 0.5 else c for c in name)


def _ipv6_variant(rng: random.Random, host: str) -> str:
    if host != "[::1]":
        return host
    return rng.choice(["[::1]", "[::1]", "[::1]", "[0:0:0:0:0:0:0:1]", "[::0:1]", "[0::1]"])


def own_hostport(rng: random.Random, proxy: dict[str, Any]) -> tuple[str, str]:
    """An address naming the proxy (most of the time): (hostport, label)."""
    socks = listens(proxy)
    names = aliases(proxy)
    if names and rng.random() < 0.3:
        alias = rng.choice(names)
        host = _case_variant(rng, alias.host)
        if alias.port is None:
            port = rng.choice([None, None, 5060, 5080, 5099])
        else:
            port = rng.choice([alias.port, alias.port, None, 5060])
        hostport = host if port is None else f"{host}:{port}"
        return hostport, "alias"
    sock = rng.choice(socks)
    if sock.advertise and rng.random() < 0.4:
        # The advertised address names the proxy too, with or without its port.
        host = sock.advertise.partition(":")[0]
        return (sock.advertise if rng.random() < 0.7 else host), "advertised"
    host = _ipv6_variant(rng, sock.host)
    if sock.port == 5060:
        hostport = host if rng.random() < 0.6 else f"{host}:5060"
    else:
        hostport = f"{host}:{sock.port}" if rng.random() < 0.85 else host
    return hostport, "own"


def near_miss_hostport(rng: random.Random, proxy: dict[str, Any]) -> str:
    """Looks like the proxy but may well not be: other port, other spelling, other IP."""
    sock = rng.choice(listens(proxy))
    choices = [
        f"{sock.host}:{rng.choice([5061, 5070, 5090, 15060])}",
        "127.000.000.001",
        "localhost",
        "127.0.0.3",
        "[::2]",
        f"{sock.host}:{5080 if sock.port == 5060 else 5060}",
    ]
    for alias in aliases(proxy):
        choices += [f"{alias.host}.", f"x{alias.host}", f"{alias.host}:{(alias.port or 5060) + 1}"]
    return rng.choice(choices)


# --------------------------------------------------------------------------- URIs and headers


@dataclass(frozen=True, slots=True)
class Tags:
    from_tag: str
    to_tag: str | None  # None: no To-tag; "" : empty tag=


def route_params(
    rng: random.Random, tags: Tags, *, r2: bool = False, loose: bool | None = None
) -> list[str]:
    params: list[str] = []
    if loose is None:
        loose = rng.random() < 0.8
    if loose:
        params.append(rng.choice(["lr"] * 12 + ["lr=on"] * 4 + ["LR", "lr=true", "Lr"]))
    elif rng.random() < 0.08:
        params.append(rng.choice(["lrx", "xlr"]))
    if r2:
        params.append(rng.choice(["r2=on"] * 8 + ["r2=off", "R2=on"]))
    if rng.random() < 0.35:
        tag = tags.to_tag if tags.to_tag and rng.random() < 0.35 else tags.from_tag
        params.append(f"ftag={tag}")
    if rng.random() < 0.06:
        params.append(rng.choice(["maddr=10.1.1.1", "maddr=192.0.2.77"]))
    if rng.random() < 0.04:
        params.append(rng.choice(["gr", "gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"]))
    if rng.random() < 0.08:
        params.append(rng.choice(["transport=tcp", "transport=udp", "transport=TCP"]))
    if rng.random() < 0.05:
        params.append(rng.choice(["nat=yes", "did=a1b.c2", "foo"]))
    if rng.random() < 0.05:
        # Parameters Kamailio's URI parser reads its own way: exact names, values as
        # written, the last maddr counting, user=phone hiding lr, an empty maddr last.
        params.append(
            rng.choice(
                [
                    "user=phone",
                    "user=Phone",
                    " maddr=10.1.1.1",
                    "maddr= 10.1.1.1",
                    "maddr=10.1.1.1;maddr=192.0.2.77",
                    "maddr",
                    " gr",
                    "transport=xyz",
                    "transport=udp ",
                    "TRANSPORT=UDP",
                ]
            )
        )
    rng.shuffle(params)
    return params


def build_uri(
    rng: random.Random, hostport: str, params: Sequence[str], *, user: str | None = None
) -> str:
    scheme = "sips" if rng.random() < 0.07 else "sip"
    if user is None and rng.random() < 0.15:
        user = rng.choice(["alice", "proxy", "a.b-c", "x+1"])
    userinfo = f"{user}@" if user else ""
    ptext = "".join(f";{p}" for p in params)
    roll = rng.random()
    if roll < 0.03:
        # URI headers; a ';' after the '?' makes the URI unparsable on 5.6.3.
        ptext += rng.choice(["?x=y", "?Subject=hi&y", "?x=y;z", "?;"])
    elif roll < 0.05 and not userinfo and not hostport.startswith("["):
        # Blanks after a host with no user part stay in the host ("127.0.0.1 " is foreign).
        hostport += rng.choice([" ", "\t", "  "])
    elif roll < 0.06 and not hostport.startswith("["):
        # Characters a host takes only when there is no user part.
        hostport += rng.choice(["!", "_x", "<", "%41"])
    return f"{scheme}:{userinfo}{hostport}{ptext}"


def name_addr(rng: random.Random, uri: str) -> str:
    roll = rng.random()
    display = ""
    if roll < 0.06:
        display = '"Proxy, Inc." '
    elif roll < 0.12:
        display = rng.choice(['"Next" ', "Proxy ", '"" '])
    header_params = ""
    if rng.random() < 0.06:
        # A ';' ending the header and "x=" before a ',' are errors to Kamailio's parser.
        header_params = rng.choice([";x=1", ";x=1", ";", ";x=", "; ;x", ";;x=1", ";=x"])
    return f"{display}<{uri}>{header_params}"


def route_lines(rng: random.Random, entries: Sequence[str]) -> list[str]:
    """Distribute entries over one or several Route header lines."""
    if not entries:
        return []
    mode = rng.random()
    groups: list[list[str]] = [[entries[0]]]
    for entry in entries[1:]:
        if mode < 0.45 or (mode < 0.8 and rng.random() < 0.5):
            groups.append([entry])  # one entry per line, or a random mix
        else:
            groups[-1].append(entry)
    lines = []
    for group in groups:
        sep = rng.choice([", ", ", ", ",", " , "])
        name = rng.choice(["Route"] * 18 + ["route", "ROUTE"])
        lines.append(f"{name}: {sep.join(group)}")
    return lines


def build_raw(
    *,
    ident: str,
    method: str,
    ruri: str,
    source: str,
    tags: Tags,
    route_header_lines: Sequence[str],
    contact: str | None = None,
    extra: Sequence[str] = (),
    interleave: bool = False,
) -> str:
    via_host = source.split(":", 1)[1]
    lines = [
        f"{method} {ruri} SIP/2.0",
        f"Via: SIP/2.0/UDP {via_host};branch=z9hG4bK-{ident}",
        "Max-Forwards: 70",
        f"From: <sip:alice@example.org>;tag={tags.from_tag}",
        "To: <sip:bob@example.net>" + ("" if tags.to_tag is None else f";tag={tags.to_tag}"),
        f"Call-ID: routelab-{ident}",
        f"CSeq: {7 if method != 'ACK' else 1} {method}",
    ]
    contact_line = f"Contact: {contact or f'<sip:alice@{via_host}>'}"
    if interleave and len(route_header_lines) > 1:
        lines += [route_header_lines[0], contact_line, *route_header_lines[1:]]
    else:
        lines += [*route_header_lines, contact_line]
    lines += [*extra, "Content-Length: 0"]
    return "\r\n".join(lines) + "\r\n\r\n"


# --------------------------------------------------------------------------- general requests


@dataclass
class RouteSet:
    entries: list[str]
    pattern: str


def _foreign_entry(rng: random.Random, tags: Tags, loose: bool | None = None) -> str:
    host = rng.choice(FOREIGN_HOSTS)
    return name_addr(rng, build_uri(rng, host, route_params(rng, tags, loose=loose)))


def _own_entry(rng: random.Random, proxy: dict[str, Any], tags: Tags, *, r2: bool = False) -> str:
    hostport, _ = own_hostport(rng, proxy)
    params = route_params(rng, tags, r2=r2, loose=True)
    if any(sock.name for sock in listens(proxy)) and rng.random() < 0.6:
        params.insert(rng.randint(0, len(params)), f"sn={rng.choice(SOCKET_NAMES)}")
    return name_addr(rng, build_uri(rng, hostport, params))


def _target_entry(rng: random.Random) -> str:
    return f"<{rng.choice(TARGETS)}>"


def make_route_set(rng: random.Random, proxy: dict[str, Any], tags: Tags) -> RouteSet:
    roll = rng.random()
    own = _own_entry
    if roll < 0.08:
        return RouteSet([], "no-route")
    if roll < 0.33:
        tail = [_foreign_entry(rng, tags) for _ in range(rng.randint(0, 3))]
        return RouteSet([own(rng, proxy, tags), *tail], "own-then-foreign")
    if roll < 0.48:
        tail = [_foreign_entry(rng, tags) for _ in range(rng.randint(0, 2))]
        pair = [own(rng, proxy, tags, r2=True), own(rng, proxy, tags, r2=rng.random() < 0.85)]
        return RouteSet([*pair, *tail], "r2-pair")
    if roll < 0.58:
        hop = [_foreign_entry(rng, tags, loose=False)]
        tail = [_foreign_entry(rng, tags) for _ in range(rng.randint(0, 2))]
        return RouteSet([own(rng, proxy, tags), *hop, *tail], "own-then-strict")
    if roll < 0.68:
        entries = [_foreign_entry(rng, tags) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.4:
            entries.insert(rng.randint(1, len(entries)), own(rng, proxy, tags))
        return RouteSet(entries, "foreign-first")
    if roll < 0.74:
        hostport = near_miss_hostport(rng, proxy)
        first = name_addr(rng, build_uri(rng, hostport, route_params(rng, tags, loose=True)))
        tail = [_foreign_entry(rng, tags) for _ in range(rng.randint(0, 2))]
        return RouteSet([first, *tail], "near-miss")
    if roll < 0.80:
        twice = [own(rng, proxy, tags), own(rng, proxy, tags)]
        tail = [_foreign_entry(rng, tags) for _ in range(rng.randint(0, 2))]
        return RouteSet([*twice, *tail], "own-twice")
    if roll < 0.90:
        # previous hop was a strict router: the endpoint is the last Route entry.
        middle = [_foreign_entry(rng, tags) for _ in range(rng.randint(0, 2))]
        if rng.random() < 0.3:
            middle.insert(0, own(rng, proxy, tags, r2=rng.random() < 0.5))
        return RouteSet([*middle, _target_entry(rng)], "strict-prev-hop")
    if roll < 0.95:
        count = rng.randint(1, 5)
        entries = [
            own(rng, proxy, tags, r2=rng.random() < 0.3)
            if rng.random() < 0.5
            else _foreign_entry(rng, tags)
            for _ in range(count)
        ]
        return RouteSet(entries, "random-mix")
    # malformed entries: where they sit decides whether loose_route gets that far.
    bad = rng.choice(["sip:127.0.0.1;lr", "<sip:127.0.0.1;lr", "<sip:p9.example.org;lr", "junk"])
    entries = [own(rng, proxy, tags), _foreign_entry(rng, tags)]
    entries.insert(rng.randint(0, 2), bad)
    return RouteSet(entries, "malformed")


def make_ruri(rng: random.Random, proxy: dict[str, Any], pattern: str) -> tuple[str, str]:
    roll = rng.random()
    if pattern == "strict-prev-hop" or roll < 0.15:
        hostport, label = own_hostport(rng, proxy)
        params = rng.choice(["", ";lr", ";lr;ftag=f1", ";r2=on;lr", ";transport=udp"])
        user = rng.choice(["", "", "bob@"])
        return f"sip:{user}{hostport}{params}", f"ruri-{label}"
    if roll < 0.2:
        return f"sip:bob@{near_miss_hostport(rng, proxy)}", "ruri-near-miss"
    if roll < 0.23:
        return "tel:+15551234567", "ruri-tel"
    return rng.choice(TARGETS), "ruri-foreign"


def pick_script(rng: random.Random) -> list[str]:
    roll = rng.random()
    if roll < 0.84:
        return ["loose_route()"]
    if roll < 0.92:
        return ["loose_route()", rng.choice(["record_route()", 'record_route(";p=1")'])]
    if roll < 0.96:
        return [rng.choice(["record_route()"] * 5 + ['record_route("p=1")'])]
    return [rng.choice(['record_route(";foo=bar")', "record_route()"]), "loose_route()"]


def _source_for(rng: random.Random, received: Listen) -> str:
    return rng.choice(SOURCES_V6 if received.ipv6 else SOURCES_V4)


def general_vector(rng: random.Random, number: int) -> dict[str, Any]:
    names = list(GENERAL_PROXY_WEIGHTS)
    name = rng.choices(names, weights=[GENERAL_PROXY_WEIGHTS[n] for n in names])[0]
    proxy = PROXIES[name]
    in_dialog = rng.random() < 0.65
    tag_roll = rng.random()
    to_tag = f"t-{number}" if in_dialog else ("" if tag_roll < 0.04 else None)
    tags = Tags(f"f-{number}", to_tag)
    route_set = make_route_set(rng, proxy, tags)
    ruri, ruri_label = make_ruri(rng, proxy, route_set.pattern)
    method = rng.choice(METHODS_IN_DIALOG if in_dialog else METHODS_INITIAL)
    socks = listens(proxy)
    # Requests arrive over UDP (the recorder sends them so); they may leave over TCP.
    arrivals = [s for s in socks if s.text.startswith("udp:")]
    received = rng.choice(arrivals) if rng.random() < 0.4 else arrivals[0]
    script = pick_script(rng)
    record = any(call.startswith("record_route") for call in script)
    send = rng.choice(socks) if record and rng.random() < 0.6 else received
    source = _source_for(rng, received)
    ident = f"G{number:04d}-{name}-{route_set.pattern}"
    raw = build_raw(
        ident=ident,
        method=method,
        ruri=ruri,
        source=source,
        tags=tags,
        route_header_lines=route_lines(rng, route_set.entries),
        interleave=rng.random() < 0.1,
    )
    dialog = "in-dialog" if in_dialog else ("empty To-tag" if to_tag == "" else "no To-tag")
    return {
        "id": ident,
        "description": (
            f"generated: {method} {dialog}, {route_set.pattern}, {ruri_label}, "
            f"{len(route_set.entries)} Route entries, script {' + '.join(script)}"
        ),
        "proxy": proxy,
        "raw": raw,
        "source": source,
        "received_on": received.text,
        "send_socket": send.text,
        "script": script,
    }


# --------------------------------------------------------------------------- scripts

# Call sequences whose every return code matters: add_rr_param before and after a
# Record-Route (buffered, appended, -1 after a one-address preset with double RR),
# presets of one and two addresses, advertised addresses, the loose_route variants.
RICH_SCRIPTS: tuple[tuple[str, ...], ...] = (
    ('add_rr_param(";p=1")', "record_route()"),
    ("record_route()", 'add_rr_param(";late=1")'),
    ('record_route_preset("192.0.2.9:5070")', 'add_rr_param(";x=1")'),
    ('record_route_preset("192.0.2.9", "[2001:db8::9]")', 'add_rr_param(";x")'),
    ('record_route_advertised_address("203.0.113.7:5080")', 'add_rr_param(";y")'),
    ('record_route_advertised_address("[2001:db8::7]")', "loose_route()"),
    ('record_route_preset("192.0.2.9:5070")', "loose_route()", 'add_rr_param(";z")'),
    ("record_route()", "loose_route()", 'add_rr_param(";after")'),
    ("loose_route_preloaded()", "record_route()"),
    ("loose_route_mode(1)", 'record_route(";m=1")'),
    ('add_rr_param(";a")', 'add_rr_param(";b")', "loose_route()", "record_route()"),
    # The local Route's parameters, before and after loose_route() removes it.
    ("loose_route()", 'is_direction("upstream")', 'check_route_param("ftag=")'),
    ('is_direction("downstream")', "loose_route()", 'check_route_param(";lr")'),
    ("loose_route()", 'check_route_param("r2=on")', "record_route()"),
    ("loose_route()", 'check_route_param("ftag=f-[[:digit:]]+$")', 'check_route_param("a**")'),
    ("record_route()", "remove_record_route()", 'add_rr_param(";x")', "record_route()"),
    # Whether loose_route() took a Route after this proxy's own as the next hop.
    ("loose_route()", "rr_next_hop_route()"),
    ("rr_next_hop_route()", "loose_route_mode(1)", "rr_next_hop_route()", "record_route()"),
    # Pseudo-variables in the formats (engine.pv): the request's own values, filled in.
    ('add_rr_param(";did=$ci")', 'record_route(";u=$fU;t=$tt;n=$tn")'),
    ("loose_route()", 'record_route(";d=$du;r=$ru;o=$ou;p=$rp")'),
    ('record_route_preset("$Ri:$Rp;n=$rU;f=$fd")', "loose_route()"),
    ('record_route_advertised_address("$Ri")', 'add_rr_param(";s=$si:$sp;z=$rz;$$")'),
    ('record_route(";h=$hdr(Call-ID);m=$rm;c=$cs;v=$var(x);a=$avp(a);x=$null;q=$pr")',),
    # The rr module's own: the first Route as it came, the direction, the initial tags.
    ("loose_route()", 'record_route(";u=$route_uri;d=$rdir(name);i=$rdir(id);f=$fti;t=$tti")'),
)


def script_vector(rng: random.Random, number: int) -> dict[str, Any]:
    """A general request whose script is one of :data:`RICH_SCRIPTS`."""
    vector = general_vector(rng, number)
    script = list(rng.choice(RICH_SCRIPTS))
    if not vector["proxy"]["modparams"].get("append_fromtag"):
        # is_direction() needs append_fromtag: Kamailio will not start without it.
        script = [c for c in script if not c.startswith("is_direction")]
    socks = listens(vector["proxy"])
    received = next(s for s in socks if s.text == vector["received_on"])
    send = rng.choice(socks) if rng.random() < 0.5 else received
    ident = "S" + vector["id"][1:]
    return {
        **vector,
        "id": ident,
        "description": vector["description"].rpartition(", script ")[0]
        + f", script {' + '.join(script)}",
        "raw": vector["raw"].replace(vector["id"], ident),
        "send_socket": send.text,
        "script": script,
    }


# --------------------------------------------------------------------------- flow tokens

# 5.6.3 ignores flow_token_secret and keys the HMAC with SHA1 of the empty string (spec 3.8).
FLOW_TOKEN_KEY = hashlib.sha1(b"").digest()
PROTO_IDS = {"udp": 1, "tcp": 2, "tls": 3, "sctp": 4, "ws": 5, "wss": 6}


def _packed(host: str) -> bytes:
    return ipaddress.ip_address(host.strip("[]")).packed


def flow_token(local: str, remote: str, *, key: bytes = FLOW_TOKEN_KEY) -> str:
    """RFC 5626 flow token as Kamailio's outbound module builds it.

    ``local`` / ``remote`` are ``proto:host:port`` (``remote``'s proto is ignored).  Layout: the
    last 10 bytes of HMAC-SHA1(key, rest), then rest = proto id (| 0x80 for IPv6), local IP,
    local port, remote IP, remote port; base64 with padding.
    """
    proto, lhostport = local.split(":", 1)
    lhost, lport = lhostport.rsplit(":", 1)
    rhost, rport = remote.split(":", 1)[1].rsplit(":", 1)
    lip, rip = _packed(lhost), _packed(rhost)
    flag = 0x80 if len(lip) == 16 else 0
    rest = (
        bytes([PROTO_IDS[proto] | flag])
        + lip
        + struct.pack("!H", int(lport))
        + rip
        + struct.pack("!H", int(rport))
    )
    mac = hmac.new(key, rest, hashlib.sha1).digest()[-10:]
    return base64.b64encode(mac + rest).decode("ascii")


def tamper(rng: random.Random, token: str, where: str) -> str:
    data = bytearray(base64.b64decode(token))
    index = rng.randrange(0, 10) if where == "mac" else rng.randrange(10, len(data))
    data[index] ^= 1 << rng.randrange(8)
    return base64.b64encode(bytes(data)).decode("ascii")


@dataclass(frozen=True, slots=True)
class Flow:
    local: str
    remote: str
    other: str  # a different source of the same family
    label: str


FLOWS = [
    Flow("udp:127.0.0.1:5060", "udp:127.0.0.1:25061", "udp:127.0.0.1:25062", "v4"),
    Flow("udp:[::1]:5060", "udp:[::1]:25063", "udp:[::1]:25064", "v6"),
]
_NOT_TOKENS = [
    "alice",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "zaL+x1tnTDNo+AF/AAABE8R/AAABYe",
    # Token-sized but not plain base64: Kamailio still reads them as tokens (bad MAC).
    "zaL-x1tnTDNo-AF_AAABE8R_AAABYeU=",
    "AAAAAAAAAA=AAAAAAAAAAAAAAAAAAAA=",
]


def _flow_user(rng: random.Random, flow: Flow) -> tuple[str, str]:
    roll = rng.random()
    token = flow_token(flow.local, flow.remote)
    if roll < 0.55:
        return token, "valid"
    if roll < 0.68:
        return tamper(rng, token, "mac"), "tampered-mac"
    if roll < 0.76:
        return tamper(rng, token, "payload"), "tampered-payload"
    if roll < 0.84:
        host = flow.local.split(":", 1)[1].rsplit(":", 1)[0]
        return flow_token(f"udp:{host}:5070", flow.remote), "socket-not-listening"
    if roll < 0.90:
        return flow_token("tcp" + flow.local[3:], flow.remote), "tcp-flow"
    if roll < 0.94:
        secret_key = hashlib.sha1(PROXIES["outbound"]["outbound"]["flow_token_secret"].encode())
        return flow_token(flow.local, flow.remote, key=secret_key.digest()), "keyed-with-secret"
    return rng.choice(_NOT_TOKENS), "not-a-token"


def flow_vector(rng: random.Random, number: int) -> dict[str, Any]:
    proxy = PROXIES["outbound" if rng.random() < 0.7 else "outbound-named"]
    flow = rng.choice(FLOWS)
    user, token_label = _flow_user(rng, flow)
    in_dialog = rng.random() < 0.7
    tags = Tags(f"f-{number}", f"t-{number}" if in_dialog else None)
    own_host = rng.choice(["127.0.0.1", "127.0.0.1", "[::1]", "proxy.example.com"])
    params = ["lr"]
    if rng.random() < 0.4:
        params.append(f"ftag={tags.from_tag}")
    if rng.random() < 0.35:
        params.append("ob")
    if rng.random() < 0.05:
        params.append("gr")
    shape = rng.choice(["alone", "alone", "then-loose", "then-strict", "r2-pair", "foreign-first"])
    first = f"<sip:{user}@{own_host}" + "".join(f";{p}" for p in params) + ">"
    entries = [first]
    if shape == "then-loose":
        entries.append(_foreign_entry(rng, tags, loose=True))
    elif shape == "then-strict":
        entries.append(_foreign_entry(rng, tags, loose=False))
    elif shape == "r2-pair":
        other_host = "[::1]" if own_host != "[::1]" else "127.0.0.1"
        entries = [
            f"<sip:{user}@{own_host};r2=on;lr>",
            f"<sip:{user}@{other_host};r2=on;lr>",
        ]
    elif shape == "foreign-first":
        entries.insert(0, _foreign_entry(rng, tags, loose=True))
    from_flow = rng.random() < 0.3
    source = (
        flow.remote if from_flow else rng.choice([flow.other, flow.other, *_other_family(flow)])
    )
    received = next(s for s in listens(proxy) if s.ipv6 == ("[" in source))
    roll = rng.random()
    if roll < 0.75:
        script = ["loose_route()"]
    elif roll < 0.9:
        script = ["record_route()", "loose_route()"]
    else:
        script = ["loose_route()", "record_route()"]
    contact_ob = rng.random() < 0.4
    contact_host = source.split(":", 1)[1]
    contact = f"<sip:alice@{contact_host}{';ob' if contact_ob else ''}>"
    ruri = rng.choice(["sip:bob@10.0.0.2:5062", f"sip:alice@{flow.remote.split(':', 1)[1]}"])
    method = rng.choice(METHODS_IN_DIALOG if in_dialog else ["INVITE", "MESSAGE", "SUBSCRIBE"])
    ident = f"F{number:03d}-{flow.label}-{token_label}-{shape}"
    vector: dict[str, Any] = {
        "id": ident,
        "description": (
            f"generated flow token: {token_label} {flow.label} token "
            f"(flow {flow.local} <-> {flow.remote}), {shape}, request "
            f"{'from the flow itself' if from_flow else 'from elsewhere'}, "
            f"{'in-dialog' if in_dialog else 'no To-tag'}, script {' + '.join(script)}"
        ),
        "proxy": proxy,
        "raw": build_raw(
            ident=ident,
            method=method,
            ruri=ruri,
            source=source,
            tags=tags,
            route_header_lines=route_lines(rng, entries),
            contact=contact,
        ),
        "source": source,
        "received_on": received.text,
        "send_socket": received.text if rng.random() < 0.7 else rng.choice(listens(proxy)).text,
        "script": script,
    }
    if "record_route()" in script and rng.random() < 0.3:
        vector["msg_flags"] = rng.choice([2, 4, 6])
    return vector


def _other_family(flow: Flow) -> list[str]:
    """A source of the other address family (the token's flow is then certainly elsewhere)."""
    return ["udp:[::1]:25064"] if flow.label == "v4" else ["udp:127.0.0.1:25062"]


# --------------------------------------------------------------------------- entry point


def generate(
    seed: int = SEED,
    general: int = GENERAL_COUNT,
    flows: int = FLOW_COUNT,
    scripts: int = SCRIPT_COUNT,
) -> list[dict[str, Any]]:
    """The differential run's vector inputs, deterministic for a given seed."""
    rng = random.Random(seed)
    makers: list[tuple[Callable[[random.Random, int], dict[str, Any]], int]] = [
        (general_vector, general),
        (flow_vector, flows),
        (script_vector, scripts),
    ]
    vectors = []
    for maker, count in makers:
        for number in range(1, count + 1):
            vectors.append(maker(rng, number))
    return vectors


def diff_seed() -> int:
    """The seed of this run: ``ROUTELAB_DIFF_SEED`` or :data:`SEED`."""
    return int(os.environ.get("ROUTELAB_DIFF_SEED", SEED))


def generated_inputs() -> list[dict[str, Any]]:
    """The differential run's inputs for :func:`diff_seed`."""
    return generate(diff_seed())


def is_flow_token_case(vector: dict[str, Any]) -> bool:
    return str(vector["id"]).startswith("F")


def calls_loose_route(vector: dict[str, Any]) -> bool:
    return any(call.startswith("loose_route(") for call in vector["script"])


if __name__ == "__main__":
    import json
    import sys

    for vector in generate(int(sys.argv[1]) if len(sys.argv) > 1 else SEED):
        print(json.dumps(vector))
