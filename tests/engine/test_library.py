"""The teaching library: every scenario loads, is canonical, and matches its golden trace.

Golden traces live in tests/golden/<name>.trace.json (canonical JSON: indent=2,
sort_keys=True, trailing newline); ``pytest --update-golden`` rewrites them.  Beside the
goldens, each scenario has explicit assertions of the facts it teaches, so a golden that is
rewritten by mistake still cannot hide a wrong routing decision.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import resources
from engine.headers import parse_name_addr
from engine.message import SipRequest, parse_message
from engine.scenario import dumps, loads
from engine.simulate import simulate
from engine.trace import Flag, StepKind, Trace, TraceStep, from_jsonable, to_jsonable

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
NAMES = resources.list_scenarios()


def trace_of(name: str) -> Trace:
    return simulate(loads(resources.scenario_text(name)))


def canonical(trace: Trace) -> str:
    return json.dumps(to_jsonable(trace), indent=2, sort_keys=True) + "\n"


def proxy_steps(trace: Trace, request: int) -> list[TraceStep]:
    return [s for s in trace.steps_of(request) if s.kind is StepKind.PROXY]


def sent(step: TraceStep) -> SipRequest:
    msg = parse_message(step.message_out)
    assert isinstance(msg, SipRequest)
    return msg


def request_index(trace: Trace, label: str) -> int:
    return trace.requests.index(label)


# --------------------------------------------------------------------------
# the library as a whole


def test_the_library_has_at_least_15_scenarios_and_the_tour() -> None:
    assert "tour" in NAMES
    assert len([n for n in NAMES if n != "tour"]) >= 15


@pytest.mark.parametrize("name", NAMES)
def test_scenario_is_documented_and_canonical(name: str) -> None:
    text = resources.scenario_text(name)
    scenario = loads(text)
    assert scenario.title
    assert len(scenario.description) > 80
    assert scenario.highlights
    assert dumps(scenario) == text, "library files are written by engine.scenario.dumps"
    assert name == name.lower()
    assert " " not in name


@pytest.mark.parametrize("name", NAMES)
def test_golden_trace(name: str, update_golden: bool) -> None:
    trace = trace_of(name)
    text = canonical(trace)
    path = GOLDEN / f"{name}.trace.json"
    if update_golden:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    assert path.exists(), f"no golden trace; run pytest --update-golden and review {path}"
    assert text == path.read_text(encoding="utf-8"), f"{name}: trace differs from {path}"
    assert from_jsonable(json.loads(text)) == trace


@pytest.mark.parametrize("name", NAMES)
def test_every_request_is_played_and_ends(name: str) -> None:
    trace = trace_of(name)
    assert trace.steps
    for i, _label in enumerate(trace.requests):
        steps = trace.steps_of(i)
        assert steps, f"request {i} has no step"
        assert steps[0].kind is StepKind.UAC
    assert [s.index for s in trace.steps] == list(range(len(trace.steps)))


def test_no_golden_without_a_scenario() -> None:
    stale = {p.name.removesuffix(".trace.json") for p in GOLDEN.glob("*.trace.json")} - set(NAMES)
    assert not stale


# --------------------------------------------------------------------------
# RFC 3261 16.12.1.1 and 16.12.1.2, hop by hop from the RFC text


def test_rfc3261_16_12_1_1_trapezoid() -> None:
    trace = trace_of("rfc3261-16-12-1-1-trapezoid")
    invite_at_u2 = next(s for s in trace.steps_of(0) if s.kind is StepKind.UAS)
    msg = parse_message(invite_at_u2.message_in)
    assert msg.start_line == "INVITE sip:callee@u2.domain.com SIP/2.0"
    assert msg.list_values("Record-Route") == ("<sip:p2.domain.com;lr>", "<sip:p1.example.com;lr>")
    bye = request_index(trace, "BYE from U1")
    uac = trace.steps_of(bye)[0]
    first = parse_message(uac.message_out)
    assert first.start_line == "BYE sip:callee@u2.domain.com SIP/2.0"
    # "Route: <sip:p1.example.com;lr>,<sip:p2.domain.com;lr>" -- one header line
    assert first.header_values("Route") == ("<sip:p1.example.com;lr>, <sip:p2.domain.com;lr>",)
    assert uac.next_element == "P1"
    p1, p2 = proxy_steps(trace, bye)
    assert sent(p1).start_line == "BYE sip:callee@u2.domain.com SIP/2.0"
    assert sent(p1).list_values("Route") == ("<sip:p2.domain.com;lr>",)
    assert p1.next_element == "P2"
    assert sent(p2).start_line == "BYE sip:callee@u2.domain.com SIP/2.0"
    assert sent(p2).list_values("Route") == ()
    assert p2.next_element == "U2"


# The RFC's BYE from U2, at every hop: (element, request line, Route values as sent).
RFC_16_12_1_2 = [
    (
        "U2",
        "BYE sip:caller@u1.example.com SIP/2.0",
        (
            "<sip:p4.domain.com;lr>",
            "<sip:p3.middle.com>",
            "<sip:p2.example.com;lr>",
            "<sip:p1.example.com;lr>",
        ),
    ),
    (
        "P4",
        "BYE sip:p3.middle.com SIP/2.0",
        ("<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>", "<sip:caller@u1.example.com>"),
    ),
    (
        "P3",
        "BYE sip:p2.example.com;lr SIP/2.0",
        ("<sip:p1.example.com;lr>", "<sip:caller@u1.example.com>"),
    ),
    ("P2", "BYE sip:caller@u1.example.com SIP/2.0", ("<sip:p1.example.com;lr>",)),
    ("P1", "BYE sip:caller@u1.example.com SIP/2.0", ()),
]


def test_rfc3261_16_12_1_2_bye_at_every_hop() -> None:
    trace = trace_of("rfc3261-16-12-1-2-strict-proxy")
    bye = request_index(trace, "BYE from U2")
    hops = [s for s in trace.steps_of(bye) if s.kind in (StepKind.UAC, StepKind.PROXY)]
    assert [h.element for h in hops] == [e for e, _, _ in RFC_16_12_1_2]
    for step, (element, line, routes) in zip(hops, RFC_16_12_1_2, strict=True):
        msg = sent(step)
        assert msg.start_line == line, element
        assert msg.list_values("Route") == routes, element
        # one Route header line per value, as the RFC writes them
        assert msg.header_values("Route") == routes, element
    assert hops[-1].next_element == "U1"
    assert Flag.LOOSE_TO_STRICT in hops[1].flags
    assert Flag.STRICT_TO_LOOSE in hops[3].flags


def test_rfc3261_16_12_1_2_invite_record_route() -> None:
    trace = trace_of("rfc3261-16-12-1-2-strict-proxy")
    at_u2 = next(s for s in trace.steps_of(0) if s.kind is StepKind.UAS)
    msg = parse_message(at_u2.message_in)
    assert msg.start_line == "INVITE sip:callee@u2.domain.com SIP/2.0"
    assert msg.header("Contact") == "<sip:caller@u1.example.com>"
    assert msg.header_values("Record-Route") == (
        "<sip:p4.domain.com;lr>",
        "<sip:p3.middle.com>",
        "<sip:p2.example.com;lr>",
        "<sip:p1.example.com;lr>",
    )
    assert at_u2.route_set == (
        "sip:p4.domain.com;lr",
        "sip:p3.middle.com",
        "sip:p2.example.com;lr",
        "sip:p1.example.com;lr",
    )


# --------------------------------------------------------------------------
# preloaded routes


def test_preloaded_route_consumed_returns_minus_3_and_goes_on() -> None:
    trace = trace_of("preloaded-route-consumed")
    p1 = proxy_steps(trace, 0)[0]
    assert p1.rc == -3
    assert Flag.PRELOADED in p1.flags
    assert Flag.NOT_ROUTED not in p1.flags
    assert p1.routes_removed == ("<sip:p1.atlanta.example.com;lr>",)
    assert p1.du_after is None
    assert p1.ruri_after == "sip:bob@biloxi.example.com"
    assert p1.next_element == "P2"
    assert trace.steps_of(0)[-1].status == 200


def test_preloaded_route_to_a_foreign_host_is_an_open_relay() -> None:
    trace = trace_of("preloaded-route-foreign-host")
    p1 = proxy_steps(trace, 0)[0]
    assert p1.rc == 1
    assert p1.du_after == "sip:gw.internal.atlanta.example.com;lr"
    assert Flag.SECURITY in p1.flags
    assert p1.next_element == "GW"
    assert not any(c.call.startswith("lookup") for c in p1.rr_calls)
    assert any("open relay" in w for w in trace.warnings)


def test_deny_preloaded_route_is_403() -> None:
    trace = trace_of("deny-preloaded-route")
    p1 = proxy_steps(trace, 0)[0]
    assert p1.status == 403
    assert parse_message(p1.message_out).start_line == "SIP/2.0 403 Preload Route denied"
    assert Flag.DEAD_END in p1.flags
    assert all(s.element != "GW" for s in trace.steps)
    assert Flag.DEAD_END in trace.steps_of(1)[0].flags  # no dialog for the BYE


# --------------------------------------------------------------------------
# double Record-Route


@pytest.mark.parametrize(
    ("name", "rr"),
    [
        (
            "double-rr-ipv4-ipv6",
            (
                "<sip:[2001:db8::1];r2=on;lr;ftag=alice-tag>",
                "<sip:192.0.2.1;r2=on;lr;ftag=alice-tag>",
            ),
        ),
        (
            "double-rr-udp-tcp",
            (
                "<sip:192.0.2.1;transport=tcp;r2=on;lr;ftag=alice-tag>",
                "<sip:192.0.2.1;r2=on;lr;ftag=alice-tag>",
            ),
        ),
        (
            "named-sockets-sockname-mode",
            (
                "<sip:[2001:db8::1];sn=core;r2=on;lr;ftag=alice-tag>",
                "<sip:192.0.2.1;sn=edge;r2=on;lr;ftag=alice-tag>",
            ),
        ),
    ],
)
def test_double_record_route_and_r2_pair_removal(name: str, rr: tuple[str, str]) -> None:
    trace = trace_of(name)
    p1 = proxy_steps(trace, 0)[0]
    assert p1.record_routes_added == rr
    assert Flag.DOUBLE_RECORD_ROUTE in p1.flags
    assert p1.received_on != p1.sent_from
    for i in range(1, len(trace.requests)):
        step = proxy_steps(trace, i)[0]
        assert step.routes_removed == tuple(
            rr if trace.steps_of(i)[0].element == "Bob" else reversed(rr)
        )
        assert step.forced_socket == step.sent_from
        assert step.rc == 1
        assert Flag.LOCAL_ROUTE_REMOVED in step.flags


def test_missing_r2_sends_the_request_back_to_the_proxy() -> None:
    trace = trace_of("double-rr-missing-r2")
    for i in range(1, len(trace.requests)):
        first, second = proxy_steps(trace, i)
        assert first.element == second.element == "P1"
        assert first.next_element == "P1"
        assert Flag.SPIRAL not in first.flags
        assert Flag.SPIRAL in second.flags
        assert Flag.LOOP not in second.flags
        assert Flag.DEAD_END not in second.flags  # a spiral: it goes on
        assert any("names this proxy again" in d.text for c in first.rr_calls for d in c.decisions)
        assert trace.steps_of(i)[-1].kind in (StepKind.UAS, StepKind.RESPONSE)
    assert any("r2=on" in w for w in trace.warnings)


# --------------------------------------------------------------------------
# the R-URI-is-myself gotcha and loose_route_mode(1)


def test_ruri_is_myself_gotcha_loops_to_404() -> None:
    trace = trace_of("ruri-is-myself-gotcha")
    bye = request_index(trace, "BYE from Alice")
    first, second = proxy_steps(trace, bye)
    assert Flag.STRICT_TO_LOOSE in first.flags
    assert first.du_after == first.ruri_after == "sip:192.0.2.1;lr;ftag=alice-tag"
    assert first.next_element == "P1"
    assert second.rc == -1
    assert {Flag.SPIRAL, Flag.NOT_ROUTED, Flag.DEAD_END} <= set(second.flags)
    assert second.status == 404
    ack = request_index(trace, "ACK from Alice")
    assert Flag.DEAD_END in proxy_steps(trace, ack)[-1].flags
    assert proxy_steps(trace, ack)[-1].status is None  # an ACK is dropped, not answered
    info = request_index(trace, "INFO from Conf")
    assert trace.steps_of(info)[-1].status == 200
    assert any("loose_route_mode(1)" in w for w in trace.warnings)


def test_loose_route_mode_1_fixes_the_gotcha() -> None:
    trace = trace_of("ruri-is-myself-loose-route-mode")
    bye = request_index(trace, "BYE from Alice")
    (p1,) = proxy_steps(trace, bye)
    assert p1.rr_calls[0].call == "loose_route_mode(1)"
    assert p1.rc == 1
    assert "loose-only-mode" in [d.rule for d in p1.rr_calls[0].decisions]
    assert p1.next_element == "Conf"
    assert Flag.STRICT_TO_LOOSE not in p1.flags
    assert not trace.warnings


# --------------------------------------------------------------------------
# outbound


def test_flow_token_sends_down_the_flow() -> None:
    trace = trace_of("outbound-flow-token")
    edge_rr = proxy_steps(trace, 0)[0].record_routes_added[0]
    user = parse_name_addr(edge_rr).uri.user
    assert user
    assert len(user) == 32  # base64 of a 23-byte IPv4 token
    bye = request_index(trace, "BYE from Bob")
    edge = proxy_steps(trace, bye)[-1]
    assert edge.element == "Edge"
    assert edge.rc == 2
    assert Flag.FLOW_TOKEN_USED in edge.flags
    assert edge.du_after == "sip:192.0.2.10:5060;transport=udp"
    assert edge.ruri_after == "sip:alice@10.0.0.10;ob"
    assert edge.next_element == "Alice"
    alice_bye = request_index(trace, "BYE from Alice")
    assert proxy_steps(trace, alice_bye)[0].rc == 1  # from the flow itself: ignored
    assert any("flow_token_secret is ignored" in w for w in trace.warnings)


def test_tampered_flow_token_is_403() -> None:
    trace = trace_of("outbound-flow-token-tampered")
    bye = request_index(trace, "BYE from Bob")
    edge = proxy_steps(trace, bye)[-1]
    assert edge.rc == -2
    assert Flag.FLOW_TOKEN_REJECTED in edge.flags
    assert edge.status == 403
    assert edge.routes_removed == ()


# --------------------------------------------------------------------------
# the rest of the library


def test_maddr_decides_the_next_hop() -> None:
    trace = trace_of("maddr-route")
    alice_bye = request_index(trace, "BYE from Alice")
    p1 = proxy_steps(trace, alice_bye)[0]
    assert p1.du_after == "sip:198.51.100.7:5070"
    assert p1.next_address == "udp:198.51.100.7:5070"
    bob_bye = request_index(trace, "BYE from Bob")
    assert trace.steps_of(bob_bye)[0].next_element == "P2"


def test_lr_on_interop() -> None:
    trace = trace_of("lr-on-interop")
    assert proxy_steps(trace, 0)[0].record_routes_added == ("<sip:192.0.2.1;lr=on;ftag=alice-tag>",)
    bob_bye = request_index(trace, "BYE from Bob")
    uac = trace.steps_of(bob_bye)[0]
    assert parse_message(uac.message_out).start_line == (
        "BYE sip:192.0.2.1;lr=on;ftag=alice-tag SIP/2.0"
    )
    # The stack misreads lr=on; the route is no strict router to the RFC nor to Kamailio.
    assert "Bob's stack does not recognise the lr=on of the first route" in uac.note
    (p1,) = proxy_steps(trace, bob_bye)
    assert Flag.STRICT_TO_LOOSE in p1.flags
    assert p1.ruri_after == "sip:alice@192.0.2.10"
    assert p1.next_element == "Alice"


def test_route_by_alias_and_an_alias_with_the_wrong_port() -> None:
    trace = trace_of("route-by-alias")
    bye = request_index(trace, "BYE from Alice")
    p1, p2, p2_again = proxy_steps(trace, bye)
    myself = next(d for d in p1.rr_calls[0].decisions if d.rule == "route-is-myself")
    assert "alias sip.atlanta.example.com" in myself.text
    assert p2.routes_removed == ()
    foreign = p2.rr_calls[0].decisions[-1]
    assert "alias pbx.biloxi.example.com:5090, but a URI without a port means 5060" in foreign.text
    assert p2.next_element == "P2"
    assert {Flag.LOOP, Flag.DEAD_END} <= set(p2_again.flags)


def test_ua_with_a_strict_first_route() -> None:
    trace = trace_of("ua-strict-first-route")
    bye = request_index(trace, "BYE from Alice")
    uac = trace.steps_of(bye)[0]
    msg = parse_message(uac.message_out)
    assert msg.start_line == "BYE sip:192.0.2.1 SIP/2.0"
    assert msg.list_values("Route") == ("<sip:192.0.2.2;lr;ftag=alice-tag>", "<sip:bob@192.0.2.20>")
    assert uac.next_element == "P1"
    p1, p2 = proxy_steps(trace, bye)
    assert p1.rr_calls[0].decisions[0].rule == "rfc2543-strict-route"
    assert sent(p1).start_line == "BYE sip:192.0.2.2;lr;ftag=alice-tag SIP/2.0"
    assert Flag.STRICT_TO_LOOSE in p2.flags
    assert sent(p2).start_line == "BYE sip:bob@192.0.2.20 SIP/2.0"


def test_five_proxy_chain_both_directions() -> None:
    trace = trace_of("five-proxy-chain")
    for label, order in (
        ("BYE from Alice", ["P1", "P2", "P3", "P4", "P5"]),
        ("BYE from Bob", ["P5", "P4", "P3", "P2", "P1"]),
    ):
        steps = proxy_steps(trace, request_index(trace, label))
        assert [s.element for s in steps] == order
        for step in steps:
            assert step.rc == 1
            assert len(step.routes_removed) == 1
            assert step.ruri_after == step.ruri_before
        assert steps[-1].du_after is None


def test_no_record_route_goes_direct() -> None:
    trace = trace_of("no-record-route")
    for i in (1, 2):
        steps = trace.steps_of(i)
        assert all(s.kind is not StepKind.PROXY for s in steps)
        assert steps[0].route_set == ()


def test_max_forwards_exhausted_is_483() -> None:
    trace = trace_of("max-forwards-exhausted")
    p1, p2, p3 = proxy_steps(trace, 0)
    assert parse_message(p1.message_out).header("Max-Forwards") == "1"
    assert parse_message(p2.message_out).header("Max-Forwards") == "0"
    assert p3.status == 483
    assert Flag.DEAD_END in p3.flags


def test_subscribe_notify_and_target_refresh() -> None:
    trace = trace_of("subscribe-notify")
    notify = proxy_steps(trace, 1)[0]
    assert Flag.RECORD_ROUTE in notify.flags
    assert notify.rc == 1
    resubscribe = trace.steps_of(3)[0]
    assert resubscribe.remote_target == "sip:bob@bob-desk.biloxi.example.com"
    assert resubscribe.route_set == ("sip:192.0.2.1;lr;ftag=alice-tag",)
    assert trace.steps_of(3)[-1].status == 200


def test_a_call_id_in_the_record_route_takes_the_route_away() -> None:
    trace = trace_of("record-route-call-id-at-sign")
    broken = "sip:192.0.2.1;lr;ftag=alice-tag;did=a84b4c76e66710@192.0.2.10"
    p1 = proxy_steps(trace, 0)[0]
    assert p1.record_routes_added == (f"<{broken}>",)
    assert next(d.rule for c in p1.rr_calls for d in c.decisions) == "pv-filled"
    # Alice's ACK: her first route is "strict" and names her own address.
    ack = trace.steps_of(request_index(trace, "ACK from Alice"))
    assert [s.element for s in ack] == ["Alice", "Alice"]
    assert Flag.DEAD_END in ack[-1].flags
    # Bob's BYE: P2 takes the next Route for a strict router at 192.0.2.10; P1 is bypassed.
    bye = request_index(trace, "BYE from Bob")
    (p2,) = proxy_steps(trace, bye)
    assert p2.element == "P2"
    assert p2.rc == 1
    assert Flag.LOOSE_TO_STRICT in p2.flags
    (why,) = [d.text for c in p2.rr_calls for d in c.decisions if d.rule == "strict-next-hop"]
    assert "the ';lr' in it stands before its '@', so it belongs to the user part" in why
    assert "stands before its '@'" in ack[0].note
    assert sent(p2).uri == broken
    assert sent(p2).list_values("Route") == ("<sip:alice@192.0.2.10>",)
    assert p2.next_element == "Alice"
    assert all(s.element != "P1" for s in trace.steps_of(bye))


# --------------------------------------------------------------------------
# the tour


def test_tour_shows_every_highlight() -> None:
    trace = trace_of("tour")
    flags = {f for s in trace.steps for f in s.flags}
    assert {
        Flag.PRELOADED,
        Flag.LOOSE_TO_STRICT,
        Flag.STRICT_TO_LOOSE,
        Flag.LOCAL_ROUTE_REMOVED,
        Flag.DOUBLE_RECORD_ROUTE,
    } <= flags
    assert any(s.element == "P3" and s.kind is StepKind.PROXY for s in trace.steps_of(2))
    assert Flag.DEAD_END not in flags
    assert proxy_steps(trace, 0)[0].rc == -3
