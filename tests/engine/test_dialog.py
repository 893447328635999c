"""User agents per RFC 3261: route sets, in-dialog requests, strict first routes, responses."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.dialog import (
    Dialog,
    RouteSet,
    build_request,
    build_response,
    contact_of,
    in_dialog_request,
    is_loose,
    plan_request,
    reason_phrase,
    request_uri_form,
    uac_dialog,
    uas_dialog,
)
from engine.message import Header, SipRequest, SipResponse

INVITE = SipRequest(
    method="INVITE",
    uri="sip:callee@u2.domain.com",
    headers=(
        Header("Record-Route", "<sip:p2.domain.com;lr>"),
        Header("Record-Route", "<sip:p1.example.com;lr;ftag=1928301774>"),
        Header("Via", "SIP/2.0/UDP p2.domain.com;branch=z9hG4bK-p2-1"),
        Header("Via", "SIP/2.0/UDP u1.example.com;branch=z9hG4bK-u1-1"),
        Header("From", '"Caller" <sip:caller@example.com>;tag=1928301774'),
        Header("To", "<sip:callee@domain.com>"),
        Header("Call-ID", "a84b4c76e66710"),
        Header("CSeq", "314159 INVITE"),
        Header("Contact", "<sip:caller@u1.example.com>"),
    ),
)


def dialog(route_set: tuple[str, ...] = (), remote_target: str = "sip:bob@u2") -> Dialog:
    return Dialog(
        call_id="c1",
        local_tag="a",
        remote_tag="b",
        local_uri="<sip:alice@x>",
        remote_uri="<sip:bob@y>",
        local_target="sip:alice@u1",
        remote_target=remote_target,
        route_set=RouteSet(route_set),
        local_cseq=1,
        invite_cseq=1,
    )


# --------------------------------------------------------------------------
# route sets (RFC 3261 12.1.1, 12.1.2)


def test_uas_keeps_record_route_order_and_parameters() -> None:
    d = uas_dialog(INVITE, local_tag="t2", local_target="sip:callee@u2.domain.com")
    assert d.route_set.uris == ("sip:p2.domain.com;lr", "sip:p1.example.com;lr;ftag=1928301774")
    assert d.remote_target == "sip:caller@u1.example.com"
    assert d.remote_tag == "1928301774"
    assert d.local_tag == "t2"
    assert d.remote_uri == '"Caller" <sip:caller@example.com>'
    assert d.local_uri == "<sip:callee@domain.com>"
    assert d.call_id == "a84b4c76e66710"


def test_uac_reverses_the_record_route_of_the_2xx() -> None:
    response = build_response(INVITE, 200, to_tag="t2", contact="sip:callee@u2.domain.com")
    d = uac_dialog(INVITE, response, local_target="sip:caller@u1.example.com")
    assert d.route_set.uris == ("sip:p1.example.com;lr;ftag=1928301774", "sip:p2.domain.com;lr")
    assert d.remote_target == "sip:callee@u2.domain.com"
    assert d.remote_tag == "t2"
    assert d.local_tag == "1928301774"
    assert d.local_cseq == d.invite_cseq == 314159


def test_no_record_route_means_an_empty_route_set() -> None:
    req = replace(INVITE, headers=tuple(h for h in INVITE.headers if h.key != "record-route"))
    assert uas_dialog(req, local_tag="t", local_target="sip:x@y").route_set == RouteSet()


def test_comma_lists_and_several_lines_are_one_route_set() -> None:
    rs = RouteSet.from_record_route(["<sip:a;lr>, <sip:b;lr>", "<sip:c;lr>", ",bad"], uac=True)
    assert rs.uris == ("sip:c;lr", "sip:b;lr", "sip:a;lr")
    assert rs.header_values() == ("<sip:c;lr>", "<sip:b;lr>", "<sip:a;lr>")


@given(st.lists(st.from_regex(r"sip:p[0-9]{1,3}\.example\.com(;lr)?(;r2=on)?", fullmatch=True)))
def test_uac_route_set_is_the_reverse_of_the_record_route_list(uris: list[str]) -> None:
    values = [f"<{u}>" for u in uris]
    uac = RouteSet.from_record_route(values, uac=True)
    uas = RouteSet.from_record_route(values, uac=False)
    assert uas.uris == tuple(uris)
    assert uac.uris == tuple(reversed(uris))


# --------------------------------------------------------------------------
# building requests (RFC 3261 12.2.1.1)


def test_rfc_12_2_1_1_strict_first_route_example() -> None:
    # The example of RFC 3261 12.2.1.1.
    rs = RouteSet(("sip:proxy1", "sip:proxy2", "sip:proxy3;lr", "sip:proxy4"))
    plan = plan_request(rs, "sip:user@remoteua")
    assert plan.request_uri == "sip:proxy1"
    assert plan.routes == (
        "<sip:proxy2>",
        "<sip:proxy3;lr>",
        "<sip:proxy4>",
        "<sip:user@remoteua>",
    )
    assert plan.strict
    assert plan.next_hop == "sip:proxy1"  # RFC 8.1.2: the Request-URI when strict


def test_loose_first_route() -> None:
    plan = plan_request(RouteSet(("sip:p1;lr", "sip:p2")), "sip:bob@u2")
    assert plan.request_uri == "sip:bob@u2"
    assert plan.routes == ("<sip:p1;lr>", "<sip:p2>")
    assert plan.next_hop == "sip:p1;lr"
    assert not plan.strict


def test_empty_route_set() -> None:
    plan = plan_request(RouteSet(), "sip:bob@u2")
    assert (plan.request_uri, plan.routes, plan.next_hop) == ("sip:bob@u2", (), "sip:bob@u2")


def test_strict_route_loses_parameters_not_allowed_in_a_request_uri() -> None:
    plan = plan_request(RouteSet(("sip:p1;method=INVITE;maddr=10.0.0.1?x=y",)), "sip:bob@u2")
    assert plan.request_uri == "sip:p1;maddr=10.0.0.1"
    assert request_uri_form("not a uri") == "not a uri"


@pytest.mark.parametrize(
    ("uri", "strict_lr_on", "loose"),
    [
        ("sip:p;lr", False, True),
        ("sip:p;lr=on", False, True),
        ("sip:p;LR", False, True),
        ("sip:p;lr=on", True, False),
        ("sip:p;lr", True, True),
        ("sip:p", False, False),
        ("garbage", False, False),
    ],
)
def test_is_loose(uri: str, strict_lr_on: bool, loose: bool) -> None:
    assert is_loose(uri, lr_on_as_strict=strict_lr_on) is loose


def test_lr_on_as_strict_changes_the_plan() -> None:
    rs = RouteSet(("sip:192.0.2.1;lr=on;ftag=a",))
    assert not plan_request(rs, "sip:bob@u2").strict
    plan = plan_request(rs, "sip:bob@u2", lr_on_as_strict=True)
    assert plan.request_uri == "sip:192.0.2.1;lr=on;ftag=a"
    assert plan.routes == ("<sip:bob@u2>",)


def test_in_dialog_request_and_cseq() -> None:
    d = dialog(("sip:p1;lr",))
    d2, bye, plan = in_dialog_request(d, "BYE", via="SIP/2.0/UDP u1;branch=z9hG4bK-1")
    assert bye.start_line == "BYE sip:bob@u2 SIP/2.0"
    assert bye.header("CSeq") == "2 BYE"
    assert bye.header("From") == "<sip:alice@x>;tag=a"
    assert bye.header("To") == "<sip:bob@y>;tag=b"
    assert bye.header("Contact") is None
    assert bye.header_values("Route") == ("<sip:p1;lr>",)
    assert d2.local_cseq == 2
    assert plan.next_hop == "sip:p1;lr"
    _, ack, _ = in_dialog_request(d2, "ACK", via="v")
    assert ack.header("CSeq") == "1 ACK"  # the INVITE's number
    d3, reinvite, _ = in_dialog_request(d2, "INVITE", via="v")
    assert reinvite.header("CSeq") == "3 INVITE"
    assert reinvite.header("Contact") == "<sip:alice@u1>"
    _, ack2, _ = in_dialog_request(d3, "ACK", via="v")
    assert ack2.header("CSeq") == "3 ACK"


def test_hand_edited_route_set_and_target() -> None:
    d = dialog(("sip:p1;lr",))
    _, req, plan = in_dialog_request(
        d,
        "INFO",
        via="v",
        route_set=RouteSet(("sip:evil;lr", "sip:p1;lr")),
        request_uri="sip:other@u9",
        route_style="comma",
    )
    assert req.uri == "sip:other@u9"
    assert req.header_values("Route") == ("<sip:evil;lr>, <sip:p1;lr>",)
    assert plan.next_hop == "sip:evil;lr"


def test_target_refresh_changes_only_the_remote_target() -> None:
    d = dialog(("sip:p1;lr", "sip:p2;lr"))
    refreshed = d.refreshed("sip:bob@new")
    assert refreshed.remote_target == "sip:bob@new"
    assert refreshed.route_set == d.route_set
    assert replace(refreshed, remote_target=d.remote_target) == d


def test_build_request_header_order() -> None:
    req = build_request(
        method="INVITE",
        request_uri="sip:b@x",
        via="SIP/2.0/UDP a;branch=z9hG4bK-1",
        from_="<sip:a@x>;tag=1",
        to="<sip:b@x>",
        call_id="c",
        cseq=1,
        routes=("<sip:p;lr>", "<sip:q;lr>"),
        contact="sip:a@h",
        max_forwards=5,
        extra=(Header("Subject", "hi"),),
    )
    names = [h.name for h in req.headers]
    assert names == [
        "Via",
        "Max-Forwards",
        "Route",
        "Route",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Subject",
        "Content-Length",
    ]
    assert req.header("Max-Forwards") == "5"


# --------------------------------------------------------------------------
# responses


def test_response_copies_via_and_record_route_for_2xx() -> None:
    resp = build_response(INVITE, 200, to_tag="t2", contact="sip:callee@u2")
    assert resp.header_values("Via") == INVITE.header_values("Via")
    assert resp.header_values("Record-Route") == INVITE.header_values("Record-Route")
    assert resp.header("To") == "<sip:callee@domain.com>;tag=t2"
    assert resp.header("CSeq") == "314159 INVITE"
    assert contact_of(resp) == "sip:callee@u2"


@pytest.mark.parametrize("status", [100, 403, 486])
def test_no_record_route_or_contact_in_100_and_errors(status: int) -> None:
    resp = build_response(INVITE, status, to_tag="t2", contact="sip:callee@u2")
    assert resp.header("Record-Route") is None
    assert resp.header("Contact") is None
    assert resp.reason == reason_phrase(status)


def test_existing_to_tag_is_kept() -> None:
    req = replace(
        INVITE,
        headers=(*INVITE.headers[:5], Header("To", "<sip:b@x>;tag=old"), *INVITE.headers[6:]),
    )
    assert build_response(req, 200, to_tag="new").header("To") == "<sip:b@x>;tag=old"


def test_reason_phrases() -> None:
    assert reason_phrase(483) == "Too Many Hops"
    assert reason_phrase(299) == "OK"
    assert reason_phrase(499) == "Client Error"
    assert reason_phrase(699) == "Global Failure"


def test_unreadable_headers_do_not_raise() -> None:
    req = SipRequest(
        method="INVITE",
        uri="sip:b@x",
        headers=(Header("From", "<<bad"), Header("To", "<<bad"), Header("Contact", "<<x")),
    )
    d = uas_dialog(req, local_tag="t", local_target="sip:b@x")
    assert d.remote_tag == ""
    # No readable Contact and no readable From: no remote target (never the UAS's own R-URI).
    assert d.remote_target == ""
    assert d.remote_uri == "<<bad"
    resp = SipResponse(headers=(Header("CSeq", "x INVITE"),))
    assert uac_dialog(req, resp, local_target="sip:a@y").local_cseq == 0


def test_uas_remote_target_without_contact_is_the_from_uri() -> None:
    # RFC 3261 8.1.1.8 makes Contact mandatory in an INVITE; without one the UAS's remote
    # target is the From URI (the caller's), not the R-URI (which names the UAS itself).
    req = SipRequest(
        method="INVITE",
        uri="sip:bob@u2",
        headers=(
            Header("From", '"Alice" <sip:alice@x>;tag=1'),
            Header("To", "<sip:bob@y>"),
            Header("Call-ID", "c1"),
            Header("CSeq", "1 INVITE"),
        ),
    )
    d = uas_dialog(req, local_tag="2", local_target="sip:bob@u2")
    assert d.remote_target == "sip:alice@x"
    assert d.local_target == "sip:bob@u2"


def test_in_dialog_request_follows_a_plan_made_before() -> None:
    d = Dialog(
        call_id="c", local_tag="1", remote_tag="2", local_uri="<sip:a@x>", remote_uri="<sip:b@y>",
        local_target="sip:a@u1", remote_target="sip:b@u2",
        route_set=RouteSet(("sip:p1;lr",)), local_cseq=1, invite_cseq=1,
    )  # fmt: skip
    plan = plan_request(RouteSet(("sip:p9;lr",)), "sip:b@elsewhere")
    _, bye, used = in_dialog_request(d, "BYE", via="SIP/2.0/UDP u1;branch=z9hG4bK-1", plan=plan)
    assert used is plan
    assert bye.uri == "sip:b@elsewhere"
    assert bye.header_values("Route") == ("<sip:p9;lr>",)
