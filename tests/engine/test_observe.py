"""engine.catalog and engine.observe: dialogs from captured messages, predicted versus observed.

The dialogs are the RFC 3261 16.12.1.1 trapezoid (Alice -> P1 -> P2 -> Bob, both proxies
record-routing) built by tests/capture_factory.py, played correctly or with one proxy doing
something loose_route() would not do.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.catalog import CapturedMessage, DialogCatalog, call_id_of, search, sip_offset
from engine.observe import (
    auto_groups,
    element_name,
    normal_address,
    observe,
    observed_graph,
    report,
)
from engine.scenario import dumps, loads
from engine.simulate import simulate
from engine.topology import layout
from engine.trace import Flag, StepKind, from_jsonable, to_jsonable
from tests.capture_factory import ALICE, BOB, P1, P2, STRAY, Hop, trapezoid


def captured(hops: list[Hop], *, addresses: bool = True) -> list[CapturedMessage]:
    return [
        CapturedMessage(
            i + 1,
            1_700_000_000 + i / 1000,
            h.src if addresses else "",
            h.dst if addresses else "",
            h.transport if addresses else "",
            h.text,
        )
        for i, h in enumerate(hops)
    ]


def response_to(request: Hop, status: str, *, src: str) -> Hop:
    """A response to ``request`` (same Via, From, To + tag, Call-ID, CSeq) sent by ``src``."""
    keep = ("via:", "from:", "to:", "call-id:", "cseq:")
    lines = [ln for ln in request.text.split("\r\n") if ln.lower().startswith(keep)]
    lines = [ln + ";tag=x" if ln.startswith("To:") and "tag=" not in ln else ln for ln in lines]
    text = "\r\n".join([f"SIP/2.0 {status}", *lines, "Content-Length: 0", "", ""])
    return Hop(src, request.src, text)


def edit(hop: Hop, old: str, new: str) -> Hop:
    assert old in hop.text
    return replace(hop, text=hop.text.replace(old, new))


# --------------------------------------------------------------------------
# the catalog


def test_catalog_groups_by_call_id_and_summarises_each_dialog() -> None:
    cat = DialogCatalog()
    hops = trapezoid(1) + trapezoid(2, bye_from_p2_to=STRAY)
    for i, h in enumerate(hops, start=1):
        cat.add(h.text.encode(), 100.0 + i, h.src, h.dst, i)
    first, second = cat.dialogs()
    assert (first.call_id, first.method, first.messages, first.elements) == (
        "call-1@10.0.0.1",
        "INVITE",
        21,
        4,
    )
    assert first.from_uri == "sip:alice@atlanta.example.com"
    assert first.to_uri == "sip:bob@biloxi.example.com"
    assert (first.start, first.first_frame) == (101.0, 1)
    assert (second.messages, second.elements, second.first_frame) == (19, 5, 22)
    assert cat.messages == 40
    assert cat.counts() == {"call-1@10.0.0.1": 21, "call-2@10.0.0.1": 19}


def test_catalog_names_a_dialog_by_its_first_request() -> None:
    # The capture begins with a response: the first request seen names the dialog.
    hops = trapezoid(1)
    cat = DialogCatalog()
    for i, h in enumerate(hops[11:], start=1):
        cat.add(h.text.encode(), None, h.src, h.dst, i)
    (d,) = cat.dialogs()
    assert d.method == "ACK"
    assert d.start is None


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"BYE sip:x SIP/2.0\r\nCall-ID: abc\r\n\r\n", "abc"),
        (b"BYE sip:x SIP/2.0\r\ncall-id:   abc  \r\n\r\n", "abc"),
        (b"BYE sip:x SIP/2.0\r\ni: compact\r\n\r\n", "compact"),
        (b"BYE sip:x SIP/2.0\nCall-ID: lf\n\n", "lf"),
        (b"BYE sip:x SIP/2.0\r\nTo: x\r\n\r\nCall-ID: in-the-body", None),
        (b"BYE sip:x SIP/2.0\r\nCall-ID:\r\n\r\n", None),
        (b"SIP/2.0 200 OK\r\nCall-ID: caf\xc3\xa9\r\n\r\n", "café"),
    ],
    ids=["usual", "lower-case", "compact", "bare-lf", "only-in-body", "empty", "utf-8"],
)
def test_call_id_is_found_in_the_header_part(payload: bytes, expected: str | None) -> None:
    assert call_id_of(payload) == expected


def test_messages_without_call_id_are_counted_not_listed() -> None:
    cat = DialogCatalog()
    assert cat.add(b"OPTIONS sip:x SIP/2.0\r\n\r\n", None, "a:1", "b:2", 1) is None
    assert (len(cat), cat.without_call_id, cat.messages) == (0, 1, 0)


@pytest.mark.parametrize(
    ("payload", "offset"),
    [
        (b"INVITE sip:bob@b SIP/2.0\r\nVia: x\r\n\r\n", 0),
        (b"SIP/2.0 180 Ringing\r\n", 0),
        (b"\r\n\r\nBYE sip:x SIP/2.0\r\n", 4),
        (b"\x80\x00\x12\x34rtp", -1),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", -1),
        (b"HTTP/1.1 200 OK\r\n", -1),
        (b"invite sip:x SIP/2.0\r\n", -1),
        (b"\r\n\r\n", -1),
        (b"", -1),
    ],
    ids=["request", "response", "keep-alive-then-sip", "rtp", "http", "http-reply", "lower",
         "keep-alive", "empty"],
)  # fmt: skip
def test_sip_pre_filter(payload: bytes, offset: int) -> None:
    assert sip_offset(payload) == offset


def test_search_matches_call_id_method_from_and_to() -> None:
    cat = DialogCatalog()
    for i, h in enumerate(trapezoid(1) + trapezoid(22), start=1):
        cat.add(h.text.encode(), None, h.src, h.dst, i)
    dialogs = cat.dialogs()
    assert [d.call_id for d in search(dialogs, "CALL-22")] == ["call-22@10.0.0.1"]
    assert len(search(dialogs, "bob@biloxi")) == 2
    assert len(search(dialogs, "invite")) == 2
    assert len(search(dialogs, "  ")) == 2
    assert search(dialogs, "carol") == ()


# --------------------------------------------------------------------------
# elements


def test_trapezoid_elements_roles_and_path() -> None:
    obs = observe(captured(trapezoid(1)))
    assert [(e.name, e.kind, e.role, e.addresses) for e in obs.elements] == [
        ("alice", "ua", "caller", (ALICE,)),
        ("P1", "proxy", "proxy", (P1,)),
        ("P2", "proxy", "proxy", (P2,)),
        ("bob", "ua", "callee", (BOB,)),
    ]
    assert obs.path == ("alice", "P1", "P2", "bob")
    assert (obs.caller, obs.callee, obs.call_id) == ("alice", "bob", "call-1@10.0.0.1")
    assert dict(obs.route_sets) == {
        "alice": ("sip:10.0.0.2;lr;ftag=a1", "sip:10.0.0.3;lr;ftag=a1"),
        "bob": ("sip:10.0.0.3;lr;ftag=a1", "sip:10.0.0.2;lr;ftag=a1"),
    }


def test_double_record_route_merges_the_two_addresses_of_one_proxy() -> None:
    # P1 receives from Alice on 10.0.0.2 and sends to P2 from 10.0.1.2 (RFC 5658).
    hops = trapezoid(1, double_rr_p1="10.0.1.2:5060")
    obs = observe(captured(hops))
    p1 = obs.element("P1")
    assert p1 is not None
    assert p1.addresses == ("10.0.0.2:5060", "10.0.1.2:5060")
    assert [e.name for e in obs.elements] == ["alice", "P1", "P2", "bob"]
    # Both r2 entries are P1's: loose_route() at P1 consumes the pair.
    assert [c.outcome for c in obs.checks] == ["match"] * 4
    assert Flag.DOUBLE_RECORD_ROUTE in obs.trace.steps[2].flags


def test_user_groups_split_and_merge_elements() -> None:
    hops = trapezoid(1, double_rr_p1="10.0.1.2:5060")
    groups = auto_groups(captured(hops))
    assert groups["10.0.0.2:5060"] == groups["10.0.1.2:5060"] == "P1"
    # Split P1 into two elements: the hop from one to the other is no longer inside one proxy.
    split = {**groups, "10.0.1.2:5060": "P1 outside", "10.0.0.2:5060": "P1 inside"}
    obs = observe(captured(hops), groups=split)
    names = [e.name for e in obs.elements]
    assert "P1 inside" in names
    assert "P1 outside" in names
    # Merge P2 into P1 under one name.
    merged = observe(captured(hops), groups={**groups, P2: "P1"})
    p1 = merged.element("P1")
    assert p1 is not None
    assert P2 in p1.addresses
    assert "P2" not in [e.name for e in merged.elements]


def test_tcp_client_port_is_merged_with_the_via_address() -> None:
    # Alice sends from an ephemeral TCP port; her Via names her listening port.
    hops = trapezoid(1, transport="tcp")
    moved = [
        replace(h, src="10.0.0.1:40001") if h.src == ALICE and h.text.startswith(("INVITE", "ACK"))
        else h
        for h in hops
    ]  # fmt: skip
    obs = observe(captured(moved))
    alice = obs.element("alice")
    assert alice is not None
    assert alice.addresses == ("10.0.0.1:40001", ALICE)
    assert alice.transports == ("tcp",)


def test_text_without_addresses_takes_them_from_via_and_route() -> None:
    obs = observe(captured(trapezoid(1), addresses=False))
    assert [(e.name, e.addresses) for e in obs.elements] == [
        ("alice", (ALICE,)),
        ("P1", (P1,)),
        ("P2", (P2,)),
        ("bob", (BOB,)),
    ]
    assert [c.outcome for c in obs.checks] == ["match"] * 4


@pytest.mark.parametrize(
    ("text", "fallback", "name"),
    [("alice", "X", "alice"), ("+1 (555) 0100", "X", "1 555 0100"), ("", "X", "X"),
     ("---", "X", "X"), ("a" * 60, "X", "a" * 40)],
)  # fmt: skip
def test_element_names_are_valid_scenario_names(text: str, fallback: str, name: str) -> None:
    assert element_name(text, fallback) == name


def test_normal_address() -> None:
    assert normal_address("[2001:DB8::0:1]:5060") == "[2001:db8::1]:5060"
    assert normal_address("2001:db8::1:5070") == "[2001:db8::1]:5070"
    assert normal_address("Host.Example.COM") == "host.example.com:5060"
    assert normal_address("") == ""


# --------------------------------------------------------------------------
# predicted versus observed


def test_correct_routing_matches_at_every_hop() -> None:
    obs = observe(captured(trapezoid(1)))
    assert [(c.element, c.method, c.rc, c.outcome) for c in obs.checks] == [
        ("P1", "ACK", 1, "match"),
        ("P2", "ACK", 1, "match"),
        ("P2", "BYE", 1, "match"),
        ("P1", "BYE", 1, "match"),
    ]
    assert obs.differences == ()
    bye_at_p2 = obs.trace.steps[16]
    assert (bye_at_p2.element, bye_at_p2.kind, bye_at_p2.next_element) == (
        "P2",
        StepKind.PROXY,
        "P1",
    )
    assert bye_at_p2.rc == 1
    assert Flag.LOCAL_ROUTE_REMOVED in bye_at_p2.flags
    assert Flag.MISMATCH not in bye_at_p2.flags
    assert bye_at_p2.routes_before == ("<sip:10.0.0.3;lr;ftag=a1>", "<sip:10.0.0.2;lr;ftag=a1>")
    assert bye_at_p2.routes_removed == ("<sip:10.0.0.3;lr;ftag=a1>",)
    assert bye_at_p2.routes_after == ("<sip:10.0.0.2;lr;ftag=a1>",)
    assert "did exactly that" in bye_at_p2.note
    assert not any(Flag.MISMATCH in s.flags for s in obs.trace.steps)


def test_a_proxy_that_misroutes_the_bye_is_flagged() -> None:
    obs = observe(captured(trapezoid(2, bye_from_p2_to=STRAY)))
    (diff,) = obs.differences
    assert (diff.element, diff.method, diff.field) == ("P2", "BYE", "next-hop")
    assert diff.text == (
        "P2 sent the BYE to 10.0.0.5:5060 (UA1), but its route set says "
        "sip:10.0.0.2;lr;ftag=a2 (P1)."
    )
    step = obs.trace.steps[diff.step]
    assert step.element == "P2"
    assert step.next_element == "UA1"
    assert Flag.MISMATCH in step.flags
    assert step.mismatch == diff.text
    # The other hops still agree.
    assert [c.outcome for c in obs.checks] == ["match", "match", "mismatch"]
    assert diff.text in report(obs)


def test_a_route_naming_the_next_proxy_by_host_name_is_resolved() -> None:
    # P1 record-routed as p1.example.com: the name belongs to P1, so P2 sending the BYE
    # straight to Alice is a known mismatch, not an unverifiable one.
    obs = observe(captured(trapezoid(3, p1_name="p1.example.com", bye_from_p2_to=ALICE)))
    p1 = obs.element("P1")
    assert p1 is not None
    assert p1.names == ("p1.example.com:5060",)
    (diff,) = obs.differences
    assert diff.text == (
        "P2 sent the BYE to 10.0.0.1:5060 (alice), but its route set says "
        "sip:p1.example.com;lr;ftag=a3 (P1)."
    )
    # At P1 itself, the Route naming p1.example.com is P1's own (an alias).
    good = observe(captured(trapezoid(3, p1_name="p1.example.com")))
    assert [c.outcome for c in good.checks] == ["match"] * 4


def test_a_record_route_with_maddr_names_its_proxy_by_the_host_too() -> None:
    # P1 record-routes by a name with a maddr (record_route_preset("p1.example.net;maddr=..."):
    # requests are sent to the maddr, but the Route names P1 by its host, as Kamailio's
    # locality check reads it (seen in captures of real proxies, the maddr-route scenario).
    hops = [
        replace(
            h,
            text=h.text.replace("<sip:p1.example.net;lr", "<sip:p1.example.net;maddr=10.0.0.2;lr"),
        )
        for h in trapezoid(1, p1_name="p1.example.net")
    ]
    obs = observe(captured(hops))
    assert [c.outcome for c in obs.checks] == ["match"] * len(obs.checks)
    assert "p1.example.net:5060" in next(e for e in obs.elements if e.name == "P1").names


def test_a_proxy_sending_its_own_route_to_itself_is_told_it_loops() -> None:
    # P2 keeps the Route naming itself and sends the BYE back to itself (the route-by-alias
    # scenario on real proxies: its Record-Route names it by a name it does not take for its
    # own).
    hops = trapezoid(1)[:16]
    bye = hops[15]
    looped = bye.text.replace(
        "Via: SIP/2.0/UDP 10.0.0.4;",
        "Via: SIP/2.0/UDP 10.0.0.3;branch=z9hG4bK-loop\r\nVia: SIP/2.0/UDP 10.0.0.4;",
    ).replace("Max-Forwards: 70", "Max-Forwards: 69")
    hops.append(Hop(P2, P2, looped))
    check = next(c for c in observe(captured(hops)).checks if c.step == 15)
    assert check.outcome == "mismatch"
    assert "goes round in a loop" in check.note


def test_a_strict_previous_hop_recovery_is_explained() -> None:
    # P2 puts the last Route (P1's) into the R-URI, as Kamailio does when the R-URI names the
    # proxy itself (the ruri-is-myself-gotcha scenario on real proxies).
    hops = trapezoid(1)[:16]
    bye = hops[15]
    recovered = (
        bye.text.replace("BYE sip:alice@10.0.0.1 SIP/2.0", "BYE sip:10.0.0.2;lr;ftag=a1 SIP/2.0")
        .replace(
            "Route: <sip:10.0.0.3;lr;ftag=a1>, <sip:10.0.0.2;lr;ftag=a1>\r\n",
            "Route: <sip:10.0.0.3;lr;ftag=a1>\r\n",
        )
        .replace(
            "Via: SIP/2.0/UDP 10.0.0.4;",
            "Via: SIP/2.0/UDP 10.0.0.3;branch=z9hG4bK-s\r\nVia: SIP/2.0/UDP 10.0.0.4;",
        )
    )
    hops.append(Hop(P2, P1, recovered))
    check = next(c for c in observe(captured(hops)).checks if c.step == 15)
    texts = [d.text for d in check.differences if d.field == "r-uri"]
    assert texts
    assert "recovery from a strict previous hop" in texts[0]
    assert "(sip:alice@10.0.0.1) names the proxy itself" in texts[0]


def test_a_proxy_that_record_routes_without_lr_is_a_strict_router_and_not_judged() -> None:
    hops = [
        replace(h, text=h.text.replace("<sip:10.0.0.2;lr;ftag=a1>", "<sip:10.0.0.2;ftag=a1>"))
        for h in trapezoid(1)
    ]
    obs = observe(captured(hops))
    p1 = [c for c in obs.checks if c.element == "P1"]
    assert p1
    assert all(c.outcome == "unverified" and not c.differences for c in p1)
    assert "an RFC 2543 strict router, not Kamailio" in p1[0].note
    # P2 is still judged: its BYE towards the strict router should have carried P1's URI
    # as its R-URI (the loose-to-strict step), which this made-up capture does not show.
    (p2_bye,) = [c for c in obs.checks if c.element == "P2" and c.method == "BYE"]
    assert any(
        d.field == "r-uri" and d.predicted == "sip:10.0.0.2;ftag=a1" for d in p2_bye.differences
    )


def test_a_rewritten_request_uri_is_a_difference() -> None:
    hops = trapezoid(1)
    hops[17] = edit(hops[17], "BYE sip:alice@10.0.0.1 SIP/2.0", "BYE sip:alice@10.9.9.9 SIP/2.0")
    obs = observe(captured(hops))
    (diff,) = obs.differences
    assert (diff.element, diff.field) == ("P1", "r-uri")
    assert diff.predicted == "sip:alice@10.0.0.1"
    assert diff.observed == "sip:alice@10.9.9.9"


def test_a_route_the_proxy_did_not_remove_is_a_difference() -> None:
    hops = trapezoid(1)
    # P2 forwards the BYE to P1 but leaves its own Route on top.
    hops[16] = edit(
        hops[16],
        "Route: <sip:10.0.0.2;lr;ftag=a1>",
        "Route: <sip:10.0.0.3;lr;ftag=a1>, <sip:10.0.0.2;lr;ftag=a1>",
    )
    obs = observe(captured(hops))
    fields = {d.field for d in obs.differences if d.element == "P2"}
    assert fields == {"route"}


def test_forwarding_what_loose_route_would_not_route_is_a_difference() -> None:
    hops = trapezoid(1)
    # Bob's BYE carries no Route: loose_route() at P2 returns -1 (default config: 404).
    hops[15] = edit(hops[15], "Route: <sip:10.0.0.3;lr;ftag=a1>, <sip:10.0.0.2;lr;ftag=a1>\r\n", "")
    obs = observe(captured(hops))
    check = next(c for c in obs.checks if c.element == "P2" and c.method == "BYE")
    assert check.rc == -1
    (diff,) = check.differences
    assert diff.field == "rc"
    assert "404 Not here" in diff.text
    step = obs.trace.steps[diff.step]
    assert Flag.MISMATCH in step.flags


def test_a_reply_instead_of_forwarding_is_a_difference() -> None:
    hops = trapezoid(1)[:16]
    hops.append(response_to(hops[15], "404 Not Here", src=P2))
    obs = observe(captured(hops))
    check = obs.checks[-1]
    assert (check.element, check.outcome) == ("P2", "mismatch")
    (diff,) = check.differences
    assert diff.field == "reply"
    assert diff.observed == "404 Not Here"
    assert "would go to sip:10.0.0.2;lr;ftag=a1" in diff.text


@pytest.mark.parametrize(
    "status",
    [
        "477 Unfortunately error on sending to next hop occurred (477/TM)",
        "478 Unresolvable destination (478/TM)",
        "500 I'm terribly sorry, server error occurred (7/TM)",
    ],
    ids=["477", "478", "500"],
)
def test_tm_answering_a_request_it_cannot_send_is_kamailio_behaviour(status: str) -> None:
    # Seen in captures of real Kamailio 5.6.3 proxies (tests/differential, chain captures).
    hops = trapezoid(1)[:16]
    hops.append(response_to(hops[15], status, src=P2))
    obs = observe(captured(hops))
    check = obs.checks[-1]
    assert (check.element, check.outcome, check.differences) == ("P2", "match", ())
    assert "tm answers so when t_relay() cannot send to sip:10.0.0.2;lr;ftag=a1" in check.note


def test_the_same_status_from_elsewhere_is_still_a_difference() -> None:
    hops = trapezoid(1)[:16]
    hops.append(response_to(hops[15], "477 Send failed", src=P2))
    assert observe(captured(hops)).checks[-1].outcome == "mismatch"


def test_483_for_a_request_that_arrived_with_max_forwards_0_matches() -> None:
    hops = trapezoid(1)[:16]
    hops[15] = edit(hops[15], "Max-Forwards: 70", "Max-Forwards: 0")
    hops.append(response_to(hops[15], "483 Too Many Hops", src=P2))
    check = observe(captured(hops)).checks[-1]
    assert (check.outcome, check.differences) == ("match", ())
    assert "arrived with Max-Forwards 0" in check.note
    # With Max-Forwards left, the same 483 is a difference.
    hops = trapezoid(1)[:16]
    hops.append(response_to(hops[15], "483 Too Many Hops", src=P2))
    assert observe(captured(hops)).checks[-1].outcome == "mismatch"


def test_a_next_hop_naming_no_captured_element_is_unverified() -> None:
    hops = trapezoid(1)
    route = "<sip:p9.example.net;lr>"
    # Bob's BYE names an unknown proxy after P2; P2 sends it somewhere we cannot name.
    hops[15] = edit(hops[15], "<sip:10.0.0.2;lr;ftag=a1>\r\n", f"{route}\r\n")
    hops[16] = replace(
        edit(hops[16], "Route: <sip:10.0.0.2;lr;ftag=a1>", f"Route: {route}"), dst=STRAY
    )
    obs = observe(captured(hops[:17]))
    check = obs.checks[-1]
    assert check.outcome == "unverified"
    assert check.differences == ()
    assert "names no element of the capture" in check.note
    assert not any(Flag.MISMATCH in s.flags for s in obs.trace.steps)


def test_nothing_sent_on_is_unverified() -> None:
    obs = observe(captured(trapezoid(1)[:16]))
    check = obs.checks[-1]
    assert (check.element, check.outcome, check.out_step) == ("P2", "unverified", None)
    assert "shows nothing P2 sent on" in check.note


def test_retransmissions_are_shown_but_checked_once() -> None:
    hops = trapezoid(1)
    hops.insert(16, hops[15])  # Bob retransmits the BYE
    obs = observe(captured(hops))
    assert len(obs.trace.steps) == 22
    assert "retransmission of step 16" in obs.trace.steps[16].note
    assert [c.method for c in obs.checks].count("BYE") == 2  # once at P2, once at P1


def test_an_ack_for_a_failed_invite_is_not_checked() -> None:
    hops = trapezoid(1)[:6]
    invite = hops[4]
    busy = response_to(invite, "486 Busy Here", src=BOB)
    ack_lines = [
        ln
        for ln in invite.text.split("\r\n")
        if ln.startswith(("Via: SIP/2.0/UDP 10.0.0.3", "From:", "Call-ID:", "Max-Forwards"))
    ]
    ack = Hop(
        P2,
        BOB,
        "\r\n".join(
            ["ACK sip:bob@10.0.0.4 SIP/2.0", *ack_lines, "To: <sip:bob@biloxi.example.com>;tag=x",
             "CSeq: 1 ACK", "Content-Length: 0", "", ""]
        ),
    )  # fmt: skip
    obs = observe(captured([*hops, busy, ack]))
    assert obs.checks == ()
    assert "hop by hop" in obs.trace.steps[-1].note


def test_malformed_messages_are_kept_and_reported() -> None:
    msgs = captured(trapezoid(1))
    bad = replace(msgs[5], text="SIP/2.0 100 Trying\r\nthis is no header\r\n\r\n")
    garbage = replace(msgs[6], text="\x00\x01 not sip at all")
    obs = observe([*msgs[:5], bad, garbage, *msgs[7:]])
    assert len(obs.trace.steps) == 21
    assert len(obs.unparsable) == 2
    assert obs.unparsable[0].startswith("frame 6:")
    assert "Not valid SIP" in obs.trace.steps[5].note
    assert [c.outcome for c in obs.checks] == ["match"] * 4


def test_empty_and_single_message_dialogs() -> None:
    assert observe([]).elements == ()
    assert observe([]).scenario is None
    one = observe(captured(trapezoid(1)[:1]))
    assert [e.role for e in one.elements] == ["caller", "callee"]
    assert one.scenario is not None


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    cut=st.integers(0, 400),
    drop=st.sets(st.integers(0, 20), max_size=6),
    plain=st.booleans(),
)
def test_observe_never_raises(seed: int, cut: int, drop: set[int], plain: bool) -> None:
    rng = random.Random(seed)
    hops = [h for i, h in enumerate(trapezoid(seed, bye_from_p2_to=STRAY)) if i not in drop]
    rng.shuffle(hops)
    msgs = captured(hops, addresses=not plain)
    if msgs:
        victim = rng.randrange(len(msgs))
        msgs[victim] = replace(msgs[victim], text=msgs[victim].text[:cut])
    obs = observe(msgs)
    assert len(obs.trace.steps) == len(msgs)
    report(obs)
    observed_graph(obs)


# --------------------------------------------------------------------------
# what the app and the command line get


def test_the_observed_dialog_becomes_a_scenario_that_replays() -> None:
    obs = observe(captured(trapezoid(3, p1_name="p1.example.com", bye_from_p2_to=ALICE)))
    scenario = obs.scenario
    assert scenario is not None, obs.scenario_problem
    assert loads(dumps(scenario)) == scenario
    assert [u.name for u in scenario.user_agents] == ["alice", "bob"]
    assert [p.name for p in scenario.proxies] == ["P1", "P2"]
    assert scenario.call_id == "call-3@10.0.0.1"
    assert scenario.dialog.responses == (180, 200)
    assert [(r.method, r.sender) for r in scenario.requests] == [("ACK", "alice"), ("BYE", "bob")]
    assert dict(scenario.names) == {"p1.example.com": "P1"}
    assert scenario.highlights == tuple(d.text for d in obs.differences)
    assert "Route set alice learned from Record-Route" in scenario.description
    trace = simulate(scenario)
    # Replayed as Kamailio would: the BYE goes P2 -> P1 -> alice.
    bye = trace.steps_of(2)
    assert [s.element for s in bye if s.kind is StepKind.PROXY] == ["P2", "P1"]


def test_no_scenario_without_the_dialog_creating_request() -> None:
    obs = observe(captured(trapezoid(1)[12:]))
    assert obs.scenario is None
    assert "dialog-creating request" in obs.scenario_problem
    assert any("does not show the dialog-creating request" in w for w in obs.trace.warnings)


def test_graph_and_layout_of_an_observed_dialog() -> None:
    obs = observe(captured(trapezoid(2, bye_from_p2_to=STRAY)))
    graph = observed_graph(obs)
    assert graph.nodes["P1"]["kind"] == "proxy"
    assert graph.nodes["alice"]["role"] == "caller"
    assert Flag.MISMATCH.value in graph.edges["P2", "UA1"]["flags"]
    pos = layout(graph)
    assert [n for n, (_, y) in sorted(pos.items(), key=lambda kv: kv[1]) if y == 0] == [
        "alice",
        "P1",
        "P2",
        "bob",
    ]


def test_an_observed_trace_round_trips_through_json_with_its_mismatch() -> None:
    obs = observe(captured(trapezoid(2, bye_from_p2_to=STRAY)))
    data = to_jsonable(obs.trace)
    assert from_jsonable(json.loads(json.dumps(data))) == obs.trace
    flagged = [s for s in data["steps"] if "mismatch" in s]
    assert len(flagged) == 1
    # Simulated traces keep their canonical form: no empty mismatch key.
    assert all("mismatch" not in s for s in to_jsonable(simulate(obs.scenario))["steps"])  # type: ignore[arg-type]


def test_report_lists_elements_route_sets_and_checks() -> None:
    text = report(observe(captured(trapezoid(1))), source="x.pcap")
    assert text.startswith("# Predicted versus observed: Call-ID call-1@10.0.0.1")
    assert "Source: x.pcap" in text
    assert "| P1 | proxy | 10.0.0.2:5060 | - |" in text
    assert "- alice: <sip:10.0.0.2;lr;ftag=a1>, <sip:10.0.0.3;lr;ftag=a1>" in text
    assert "None: every checked hop did what loose_route() says." in text
    assert text.count("(match)") == 4


def _reinvite_nobody_answers(*, answered: str | None = None) -> list[Hop]:
    """The trapezoid up to Alice's ACK, then a re-INVITE (CSeq 2) that P2 takes and nobody
    answers above 100 Trying (or answers ``answered`` back through P1), then Alice's ACK
    with CSeq 2, which P1 does not send on."""
    hops = trapezoid(1)[:15]

    def again(hop: Hop, method: str) -> Hop:
        text = hop.text.replace("ACK sip:", f"{method} sip:").replace(
            "CSeq: 1 ACK", f"CSeq: 2 {method}"
        )
        return replace(hop, text=text.replace("-ack-1", f"-{method.lower()}2-1"))

    invite_a, invite_p1 = again(hops[12], "INVITE"), again(hops[13], "INVITE")
    hops += [invite_a, response_to(invite_a, "100 Trying", src=P1), invite_p1]
    hops.append(response_to(invite_p1, "100 Trying", src=P2))
    if answered is not None:
        hops.append(response_to(invite_p1, answered, src=P2))
        hops.append(response_to(invite_a, answered, src=P1))
    hops.append(again(hops[12], "ACK"))
    return hops


def test_an_ack_after_an_invite_nobody_answered_is_explained() -> None:
    """Kamailio's tm absorbs the ACK of an INVITE it still holds unanswered (measured on
    5.6.3; engine/simulate.py does the same): no difference, and the check says why."""
    obs = observe(captured(_reinvite_nobody_answers()))
    check = obs.checks[-1]
    assert (check.element, check.method, check.out_step) == ("P1", "ACK", None)
    assert check.outcome == "match"
    assert "nothing above 100 Trying" in check.note
    assert "absorbs" in check.note


def test_an_ack_after_an_answered_invite_sent_nowhere_stays_unverified() -> None:
    obs = observe(captured(_reinvite_nobody_answers(answered="486 Busy Here")))
    check = obs.checks[-1]
    assert (check.element, check.method, check.outcome) == ("P1", "ACK", "unverified")
    assert "shows nothing P1 sent on" in check.note


def test_an_edge_proxy_is_recognised_by_the_flow_token_in_its_record_route() -> None:
    from engine.observe import _has_flow_token
    from engine.outbound import Flow, encode_flow_token, key_for
    from engine.proxy import Outbound

    token = encode_flow_token(
        Flow("udp", "192.0.2.1", 5060, "192.0.2.10", 5060), key_for(Outbound())
    )
    assert _has_flow_token(f"<sip:{token}@192.0.2.1;lr;ob>")
    assert not _has_flow_token("<sip:192.0.2.1;lr>")
    assert not _has_flow_token("<sip:alice@192.0.2.1;lr>")
    tampered = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    assert not _has_flow_token(f"<sip:{tampered}@192.0.2.1;lr>")


def test_the_built_scenario_sends_where_the_capture_shows() -> None:
    # P1 is reached by Alice on 10.0.9.2 and sends from 10.0.0.2 (sorted first): the caller's
    # outbound proxy is the address she used, so the scenario replays (seen on captures of
    # real proxies with IPv4 and IPv6 addresses).
    hops = trapezoid(1, addresses=(ALICE, "10.0.9.2:5060", P2, BOB), double_rr_p1="10.0.0.2:5060")
    scenario = observe(captured(hops)).scenario
    assert scenario is not None
    alice = next(u for u in scenario.user_agents if u.name == "alice")
    assert alice.outbound_proxy == "sip:10.0.9.2:5060"
    p1 = next(p for p in scenario.proxies if p.name == "P1")
    assert p1.forward_to == "sip:10.0.0.3:5060"
    assert not any(Flag.DEAD_END in s.flags for s in simulate(scenario).steps)


def test_a_name_in_the_callers_preloaded_route_resolves_to_the_proxy_it_reached() -> None:
    # Alice preloads <sip:p1.example.net;lr> and sends to P1's address: the built scenario's
    # name table sends p1.example.net to P1 (it is no alias of P1's: locality does not use it).
    hops = trapezoid(1)
    hops[0] = edit(
        hops[0], "Max-Forwards: 70", "Max-Forwards: 70\r\nRoute: <sip:p1.example.net;lr>"
    )
    obs = observe(captured(hops))
    p1 = next(e for e in obs.elements if e.name == "P1")
    assert p1.reached_as == ("p1.example.net",)
    assert "p1.example.net" not in p1.names
    assert obs.scenario is not None
    assert dict(obs.scenario.names)["p1.example.net"] == "P1"


# --------------------------------------------------------------------------
# review fixes


def test_non_ascii_digits_in_ports_do_not_raise() -> None:
    inv = trapezoid(1)[0]
    rport = edit(inv, ";branch=", ";rport=\u00b2;branch=")
    for msgs in (
        captured([rport]),
        [CapturedMessage(1, 0.0, "10.0.0.1:\u00b2", inv.dst, "udp", inv.text)],
        [CapturedMessage(1, 0.0, inv.src, inv.dst, "udp", inv.text.replace(
            "Via: SIP/2.0/UDP 10.0.0.1;", "Via: SIP/2.0/UDP 10.0.0.1:\u0663;"))],
    ):  # fmt: skip
        obs = observe(msgs)
        assert obs.elements
    assert normal_address("1.2.3.4:\u00b9") == "1.2.3.4:5060"


def _strict_bob() -> list[Hop]:
    """Bob writes his BYE as if P2 were a strict router: R-URI = P2's Record-Route URI, the
    remote target last in Route.  P2 recovers (loose_route()'s S path) and forwards."""
    hops = trapezoid(1)[:17]
    hops[15] = replace(
        hops[15],
        text=hops[15]
        .text.replace("BYE sip:alice@10.0.0.1 SIP/2.0", "BYE sip:10.0.0.3;lr;ftag=a1 SIP/2.0")
        .replace(
            "Route: <sip:10.0.0.3;lr;ftag=a1>, <sip:10.0.0.2;lr;ftag=a1>",
            "Route: <sip:10.0.0.2;lr;ftag=a1>, <sip:alice@10.0.0.1>",
        ),
    )
    return hops


def test_flags_of_a_checked_hop_are_the_simulations() -> None:
    # The S path removes the last Route (the remote target), which does not name P2:
    # LOCAL_ROUTE_REMOVED is for a removed Route naming the proxy only (Flag's doc).
    obs = observe(captured(_strict_bob()))
    check = next(c for c in obs.checks if c.step == 15)
    assert check.outcome == "match"
    step = obs.trace.steps[16]
    assert step.routes_removed == ("<sip:alice@10.0.0.1>",)  # moved into the R-URI
    assert Flag.STRICT_TO_LOOSE in step.flags
    assert Flag.LOCAL_ROUTE_REMOVED not in step.flags
    # A loose hop that removes its own Route still shows it.
    assert Flag.LOCAL_ROUTE_REMOVED in observe(captured(trapezoid(1))).trace.steps[16].flags


def test_auto_groups_does_not_build_a_scenario(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.observe as observe_module

    def boom(self: object) -> None:
        raise AssertionError("auto_groups built a scenario")

    monkeypatch.setattr(observe_module._Scenario, "build", boom)
    assert auto_groups(captured(trapezoid(1)))[P1] == "P1"


def test_a_tcp_client_port_is_no_listen_socket_of_a_proxy() -> None:
    # P1 connects to P2 over TCP from the ephemeral port 40001; its Via names 10.0.0.2 (5060).
    hops = trapezoid(1, transport="tcp")
    moved = [
        replace(h, src="10.0.0.2:40001") if h.src == P1 and h.dst == P2
        and not h.text.startswith("SIP/2.0") else
        replace(h, dst="10.0.0.2:40001") if h.src == P2 and h.dst == P1
        and h.text.startswith("SIP/2.0") else h
        for h in hops
    ]  # fmt: skip
    obs = observe(captured(moved))
    p1 = obs.element("P1")
    assert p1 is not None
    assert "10.0.0.2:40001" in p1.addresses  # where the capture shows it
    assert obs.scenario is not None
    node = obs.scenario.proxy("P1")
    assert node is not None
    assert [str(s) for s in node.listen] == ["tcp:10.0.0.2:5060"]
    trace = simulate(obs.scenario)
    first = next(s for s in trace.steps if s.element == "P1")
    assert all("40001" not in v for v in first.record_routes_added)


def test_naming_one_element_keeps_the_other_names() -> None:
    msgs = captured(trapezoid(1))
    obs = observe(msgs, groups={P1: "Edge"})
    assert [e.name for e in obs.elements] == ["alice", "Edge", "P2", "bob"]
    swapped = observe(msgs, groups={P2: "P1"})
    assert dict(swapped.groups)[P1] == "P2"  # P1's name taken: the next free one


def test_a_contact_on_a_request_that_refreshes_nothing_is_not_imported() -> None:
    # Alice's ACK names another Contact than her INVITE did: an ACK refreshes nothing.
    hops = trapezoid(1)
    i = next(i for i, h in enumerate(hops) if h.src == ALICE and h.text.startswith("ACK"))
    hops[i] = edit(hops[i], "CSeq: 1 ACK\r\n", "CSeq: 1 ACK\r\nContact: <sip:alice@10.0.0.9>\r\n")
    obs = observe(captured(hops))
    assert obs.scenario is not None
    ack = obs.scenario.requests[0]
    assert (ack.method, ack.contact) == ("ACK", None)
    assert obs.scenario.proxies[0].forward_to  # the full scenario, not the minimal fallback
