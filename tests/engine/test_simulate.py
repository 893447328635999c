"""simulate(): hop by hop, deterministic, and every failure a flagged step, never an exception."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import resources
from engine.message import SipRequest, SipResponse, parse_message
from engine.profiles import PROFILES
from engine.scenario import RequestSpec, Scenario, loads
from engine.simulate import simulate, warnings
from engine.trace import Flag, StepKind, Trace, TraceStep, from_jsonable, to_jsonable


def scenario(**changes: Any) -> Scenario:
    """Alice -> P1 -> P2 -> Bob; P1 and P2 record-route; ``changes`` patch the JSON."""
    data: dict[str, Any] = {
        "format": 1,
        "title": "Test",
        "user_agents": [
            {
                "name": "Alice",
                "address": "udp:192.0.2.10:5060",
                "contact": "sip:alice@192.0.2.10",
                "aor": "sip:alice@atlanta.example.com",
                "outbound_proxy": "sip:192.0.2.1",
            },
            {
                "name": "Bob",
                "address": "udp:192.0.2.20:5060",
                "contact": "sip:bob@192.0.2.20",
                "aor": "sip:bob@biloxi.example.com",
            },
        ],
        "proxies": [
            {"name": "P1", "listen": ["udp:192.0.2.1:5060"], "forward_to": "sip:192.0.2.2"},
            {
                "name": "P2",
                "listen": ["udp:192.0.2.2:5060"],
                "aliases": ["biloxi.example.com"],
                "location": {"sip:bob@biloxi.example.com": "sip:bob@192.0.2.20"},
            },
        ],
        "names": {},
        "dialog": {"method": "INVITE", "from": "Alice", "to": "Bob"},
        "requests": [{"method": "ACK", "from": "Alice"}, {"method": "BYE", "from": "Bob"}],
    }
    for key, value in changes.items():
        if key.startswith("p1_") or key.startswith("p2_"):
            data["proxies"][int(key[1]) - 1][key[3:]] = value
        elif key.startswith("alice_") or key.startswith("bob_"):
            who, _, field = key.partition("_")
            data["user_agents"][0 if who == "alice" else 1][field] = value
        elif key.startswith("dialog_"):
            data["dialog"][key[7:]] = value
        else:
            data[key] = value
    return loads(json.dumps(data))


def proxy_steps(trace: Trace, request: int) -> list[TraceStep]:
    return [s for s in trace.steps_of(request) if s.kind is StepKind.PROXY]


def last(trace: Trace, request: int) -> TraceStep:
    return trace.steps_of(request)[-1]


# --------------------------------------------------------------------------
# the whole dialog


def test_a_dialog_is_played_in_order() -> None:
    trace = simulate(scenario())
    assert trace.title == "Test"
    assert trace.requests == ("INVITE from Alice", "ACK from Alice", "BYE from Bob")
    kinds = [(s.element, s.kind) for s in trace.steps_of(0)]
    assert kinds[:4] == [
        ("Alice", StepKind.UAC),
        ("P1", StepKind.PROXY),
        ("P2", StepKind.PROXY),
        ("Bob", StepKind.UAS),
    ]
    statuses = [s.status for s in trace.steps_of(0) if s.kind is StepKind.RESPONSE]
    assert statuses == [180, 200, 200, 200, 200]  # 180 summarised, 200 hop by hop
    assert all(s.label == trace.requests[s.request] for s in trace.steps)
    bye = trace.steps_of(2)
    assert [s.element for s in bye] == ["Bob", "P2", "P1", "Alice", "Alice"]
    assert bye[-1].path == ("Alice", "P1", "P2", "Bob")


def test_the_trace_is_deterministic_and_serialises() -> None:
    s = scenario()
    first, second = simulate(s), simulate(s)
    assert first == second
    text = json.dumps(to_jsonable(first), indent=2, sort_keys=True)
    assert text == json.dumps(to_jsonable(second), indent=2, sort_keys=True)
    assert from_jsonable(json.loads(text)) == first


def test_messages_are_full_texts_and_proxies_add_via_and_lower_max_forwards() -> None:
    trace = simulate(scenario())
    p1 = proxy_steps(trace, 0)[0]
    incoming, outgoing = parse_message(p1.message_in), parse_message(p1.message_out)
    assert isinstance(incoming, SipRequest)
    assert isinstance(outgoing, SipRequest)
    assert p1.message_out.endswith("\r\n\r\n")
    assert outgoing.header("Max-Forwards") == "69"
    assert outgoing.header_values("Via")[0] == "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-p1-1"
    assert outgoing.header_values("Via")[1:] == incoming.header_values("Via")
    assert outgoing.headers[0].name == "Record-Route"  # inserted above Via, as Kamailio does
    assert p1.record_routes_added == ("<sip:192.0.2.1;lr;ftag=alice-tag>",)
    assert Flag.RECORD_ROUTE in p1.flags
    assert p1.du_after == "sip:192.0.2.2"
    assert (p1.received_on, p1.sent_from) == ("udp:192.0.2.1:5060", "udp:192.0.2.1:5060")
    assert p1.next_address == "udp:192.0.2.2:5060"


def test_responses_travel_back_along_via_with_record_route() -> None:
    trace = simulate(scenario())
    hops = [s for s in trace.steps_of(0) if s.kind is StepKind.RESPONSE and s.status == 200]
    assert [h.element for h in hops] == ["Bob", "P2", "P1", "Alice"]
    assert [h.next_element for h in hops] == ["P2", "P1", "Alice", None]
    vias = [len(parse_message(h.message_out or h.message_in).header_values("Via")) for h in hops]
    assert vias == [3, 2, 1, 1]
    at_alice = parse_message(hops[-1].message_in)
    assert isinstance(at_alice, SipResponse)
    assert at_alice.list_values("Record-Route") == (
        "<sip:192.0.2.2;lr;ftag=alice-tag>",
        "<sip:192.0.2.1;lr;ftag=alice-tag>",
    )
    assert hops[-1].route_set == (
        "sip:192.0.2.1;lr;ftag=alice-tag",
        "sip:192.0.2.2;lr;ftag=alice-tag",
    )
    assert hops[-1].remote_target == "sip:bob@192.0.2.20"


def test_decisions_are_recorded_per_rr_call() -> None:
    trace = simulate(scenario())
    p2 = proxy_steps(trace, 2)[0]
    lr = p2.rr_calls[0]
    assert lr.call == "loose_route()"
    assert lr.rc == 1
    assert lr.meaning.startswith("routed by the Route set")
    assert [d.rule for d in lr.decisions] == ["in-dialog", "route-is-myself", "next-hop-loose"]
    assert all(d.function == "loose_route" for d in lr.decisions)
    assert p2.rr_calls[-1].call == "t_relay()"
    assert p2.rc == 1


# --------------------------------------------------------------------------
# failures end a request with a flagged step


def test_unresolvable_next_hop_at_a_user_agent() -> None:
    trace = simulate(scenario(alice_outbound_proxy="sip:nowhere.example.com"))
    (step,) = trace.steps_of(0)
    assert step.kind is StepKind.UAC
    assert Flag.DEAD_END in step.flags
    assert "not in the name table" in step.note
    assert Flag.DEAD_END in trace.steps_of(1)[0].flags  # no dialog afterwards
    assert "has no dialog" in trace.steps_of(2)[0].note


def test_unresolvable_next_hop_at_a_proxy() -> None:
    trace = simulate(scenario(p1_forward_to="sip:198.51.100.99"))
    p1 = proxy_steps(trace, 0)[0]
    assert Flag.DEAD_END in p1.flags
    assert "nothing listens on udp:198.51.100.99:5060" in p1.note
    # Kamailio's tm cannot send it (the address is on no element) and answers it itself.
    assert (p1.status, p1.next_element, p1.path) == (477, "Alice", ("P1", "Alice"))
    reply = parse_message(p1.message_out)
    assert isinstance(reply, SipResponse)
    assert reply.reason == "Unfortunately error on sending to next hop occurred (477/TM)"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"p1_forward_to": "sip:192.0.2.2;transport=tcp"}, "nothing listens on tcp:192.0.2.2"),
        (
            {
                "p1_forward_to": "sip:p2.example.com;transport=tcp",
                "names": {"p2.example.com": "P2"},
            },
            "P2 has no tcp socket on port 5060",
        ),
        ({"p1_forward_to": "sip:[2001:db8::9]"}, "nothing listens on udp:[2001:db8::9]:5060"),
        ({"p1_forward_to": "sip:p2.example.com:5070", "names": {"p2.example.com": "P2"}}, "port"),
        ({"p1_forward_to": "sips:192.0.2.2"}, "tls"),
    ],
)
def test_other_unresolvable_hops(changes: dict[str, Any], message: str) -> None:
    p1 = proxy_steps(simulate(scenario(**changes)), 0)[0]
    assert Flag.DEAD_END in p1.flags
    assert message in p1.note


def test_location_miss_is_404_and_the_reply_goes_back() -> None:
    trace = simulate(scenario(p2_location={}))
    p2 = proxy_steps(trace, 0)[1]
    assert p2.status == 404
    assert p2.rr_calls[-2].call == 'lookup("location")'
    assert p2.rr_calls[-2].rc == -1
    assert Flag.DEAD_END in p2.flags
    assert p2.path == ("P2", "P1", "Alice")
    assert p2.next_element == "P1"
    reply = parse_message(p2.message_out)
    assert isinstance(reply, SipResponse)
    assert reply.header("To") == "<sip:bob@biloxi.example.com>;tag=p2-sl"


def test_max_forwards_zero_is_483() -> None:
    trace = simulate(scenario(dialog_max_forwards=1))
    p1, p2 = proxy_steps(trace, 0)
    assert parse_message(p1.message_out).header("Max-Forwards") == "0"
    assert p2.status == 483
    assert p2.rr_calls[0].call == 'mf_process_maxfwd_header("10")'


def test_in_dialog_request_not_routed_is_404_and_flagged() -> None:
    s = scenario()
    bye = RequestSpec(method="BYE", sender="Bob", route=())  # hand edit: no route set at all
    trace = simulate(replace(s, requests=(bye,)))
    # Bob sends straight to Alice's Contact: no proxy involved, still delivered.
    assert [x.element for x in trace.steps_of(1)] == ["Bob", "Alice", "Alice"]
    via_p2 = RequestSpec(method="INFO", sender="Bob", route=("<sip:192.0.2.2>",))
    trace = simulate(replace(s, requests=(via_p2,)))
    # P2 is named by a strict Route: Bob puts it into the R-URI; P2 sees itself there
    # (S-path) with nothing after it but Alice's Contact.
    p2 = proxy_steps(trace, 1)[0]
    assert Flag.STRICT_TO_LOOSE in p2.flags
    assert p2.next_element == "Alice"


def test_not_routed_flag_only_where_loose_route_was_expected_to_route() -> None:
    s = scenario(p1_profile="honour-preloaded")
    trace = simulate(s)
    p1 = proxy_steps(trace, 0)[0]
    assert p1.rc == -1  # no Route on the initial request: normal, not flagged
    assert Flag.NOT_ROUTED not in p1.flags
    too_long = "1" * 118  # a maddr longer than Kamailio accepts: loose_route() returns -1
    garbage = scenario(
        p1_profile="honour-preloaded",
        dialog_route=["<sip:192.0.2.1;lr>", f"<sip:x;maddr={too_long};lr>"],
    )
    p1 = proxy_steps(simulate(garbage), 0)[0]
    assert p1.rc == -1
    assert Flag.NOT_ROUTED in p1.flags


def test_ack_that_is_not_routed_is_dropped_without_reply() -> None:
    s = scenario()
    ack = RequestSpec(method="ACK", sender="Alice", route=("<sip:192.0.2.1;lr>",))
    trace = simulate(replace(s, proxies=(replace(s.proxies[0], aliases=()), s.proxies[1])))
    assert trace.steps_of(1)[-1].element == "Bob"
    # An ACK whose R-URI is P1 and carries no Route: loose_route() -1, discarded.
    ack = RequestSpec(method="ACK", sender="Alice", route=(), request_uri="sip:192.0.2.1")
    trace = simulate(replace(s, requests=(ack,)))
    p1 = proxy_steps(trace, 1)[0]
    assert p1.rc == -1
    assert p1.status is None
    assert {Flag.NOT_ROUTED, Flag.DEAD_END} <= set(p1.flags)
    assert "discarded" in p1.note


def test_deny_and_honour_profiles_on_the_same_preloaded_route() -> None:
    route = ["<sip:192.0.2.1;lr>", "<sip:192.0.2.2;lr>"]
    denied = proxy_steps(simulate(scenario(p1_profile="deny-preloaded", dialog_route=route)), 0)
    assert denied[0].status == 403
    honoured = proxy_steps(simulate(scenario(p1_profile="honour-preloaded", dialog_route=route)), 0)
    assert honoured[0].rc == 1
    assert Flag.SECURITY in honoured[0].flags
    removed = proxy_steps(simulate(scenario(dialog_route=route)), 0)
    assert removed[0].routes_removed == tuple(route)
    assert removed[0].routes_after == ()
    assert removed[0].rr_calls[0].call == 'remove_hf("Route")'
    assert Flag.SECURITY not in removed[0].flags


def test_failed_dialog_creation_leaves_no_dialog() -> None:
    trace = simulate(scenario(dialog_responses=[180, 486]))
    final = last(trace, 0)
    assert final.status == 486
    assert Flag.DEAD_END in final.flags
    assert all(Flag.DEAD_END in trace.steps_of(i)[0].flags for i in (1, 2))


def test_wrong_dialog_at_the_uas_is_481() -> None:
    s = scenario()
    # Bob's BYE is steered back to Bob himself by a hand-edited Request-URI.
    bye = RequestSpec(method="BYE", sender="Bob", route=(), request_uri="sip:bob@192.0.2.20")
    trace = simulate(replace(s, requests=(bye,)))
    uas = next(x for x in trace.steps_of(1) if x.kind is StepKind.UAS)
    assert uas.status == 481
    assert Flag.DEAD_END in uas.flags


def test_a_real_loop_is_stopped() -> None:
    # P1 sends initial requests to itself: the same request reaches P1 again unchanged.
    trace = simulate(scenario(p1_forward_to="sip:192.0.2.1"))
    first, second = proxy_steps(trace, 0)
    assert first.next_element == "P1"
    assert {Flag.LOOP, Flag.DEAD_END} <= set(second.flags)
    assert "Loop" in second.note


# --------------------------------------------------------------------------
# user agents


def test_target_refresh_updates_only_the_remote_target() -> None:
    s = scenario()
    reinvite = RequestSpec(method="INVITE", sender="Bob", contact="sip:bob@bob.example.com")
    s = replace(
        s,
        names=(("bob.example.com", "Bob"),),
        requests=(
            RequestSpec(method="ACK", sender="Alice"),
            reinvite,
            RequestSpec(method="ACK", sender="Bob"),
            RequestSpec(method="BYE", sender="Alice"),
        ),
    )
    trace = simulate(s)
    before = trace.steps_of(1)[0]
    after = trace.steps_of(4)[0]
    assert before.remote_target == "sip:bob@192.0.2.20"
    assert after.remote_target == "sip:bob@bob.example.com"
    assert after.route_set == before.route_set
    assert parse_message(after.message_out).start_line == "BYE sip:bob@bob.example.com SIP/2.0"
    bob_ack = parse_message(trace.steps_of(3)[0].message_out)
    assert bob_ack.header("CSeq") == "1 ACK"  # Bob's re-INVITE was his CSeq 1
    assert last(trace, 4).element == "Bob"


def test_route_style_comma() -> None:
    trace = simulate(scenario(alice_route_style="comma"))
    ack = parse_message(trace.steps_of(1)[0].message_out)
    assert ack.header_values("Route") == (
        "<sip:192.0.2.1;lr;ftag=alice-tag>, <sip:192.0.2.2;lr;ftag=alice-tag>",
    )


def test_preloaded_route_goes_to_the_top_route() -> None:
    trace = simulate(scenario(dialog_route=["<sip:192.0.2.2;lr>"], alice_outbound_proxy=None))
    assert trace.steps_of(0)[0].next_element == "P2"


def test_call_id_and_tags_come_from_the_scenario() -> None:
    trace = simulate(scenario(call_id="fixed@x"))
    invite = parse_message(trace.steps_of(0)[0].message_out)
    assert invite.header("Call-ID") == "fixed@x"
    assert invite.header("From") == "<sip:alice@atlanta.example.com>;tag=alice-tag"
    other = parse_message(simulate(scenario(title="Other")).steps_of(0)[0].message_out)
    assert other.header("Call-ID") != invite.header("Call-ID")
    assert other.header(
        "Call-ID",
    ).endswith("@192.0.2.10")  # type: ignore[union-attr]


# --------------------------------------------------------------------------
# warnings


def test_warnings() -> None:
    assert warnings(scenario()) == ()
    honour = warnings(scenario(p1_profile="honour-preloaded"))
    assert len(honour) == 1
    assert honour[0].startswith("P1: profile honour-preloaded")
    no_secret = warnings(scenario(p1_outbound={}))
    assert "no flow_token_secret" in no_secret[0]
    secret = warnings(scenario(p1_outbound={"flow_token_secret": "x"}))
    assert "ignored by Kamailio 5.6.3" in secret[0]
    mixed = warnings(
        scenario(
            p1_listen=["udp:192.0.2.1:5060", "tcp:192.0.2.1:5060"], p1_rr={"enable_double_rr": 0}
        )
    )
    assert "enable_double_rr=0" in mixed[0]
    gotcha = warnings(scenario(p2_aliases=["biloxi.example.com", "192.0.2.20"]))
    assert "Bob's Contact sip:bob@192.0.2.20 is an address of P2" in gotcha[0]
    assert warnings(scenario(p2_aliases=["192.0.2.20"], p2_loose_route_mode=1)) == ()
    assert simulate(scenario(p1_profile="honour-preloaded")).warnings == honour


# --------------------------------------------------------------------------
# property: a valid scenario never makes simulate() raise


LIBRARY = [loads(resources.scenario_text(n)) for n in resources.list_scenarios()]
METHODS = ("ACK", "BYE", "INFO", "INVITE", "UPDATE", "NOTIFY", "MESSAGE")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_simulate_never_raises_on_a_valid_scenario(data: st.DataObject) -> None:
    s = data.draw(st.sampled_from(LIBRARY))
    proxies = tuple(
        replace(
            p,
            profile=data.draw(st.sampled_from(sorted(PROFILES))),
            loose_route_mode=data.draw(st.sampled_from([0, 1])),
        )
        for p in s.proxies
    )
    parties = sorted({s.dialog.sender, s.dialog.recipient})
    requests = tuple(
        RequestSpec(
            method=data.draw(st.sampled_from(METHODS)),
            sender=data.draw(st.sampled_from(parties)),
            max_forwards=data.draw(st.integers(0, 70)),
        )
        for _ in range(data.draw(st.integers(0, 4)))
    )
    trace = simulate(replace(s, proxies=proxies, requests=requests))
    assert len(trace.requests) == 1 + len(requests)
    for i in range(len(trace.requests)):
        assert trace.steps_of(i)
    assert [x.index for x in trace.steps] == list(range(len(trace.steps)))
    assert simulate(replace(s, proxies=proxies, requests=requests)) == trace


# --------------------------------------------------------------------------
# A forced send socket that does not suit the next hop (seen on Kamailio 5.6.3 in
# tests/differential/chain_scenarios/forced-socket-*.json).

CHAIN_CHECKS = Path(__file__).resolve().parents[1] / "differential" / "chain_scenarios"


def _p1_in_dialog(name: str) -> list[TraceStep]:
    trace = simulate(loads((CHAIN_CHECKS / f"{name}.json").read_text(encoding="utf-8")))
    return [
        s
        for s in trace.steps
        if s.request in (1, 2) and s.element == "P1" and s.kind is StepKind.PROXY
    ]


@pytest.mark.parametrize(
    ("name", "sent_from", "words"),
    [
        (
            "forced-socket-other-transport-same-address",
            "tcp:192.0.2.1:5070",
            "same address and port",
        ),
        ("forced-socket-other-transport-other-port", "tcp:192.0.2.1:5080", "ignores it"),
        ("forced-socket-other-transport-other-address", "tcp:192.0.2.11:5070", "ignores it"),
        ("forced-socket-other-family", "udp:[2001:db8::1]:5060", "is IPv4"),
    ],
)
def test_a_forced_socket_that_does_not_suit_the_next_hop(
    name: str, sent_from: str, words: str
) -> None:
    for step in _p1_in_dialog(name):  # the ACK and the BYE from Alice
        assert step.forced_socket is not None
        assert step.forced_socket != sent_from
        assert step.sent_from == sent_from
        assert step.next_element == "Bob"
        assert words in step.note
        assert Flag.DEAD_END not in step.flags


@pytest.mark.parametrize(
    "name", ["forced-socket-no-socket-for-the-transport", "forced-socket-no-socket-for-the-family"]
)
def test_a_forced_socket_with_no_socket_to_fall_back_on_is_a_dead_end(name: str) -> None:
    for step in _p1_in_dialog(name):
        assert Flag.DEAD_END in step.flags
        assert "ignores it" in step.note
        if step.method == "ACK":  # nobody answers an ACK
            assert (step.status, step.next_element) == (None, None)
        else:  # tm has no socket to send from: 500, back to the sender
            assert step.status == 500
            assert step.next_element == step.path[1]


# --------------------------------------------------------------------------
# tm: an ACK after an INVITE that was never answered


_REINVITE_THEN_ACK = [
    {"method": "ACK", "from": "Alice"},
    {"method": "INVITE", "from": "Alice", "request_uri": "sip:bob@nowhere.example"},
    {"method": "ACK", "from": "Alice"},
]


def test_an_ack_after_an_unanswered_invite_is_absorbed_by_tm() -> None:
    """The re-INVITE dies silently at P2 (an RFC 2543 strict router that cannot resolve its
    next hop): P1's tm holds it unanswered, takes the next ACK of the dialog with the same
    CSeq for that transaction's ACK and absorbs it, its Via branch notwithstanding (seen
    on Kamailio 5.6.3; tests/differential/chain_scenarios/ack-after-an-unanswered-invite)."""
    trace = simulate(scenario(p2_profile="rfc2543-strict", requests=_REINVITE_THEN_ACK))
    dropped = last(trace, 2)
    assert (dropped.element, dropped.status, dropped.message_out) == ("P2", None, "")
    ack = proxy_steps(trace, 3)
    assert [s.element for s in ack] == ["P1"]
    (p1,) = ack
    assert p1.rc == 1  # loose_route() ran and routed it ...
    assert any(call.call == "t_relay()" for call in p1.rr_calls)  # ... and t_relay() took it
    assert Flag.DEAD_END in p1.flags
    assert (p1.next_element, p1.message_out) == (None, "")
    assert "CSeq 2" in p1.note
    assert "RFC 3261 17.2.3" in p1.note
    assert all(s.kind is not StepKind.UAS for s in trace.steps_of(3))


@pytest.mark.parametrize(
    ("request_uri", "absorbed", "said"),
    [
        # Bob's address, a port he does not listen on: P2 sends it there all the same.
        ("sip:bob@192.0.2.20:5070", True, "no answer comes"),
        # Nothing can be sent: P2's tm answers the re-INVITE itself, back through P1.
        ("sip:bob@192.0.2.99", False, "answers 477"),
        ("sip:bob@nowhere.example", False, "answers 478 Unresolvable destination"),
        ("sip:bob@[2001:db8::9]", False, "answers 500"),
    ],
)
def test_an_ack_after_a_reinvite_kamailio_cannot_send_on(
    request_uri: str, absorbed: bool, said: str
) -> None:
    """As measured on real proxies (tests/differential/chain_scenarios/
    ack-after-reinvites-that-cannot-go-on.json)."""
    requests = [dict(r) for r in _REINVITE_THEN_ACK]
    requests[1]["request_uri"] = request_uri
    trace = simulate(scenario(requests=requests))
    dead_end = last(trace, 2)
    assert (dead_end.element, Flag.DEAD_END in dead_end.flags) == ("P2", True)
    assert said in dead_end.note
    ack_end = last(trace, 3)
    if absorbed:
        assert (ack_end.element, ack_end.kind) == ("P1", StepKind.PROXY)
    else:
        assert (ack_end.element, ack_end.kind) == ("Bob", StepKind.UAS)


def test_only_the_unanswered_transactions_ack_is_absorbed() -> None:
    """A later INVITE that is answered (its CSeq is another) leaves its ACK alone."""
    requests = [
        *_REINVITE_THEN_ACK,
        {"method": "INVITE", "from": "Alice"},
        {"method": "ACK", "from": "Alice"},
    ]
    trace = simulate(scenario(p2_profile="rfc2543-strict", requests=requests))
    assert last(trace, 3).element == "P1"  # absorbed
    assert last(trace, 4).status == 200  # the next re-INVITE gets through and is answered
    assert last(trace, 5).kind is StepKind.UAS  # and its ACK reaches Bob


# --------------------------------------------------------------------------
# review fixes: ACKs are never answered, checks before simulating, notes that tell the truth


def test_an_ack_with_max_forwards_zero_is_dropped_not_answered() -> None:
    # sl_send_reply() sends nothing for an ACK (RFC 3261 17: nothing answers an ACK).
    s = scenario()
    trace = simulate(
        replace(s, requests=(RequestSpec(method="ACK", sender="Alice", max_forwards=0),))
    )
    p1 = proxy_steps(trace, 1)[0]
    assert p1.status is None
    assert p1.message_out == ""
    assert Flag.DEAD_END in p1.flags
    assert "dropped silently" in p1.note
    assert [s.kind for s in trace.steps_of(1)] == [StepKind.UAC, StepKind.PROXY]


def test_an_ack_at_a_strict_router_with_max_forwards_zero_is_dropped() -> None:
    s = scenario(p1_profile="rfc2543-strict")
    trace = simulate(
        replace(s, requests=(RequestSpec(method="ACK", sender="Alice", max_forwards=0),))
    )
    p1 = proxy_steps(trace, 1)[0]
    assert (p1.status, p1.message_out) == (None, "")
    assert "dropped silently" in p1.note
    bye = simulate(
        replace(s, requests=(RequestSpec(method="BYE", sender="Alice", max_forwards=0),))
    )
    assert proxy_steps(bye, 1)[0].status == 483


def test_an_ack_with_a_rejected_flow_token_is_dropped_not_answered() -> None:
    s = loads(resources.scenario_text("outbound-flow-token-tampered"))
    bye = s.requests[1]
    s = replace(s, requests=(s.requests[0], replace(bye, method="ACK", note="")))
    edge = next(x for x in simulate(s).steps_of(2) if x.element == "Edge")
    assert edge.rc == -2
    assert Flag.FLOW_TOKEN_REJECTED in edge.flags
    assert (edge.status, edge.message_out) == (None, "")
    assert "sl_send_reply" in edge.note
    assert "dropped silently" in edge.note


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda s: replace(s, dialog=replace(s.dialog, method="ACK")), "dialog.method"),
        (lambda s: replace(s, proxies=(replace(s.proxies[0], listen=()), s.proxies[1])),
         "proxies[0].listen"),
        (lambda s: replace(s, user_agents=(replace(s.user_agents[0], route_style="x"),
                                           s.user_agents[1])), "user_agents[0].route_style"),
        (lambda s: replace(s, requests=(RequestSpec(method="BYE", sender="Alice",
                                                    request_uri=""),)), "requests[0].request_uri"),
        # A value of the wrong type altogether (a programming slip): still a ScenarioError.
        (lambda s: replace(s, user_agents=("Alice", s.user_agents[1])), ""),
    ],
    ids=["dialog-ack", "no-listen", "route-style", "empty-request-uri", "wrong-type"],
)  # fmt: skip
def test_simulate_checks_every_value_loads_checks(edit: Any, where: str) -> None:
    from engine.errors import ScenarioError

    with pytest.raises(ScenarioError) as info:
        simulate(edit(scenario()))
    assert info.value.path == where


def test_a_dead_end_after_remove_hf_lists_no_route_left() -> None:
    # P1 removes the preloaded Routes (remove_hf) and cannot resolve the R-URI: 478.
    s = scenario(dialog_request_uri="sip:bob@nowhere.example", p1_forward_to=None,
                 dialog_route=["<sip:192.0.2.1;lr>", "<sip:192.0.2.99;lr>"])  # fmt: skip
    p1 = proxy_steps(simulate(s), 0)[0]
    assert p1.routes_removed == ("<sip:192.0.2.1;lr>", "<sip:192.0.2.99;lr>")
    assert p1.routes_after == ()
    assert Flag.DEAD_END in p1.flags


def test_a_final_response_without_record_route_does_not_claim_to_copy_them() -> None:
    busy = simulate(scenario(dialog_responses=[486]))
    bob = next(x for x in busy.steps_of(0) if x.kind is StepKind.RESPONSE and x.element == "Bob")
    assert parse_message(bob.message_out).header("Record-Route") is None
    assert "copies the request's Record-Route" not in bob.note
    assert "carries no Record-Route" in bob.note
    ok = simulate(scenario())
    bob = next(x for x in ok.steps_of(0) if x.status == 200 and x.element == "Bob")
    assert "copies the request's Record-Route values in order" in bob.note


@pytest.mark.parametrize(
    ("sock", "sent_by"),
    [
        ("tls:192.0.2.30:5060", "192.0.2.30:5060"),
        ("tls:192.0.2.30:5061", "192.0.2.30"),
        ("udp:192.0.2.30:5060", "192.0.2.30"),
        ("tcp:192.0.2.30:5061", "192.0.2.30:5061"),
    ],
)
def test_sent_by_leaves_out_only_the_transports_default_port(sock: str, sent_by: str) -> None:
    from engine.proxy import parse_socket
    from engine.simulate import _Network, _sent_by

    s = scenario(p2_listen=[sock], p2_profile="rfc2543-strict")
    socket = parse_socket(sock)
    assert _sent_by(socket) == sent_by
    # What the strict router writes into its Record-Route leads back to it.
    found = _Network(s).lookup(f"sip:{_sent_by(socket)};transport={socket.proto}")
    assert getattr(found, "element", None) == "P2"


def test_record_route_preset_r2_is_read_as_a_parameter() -> None:
    def warned(preset: list[str]) -> bool:
        return any("r2" in w for w in warnings(scenario(p1_record_route_preset=preset)))

    assert not warned(["192.0.2.1;r2;lr", "192.0.2.1;r2;lr"])  # r2 with no value counts
    assert not warned(["192.0.2.1;R2=on;lr", "192.0.2.1;r2=on;lr"])  # any case
    assert warned(["192.0.2.1;xr2=on;lr", "192.0.2.1;xr2=on;lr"])  # not a substring test
    assert warned(["192.0.2.1;lr", "192.0.2.1;lr"])


def test_only_the_first_max_forwards_is_decremented() -> None:
    # mf_process_maxfwd_header() reads and rewrites the first Max-Forwards only.  (A scenario
    # cannot add a second one, so the message is made here.)
    from engine.message import Header
    from engine.simulate import _outgoing

    request = SipRequest(
        method="BYE",
        uri="sip:b@x",
        headers=(Header("Via", "SIP/2.0/UDP u1"), Header("Max-Forwards", "70"),
                 Header("Max-Forwards", "5")),
    )  # fmt: skip
    out = _outgoing(request, "SIP/2.0/UDP p1;branch=z9hG4bK-1")
    assert out.header_values("Max-Forwards") == ("69", "5")
    assert out.header_values("Via")[0] == "SIP/2.0/UDP p1;branch=z9hG4bK-1"


def test_a_superscript_max_forwards_does_not_raise() -> None:
    from engine.message import Header
    from engine.simulate import _max_forwards

    request = SipRequest(method="BYE", uri="sip:b@x", headers=(Header("Max-Forwards", "²"),))
    assert _max_forwards(request) is None


def test_local_route_removed_only_for_a_route_naming_the_proxy() -> None:
    # A -3 (preloaded) Route naming P1 is removed and flagged; the flag follows Flag's doc.
    s = scenario(p1_profile="honour-preloaded", dialog_route=["<sip:192.0.2.1;lr>"])
    p1 = proxy_steps(simulate(s), 0)[0]
    assert p1.routes_removed == ("<sip:192.0.2.1;lr>",)
    assert Flag.LOCAL_ROUTE_REMOVED in p1.flags
