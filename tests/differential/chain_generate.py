"""Random scenarios for the chain differential: dialogs through 1 to 4 real Kamailio proxies.

``python3 -m tests.differential.chain_generate SEED [COUNT]`` prints them, one JSON object a
line.  Each scenario is drawn from one seeded ``random.Random`` and mixes what the library
shows one at a time: Alice sends through her outbound proxy P1 (sometimes with a preloaded
Route to it), each proxy sends initial requests on to the next one (``forward_to``) and the
last one finds Bob in its location table; the proxies' rr settings (``enable_full_lr``,
``append_fromtag``, ``enable_double_rr``, ``force_send_socket``, ``record_route()``
parameters), profiles (default, honouring or denying preloaded routes, no record-routing,
loose-only ``loose_route_mode``, an RFC 5626 edge with flow tokens) and sockets (a second one
on IPv6, TCP or another IPv4 address, ports other than 5060, a name advertised and found
through the name table)
vary, Bob may be on IPv6 or TCP, Alice writes her route set on one line or on several (or
takes ``lr=on`` for a strict router), the dialog may fail, and it goes on with requests from
both sides, some of them target refreshes, some with a Max-Forwards that runs out or a
hand-edited Request-URI (one a proxy takes for a strict router's, or one it cannot reach);
one in five is a subscription (SUBSCRIBE, then NOTIFYs that the proxies record-route again,
and refreshes).  Some proxies build their Record-Route with ``record_route_preset()``, and
an RFC 2543 strict router may stand in the chain.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from typing import Any

from engine.errors import EngineError
from engine.scenario import loads

_PROFILES = ["kamailio-default"] * 4 + ["honour-preloaded", "no-record-route"]
_IN_DIALOG = ["BYE", "INFO", "OPTIONS", "INVITE", "UPDATE", "MESSAGE"]
# Hand-edited Request-URIs of Alice's in-dialog requests.
_HAND_EDITED_RURIS = [
    # Bob's address of record, a domain of the last proxy, which then takes the request for
    # a strict router's (loose_route()'s other path); twice as likely as the others.
    "sip:bob@biloxi.example.com",
    "sip:bob@biloxi.example.com",
    # Where a Kamailio proxy cannot send: its tm answers itself (478, 477) ...
    "sip:bob@nowhere.example",
    "sip:bob@192.0.2.99",
    # ... or sends all the same and no answer comes (Bob does not listen on that port).
    "sip:bob@192.0.2.20:5999",
]


def _proxy(rng: random.Random, number: int, last: bool) -> dict[str, Any]:
    port = rng.choice([5060, 5060, 5060, 5070])
    listen = [f"udp:192.0.2.{number}:{port}"]
    extra = rng.random()
    if extra < 0.25:
        listen.append(f"udp:[2001:db8::{number}]:{port}")
    elif extra < 0.4:
        listen.append(f"tcp:192.0.2.{number}:{port}")
    elif extra < 0.5:
        # A second IPv4 address, listed first or second: which one sends (mhomed=0)?
        listen.insert(rng.randrange(2), f"udp:198.51.100.{number}:{port}")
    rr: dict[str, int] = {}
    for name, values in (
        ("enable_full_lr", (0, 1)),
        ("append_fromtag", (0, 1)),
        ("enable_double_rr", (0, 1, 2)),
        ("force_send_socket", (0, 1)),
        ("add_username", (0, 1)),
    ):
        if rng.random() < 0.4:
            rr[name] = rng.choice(values)
    proxy: dict[str, Any] = {
        "name": f"P{number}",
        "listen": listen,
        "profile": rng.choice(_PROFILES),
    }
    if rr:
        proxy["rr"] = rr
    if rng.random() < 0.15:
        # Some with pseudo-variables (engine.pv), the Call-ID's '@' included, and the rr
        # module's own (the first Route as it came, the direction, the initial tags).
        proxy["record_route_params"] = rng.choice(
            [
                ";p=1",
                ";svc=edge;x",
                ";c=$ci",
                ";u=$fU;t=$ft",
                ";r=$rU;p=$Rp",
                ";d=$rdir(name);f=$fti;t=$tti",
                ";first=$route_uri",
            ]
        )
    elif rng.random() < 0.1:
        # record_route_preset() with its own address, once or (as double RR would) twice.
        host, port = listen[0].split(":", 1)[1].rsplit(":", 1)
        own = host + ("" if port == "5060" else f":{port}")
        proxy["record_route_preset"] = rng.choice(
            [[own], [own, own], [f"{own};p=1"], ["$Ri:$Rp;f=$fU"]]
        )
    if rng.random() < 0.1:
        proxy["loose_route_mode"] = 1
    if rng.random() < 0.15:
        proxy["profile"] = "deny-preloaded"
    if rng.random() < 0.2:
        # Known by a name (the name table, an /etc/hosts line when played), which it also
        # advertises in its Record-Route and Via.
        proxy["listen"][0] += f" advertise p{number}.example.net"
    if rng.random() < 0.15:
        # Named sockets: with sockname_mode=1 its Record-Route carries ;sn=<name>, and with
        # force_send_socket=1 the in-dialog requests leave from the socket it names.
        proxy["listen"] = [
            f'{text} name "p{number}{"abcd"[i]}"' for i, text in enumerate(proxy["listen"])
        ]
        if rng.random() < 0.8:
            proxy.setdefault("rr", {})["sockname_mode"] = 1
    if not last and rng.random() < 0.12:
        # An RFC 2543 strict router (played by the harness from the trace): one UDP socket,
        # Record-Route without lr, Routes moved into the R-URI.
        proxy = {"name": proxy["name"], "listen": listen[:1], "profile": "rfc2543-strict"}
    if last:
        proxy["aliases"] = ["biloxi.example.com"]
    return proxy


def scenario(rng: random.Random, number: int) -> dict[str, Any]:
    """One random scenario (a valid one: the caller checks it with engine.scenario.loads)."""
    proxies = [
        _proxy(rng, n, n == count) for count in [rng.randint(1, 4)] for n in range(1, count + 1)
    ]
    names = {_advertised(p): p["name"] for p in proxies if _advertised(p)}
    for here, there in itertools.pairwise(proxies):
        host, port = _first(there)
        host = _advertised(there) or host
        others = [s.split()[0] for s in there["listen"][1:] if s.startswith("udp:1")]
        if others and not _advertised(there) and rng.random() < 0.4:
            # Sent to an IPv4 socket that is not the first: UDP leaves from the one it arrived on.
            host, text_port = others[0].removeprefix("udp:").rsplit(":", 1)
            port = int(text_port)
        here["forward_to"] = f"sip:{host}" + ("" if port == 5060 else f":{port}")
        if f"tcp:{host}:{port}" in there["listen"] and rng.random() < 0.5:
            # Proxy to proxy over TCP: which socket does the TCP arrival leave from?
            here["forward_to"] += ";transport=tcp"
    bob_kind = rng.choice(["udp", "udp", "udp", "ipv6", "tcp"])
    last = proxies[-1]
    if bob_kind == "ipv6":
        bob_address, bob_contact = "udp:[2001:db8::20]:5060", "sip:bob@[2001:db8::20]"
        if not any("[" in s for s in last["listen"]):
            last["listen"].append(f"udp:[2001:db8::{len(proxies)}]:{_first(last)[1]}")
    elif bob_kind == "tcp":
        bob_address, bob_contact = "tcp:192.0.2.20:5060", "sip:bob@192.0.2.20;transport=tcp"
        if not any(s.startswith("tcp:") for s in last["listen"]):
            last["listen"].append(f"tcp:192.0.2.{len(proxies)}:{_first(last)[1]}")
    else:
        port = rng.choice([5060, 5062])
        bob_address = f"udp:192.0.2.20:{port}"
        bob_contact = "sip:bob@192.0.2.20" + ("" if port == 5060 else f":{port}")
    last["location"] = {"sip:bob@biloxi.example.com": bob_contact}
    p1_host, p1_port = _first(proxies[0])
    p1_host = _advertised(proxies[0]) or p1_host
    p1_uri = f"sip:{p1_host}" + ("" if p1_port == 5060 else f":{p1_port}")
    alice: dict[str, Any] = {
        "name": "Alice",
        "address": "udp:192.0.2.10:5060",
        "contact": "sip:alice@192.0.2.10",
        "aor": "sip:alice@atlanta.example.com",
        "display": "Alice",
        "route_style": rng.choice(["lines", "comma"]),
    }
    if rng.random() < 0.1:
        alice["lr_on_as_strict"] = True
    dialog: dict[str, Any] = {"method": "INVITE", "from": "Alice", "to": "Bob"}
    if rng.random() < 0.3:
        dialog["route"] = [f"<{p1_uri};lr>"]
    else:
        alice["outbound_proxy"] = p1_uri
    if rng.random() < 0.12:
        # An RFC 5626 edge: Alice registers a flow (;ob), P1 puts a flow token in its
        # Record-Route, and requests towards Alice go down that flow.
        proxies[0]["profile"] = "outbound-edge"
        proxies[0]["outbound"] = {"flow_token_secret": "edge-secret"}
        alice["contact"] = "sip:alice@10.0.0.10;ob"
        dialog["headers"] = ["Supported: outbound"]
    if rng.random() < 0.08:
        dialog["responses"] = [180, rng.choice([404, 486, 603])]
    if rng.random() < 0.2:
        # A subscription instead of a call (RFC 6665): NOTIFYs come back through proxies that
        # record-route them again, and the subscriber refreshes.
        dialog["method"] = "SUBSCRIBE"
        dialog["headers"] = [*dialog.get("headers", []), "Event: presence"]
        dialog.pop("responses", None)
        requests = [
            {
                "method": "NOTIFY",
                "from": "Bob",
                "headers": ["Event: presence", "Subscription-State: active"],
            }
        ]
        for _ in range(rng.randint(0, 3)):
            if rng.random() < 0.5:
                requests.append(
                    {"method": "SUBSCRIBE", "from": "Alice", "headers": ["Event: presence"]}
                )
            else:
                requests.append(
                    {
                        "method": "NOTIFY",
                        "from": "Bob",
                        "headers": ["Event: presence", "Subscription-State: active"],
                    }
                )
        return _assemble(number, alice, bob_address, bob_contact, proxies, names, dialog, requests)
    requests: list[dict[str, Any]] = [{"method": "ACK", "from": "Alice"}]
    for _ in range(rng.randint(1, 4)):
        method = rng.choice(_IN_DIALOG)
        sender = rng.choice(["Alice", "Bob"])
        request: dict[str, Any] = {"method": method, "from": sender}
        if rng.random() < 0.08:
            request["max_forwards"] = rng.randint(0, 3)  # runs out on the way: 483
        if sender == "Alice" and rng.random() < 0.12:
            request["request_uri"] = rng.choice(_HAND_EDITED_RURIS)
        if method == "INVITE" and rng.random() < 0.5:
            request["contact"] = (
                "sip:alice@192.0.2.10;line=2" if sender == "Alice" else bob_contact + ";line=2"
            )
        requests.append(request)
        if method == "INVITE":
            requests.append({"method": "ACK", "from": sender})
    return _assemble(number, alice, bob_address, bob_contact, proxies, names, dialog, requests)


def _assemble(
    number: int,
    alice: dict[str, Any],
    bob_address: str,
    bob_contact: str,
    proxies: list[dict[str, Any]],
    names: dict[str, str],
    dialog: dict[str, Any],
    requests: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "format": 1,
        "title": f"Generated chain {number}",
        "user_agents": [
            alice,
            {
                "name": "Bob",
                "address": bob_address,
                "contact": bob_contact,
                "aor": "sip:bob@biloxi.example.com",
                "display": "Bob",
            },
        ],
        "proxies": proxies,
        "names": names,
        "dialog": dialog,
        "requests": requests,
    }


def _first(proxy: dict[str, Any]) -> tuple[str, int]:
    host, port = proxy["listen"][0].split()[0].removeprefix("udp:").rsplit(":", 1)
    return host, int(port)


def _advertised(proxy: dict[str, Any]) -> str | None:
    words = proxy["listen"][0].split()
    if "advertise" in words[:-1]:
        return words[words.index("advertise") + 1]
    return None


def scenarios(seed: int, count: int) -> list[dict[str, Any]]:
    """``count`` valid random scenarios from ``seed`` (invalid draws are drawn again)."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    while len(out) < count:
        data = scenario(rng, len(out) + 1)
        try:
            loads(json.dumps(data))
        except EngineError:
            continue
        out.append(data)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    seed = int(args[0]) if args else 1
    count = int(args[1]) if len(args) > 1 else 20
    for data in scenarios(seed, count):
        print(json.dumps(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
