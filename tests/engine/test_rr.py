"""engine/rr.py: loose_route(), record_route() and friends, as Kamailio 5.6.3 runs them.

The table cases are the spec's section 5 runs on fixture P (ids name the OBS run); the
vectors in ../shared/vectors cover many more.  Then: the decision steps (rule ids and
sentences naming the header values), the helper functions, the record-route family,
and the routing invariants of STYLE.md section 7 as Hypothesis properties.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ConfigError, ScriptError, SipParseError
from engine.message import Header, SipRequest, parse_message, render
from engine.outbound import Flow, encode_flow_token, key_for
from engine.proxy import Outbound, Proxy, locate
from engine.rr import (
    RC_MEANING,
    Context,
    RrResult,
    Step,
    add_rr_param,
    check_route_param,
    direction,
    force_socket_for,
    forwarded,
    is_direction,
    local_route_params,
    loose_route,
    parse_route_body,
    record_route,
    record_route_advertised_address,
    record_route_preset,
    remove_record_route,
    route_entries,
    route_headers,
)
from engine.script import parse_script, run_script
from engine.uri import parse_uri

LISTEN = [
    "udp:127.0.0.1:5060",
    "tcp:127.0.0.1:5060",
    "udp:127.0.0.2:5060",
    "udp:127.0.0.1:5070",
    "udp:127.0.0.3:5060 advertise 203.0.113.5:5080",
    "udp:[::1]:5060",
]
ALIASES = ["proxy.example.com", "pbx.example.org:5090"]


def proxy(**modparams: Any) -> Proxy:
    """Spec section 5, fixture P, with some module parameters changed."""
    return Proxy.build(listen=LISTEN, aliases=ALIASES, modparams=modparams)


P = proxy()
BOB = "sip:bob@192.0.2.20"


def request(
    routes: list[str],
    *,
    ruri: str = BOB,
    in_dialog: bool = True,
    from_tag: str = "f-caller",
    to_tag: str = "t-callee",
    extra: tuple[str, ...] = (),
) -> SipRequest:
    """The spec's default request: BYE with a To-tag; "INV/no-tag" when not in_dialog."""
    method = "BYE" if in_dialog else "INVITE"
    to = "<sip:callee@u2.example.com>" + (f";tag={to_tag}" if in_dialog else "")
    lines = [
        f"{method} {ruri} SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-spec",
        "Max-Forwards: 70",
        f"From: <sip:caller@u1.example.com>;tag={from_tag}",
        f"To: {to}",
        "Call-ID: spec@example.org",
        f"CSeq: 1 {method}",
        *(f"Route: {r}" for r in routes),
        *extra,
        "Content-Length: 0",
    ]
    msg = parse_message("\r\n".join(lines) + "\r\n\r\n")
    assert isinstance(msg, SipRequest)
    return msg


def start(msg: SipRequest, at: Proxy = P, **kw: Any) -> Context:
    kw.setdefault("received_on", "udp:127.0.0.1:5060")
    kw.setdefault("source", "udp:127.0.0.1:5999")
    return Context.start(msg, at, **kw)


def run(
    routes: list[str], script: str = "loose_route()", at: Proxy = P, **kw: Any
) -> tuple[Context, tuple[RrResult, ...]]:
    return run_script(start(request(routes, **kw), at), parse_script(script))


SELF = "<sip:127.0.0.1;lr>"
P2 = "<sip:p2.example.net;lr>"
R2A, R2B = "<sip:127.0.0.1;r2=on;lr>", "<sip:127.0.0.2;r2=on;lr>"

# id, routes, request options, script, modparams -> rc, R-URI, $du, $fs, Route values left
TABLE: list[tuple[Any, ...]] = [
    ("L01", [], {}, "", {}, -1, BOB, None, None, []),
    ("L02", ["<sip:127.0.0.1;lr;ftag=f-caller>"], {}, "", {}, 1, BOB, None, None, []),
    (
        "L03",
        ["<sip:127.0.0.1;lr;ftag=f-caller>, <sip:p2.example.net;lr>"],
        {},
        "",
        {},
        1,
        BOB,
        "sip:p2.example.net;lr",
        None,
        [P2],
    ),
    (
        "L04",
        ["<sip:127.0.0.1;lr;ftag=f-caller>", P2],
        {},
        "",
        {},
        1,
        BOB,
        "sip:p2.example.net;lr",
        None,
        [P2],
    ),
    ("L05", [SELF], {"in_dialog": False}, "", {}, -3, BOB, None, None, []),
    ("L06", [SELF, P2], {"in_dialog": False}, "", {}, 1, BOB, "sip:p2.example.net;lr", None, [P2]),
    ("L07", [SELF], {"in_dialog": False}, "loose_route_preloaded()", {}, 1, BOB, None, None, []),
    (
        "L08",
        [SELF, P2],
        {"in_dialog": False},
        "loose_route_preloaded()",
        {},
        -1,
        BOB,
        "sip:p2.example.net;lr",
        None,
        [P2],
    ),
    ("L10", [P2], {"in_dialog": False}, "", {}, 1, BOB, "sip:p2.example.net;lr", None, [P2]),
    ("L11", [P2], {}, "", {}, 1, BOB, "sip:p2.example.net;lr", None, [P2]),
    (
        "L12",
        ["<sip:p2.example.net>"],
        {},
        "",
        {},
        1,
        "sip:p2.example.net",
        None,
        None,
        [f"<{BOB}>"],
    ),
    # RFC 3261 16.12.1.2, at P4: BYE sip:p3.middle.com with Route p2, then the old R-URI.
    (
        "L13",
        [SELF, "<sip:p3.middle.com>", "<sip:p2.example.com;lr>"],
        {"ruri": "sip:caller@u1.example.com"},
        "",
        {},
        1,
        "sip:p3.middle.com",
        None,
        None,
        ["<sip:p2.example.com;lr>", "<sip:caller@u1.example.com>"],
    ),
    (
        "L13b",
        ["<sip:127.0.0.1;lr>, <sip:p3.middle.com>, <sip:p2.example.com;lr>"],
        {"ruri": "sip:caller@u1.example.com"},
        "",
        {},
        1,
        "sip:p3.middle.com",
        None,
        None,
        ["<sip:p2.example.com;lr>", "<sip:caller@u1.example.com>"],
    ),
    # RFC 3261 16.12.1.2, at P2: its own RR value in the R-URI, the target is the last Route.
    (
        "L14",
        ["<sip:p1.example.com;lr>", "<sip:caller@u1.example.com>"],
        {"ruri": "sip:127.0.0.1;lr"},
        "",
        {},
        1,
        "sip:caller@u1.example.com",
        "sip:p1.example.com;lr",
        None,
        ["<sip:p1.example.com;lr>"],
    ),
    (
        "L14c",
        ["<sip:p1.example.com;lr>", "<sip:caller@u1.example.com>"],
        {"ruri": "sip:127.0.0.1;lr"},
        "loose_route_mode(1)",
        {},
        1,
        "sip:127.0.0.1;lr",
        "sip:p1.example.com;lr",
        None,
        ["<sip:p1.example.com;lr>", "<sip:caller@u1.example.com>"],
    ),
    (
        "L15",
        ["<sip:p1.example.com>", "<sip:caller@u1.example.com>"],
        {"ruri": "sip:127.0.0.1;lr"},
        "",
        {},
        1,
        "sip:p1.example.com",
        None,
        None,
        ["<sip:caller@u1.example.com>"],
    ),
    (
        "L16",
        ["<sip:caller@u1.example.com>"],
        {"ruri": "sip:127.0.0.1;lr"},
        "",
        {},
        1,
        "sip:caller@u1.example.com",
        None,
        None,
        [],
    ),
    (
        "L17",
        ["<sip:127.0.0.1;lr;ftag=f-caller>"],
        {"ruri": "sip:bob@127.0.0.1"},
        "",
        {},
        1,
        "sip:127.0.0.1;lr;ftag=f-caller",
        "sip:127.0.0.1;lr;ftag=f-caller",
        None,
        [],
    ),
    (
        "L18",
        ["<sip:127.0.0.1;lr;ftag=f-caller>"],
        {"ruri": "sip:bob@127.0.0.1"},
        "loose_route_mode(1)",
        {},
        1,
        "sip:bob@127.0.0.1",
        None,
        None,
        [],
    ),
    (
        "L18b",
        ["<sip:127.0.0.1;lr;ftag=f-caller>"],
        {"ruri": "sip:bob@127.0.0.1"},
        "loose_route_mode(2)",
        {},
        1,
        "sip:bob@127.0.0.1",
        None,
        None,
        [],
    ),
    (
        "L18c",
        [SELF, P2],
        {"ruri": "sip:bob@127.0.0.1"},
        "",
        {},
        1,
        "sip:p2.example.net;lr",
        "sip:127.0.0.1;lr",
        None,
        [SELF],
    ),
    (
        "L19",
        [
            "<sip:127.0.0.1;r2=on;lr;ftag=f-caller>, <sip:127.0.0.2;r2=on;lr;ftag=f-caller>, "
            "<sip:p2.example.net;lr>"
        ],
        {},
        "",
        {},
        1,
        BOB,
        "sip:p2.example.net;lr",
        "udp:127.0.0.2:5060",
        [P2],
    ),
    ("L20", [R2A, R2B], {}, "", {}, 1, BOB, None, "udp:127.0.0.2:5060", []),
    ("L21", [R2A, R2B], {"in_dialog": False}, "", {}, -3, BOB, None, "udp:127.0.0.2:5060", []),
    (
        "L22",
        [R2A, R2B, P2],
        {},
        "",
        {"enable_double_rr": 0},
        1,
        BOB,
        "sip:127.0.0.2;r2=on;lr",
        None,
        [R2B, P2],
    ),
    ("L23", [R2A, P2], {}, "", {}, 1, BOB, None, None, []),
    (
        "L23b",
        ["<sip:127.0.0.1;r2=off;lr>", "<sip:127.0.0.2;r2=off;lr>", P2],
        {},
        "",
        {},
        1,
        BOB,
        "sip:p2.example.net;lr",
        "udp:127.0.0.2:5060",
        [P2],
    ),
    (
        "L24",
        ["<sip:127.0.0.1;lr=on>", "<sip:p2.example.net;lr=on>"],
        {},
        "",
        {},
        1,
        BOB,
        "sip:p2.example.net;lr=on",
        None,
        ["<sip:p2.example.net;lr=on>"],
    ),
    (
        "L25",
        [SELF, "<sip:p2.example.net;lr=off>"],
        {},
        "",
        {},
        1,
        BOB,
        "sip:p2.example.net;lr=off",
        None,
        ["<sip:p2.example.net;lr=off>"],
    ),
    (
        "L25c",
        [SELF, "<sip:p2.example.net;lrx>"],
        {},
        "",
        {},
        1,
        "sip:p2.example.net;lrx",
        None,
        None,
        [f"<{BOB}>"],
    ),
    (
        "L26",
        [SELF, "<sip:p2.example.net>;lr"],
        {},
        "",
        {},
        1,
        "sip:p2.example.net",
        None,
        None,
        [f"<{BOB}>"],
    ),
    (
        "L27",
        [SELF, "<sip:p2.example.net:5070;maddr=198.51.100.7;transport=tcp;lr>"],
        {},
        "",
        {},
        1,
        BOB,
        "sip:198.51.100.7:5070",
        None,
        ["<sip:p2.example.net:5070;maddr=198.51.100.7;transport=tcp;lr>"],
    ),
    (
        "L27b",
        [SELF, "<sip:bob@p3.middle.com:5070;maddr=198.51.100.9>"],
        {},
        "",
        {},
        1,
        "sip:198.51.100.9:5070",
        None,
        None,
        [f"<{BOB}>"],
    ),
    ("L28", ["sip:127.0.0.1;lr"], {}, "", {}, -1, BOB, None, None, ["sip:127.0.0.1;lr"]),
    ("L29", ["<foo:bar;lr>"], {}, "", {}, -1, BOB, None, None, ["<foo:bar;lr>"]),
    (
        "L30",
        ["<sip:proxy.example.com;lr>", P2],
        {},
        "",
        {},
        1,
        BOB,
        "sip:p2.example.net;lr",
        None,
        [P2],
    ),
    (
        "L32",
        ["<sip:pbx.example.org;lr>", P2],
        {},
        "",
        {},
        1,
        BOB,
        "sip:pbx.example.org;lr",
        None,
        ["<sip:pbx.example.org;lr>", P2],
    ),
    (
        "L39",
        ["<sip:127.0.0.1;gr=urn:uuid:1;lr>", P2],
        {},
        "",
        {},
        1,
        BOB,
        "sip:127.0.0.1;gr=urn:uuid:1;lr",
        None,
        ["<sip:127.0.0.1;gr=urn:uuid:1;lr>", P2],
    ),
    (
        "L45",
        ["<sip:127.0.0.2;lr>", P2],
        {},
        "",
        {"force_send_socket": 1},
        1,
        BOB,
        "sip:p2.example.net;lr",
        "udp:127.0.0.2:5060",
        [P2],
    ),
    (
        "L45b",
        ["<sip:127.0.0.1;transport=tcp;lr>", P2],
        {},
        "",
        {"force_send_socket": 1},
        1,
        BOB,
        "sip:p2.example.net;lr",
        "tcp:127.0.0.1:5060",
        [P2],
    ),
    # Partial edit on error: the first Route's removal is not rolled back.
    (
        "L48",
        [SELF, "garbage-no-brackets"],
        {},
        "",
        {},
        -1,
        BOB,
        None,
        None,
        ["garbage-no-brackets"],
    ),
    (
        "L49",
        [SELF, P2],
        {"ruri": "tel:+15551234"},
        "",
        {},
        1,
        "tel:+15551234",
        "sip:p2.example.net;lr",
        None,
        [P2],
    ),
    (
        "L50",
        ["<sip:p1.example.com;lr>"],
        {"ruri": "sip:127.0.0.1;lr"},
        "",
        {},
        1,
        "sip:p1.example.com;lr",
        "sip:p1.example.com;lr",
        None,
        [],
    ),
    (
        "L53",
        [R2A, R2B, "<sip:p3.middle.com>"],
        {},
        "",
        {},
        1,
        "sip:p3.middle.com",
        None,
        "udp:127.0.0.2:5060",
        [f"<{BOB}>"],
    ),
    # The S-path with an r2 Route on top: E1 forced and consumed, then as usual.
    (
        "L54",
        [R2B, "<sip:p1.example.com;lr>", "<sip:caller@u1.example.com>"],
        {"ruri": "sip:127.0.0.1;r2=on;lr"},
        "",
        {},
        1,
        "sip:caller@u1.example.com",
        "sip:p1.example.com;lr",
        "udp:127.0.0.2:5060",
        ["<sip:p1.example.com;lr>"],
    ),
    (
        "L59",
        ["<sip:127.0.0.1;lr>, <sip:127.0.0.2;lr>"],
        {},
        "",
        {},
        1,
        BOB,
        "sip:127.0.0.2;lr",
        None,
        ["<sip:127.0.0.2;lr>"],
    ),
    # The S-path r2 dead end: -1, and the removal of E1 stays.
    (
        "L65",
        [R2B],
        {"ruri": "sip:127.0.0.1;r2=on;lr"},
        "",
        {},
        -1,
        "sip:127.0.0.1;r2=on;lr",
        None,
        "udp:127.0.0.2:5060",
        [],
    ),
    (
        "L67",
        [SELF, P2],
        {"ruri": "sip:127.0.0.1;lr", "in_dialog": False},
        "",
        {},
        1,
        "sip:127.0.0.1;lr",
        "sip:p2.example.net;lr",
        None,
        [P2],
    ),
]


@pytest.mark.parametrize(
    ("routes", "options", "script", "modparams", "rc", "ruri", "du", "fs", "left"),
    [pytest.param(*row[1:], id=row[0]) for row in TABLE],
)
def test_spec_section_5_table(
    routes: list[str],
    options: dict[str, Any],
    script: str,
    modparams: dict[str, int],
    rc: int,
    ruri: str,
    du: str | None,
    fs: str | None,
    left: list[str],
) -> None:
    ctx, results = run(routes, script or "loose_route()", proxy(**modparams), **options)
    assert results[-1].rc == rc
    assert (ctx.ruri, ctx.du, str(ctx.fs) if ctx.fs else None) == (ruri, du, fs)
    assert list(route_entries(ctx)) == left


def test_L13_forwarded_request_matches_rfc_3261_16_12_1_2() -> None:  # noqa: N802
    # At P4: BYE sip:p3.middle.com SIP/2.0, Route: <sip:p2.example.com;lr>, and the old
    # R-URI as a new Route header after the last header (spec 0.2 / 3.5).
    ctx, _ = run(
        [SELF, "<sip:p3.middle.com>", "<sip:p2.example.com;lr>"],
        ruri="sip:caller@u1.example.com",
    )
    out = forwarded(ctx)
    assert out.start_line == "BYE sip:p3.middle.com SIP/2.0"
    assert out.header_values("Route") == (
        "<sip:p2.example.com;lr>",
        "<sip:caller@u1.example.com>",
    )
    assert out.headers[-1] == Header("Route", "<sip:caller@u1.example.com>")
    assert out.headers[-2].name == "Content-Length"


def test_L48_edits_survive_the_error() -> None:  # noqa: N802
    ctx, (res,) = run([SELF, "garbage-no-brackets"])
    assert res.rc == -1
    assert res.removed == (SELF,)
    assert [s.rule for s in res.steps] == ["in-dialog", "route-is-myself", "late-parse-error"]
    assert "Route header 2 cannot be parsed" in res.steps[-1].text
    assert "garbage-no-brackets" in res.steps[-1].text
    assert forwarded(ctx).header_values("Route") == ("garbage-no-brackets",)


def test_comma_joined_route_keeps_the_surviving_text_byte_for_byte() -> None:
    ctx, _ = run(['"A" <sip:127.0.0.1;lr> ,  "B, b" <sip:p2.example.net;lr>;x=1'])
    assert forwarded(ctx).header_values("Route") == ('"B, b" <sip:p2.example.net;lr>;x=1',)


# --------------------------------------------------------------------------
# decision steps: stable rule ids, sentences that name the values


@pytest.mark.parametrize(
    ("routes", "options", "modparams", "rules", "mentions"),
    [
        pytest.param([], {}, {}, ["no-route"], [BOB], id="no-route"),
        pytest.param(
            ["<sip:127.0.0.1;lr"],
            {},
            {},
            ["route-unparsable"],
            ["<sip:127.0.0.1;lr"],
            id="bad-first",
        ),
        pytest.param(
            ["<foo:bar>"], {}, {}, ["route-uri-unparsable"], ["foo:bar"], id="bad-first-uri"
        ),
        pytest.param(
            [SELF], {"ruri": "sip:bad@"}, {}, ["ruri-unparsable"], ["sip:bad@"], id="bad-ruri"
        ),
        pytest.param(
            [SELF, P2],
            {},
            {},
            ["in-dialog", "route-is-myself", "next-hop-loose"],
            [BOB, SELF, "listen udp:127.0.0.1:5060", "sip:p2.example.net;lr"],
            id="A-path-next-loose",
        ),
        pytest.param(
            [SELF],
            {"in_dialog": False},
            {},
            ["preloaded", "route-is-myself", "preloaded-consumed"],
            [SELF, "-3", BOB],
            id="preloaded",
        ),
        pytest.param(
            [SELF],
            {},
            {},
            ["in-dialog", "route-is-myself", "last-route-consumed"],
            [BOB],
            id="last-route",
        ),
        pytest.param(
            [P2],
            {},
            {},
            ["in-dialog", "first-route-foreign-loose"],
            [P2, "sip:p2.example.net;lr"],
            id="foreign-loose",
        ),
        pytest.param(
            ["<sip:p2.example.net>"],
            {},
            {},
            ["in-dialog", "first-route-foreign-strict", "strict-next-hop"],
            ["<sip:p2.example.net>", f"<{BOB}>"],
            id="foreign-strict",
        ),
        pytest.param(
            [SELF, "<sip:p3.middle.com>"],
            {},
            {},
            ["in-dialog", "route-is-myself", "strict-next-hop"],
            ["<sip:p3.middle.com>", "sip:p3.middle.com", f"<{BOB}>"],
            id="next-strict",
        ),
        pytest.param(
            [R2A, R2B, P2],
            {},
            {},
            ["in-dialog", "route-is-myself", "r2-pair", "r2-force-socket", "next-hop-loose"],
            [R2A, R2B, "udp:127.0.0.2:5060"],
            id="r2-pair",
        ),
        pytest.param(
            [R2A, "<sip:198.51.100.1;r2=on;lr>", P2],
            {},
            {},
            ["in-dialog", "route-is-myself", "r2-pair", "r2-socket-mismatch", "next-hop-loose"],
            ["<sip:198.51.100.1;r2=on;lr>"],
            id="r2-mismatch",
        ),
        pytest.param(
            ["<sip:127.0.0.2;lr>", P2],
            {},
            {"force_send_socket": 1},
            ["in-dialog", "route-is-myself", "force-send-socket", "next-hop-loose"],
            ["udp:127.0.0.2:5060", "<sip:127.0.0.2;lr>"],
            id="force-send-socket",
        ),
        pytest.param(
            [SELF, "<sip:127.0.0.2;lr>"],
            {},
            {},
            ["in-dialog", "route-is-myself", "next-hop-loose"],
            ["names this proxy again"],
            id="second-self-loops",
        ),
        pytest.param(
            ["<sip:p1.example.com;lr>", "<sip:caller@u1.example.com>"],
            {"ruri": "sip:127.0.0.1;lr"},
            {},
            ["ruri-is-myself", "strict-candidate-loose"],
            ["sip:127.0.0.1;lr", "<sip:caller@u1.example.com>", "sip:p1.example.com;lr"],
            id="S-path-loose",
        ),
        pytest.param(
            ["<sip:p1.example.com>", "<sip:u@x>"],
            {"ruri": "sip:127.0.0.1;lr"},
            {},
            ["ruri-is-myself", "strict-candidate-strict"],
            ["<sip:p1.example.com>", "sip:p1.example.com"],
            id="S-path-strict",
        ),
        pytest.param(
            ["<sip:bob@u2.example.com>"],
            {"ruri": "sip:127.0.0.1;lr"},
            {},
            ["ruri-is-myself", "strict-candidate-target"],
            ["<sip:bob@u2.example.com>", "remote target", "sip:bob@u2.example.com"],
            id="S-path-target",
        ),
        pytest.param(
            ["<sip:127.0.0.1;lr;ftag=f-caller>"],
            {"ruri": "sip:bob@127.0.0.1"},
            {},
            ["ruri-is-myself", "strict-candidate-last"],
            ["this proxy's own address", "loose_route_mode(1)"],
            id="S-path-gotcha-L17",
        ),
        pytest.param(
            [R2B],
            {"ruri": "sip:127.0.0.1;r2=on;lr"},
            {},
            ["ruri-is-myself", "strict-r2-myself", "strict-r2-dead-end"],
            [R2B, "udp:127.0.0.2:5060"],
            id="S-path-r2-dead-end-L65",
        ),
        pytest.param(
            [SELF, "<sip:p2.example.net;maddr=" + "m" * 118 + ";lr>"],
            {},
            {},
            ["in-dialog", "route-is-myself", "maddr-too-long"],
            ["117"],
            id="maddr-too-long",
        ),
    ],
)
def test_decision_steps(
    routes: list[str],
    options: dict[str, Any],
    modparams: dict[str, int],
    rules: list[str],
    mentions: list[str],
) -> None:
    _, (res,) = run(routes, at=proxy(**modparams), **options)
    assert [s.rule for s in res.steps] == rules
    text = " ".join(s.text for s in res.steps)
    for value in mentions:
        assert value in text
    assert all(s.function == "loose_route" for s in res.steps)
    assert all(s.text.endswith((".", ")")) for s in res.steps)


def test_strict_to_strict_only_when_a_strict_router_is_next_and_routes_follow_it() -> None:
    ruri = "sip:127.0.0.1;lr"
    _, (strict,) = run(["<sip:p1.example.com>", "<sip:u@x>"], ruri=ruri)
    _, (target,) = run(["<sip:bob@u2.example.com>"], ruri=ruri)
    _, (loose,) = run(["<sip:p1.example.com;lr>", "<sip:u@x>"], ruri=ruri)
    assert strict.path == target.path == loose.path == "S"
    assert strict.strict_to_strict
    assert not target.strict_to_strict
    assert not loose.strict_to_strict


def test_a_forced_socket_says_what_named_it() -> None:
    _, (res,) = run([R2A, R2B, P2])
    (step,) = (s for s in res.steps if s.rule == "r2-force-socket")
    assert f"named by the address of {R2B}, UDP first as it names no transport" in step.text
    assert step.text.endswith("this is done even with force_send_socket=0.")
    _, (res,) = run([R2A, R2B, P2], at=proxy(force_send_socket=1))
    (step,) = (s for s in res.steps if s.rule == "r2-force-socket")
    assert "force_send_socket=0" not in step.text
    tcp = "<sip:127.0.0.1;transport=tcp;lr>"
    _, (res,) = run([tcp, P2], at=proxy(force_send_socket=1))
    assert [s.text for s in res.steps if s.rule == "route-is-myself"] == [
        f"Route 1 {tcp} is this proxy (listen udp:127.0.0.1:5060; its transport=tcp is not "
        "compared): removed."
    ]
    (step,) = (s for s in res.steps if s.rule == "force-send-socket")
    assert f"named by the address and transport of {tcp}" in step.text


def test_a_foreign_route_that_misses_only_by_its_port_says_so() -> None:
    _, (res,) = run(["<sip:127.0.0.1:5090;lr>", P2])
    assert res.steps[-1].rule == "first-route-foreign-loose"
    text = res.steps[-1].text
    assert "(its host is that of listen udp:127.0.0.1:5060, " in text
    assert "but its port is 5090, and this proxy has that host only on ports 5060, 5070)" in text


def test_loose_only_mode_step_names_the_function() -> None:
    _, (res,) = run([SELF], "loose_route_mode(1)", ruri="sip:bob@127.0.0.1")
    assert [s.rule for s in res.steps] == [
        "loose-only-mode",
        "route-is-myself",
        "last-route-consumed",
    ]
    assert res.function == "loose_route_mode(1)"
    assert "loose_route_mode(1) runs in loose-only mode" in res.steps[0].text


def test_result_fields() -> None:
    ctx, (res,) = run([SELF, "<sip:p3.middle.com>", "<sip:p2.example.com;lr>"])
    assert (res.function, res.rc, res.path) == ("loose_route", 1, "A")
    assert res.removed == (SELF, "<sip:p3.middle.com>")
    assert res.appended == f"<{BOB}>"
    assert res.meaning == RC_MEANING[1]
    assert not res.preloaded
    assert ctx.next_hop_route
    _, (pre,) = run([SELF], in_dialog=False)
    assert pre.preloaded
    assert pre.meaning.startswith("preloaded Route set consumed")
    _, (s,) = run(["<sip:u@x>"], ruri="sip:127.0.0.1;lr")
    assert s.path == "S"


def test_next_hop_route_flag_only_on_the_A_path_with_a_route_left() -> None:  # noqa: N802
    assert run([SELF, P2])[0].next_hop_route
    assert not run([SELF])[0].next_hop_route
    assert not run([P2])[0].next_hop_route
    assert not run(["<sip:p1.example.com;lr>", "<sip:u@x>"], ruri="sip:127.0.0.1;lr")[
        0
    ].next_hop_route


def test_loose_route_preloaded_step() -> None:
    _, (res,) = run([SELF, P2], "loose_route_preloaded()", in_dialog=False)
    assert res.function == "loose_route_preloaded"
    assert res.steps[-1].rule == "preloaded-only"
    assert "it returned 1" in res.steps[-1].text


# --------------------------------------------------------------------------
# outbound flow tokens in loose_route() (spec 3.8)

OB = Proxy.build(
    listen=["udp:127.0.0.1:5060", "udp:[::1]:5060"], outbound=Outbound(flow_token_secret="s")
)
TOKEN = encode_flow_token(Flow("udp", "127.0.0.1", 5060, "127.0.0.1", 25061), key_for(OB.outbound))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("user", "source", "rc", "rules", "du"),
    [
        pytest.param(
            TOKEN,
            "udp:127.0.0.1:25062",
            2,
            ["in-dialog", "route-is-myself", "flow-token-used", "flow-keeps-du"],
            "sip:127.0.0.1:25061;transport=udp",
            id="incoming-O5",
        ),
        pytest.param(
            TOKEN,
            "udp:127.0.0.1:25061",
            1,
            ["in-dialog", "route-is-myself", "flow-token-outgoing", "next-hop-loose"],
            "sip:p2.example.net;lr",
            id="outgoing-O2",
        ),
        pytest.param(
            "T" + TOKEN[1:],
            "udp:127.0.0.1:25062",
            -2,
            ["in-dialog", "route-is-myself", "flow-token-tampered"],
            None,
            id="tampered-O3",
        ),
        pytest.param(
            encode_flow_token(Flow("tcp", "127.0.0.1", 5060, "127.0.0.1", 1), key_for(Outbound())),
            "udp:127.0.0.1:25062",
            -2,
            ["in-dialog", "route-is-myself", "flow-token-socket-unknown"],
            None,
            id="socket-unknown-H23",
        ),
    ],
)
def test_flow_tokens(user: str, source: str, rc: int, rules: list[str], du: str | None) -> None:
    msg = request([f"<sip:{user}@127.0.0.1;lr>", P2])
    ctx, res = loose_route(Context.start(msg, OB, source=source))
    assert res.rc == rc
    assert [s.rule for s in res.steps] == rules
    assert ctx.du == du
    if rc < 0:
        assert route_entries(ctx) == (f"<sip:{user}@127.0.0.1;lr>", P2)
        assert local_route_params(ctx) == ";lr"  # re-derived: the -2 changed nothing
    # The Route is said to be removed only where it is.
    myself = next(s.text for s in res.steps if s.rule == "route-is-myself")
    assert myself.endswith("removed.") == (rc > 0)


def test_flow_token_ends_with_code_2_even_when_preloaded_O1b() -> None:  # noqa: N802
    ctx, res = loose_route(
        Context.start(
            request([f"<sip:{TOKEN}@127.0.0.1;lr>"], in_dialog=False), OB, source="udp:127.0.0.1:9"
        )
    )
    assert (res.rc, res.steps[-1].rule) == (2, "flow-end")
    assert str(ctx.fs) == "udp:127.0.0.1:5060"
    assert res.flow == Flow("udp", "127.0.0.1", 5060, "127.0.0.1", 25061)


@pytest.mark.parametrize(
    ("contact", "token"),
    [
        # The Contact's ;ob as the outbound module reads it (RL-OBP-* on 5.6.3).
        ("<sip:alice@192.0.2.5;ob>", True),
        ("<sip:alice@192.0.2.5;OB>", True),
        ("<sip:alice@192.0.2.5;ob >", True),
        ("<sip:alice@192.0.2.5; ob>", False),
        ("<sip:alice@192.0.2.5;ob=1>", True),
        ("<sip:alice@192.0.2.5;obx>", False),
    ],
)
def test_record_route_flow_token_and_the_contact_ob(contact: str, token: bool) -> None:
    msg = request([], in_dialog=False, extra=(f"Contact: {contact}",))
    _, res = record_route(Context.start(msg, OB, source="udp:127.0.0.1:25061"))
    assert ("@127.0.0.1" in res.added[0]) is token


@pytest.mark.parametrize(
    ("route", "token"),
    [
        ("<sip:p2.example.net;lr>", False),  # a foreign top Route: no token
        ("<sip:p2.example.net;lr>;", False),  # unparsable top Route: none either (seed 3115)
        (None, True),  # no Route, one Via and a Contact with ;ob: a token
    ],
)
def test_record_route_flow_token_and_the_top_route(route: str | None, token: bool) -> None:
    msg = request(
        [route] if route else [], in_dialog=False, extra=("Contact: <sip:alice@192.0.2.5;ob>",)
    )
    _, res = record_route(Context.start(msg, OB, source="udp:127.0.0.1:25061"))
    assert res.rc == 1
    assert ("@127.0.0.1" in res.added[0]) is token
    if route and route.endswith(";"):
        assert "cannot be parsed: no flow token" in res.steps[0].text


# --------------------------------------------------------------------------
# is_direction(), check_route_param(), local route parameters (spec 3.11)


def test_L43_direction_and_route_params() -> None:  # noqa: N802
    msg = request(
        ["<sip:127.0.0.1;lr;ftag=f-caller;nat=yes>"], from_tag="t-callee", to_tag="f-caller"
    )
    ctx = start(msg)
    # Before loose_route(): re-derived from the first Route, which is this proxy.
    assert local_route_params(ctx) == ";lr;ftag=f-caller;nat=yes"
    assert is_direction(ctx, "upstream").rc == 1
    ctx, res = loose_route(ctx)
    assert res.rc == 1
    assert direction(ctx) == "upstream"
    assert is_direction(ctx, "UPSTREAM").rc == 1
    assert is_direction(ctx, "downstream").rc == -1
    assert check_route_param(ctx, "nat=yes").rc == 1
    assert check_route_param(ctx, "^;LR;").rc == 1  # case-insensitive, leading ';'
    assert check_route_param(ctx, "nat=no").rc == -1
    step = check_route_param(ctx, "nat=yes").steps[0]
    assert (step.rule, step.function) == ("route-param", "check_route_param")
    assert "'nat=yes' matches ';lr;ftag=f-caller;nat=yes'" in step.text


@pytest.mark.parametrize(
    ("routes", "ruri", "codes"),
    [
        ([SELF, P2], BOB, [1, 1]),  # this proxy's Route removed, P2 the next hop
        ([SELF, "<sip:p2.example.net>"], BOB, [1, 1]),  # a strict next hop too
        ([SELF], BOB, [1, -1]),  # no Route after this proxy's
        ([P2], BOB, [1, -1]),  # the first Route is another proxy's
        ([R2A, R2B, P2], BOB, [1, 1]),
        ([P2, "<sip:bob@192.0.2.20>"], "sip:127.0.0.1;lr", [1, -1]),  # strict previous hop
        # The next Route read but not parsed is no next hop; one whose maddr is too long is.
        ([SELF, "<sip:x@y@z;lr>"], BOB, [-1, -1]),
        ([SELF, "<sip:p2.example.net;lr;maddr=" + "a" * 120 + ">"], BOB, [-1, 1]),
    ],
)
def test_rr_next_hop_route_after_loose_route_RL_NHR(  # noqa: N802
    routes: list[str], ruri: str, codes: list[int]
) -> None:
    _ctx, results = run(routes, "loose_route(); rr_next_hop_route()", ruri=ruri)
    assert [r.rc for r in results] == codes
    step = results[1].steps[0]
    assert (step.rule, step.function) == ("next-hop-route", "rr_next_hop_route")
    assert ("is TRUE" in step.text) == (codes[1] == 1)
    # Without a loose_route() before it, FALSE.
    _ctx, results = run(routes, "rr_next_hop_route()", ruri=ruri)
    assert results[0].rc == -1


def test_direction_is_downstream_without_ftag_or_from_tag_L43b() -> None:  # noqa: N802
    assert direction(start(request([SELF]))) == "downstream"
    assert direction(start(request(["<sip:127.0.0.1;lr;ftag=f-caller>"]))) == "downstream"
    assert direction(start(request(["<sip:p2.example.net;lr;ftag=x>"]))) == "downstream"


@pytest.mark.parametrize(
    ("from_value", "ftag", "way"),
    [
        # Seen on 5.6.3 (tests/data/vectors RL-FTAG*): the last From tag counts, quotes
        # go from the tag (double only) and from the ftag (double and single).
        ("<sip:a@x>;tag=f1;tag=f2", "f2", "downstream"),
        ("<sip:a@x>;tag=f1;tag=f2", "f1", "upstream"),
        ('<sip:a@x>;tag="f1"', "f1", "downstream"),
        ("<sip:a@x>;tag=f1", '"f1"', "downstream"),
        ("<sip:a@x>;tag=f1", "'f1'", "downstream"),
        ("<sip:a@x>;tag='f1'", "'f1'", "upstream"),
        ("<sip:a@x>;tag=f1;tag=", "f2", "downstream"),  # no From tag: downstream
    ],
)
def test_direction_reads_tags_as_kamailio(from_value: str, ftag: str, way: str) -> None:
    text = render(request([f"<sip:127.0.0.1;lr;ftag={ftag}>", P2]))
    text = text.replace("From: <sip:caller@u1.example.com>;tag=f-caller", f"From: {from_value}")
    assert from_value in text
    msg = parse_message(text)
    assert isinstance(msg, SipRequest)
    ctx, _ = loose_route(start(msg))
    assert direction(ctx) == way


def test_a_blank_in_a_host_is_part_of_it_and_said_so() -> None:
    # Seen on 5.6.3 (RL-BLANK-*): with no user part the blank stays in the host, so
    # Route 1 names no address of this proxy and is a loose next hop.
    ctx, (res,) = run(["<sip:127.0.0.1 ;lr>", P2])
    assert (res.rc, ctx.du) == (1, "sip:127.0.0.1 ;lr")
    step = res.steps[-1]
    assert step.rule == "first-route-foreign-loose"
    assert "its host '127.0.0.1 ' holds white space" in step.text
    _, (res,) = run(["<sip:u@127.0.0.1 ;lr>", P2])  # behind a user part: unparsable
    assert res.rc == -1
    assert "after a user part a host is letters, digits" in res.steps[-1].text


@pytest.mark.parametrize(
    ("route", "forced"),
    [
        # Seen on 5.6.3 (RL-PNAME-*, RL-TRANS-*): a transport Kamailio does not read
        # (unknown, a blank in its value or around its name) counts as none, so the UDP
        # socket is forced; transport=tcp finds no TCP socket here, so none is.
        ("<sip:127.0.0.2;lr;transport=tcp>", None),
        ("<sip:127.0.0.2;lr;TRANSPORT=UDP>", "udp:127.0.0.2:5060"),
        ("<sip:127.0.0.2;lr;transport=xyz>", "udp:127.0.0.2:5060"),
        ("<sip:127.0.0.2;lr;transport=tcp >", "udp:127.0.0.2:5060"),
        ("<sip:127.0.0.2;lr; transport=tcp>", "udp:127.0.0.2:5060"),
    ],
)
def test_force_send_socket_reads_transport_as_kamailio(route: str, forced: str | None) -> None:
    ctx, (res,) = run([route, P2], at=proxy(force_send_socket=1))
    assert res.rc == 1
    assert (str(ctx.fs) if ctx.fs else None) == forced


def test_no_route_params_make_check_route_param_false_whatever_the_pattern() -> None:
    # A user=phone Route has no parameters for the rr module; Kamailio 5.6.3 then says
    # FALSE even to a pattern that matches the empty text (differential seed 6022).
    ctx, _ = run(["<sip:127.0.0.1;user=phone;lr;ftag=x>", P2])
    assert local_route_params(ctx) == ""
    res = check_route_param(ctx, "a**")
    assert res.rc == -1
    assert "no parameters" in res.steps[0].text


def test_user_phone_makes_a_strict_router_and_is_said_so() -> None:
    ctx, (res,) = run([SELF, "<sip:+1555@gw.example.net;user=phone;lr>"])
    assert (res.rc, ctx.ruri, ctx.du) == (1, "sip:+1555@gw.example.net;user=phone;lr", None)
    step = res.steps[-1]
    assert step.rule == "strict-next-hop"
    assert "has lr, but with user=phone Kamailio 5.6.3 reads it as a telephone URI" in step.text


def test_route_params_after_foreign_first_route_are_none() -> None:
    ctx, _ = run([P2])
    assert local_route_params(ctx) is None
    assert check_route_param(ctx, "lr").rc == -1
    assert "no local Route" in check_route_param(ctx, "lr").steps[0].text


def test_S_path_route_params_come_from_the_R_URI() -> None:  # noqa: N802
    ctx, _ = run(["<sip:u@x>"], ruri="sip:127.0.0.1;lr;ftag=abc")
    # Without the ';' before them, unlike a Route's (RL-SPARAM-* on 5.6.3).
    assert local_route_params(ctx) == "lr;ftag=abc"
    assert check_route_param(ctx, "^lr;").rc == 1
    assert check_route_param(ctx, ";lr").rc == -1
    assert check_route_param(ctx, ";ftag=abc").rc == 1


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("(", id="unbalanced"),
        # Regression (fuzz): OverflowError and RecursionError escaped from re.compile().
        pytest.param("a{4294967296}", id="repeat-overflow"),
        pytest.param("(" * 1200 + ")" * 1200, id="nesting-recursion"),
    ],
)
def test_check_route_param_bad_regex(pattern: str) -> None:
    with pytest.raises(ScriptError, match="invalid regular expression"):
        check_route_param(start(request([SELF])), pattern)


def test_is_direction_errors() -> None:
    with pytest.raises(ScriptError, match="upstream or downstream"):
        is_direction(start(request([SELF])), "sideways")
    with pytest.raises(ScriptError, match="append_fromtag=1"):
        is_direction(start(request([SELF]), proxy(append_fromtag=0)), "upstream")


# --------------------------------------------------------------------------
# record_route() and friends (spec section 4)


def rr_run(script: str, at: Proxy = P, **kw: Any) -> tuple[Context, tuple[RrResult, ...]]:
    msg = request([], in_dialog=False, ruri=kw.pop("ruri", BOB))
    return run_script(start(msg, at, **kw), parse_script(script))


@pytest.mark.parametrize(
    ("script", "modparams", "added", "rc"),
    [
        pytest.param(
            'record_route_preset("1.2.3.4:5090")',
            {},
            ["<sip:1.2.3.4:5090;ftag=f-caller;lr>"],
            1,
            id="preset-R07",
        ),
        pytest.param(
            'add_rr_param(";nat=yes"); record_route_preset("1.2.3.4:5090")',
            {},
            ["<sip:1.2.3.4:5090;ftag=f-caller;nat=yes;lr>"],
            1,
            id="preset-buffered-param-R07b",
        ),
        pytest.param(
            'record_route_preset("1.2.3.4:5090;r2=on", "5.6.7.8;r2=on")',
            {},
            ["<sip:1.2.3.4:5090;r2=on;ftag=f-caller;lr>", "<sip:5.6.7.8;r2=on;ftag=f-caller;lr>"],
            1,
            id="preset-two-R08",
        ),
        pytest.param(
            'record_route_preset("1.2.3.4", "5.6.7.8")',
            {"enable_double_rr": 0},
            [],
            -1,
            id="preset-two-needs-double-rr-R18b",
        ),
        pytest.param(
            'record_route_preset("1.2.3.4:5090")',
            {"enable_full_lr": 1},
            ["<sip:1.2.3.4:5090;ftag=f-caller;lr=on>"],
            1,
            id="preset-full-lr-R16b",
        ),
        pytest.param(
            'record_route_preset("1.2.3.4:5090")',
            {"add_username": 1},
            ["<sip:bob@1.2.3.4:5090;ftag=f-caller;lr>"],
            1,
            id="preset-username-R17b",
        ),
        pytest.param(
            'record_route_advertised_address("1.2.3.4:5080")',
            {},
            ["<sip:1.2.3.4:5080;ftag=f-caller;lr>"],
            1,
            id="advertised-same-proto-R09b",
        ),
        pytest.param(
            'record_route_advertised_address("1.2.3.4:5080")',
            {"enable_double_rr": 2, "enable_full_lr": 1, "append_fromtag": 0},
            ["<sip:1.2.3.4:5080;transport=udp;r2=on;lr=on>"] * 2,
            1,
            id="advertised-double-2-R16",
        ),
        pytest.param(
            'record_route(); add_rr_param(";late=1")',
            {},
            ["<sip:127.0.0.1;lr;ftag=f-caller;late=1>"],
            1,
            id="param-after-R06",
        ),
        pytest.param(
            'add_rr_param(";nat=yes"); record_route(";p=1")',
            {},
            ["<sip:127.0.0.1;lr;ftag=f-caller;p=1;nat=yes>"],
            1,
            id="param-before-R05",
        ),
        pytest.param(
            'record_route(); record_route(";again")',
            {},
            ["<sip:127.0.0.1;lr;ftag=f-caller>"],
            -1,
            id="double-attempt-R11",
        ),
        pytest.param(
            'record_route(); record_route_preset("x")',
            {},
            ["<sip:127.0.0.1;lr;ftag=f-caller>"],
            -1,
            id="double-attempt-preset",
        ),
        pytest.param("record_route(); remove_record_route()", {}, [], 1, id="remove-record-route"),
    ],
)
def test_record_route_family(
    script: str, modparams: dict[str, int], added: list[str], rc: int
) -> None:
    ctx, results = rr_run(script, proxy(**modparams))
    rr_results = [r for r in results if r.function.startswith(("record_route", "remove"))]
    assert rr_results[-1].rc == rc
    assert list(ctx.record_routes) == added
    assert list(forwarded(ctx).header_values("Record-Route")) == added


@pytest.mark.parametrize(
    "script",
    [
        "record_route()",
        'record_route_preset("1.2.3.4")',
        'record_route_advertised_address("1.2.3.4")',
    ],
)
@pytest.mark.parametrize("add_username", [0, 1])
def test_an_unparsable_r_uri_stops_the_record_route_family_only_with_add_username_COVER(  # noqa: N802
    script: str, add_username: int
) -> None:
    # Seen on 5.6.3 (RL-COVER-04, -13, -14): the user part is read from the R-URI.
    ctx, (res,) = rr_run(script, proxy(add_username=add_username), ruri="sip:a@b@192.0.2.9")
    if add_username:
        assert res.rc == -1
        assert ctx.record_routes == ()
        assert [step.rule for step in res.steps][-1] == "rr-username-unparsable"
        assert "sip:a@b@192.0.2.9 cannot be parsed" in res.steps[-1].text
    else:
        assert res.rc == 1
        assert len(ctx.record_routes) == 1


def test_double_record_route_between_sockets_R02() -> None:  # noqa: N802
    ctx, (res,) = rr_run("record_route()", send_socket="udp:127.0.0.2:5060")
    assert res.added == (
        "<sip:127.0.0.2;r2=on;lr;ftag=f-caller>",
        "<sip:127.0.0.1;r2=on;lr;ftag=f-caller>",
    )
    assert [s.rule for s in res.steps] == ["rr-double", "rr-ftag"]
    assert "udp:127.0.0.1:5060 and leaves from udp:127.0.0.2:5060" in res.steps[0].text
    assert forwarded(ctx).headers[0] == Header("Record-Route", res.added[0])


def test_advertised_address_double_when_protocols_differ_R09c() -> None:  # noqa: N802
    _, (res,) = rr_run(
        'record_route_advertised_address("1.2.3.4:5080")', send_socket="tcp:127.0.0.1:5060"
    )
    assert res.added == (
        "<sip:1.2.3.4:5080;transport=tcp;r2=on;ftag=f-caller;lr>",
        "<sip:1.2.3.4:5080;transport=udp;r2=on;ftag=f-caller;lr>",
    )


def test_add_rr_param_after_two_values_appends_to_both() -> None:
    ctx, results = rr_run(
        'record_route(); add_rr_param(";late=1")', send_socket="udp:127.0.0.2:5060"
    )
    assert all(v.endswith(";late=1>") for v in ctx.record_routes)
    assert results[-1].steps[0].rule == "rr-param-appended"


def test_add_rr_param_buffer_overflow() -> None:
    ctx, results = rr_run(f'add_rr_param(";a={"x" * 500}"); add_rr_param(";b={"y" * 20}")')
    assert [r.rc for r in results] == [1, -1]
    assert results[-1].steps[0].rule == "rr-param-overflow"
    assert len(ctx.rr_param_buffer) == 503


def test_record_route_params_are_appended_as_written() -> None:
    # Seen on 5.6.3 (RL-RRPARAM-*): no ';' is added, so "p=1" runs on from the ftag.
    _ctx, (res,) = rr_run('record_route("p=1")')
    assert res.rc == 1
    assert res.added == ("<sip:127.0.0.1;lr;ftag=f-caller" + "p=1>",)
    assert res.steps[0].rule == "rr-params-no-semicolon"


def test_remove_record_route_keeps_the_done_flag() -> None:
    # spec 1.2: remove_record_route() does not clear "already record-routed".
    ctx, results = rr_run("record_route(); remove_record_route(); record_route()")
    assert [r.rc for r in results] == [1, 1, -1]
    assert ctx.record_routes == ()
    assert remove_record_route(ctx)[1].steps[0].rule == "rr-removed"


def test_record_route_direct_calls() -> None:
    ctx = start(request([], in_dialog=False))
    new, res = record_route(ctx, ";x")
    assert res.added == ("<sip:127.0.0.1;lr;ftag=f-caller;x>",)
    assert ctx.record_routes == ()  # inputs are never mutated
    assert record_route_preset(new, "a")[1].rc == -1
    assert record_route_advertised_address(new, "a")[1].rc == -1
    assert add_rr_param(new, ";y")[0].record_routes == ("<sip:127.0.0.1;lr;ftag=f-caller;x;y>",)


# --------------------------------------------------------------------------
# helpers


def test_context_start_resolves_sockets() -> None:
    msg = request([SELF])
    ctx = Context.start(msg, P, received_on="udp:[0::1]:5060", send_socket=P.listen[2])
    assert ctx.received_on == P.listen[5]
    assert ctx.send_socket == P.listen[2]
    assert Context.start(msg, P).send_socket == P.listen[0]
    with pytest.raises(ConfigError):
        Context.start(msg, P, received_on="udp:10.9.9.9:5060")


@pytest.mark.parametrize(
    ("uri", "sock"),
    [
        pytest.param("sip:127.0.0.1;transport=tcp", "tcp:127.0.0.1:5060", id="transport"),
        pytest.param("sip:127.0.0.1:5070", "udp:127.0.0.1:5070", id="port"),
        pytest.param("sip:203.0.113.5", "udp:127.0.0.3:5060", id="advertised"),
        pytest.param("sip:127.0.0.1;transport=tls", None, id="tls-5061-none"),
        pytest.param("sip:10.0.0.1", None, id="foreign"),
    ],
)
def test_force_socket_for(uri: str, sock: str | None) -> None:
    found = force_socket_for(parse_uri(uri), P)
    assert (str(found) if found else None) == sock


def test_force_socket_by_name_with_sockname_mode() -> None:
    named = Proxy.build(
        listen=["udp:127.0.0.1:5060", 'udp:127.0.0.2:5060 name "edge"'],
        modparams={"sockname_mode": 1},
    )
    assert force_socket_for(parse_uri("sip:127.0.0.1;sn=edge"), named) == named.listen[1]
    assert force_socket_for(parse_uri("sip:127.0.0.1;sn=nope"), named) == named.listen[0]


def test_route_headers_and_body_parsing() -> None:
    msg = request(["<sip:a;lr>, B <sip:b>;x", "junk"])
    first, second = route_headers(msg)
    assert [e[3] for e in first.elements or ()] == ["<sip:a;lr>", "B <sip:b>;x"]
    assert second.elements is None
    assert second.error == "Route value 1: missing '<' in 'junk'"
    assert parse_route_body("junk, <sip:a;lr>")[0][0].display == "junk,"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        # Kamailio 5.6.3's parameter parser (RL-RRFORM*): a ';' ending the header with
        # nothing after it, and "name=" with no value before a ','.
        ("<sip:a;lr>;", "the header ends in a ';' with no parameter after it"),
        ("<sip:a;lr>;x=1; ", "the header ends in a ';' with no parameter after it"),
        ("<sip:a;lr> ;", "the header ends in a ';' with no parameter after it"),
        ("<sip:a;lr>;x=, <sip:b;lr>", "parameter 'x' has '=' but no value before the ','"),
        # ... but these pass.
        ("<sip:a;lr>;, <sip:b;lr>", None),
        ("<sip:a;lr>;x=", None),
        ("<sip:a;lr>;=x", None),
        ("<sip:a;lr>; ;x", None),
    ],
)
def test_route_header_parameters_as_kamailio_parses_them(body: str, error: str | None) -> None:
    if error is None:
        assert parse_route_body(body)[0][0].uri_text == "sip:a;lr"
    else:
        with pytest.raises(SipParseError, match=re.escape(error)):
            parse_route_body(body)


@pytest.mark.parametrize(
    "cls",
    [SipRequest],
    ids=lambda cls: cls.__name__,
)
def test_hand_written_initialisers_match_the_fields(cls: type) -> None:
    # These write their __init__ out for speed; it must take exactly the dataclass
    # fields (those that are parameters at all), in order, with the same defaults.
    init_fields = [f for f in fields(cls) if f.init]
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [p.name for p in params] == [f.name for f in init_fields]
    for p, f in zip(params, init_fields, strict=True):
        assert p.default == (
            inspect.Parameter.empty if f.default is f.default_factory else f.default
        )


def test_values_stay_frozen() -> None:
    ctx = start(request([SELF]))
    with pytest.raises(AttributeError):
        ctx.du = "x"  # type: ignore[misc]
    _, res = loose_route(ctx)
    with pytest.raises(AttributeError):
        res.rc = 5  # type: ignore[misc]
    assert ctx == start(request([SELF]))
    assert hash(res.steps[0]) == hash(Step(res.steps[0].rule, res.steps[0].text))


# --------------------------------------------------------------------------
# routing invariants (STYLE.md section 7)

SELF_URIS = [
    "sip:127.0.0.1",
    "sip:127.0.0.2",
    "sip:127.0.0.1:5070",
    "sip:proxy.example.com",
    "sip:[::1]",
    "sips:127.0.0.1",
]
FOREIGN_URIS = ["sip:p2.example.net", "sip:p3.middle.com:5070", "sip:u@u1.example.com", "tel:+1555"]


@st.composite
def route_values(draw: st.DrawFn) -> str:
    uri = draw(st.sampled_from(SELF_URIS + FOREIGN_URIS))
    if not uri.startswith("tel:"):
        uri += draw(st.sampled_from(["", ";r2=on", ";ftag=f-caller", ";maddr=198.51.100.9"]))
        uri += draw(st.sampled_from([";lr", ";lr", ";lr=on", ""]))
        if draw(st.integers(0, 9)) == 0:
            uri += ";gr"  # a GRUU is never this proxy
    display = draw(st.sampled_from(["", "", '"x, y" ', "N "]))
    return f"{display}<{uri}>"


@st.composite
def routing_cases(draw: st.DrawFn) -> tuple[Context, int]:
    values = draw(st.lists(route_values(), min_size=1, max_size=5))
    # Split the values into Route header lines (comma lists).
    lines: list[str] = []
    for v in values:
        if lines and draw(st.booleans()):
            lines[-1] += ", " + v
        else:
            lines.append(v)
    ruri = draw(st.sampled_from([BOB, "sip:127.0.0.1;lr", "sip:bob@127.0.0.1", "tel:+1555"]))
    modparams = {
        "enable_double_rr": draw(st.sampled_from([0, 1, 2])),
        "force_send_socket": draw(st.sampled_from([0, 1])),
    }
    msg = request(lines, ruri=ruri, in_dialog=draw(st.booleans()))
    return start(msg, proxy(**modparams)), draw(st.sampled_from([0, 1]))


@settings(max_examples=400)
@given(routing_cases())
def test_loose_route_removes_only_top_entries_that_name_this_proxy(
    case: tuple[Context, int],
) -> None:
    ctx, mode = case
    before = list(route_entries(ctx))
    new, res = loose_route(ctx, mode=mode)
    after = list(route_entries(new))
    assert res.rc in (1, 2, -1, -2, -3)
    removed = list(res.removed)
    # The Route set never grows by more than the one appended entry, and the strict-router
    # handling trades an entry for it (handle_sr / save_ruri).  A line whose values were
    # all removed piece by piece stays as one empty value.
    emptied = len(new.emptied_routes)
    assert len(after) == len(before) - len(removed) + (1 if res.appended else 0) + emptied
    assert after.count("") >= emptied
    if res.appended:
        assert len(after) <= len(before)
        assert res.appended == f"<{ctx.request.uri}>"
        assert after[-1] == res.appended
    if res.path == "S":
        return  # the strict-previous-hop path also takes the last Route: not checked here
    # Removals are the top entries, in order ...
    assert removed == before[: len(removed)]
    own = len(removed) - (1 if res.appended else 0)
    assert own <= 2
    rr = ctx.proxy.rr
    if own >= 1:
        # ... the first names this proxy ...
        top = parse_route_body(before[0])[0][0].uri
        assert locate(top, ctx.proxy).myself
        if own == 2:
            # ... and a second one only as the other half of an r2 pair (not checked).
            assert rr.enable_double_rr
            assert top.has_param("r2")
    if res.appended:
        # The traded entry is the strict next hop, which has no lr.
        strict = parse_route_body(before[own])[0][0].uri
        assert not strict.is_loose
    # Whatever survives is unchanged, in order.
    survivors = after[:-1] if res.appended else after
    assert survivors == before[len(removed) :]


@settings(max_examples=200)
@given(routing_cases())
def test_loose_route_is_pure(case: tuple[Context, int]) -> None:
    ctx, mode = case
    snapshot = (ctx, render(ctx.request))
    first = loose_route(ctx, mode=mode)
    assert loose_route(ctx, mode=mode) == first
    assert (ctx, render(ctx.request)) == snapshot


def test_add_rr_param_after_a_one_address_preset_with_double_rr_is_false() -> None:
    # Spec 4.4 / OBS R07c: the parameter lands (after ;lr) but the call returns -1.
    from engine.message import parse_message as _parse
    from engine.proxy import Proxy as _Proxy
    from engine.rr import Context as _Context
    from engine.rr import add_rr_param as _add
    from engine.rr import record_route_preset as _preset

    req = _parse(
        "INVITE sip:bob@example.net SIP/2.0\r\nFrom: <sip:a@x>;tag=f-caller\r\n"
        "To: <sip:bob@example.net>\r\n\r\n"
    )
    for double, expected in ((1, -1), (0, 1)):
        proxy = _Proxy.build(listen=["udp:127.0.0.1:5060"], modparams={"enable_double_rr": double})
        ctx, _ = _preset(_Context.start(req, proxy), "1.2.3.4:5090")
        ctx, res = _add(ctx, ";late=1")
        assert res.rc == expected
        assert ctx.record_routes == ("<sip:1.2.3.4:5090;ftag=f-caller;lr;late=1>",)
    # record_route() builds both lumps when double-RR is on: TRUE even with one header.
    proxy = _Proxy.build(listen=["udp:127.0.0.1:5060"])
    from engine.rr import record_route as _rr

    ctx, _ = _rr(_Context.start(req, proxy))
    ctx, res = _add(ctx, ";late=1")
    assert res.rc == 1
    assert ctx.record_routes == ("<sip:127.0.0.1;lr;ftag=f-caller;late=1>",)


def test_loose_route_keeps_what_record_route_built() -> None:
    # loose_route() touches Route headers only: the Record-Route lumps an earlier
    # record_route_preset() built still count for a later add_rr_param() (OBS R07c).
    req = parse_message(
        "INVITE sip:bob@example.net SIP/2.0\r\nFrom: <sip:a@x>;tag=f-caller\r\n"
        "To: <sip:bob@example.net>\r\nRoute: <sip:127.0.0.1;lr>, <sip:p2.example.org;lr>\r\n\r\n"
    )
    proxy = Proxy.build(listen=["udp:127.0.0.1:5060"], modparams={"enable_double_rr": 1})
    calls = parse_script('record_route_preset("1.2.3.4:5090"); loose_route(); add_rr_param(";x")')
    ctx, results = run_script(Context.start(req, proxy), calls)
    assert [r.rc for r in results] == [1, 1, -1]
    assert ctx.rr_lumps == 1
    assert ctx.record_routes == ("<sip:1.2.3.4:5090;ftag=f-caller;lr;x>",)


# --------------------------------------------------------------------------
# Found by the differential run with other seeds, and pinned down on 5.6.3


def test_strict_recovery_leaves_an_empty_route_line_after_two_piecewise_removals() -> None:
    # R-URI is this proxy; the r2 half and the last entry are the only two of the line.
    ctx, (res,) = run(
        [f"{R2A[:-1]};ftag=f-caller>, <sip:last.example.com;lr>"], ruri="sip:127.0.0.1"
    )
    assert (res.rc, ctx.du, ctx.ruri) == (1, "sip:last.example.com;lr", "sip:last.example.com;lr")
    assert route_entries(ctx) == ("",)
    assert [h.value for h in forwarded(ctx).headers if h.name == "Route"] == [""]
    assert "empty 'Route:' header" in res.steps[-1].text
    # With a third entry, or on two lines, nothing is left empty.
    ctx, _ = run([R2A, "<sip:c.example.com;lr>", "<sip:last.example.com;lr>"], ruri="sip:127.0.0.1")
    assert route_entries(ctx) == ("<sip:c.example.com;lr>",)
    ctx, _ = run(
        [f"{R2A}, <sip:c.example.com;lr>, <sip:last.example.com;lr>"], ruri="sip:127.0.0.1"
    )
    assert route_entries(ctx) == ("<sip:c.example.com;lr>",)


def test_strict_recovery_keeps_du_when_the_last_route_cannot_be_read() -> None:
    ctx, (res,) = run(["<sip:c.example.com;lr>", "<sip:127.0.0.1;lr"], ruri="sip:127.0.0.1")
    assert (res.rc, res.path, ctx.du, ctx.ruri) == (
        -1,
        "S",
        "sip:c.example.com;lr",
        "sip:127.0.0.1",
    )
    assert res.steps[-1].rule == "strict-last-unreadable"
    assert "$du stays set" in res.steps[-1].text


@pytest.mark.parametrize(
    ("ruri", "first", "ftag"),
    [
        ("sip:127.0.0.1", "<sip:127.0.0.1;lr;ftag=t-callee>", "t-callee"),  # R-URI bare: Route 1
        ("sip:127.0.0.1", "<sip:192.0.2.9;lr;ftag=t-callee>", "f-caller"),  # ... only if mine
        ("sip:127.0.0.1;ftag=t-callee", "<sip:192.0.2.9;lr>", "t-callee"),  # R-URI params
        ("sip:127.0.0.1;transport=udp", "<sip:127.0.0.1;lr;ftag=t-callee>", "f-caller"),
    ],
)
def test_strict_recovery_reads_direction_from_the_ruri_else_from_route_1(
    ruri: str, first: str, ftag: str
) -> None:
    ctx, results = run(
        [first, "<sip:n.example.com;lr>", "<sip:bob@10.0.0.2>"],
        "loose_route(); record_route()",
        ruri=ruri,
    )
    assert results[0].path == "S"
    assert ctx.record_routes[0].endswith(f";ftag={ftag}>")


@pytest.mark.parametrize(
    ("body", "uris"),
    [
        ('<sip:h;x=">";lr>, <sip:p2;lr>', ['sip:h;x=">";lr', "sip:p2;lr"]),
        ('<sip:h;lr;x="a\\">">, <sip:p2;lr>', ['sip:h;lr;x="a\\">"', "sip:p2;lr"]),
        ('<sip:a"b"c@h;lr>', ['sip:a"b"c@h;lr']),
    ],
)
def test_route_uri_runs_to_the_first_gt_outside_quotes(body: str, uris: list[str]) -> None:
    assert [e[0].uri_text for e in parse_route_body(body)] == uris


@pytest.mark.parametrize(
    "body",
    ['<sip:a"b@h;lr>, <sip:p2;lr>', '<sip:h;lr;x="a>, <sip:p2;lr>', '<sip:h;lr>;x="a, <sip:p2;lr>'],
)
def test_route_quotes_that_never_close_are_errors(body: str) -> None:
    with pytest.raises(SipParseError, match="never closes"):
        parse_route_body(body)


def test_strict_recovery_takes_the_ruri_parameters_only_once_a_candidate_is_read() -> None:
    # An r2 half with nothing readable after it: the R-URI's ftag is not taken, so the
    # direction comes from Route 1 (this proxy, no ftag): downstream.
    for routes in ([R2A], [R2A, "junk"], [f"{R2A}, <sip:[bad;lr>", "<sip:bob@10.0.0.2>"]):
        ctx, results = run(routes, "loose_route(); record_route()", ruri="sip:127.0.0.1;ftag=x")
        assert results[0].rc == -1
        assert ctx.record_routes[0].endswith(";ftag=f-caller>")
    # A candidate read: the R-URI's ftag (not the From tag) makes the request upstream.
    ctx, results = run(
        [R2A, "<sip:c.example.com;lr>", "<sip:bob@10.0.0.2>"],
        "loose_route(); record_route()",
        ruri="sip:127.0.0.1;ftag=x",
    )
    assert results[0].rc == 1
    assert ctx.record_routes[0].endswith(";ftag=t-callee>")


def test_strict_recovery_removes_the_r2_half_once_the_route_after_it_is_taken() -> None:
    long = "<sip:c.example.com;lr;maddr=" + "a" * 130 + ">"
    # On one line with a candidate whose maddr is too long: the r2 half stays.
    ctx, (res,) = run([f"{R2A}, {long}", "<sip:bob@10.0.0.2>"], ruri="sip:127.0.0.1")
    assert res.rc == -1
    assert route_entries(ctx)[0] == R2A
    assert "stays in the message" in res.steps[-1].text
    # Alone on its line, it goes at once.
    ctx, (res,) = run([R2A, long, "<sip:bob@10.0.0.2>"], ruri="sip:127.0.0.1")
    assert res.rc == -1
    assert R2A not in route_entries(ctx)


@pytest.mark.parametrize(
    ("routes", "left"),
    [
        # The next Route cannot be used: a value sharing its line stays ...
        (["<sip:127.0.0.1;lr>, <sip:p2.example.org:99999;lr>"], 2),
        ([f"{R2A}, {R2B}, <http://p2.example.org;lr>"], 3),
        ([f"{R2A}, <http://x>"], 2),
        # ... one alone on its line goes with the line.
        (["<sip:127.0.0.1;lr>", "<sip:p2.example.org:99999;lr>"], 1),
        ([R2A, f"{R2B}, <http://p2.example.org;lr>"], 2),
        ([f"{R2A}, {R2B}", "<http://p2.example.org;lr>"], 1),
    ],
)
def test_loose_route_removes_a_value_only_once_the_route_after_it_is_taken(
    routes: list[str], left: int
) -> None:
    ctx, (res,) = run(routes, at=proxy(enable_double_rr=1))
    assert res.rc == -1
    assert len(route_entries(ctx)) == left


def test_a_strict_next_hop_with_a_maddr_too_long_still_gets_the_old_ruri_appended() -> None:
    long = "<sip:p2.example.org;maddr=" + "a" * 130 + ">"
    ctx, (res,) = run([f"{SELF}, {long}"])
    assert res.rc == -1
    assert route_entries(ctx) == (SELF, long, f"<{BOB}>")
    assert ctx.ruri == BOB
    ctx, (res,) = run([long, P2])  # the first Route itself, foreign and strict
    assert res.rc == -1
    assert route_entries(ctx) == (long, P2, f"<{BOB}>")


def test_after_an_empty_parameter_maddr_is_found_but_lr_is_not() -> None:
    # Seen on 5.6.3: ";;lr" is a parameter named ";lr", yet ";;maddr=" is still a maddr.
    ctx, (res,) = run([f"{SELF}, <sip:p2.example.org;lr;;maddr=10.0.0.9>"])
    assert (res.rc, ctx.du) == (1, "sip:10.0.0.9")
    ctx, (res,) = run([f"{SELF}, <sip:p2.example.org;;maddr=10.0.0.9>"])  # strict: no lr
    assert (res.rc, ctx.ruri, res.appended) == (1, "sip:10.0.0.9", f"<{BOB}>")
    ctx, (res,) = run([f"{SELF}, <sip:p2.example.org;;lr>"])
    assert (ctx.ruri, res.appended) == ("sip:p2.example.org;;lr", f"<{BOB}>")


# --------------------------------------------------------------------------
# named sockets (sockname_mode), seen on 5.6.3: RL-SOCK-*, RL-SN-*

NAMED = Proxy.build(
    listen=["udp:127.0.0.1:5060 name s1", "udp:127.0.0.1:5062 name s2"],
    modparams={"sockname_mode": 1, "force_send_socket": 1},
)


def test_record_route_names_the_socket_before_r2_and_lr_SOCK03() -> None:  # noqa: N802
    _ctx, (res,) = run_script(
        start(request([], in_dialog=False), NAMED, send_socket="udp:127.0.0.1:5062"),
        parse_script("record_route()"),
    )
    assert res.added == (
        "<sip:127.0.0.1:5062;sn=s2;r2=on;lr;ftag=f-caller>",
        "<sip:127.0.0.1;sn=s1;r2=on;lr;ftag=f-caller>",
    )


@pytest.mark.parametrize(
    ("route", "forced"),
    [
        ("<sip:127.0.0.1;lr;sn=S2>", "udp:127.0.0.1:5062"),  # any case, SOCK-14 and G0123
        ("<sip:127.0.0.1;lr;sn=nosuch>", "udp:127.0.0.1:5060"),  # the address then, SN-06
        ("<sip:127.0.0.1;lr;sn=>", "udp:127.0.0.1:5060"),  # empty and last passes, SN-02
        ("<sip:127.0.0.1;sn=;lr>", None),  # empty before another parameter, SN-01
        ("<sip:127.0.0.1; lr;sn=s2>", None),  # a blank before the first parameter, SN-53
        ("<sip:127.0.0.1;lr; ;sn=s2>", "udp:127.0.0.1:5062"),  # a blank one in the middle, SN-66
        ("<sip:127.0.0.1;lr;sn=s2; >", None),  # a blank one last, SN-58
        ("<sip:127.0.0.1;lr,y;x=;sn=s2>", "udp:127.0.0.1:5060"),  # read up to a comma, SN-93
        ("<sip:127.0.0.1;sn=s2,x;lr>", "udp:127.0.0.1:5062"),  # SN-92
        ("<sip:127.0.0.1;user=phone;sn=s2;lr>", "udp:127.0.0.1:5060"),  # a tel URI, SN-81
    ],
)
def test_the_sn_lookup_and_when_it_fails(route: str, forced: str | None) -> None:
    ctx, res = loose_route(start(request([route, "<sip:p9.example.org;lr>"]), NAMED))
    assert res.rc == 1
    assert (None if ctx.fs is None else str(ctx.fs)) == forced
    refused = [s for s in res.steps if s.rule == "sn-params-refused"]
    assert bool(refused) == (forced is None)
    if refused:
        assert "no socket is forced" in refused[0].text


# --------------------------------------------------------------------------
# the sentences: what they say matches what happened (a review found these)


def _text(results: tuple[RrResult, ...], rule: str) -> str:
    return next(s.text for r in results for s in r.steps if s.rule == rule)


def test_no_route_says_false_and_leaves_the_next_step_to_the_script() -> None:
    _, results = run([])
    said = _text(results, "no-route")
    assert "-1 (FALSE) and changes nothing" in said
    assert "script's choice" in said
    assert "will be routed by its R-URI" not in said


@pytest.mark.parametrize(
    ("route", "dropped", "udp"),
    [
        (
            "<sips:bob@p2.example.net:5070;maddr=198.51.100.7;transport=tcp;lr>",
            "the sips: scheme, the user part bob, transport=tcp and the parameter lr are dropped",
            True,
        ),
        ("<sip:p2.example.net:5070;maddr=198.51.100.7;ftag=x;lr>", "ftag and lr are", False),
        ("<sip:p2.example.net;maddr=198.51.100.7;lr>", "the parameter lr is dropped", False),
    ],
)
def test_a_maddr_copy_says_what_it_leaves_out_and_how_the_rfc_differs(
    route: str, dropped: str, udp: bool
) -> None:
    _, results = run([SELF, route])
    said = _text(results, "next-hop-loose")
    assert "Kamailio copies only sip:<maddr>[:port] of it into $du" in said
    # Only the destination is trimmed: the Route goes on whole, and the RFC sends there too.
    assert "the Route header itself is not changed" in said
    assert "RFC 3261 also sends to the maddr address (19.1.1)" in said
    assert dropped in said
    assert ("over UDP" in said) == udp
    # A URI without maddr is copied whole, and nothing is said.
    _, results = run([SELF, P2])
    assert "maddr" not in _text(results, "next-hop-loose")


def test_maddr_in_a_strict_next_hop_is_said_L27b() -> None:  # noqa: N802
    _, results = run([SELF, "<sip:bob@p3.middle.com:5070;maddr=198.51.100.9>"])
    said = _text(results, "strict-next-hop")
    assert "the R-URI becomes sip:198.51.100.9:5070" in said
    assert "the user part bob" in said
    # Only the host replaced: nothing else to say is dropped.
    _, results = run([SELF, "<sip:p3.middle.com;maddr=198.51.100.9>"])
    said = _text(results, "strict-next-hop")
    assert "Kamailio copies only sip:<maddr>[:port] of it into the R-URI;" in said
    assert "RFC 3261 would send to the maddr address (19.1.1) and keep the URI whole" in said
    assert "dropped" not in said


def test_an_r2_pair_with_double_rr_off_blames_the_modparam_D01() -> None:  # noqa: N802
    _, results = run([R2A, R2B, P2], at=proxy(enable_double_rr=0))
    said = _text(results, "next-hop-loose")
    assert "enable_double_rr=0 makes loose_route() ignore r2" in said
    assert "has no r2 pairing" not in said
    # With no r2 at all, the old advice stands.
    _, results = run([SELF, "<sip:127.0.0.2;lr>"])
    assert "has no r2 pairing" in _text(results, "next-hop-loose")


def test_strict_recovery_onto_an_own_r2_half_with_double_rr_off_D03() -> None:  # noqa: N802
    _, results = run([R2A, P2], ruri="sip:127.0.0.1;r2=on;lr", at=proxy(enable_double_rr=0))
    said = next(s.text for r in results for s in r.steps if s.rule.startswith("strict-candidate"))
    assert "Set enable_double_rr=1" in said
    assert "loose_route_mode(1)" not in said


def test_a_target_taken_for_a_record_route_value_is_said_to_be_lost_L18c() -> None:  # noqa: N802
    _, results = run([SELF, P2], ruri="sip:bob@127.0.0.1")
    said = _text(results, "strict-candidate-loose")
    assert "The R-URI sip:bob@127.0.0.1 has a user part" in said
    assert "R-URI-is-myself trap" in said
    assert "taken to be the remote target" in said
    # A Record-Route value (no user part) is what the recovery is for: nothing to say.
    _, results = run([SELF, P2], ruri="sip:127.0.0.1;lr")
    assert "has a user part" not in _text(results, "strict-candidate-loose")


def test_loose_route_preloaded_codes_mean_true_and_false() -> None:
    _, (res,) = run([SELF, P2], "loose_route_preloaded()", in_dialog=False)
    assert res.rc == -1
    assert res.meaning.startswith("FALSE: loose_route() did not return -3")
    _, (res,) = run([SELF], "loose_route_preloaded()", in_dialog=False)
    assert res.rc == 1
    assert res.meaning.startswith("TRUE: loose_route() returned -3")
    _, (res,) = run([SELF])
    assert res.meaning == RC_MEANING[1]
    _, (res,) = rr_run("record_route()")
    assert res.meaning == ""


def test_is_direction_says_where_its_ftag_came_from_or_that_there_is_none() -> None:
    _, results = run([P2], 'loose_route(); is_direction("downstream")')
    assert _text(results, "direction").startswith("There is no local Route")
    _, results = run([SELF, P2], 'loose_route(); is_direction("downstream")')
    assert _text(results, "direction").startswith("The local Route has no ftag")
    _, results = run(
        ["<sip:127.0.0.1;lr;ftag=t-callee>", P2], 'loose_route(); is_direction("upstream")'
    )
    assert _text(results, "direction").startswith("The local Route's ftag")
    _, results = run(
        [P2], 'loose_route(); is_direction("upstream")', ruri="sip:127.0.0.1;lr;ftag=t-callee"
    )
    assert _text(results, "direction").startswith("The R-URI's ftag")


def test_single_record_route_on_two_sockets_says_the_send_side_is_missing_R18() -> None:  # noqa: N802
    _, (res,) = rr_run(
        "record_route()", at=proxy(enable_double_rr=0), send_socket="udp:127.0.0.2:5060"
    )
    said = _text((res,), "rr-single")
    assert "names only the receiving socket udp:127.0.0.1:5060" in said
    assert "leaves from udp:127.0.0.2:5060" in said
    assert "arrives and leaves" not in said
    _, (res,) = rr_run("record_route()")
    assert "(the request arrives and leaves on udp:127.0.0.1:5060)" in _text((res,), "rr-single")


@pytest.mark.parametrize(
    ("modparams", "ruri", "routes", "send", "note"),
    [
        ({}, BOB, [], "tcp:127.0.0.1:5060", "SHOULD NOT"),
        ({"ignore_sips": 1}, "sips:bob@192.0.2.20", [], None, "ignore_sips=1 writes sip:"),
        ({}, BOB, ["<sips:p2.example.net;lr>"], None, "the topmost Route <sips:p2"),
        ({}, BOB, [], None, None),
        ({}, "sips:bob@192.0.2.20", [], None, None),
    ],
)
def test_record_route_says_how_rfc_3261_16_6_step_4_differs(
    modparams: dict[str, int], ruri: str, routes: list[str], send: str | None, note: str | None
) -> None:
    msg = request(routes, in_dialog=False, ruri=ruri)
    kw = {"send_socket": send} if send else {}
    _, (res,) = run_script(start(msg, proxy(**modparams), **kw), parse_script("record_route()"))
    said = [s.text for s in res.steps if s.rule == "rr-rfc-differs"]
    if note is None:
        assert said == []
    else:
        assert len(said) == 1
        assert said[0].startswith("How RFC 3261 16.6 step 4 differs:")
        assert note in said[0]


def test_second_review_of_the_sentences() -> None:
    # A Record-Route value in the R-URI (lr, ftag) is what the recovery is for, user part
    # or not (a flow token, add_username): no "real target" warning.
    _, results = run([SELF, P2], ruri="sip:bob@127.0.0.1;lr")
    assert "has a user part" not in _text(results, "strict-candidate-loose")
    # Only Route 1's r2 makes a pair: with it plain, enable_double_rr=1 would not help.
    _, results = run([SELF, "<sip:127.0.0.1:5070;r2=on;lr>", P2], at=proxy(enable_double_rr=0))
    said = _text(results, "next-hop-loose")
    assert "has no r2 pairing" in said
    assert "enable_double_rr=1" not in said
    # A local Route without parameters was taken all the same: it has no ftag.
    _, results = run(["<sip:127.0.0.1>", P2], 'loose_route(); is_direction("upstream")')
    assert _text(results, "direction").startswith("The local Route has no ftag")
    # An in-dialog ACK without Route: the default configuration does not answer it 404.
    ack = request([], extra=())
    ack = SipRequest(ack.headers, ack.body, "ACK", ack.uri)
    _, (res,) = run_script(start(ack), parse_script("loose_route()"))
    said = _text((res,), "no-route")
    assert "t_check_trans()" in said
    assert "404" not in said


def test_the_maddr_notes_of_the_strict_recovery_name_each_uri() -> None:
    nxt = "<sip:p2.example.net:5070;lr;maddr=198.51.100.7;;x>"
    last = "<sip:bob:secret@p3.example.com;maddr=198.51.100.9>"
    _, results = run([nxt, last], ruri="sip:127.0.0.1;lr")
    said = _text(results, "strict-candidate-loose")
    assert "<sip:p2.example.net:5070;lr;maddr=198.51.100.7;;x> has a maddr parameter" in said
    assert "<sip:bob:secret@p3.example.com;maddr=198.51.100.9> has a maddr parameter" in said
    assert "the parameters lr and x are dropped" in said  # ';x' is named x
    assert "the user part bob and the password are dropped" in said


def test_record_route_rfc_note_follows_the_sockets_and_skips_the_own_route() -> None:
    # The script's own ";transport=tcp" on a UDP socket: Kamailio named no transport.
    _, (res,) = rr_run('record_route(";transport=tcp")')
    assert not [s for s in res.steps if s.rule == "rr-rfc-differs"]
    # The topmost Route is this proxy's own (record_route() before loose_route()): the
    # RFC looks past it, at the next one.
    msg = request(["<sips:127.0.0.1;lr>", P2], in_dialog=False)
    _, (res,) = run_script(start(msg), parse_script("record_route()"))
    assert not [s for s in res.steps if s.rule == "rr-rfc-differs"]
    msg = request(["<sip:127.0.0.1;lr>", "<sips:p2.example.net;lr>"], in_dialog=False)
    _, (res,) = run_script(start(msg), parse_script("record_route()"))
    assert "the topmost Route <sips:p2.example.net;lr>" in _text((res,), "rr-rfc-differs")


def test_the_only_route_left_has_one_maddr_note() -> None:
    _, results = run(["<sip:bob@p2.example.net;lr;maddr=198.51.100.7>"], ruri="sip:127.0.0.1;lr")
    said = _text(results, "strict-candidate-last")
    assert said.count("has a maddr parameter") == 1


def test_a_route_over_udp_at_a_proxy_listing_tcp_first_needs_no_transport_note() -> None:
    at = Proxy.build(listen=["tcp:127.0.0.1:5060", "udp:127.0.0.1:5060"])
    _, (res,) = run(["<sip:127.0.0.1;transport=udp;lr>", P2], at=at)
    (step,) = (s for s in res.steps if s.rule == "route-is-myself")
    assert "(listen udp:127.0.0.1:5060)" in step.text
    assert "not compared" not in step.text


def test_an_ruri_with_a_user_part_on_the_proxys_host_is_no_near_miss() -> None:
    _, (res,) = run([P2], ruri="sip:bob@127.0.0.1:5090")
    assert res.steps[0].text.endswith("is not this proxy: loose routing.")
    _, (res,) = run([P2], ruri="sip:127.0.0.1:5090;lr")
    assert "but its port is 5090" in res.steps[0].text
