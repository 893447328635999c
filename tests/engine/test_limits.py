"""Huge inputs are bounded with clear messages, never hangs (issue 7, requirement 4)."""

from __future__ import annotations

import json

import pytest

from engine.batch import run_vector
from engine.errors import EngineError, ScenarioError, SipParseError
from engine.message import MAX_MESSAGE_SIZE, SipRequest, parse_message
from engine.proxy import Proxy
from engine.rr import MAX_ROUTE_ENTRIES, Context
from engine.scenario import loads

PROXY = Proxy.build(listen=["udp:127.0.0.1:5060"])


def _request(routes: int) -> str:
    lines = "".join(f"Route: <sip:10.0.{i // 250}.{i % 250}:5060;lr>\r\n" for i in range(routes))
    return (
        "BYE sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1\r\nTo: <sip:b@x>;tag=1\r\n"
        "From: <sip:a@y>;tag=2\r\nCall-ID: limits-1\r\nCSeq: 2 BYE\r\n" + lines + "\r\n"
    )


def test_a_message_over_64_kib_is_refused_with_its_size() -> None:
    text = "OPTIONS sip:x SIP/2.0\r\nX: " + "a" * MAX_MESSAGE_SIZE + "\r\n\r\n"
    with pytest.raises(SipParseError) as info:
        parse_message(text)
    assert str(len(text)) in str(info.value)
    assert info.value.status_hint == 513


def test_the_route_entry_limit_is_exact() -> None:
    ok = parse_message(_request(MAX_ROUTE_ENTRIES))
    assert isinstance(ok, SipRequest)
    Context.start(ok, PROXY)  # exactly the limit is fine
    too_many = parse_message(_request(MAX_ROUTE_ENTRIES + 1))
    assert isinstance(too_many, SipRequest)
    with pytest.raises(SipParseError, match=r"1001 Route values.*at most 1000"):
        Context.start(too_many, PROXY)


def test_the_batch_reports_the_limit_as_an_input_error() -> None:
    vector = {"proxy": {"listen": ["udp:127.0.0.1:5060"]}, "raw": _request(1200)}
    with pytest.raises(EngineError, match="1200 Route values"):
        run_vector(vector)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[" * 50_000 + "]" * 50_000, ""),
        ('{"format": 1, "title": "x", "proxies": ' + "[" * 5000 + "]" * 5000 + "}", ""),
        ('{"format": 1e999999, "title": "x"}', "1e999999"),
        ('{"format": 1, "title": ' + "9" * 5000 + "}", ""),
        ('{"format": 1, "title": ["not", "a", "string"]}', "title"),
        ('{"format": 1, "title": "x", "user_agents": {"a": 1}}', "user_agents"),
        ("\x00\xff binary junk \x89PNG", ""),
        ('{"format": 1, "title": "x", "__class__": "os.system"}', ""),
    ],
    ids=[
        "deep-list",
        "deep-proxies",
        "huge-float",
        "huge-int",
        "wrong-type-title",
        "wrong-type-agents",
        "binary",
        "unknown-key",
    ],
)
def test_crafted_scenario_files_give_clean_errors(text: str, where: str) -> None:
    with pytest.raises(ScenarioError) as info:
        loads(text)
    assert where in info.value.path or where in str(info.value)


def test_too_many_elements_are_refused() -> None:
    agents = [
        {
            "name": f"U{i}",
            "address": f"udp:10.1.{i // 250}.{i % 250 + 1}:5060",
            "contact": f"sip:u{i}@10.1.{i // 250}.{i % 250 + 1}",
        }
        for i in range(600)
    ]
    text = json.dumps(
        {
            "format": 1,
            "title": "big",
            "user_agents": agents,
            "dialog": {"method": "INVITE", "from": "U0", "to": "U1"},
        }
    )
    with pytest.raises(ScenarioError, match="user_agents"):
        loads(text)
