"""engine/batch.py: one vector object in, the expected-field dictionary out."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.batch import (
    EXPECTED_FIELDS,
    compare,
    evaluate,
    proxy_from_json,
    run_vector,
    run_vector_full,
)
from engine.errors import ConfigError, EngineError, ScriptError, SipParseError
from engine.message import SipRequest, parse_message
from engine.script import parse_script

RAW = (
    "BYE sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-b\r\n"
    "From: <sip:a@x>;tag=f\r\nTo: <sip:b@y>;tag=t\r\nCall-ID: batch-1\r\nCSeq: 2 BYE\r\n"
    "Route: <sip:127.0.0.1;lr>\r\nRoute: <sip:p2.example.org;lr>\r\n\r\n"
)
VECTOR: dict[str, Any] = {
    "id": "t1",
    "proxy": {"listen": ["udp:127.0.0.1:5060", "udp:127.0.0.2:5060"], "aliases": ["p.example"]},
    "raw": RAW,
    "source": "udp:127.0.0.1:5999",
    "received_on": "udp:127.0.0.1:5060",
    "send_socket": "udp:127.0.0.2:5060",
    "script": ["loose_route()"],
}


def vector(**changes: Any) -> dict[str, Any]:
    v = copy.deepcopy(VECTOR)
    v.update(changes)
    return v


def test_loose_route_fields() -> None:
    assert run_vector(vector()) == {
        "rc": 1,
        "ruri": "sip:bob@10.0.0.2",
        "du": "sip:p2.example.org;lr",
        "fs": None,
        "routes": ["<sip:p2.example.org;lr>"],
    }


def test_record_route_fields_only_when_the_script_record_routes() -> None:
    fields = run_vector(vector(script=["record_route()"]))
    assert "rc" not in fields
    assert fields["rr_rc"] == 1
    assert fields["record_routes"] == [
        "<sip:127.0.0.2;r2=on;lr;ftag=f>",
        "<sip:127.0.0.1;r2=on;lr;ftag=f>",
    ]
    both = run_vector(vector(script="loose_route(); record_route(); loose_route_mode(1)"))
    assert set(both) == set(EXPECTED_FIELDS)
    assert both["rc"] == 1  # the last loose_route-family call's code


def test_msg_flags_and_default_script() -> None:
    v = vector(msg_flags=1 << 3)
    del v["script"]
    run = run_vector_full(v)
    assert run.context.flags == 8
    assert [c.name for c in run.calls] == ["loose_route"]
    assert run.fields["rc"] == 1


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        pytest.param({"raw": None}, SipParseError, "raw: expected the request", id="no-raw"),
        pytest.param(
            {"raw": "SIP/2.0 200 OK\r\n\r\n"}, SipParseError, "a response was given", id="response"
        ),
        pytest.param({"raw": "HELLO\r\n\r\n"}, SipParseError, "not a SIP request", id="bad-raw"),
        pytest.param({"script": {"a": 1}}, ScriptError, "expected a list", id="script-object"),
        # Regression (fuzz): a list item that is not a string raised TypeError.
        pytest.param(
            {"script": ["loose_route()", 7]}, ScriptError, "expected a list", id="int-item"
        ),
        pytest.param({"script": ["nope()"]}, ScriptError, "unknown function", id="unknown-call"),
        pytest.param({"msg_flags": -1}, ConfigError, "msg_flags", id="negative-flags"),
        pytest.param({"msg_flags": True}, ConfigError, "msg_flags", id="bool-flags"),
        pytest.param({"source": 5}, ConfigError, "source: expected a string", id="source-type"),
        pytest.param(
            {"source": "127.0.0.1:5999"},
            ConfigError,
            "source '127.0.0.1:5999': expected proto:ip:port",
            id="source-without-proto",
        ),
        pytest.param(
            {"received_on": "udp:10.0.0.9:5060"}, ConfigError, "not one of", id="foreign-socket"
        ),
        pytest.param({"proxy": []}, ConfigError, "proxy: expected an object", id="proxy-list"),
        pytest.param(
            {"proxy": {"listen": ["udp:127.0.0.1:5060"], "extra": 1}},
            ConfigError,
            "unknown key 'extra'",
            id="proxy-unknown-key",
        ),
        pytest.param(
            {"proxy": {"listen": "udp:127.0.0.1:5060"}},
            ConfigError,
            "listen: expected a list",
            id="listen-string",
        ),
        pytest.param(
            {"proxy": {"listen": ["udp:127.0.0.1:5060"], "aliases": [1]}},
            ConfigError,
            "aliases: expected a list",
            id="alias-int",
        ),
        pytest.param(
            {"proxy": {"listen": ["udp:127.0.0.1:5060"], "modparams": []}},
            ConfigError,
            "modparams: expected an object",
            id="modparams-list",
        ),
        pytest.param(
            {"proxy": {"listen": ["udp:127.0.0.1:5060"], "modparams": {"nope": 1}}},
            ConfigError,
            "unknown rr modparam 'nope'",
            id="unknown-modparam",
        ),
        pytest.param(
            {"proxy": {"listen": ["udp:127.0.0.1:5060"], "outbound": 1}},
            ConfigError,
            "outbound: expected an object",
            id="outbound-int",
        ),
        pytest.param(
            {"proxy": {"listen": ["udp:127.0.0.1:5060"], "outbound": {"force_outbound_flag": "1"}}},
            ConfigError,
            "flag numbers must be integers",
            id="flag-string",
        ),
        pytest.param(
            {"proxy": {"listen": ["udp:127.0.0.1:5060"], "outbound": {"force_outbound_flag": 64}}},
            ConfigError,
            "0..63",
            id="flag-range",
        ),
    ],
)
def test_bad_vectors_raise_engine_errors(
    changes: dict[str, Any], error: type[EngineError], message: str
) -> None:
    with pytest.raises(error, match=message):
        run_vector(vector(**changes))


def test_not_an_object() -> None:
    with pytest.raises(ConfigError, match="a vector must be a JSON object"):
        run_vector_full(["x"])  # type: ignore[arg-type]


def test_outbound_not_loaded() -> None:
    p = proxy_from_json({"listen": ["udp:127.0.0.1:5060"], "outbound": {"loaded": False}})
    assert p.outbound is None
    p = proxy_from_json(
        {
            "listen": ["udp:127.0.0.1:5060"],
            "outbound": {"flow_token_secret": 7, "force_outbound_flag": 2},
        }
    )
    assert p.outbound is not None
    assert (p.outbound.flow_token_secret, p.outbound.force_outbound_flag) == ("7", 2)


def test_proxies_are_remembered_for_equal_json() -> None:
    data = {"listen": ["udp:127.0.0.1:5060"], "modparams": {"enable_double_rr": 2}}
    first = proxy_from_json(data)
    assert proxy_from_json(copy.deepcopy(data)) is first
    other = proxy_from_json({"listen": ["udp:127.0.0.1:5060"]})
    assert other is not first
    assert other.rr.enable_double_rr == 1
    # A tuple is not a list: the memo must not hand back the list's proxy.
    with pytest.raises(ConfigError):
        proxy_from_json({"listen": ("udp:127.0.0.1:5060",), "modparams": {"enable_double_rr": 2}})
    # A bad proxy is never remembered: it raises every time.
    bad = {"listen": ["udp:127.0.0.1:5060"], "modparams": {"nope": 1}}
    for _ in range(2):
        with pytest.raises(ConfigError):
            proxy_from_json(bad)
    # The errors of remembered and of other data both say where the proxy is.
    with pytest.raises(ConfigError, match=r"^vector\.proxy\.listen: "):
        proxy_from_json({"listen": 5}, "vector.proxy")


def test_evaluate_and_compare() -> None:
    msg = parse_message(RAW)
    assert isinstance(msg, SipRequest)
    p = proxy_from_json(VECTOR["proxy"])
    run = evaluate(msg, p, parse_script("loose_route()"), received_on="udp:127.0.0.1:5060")
    assert run.results[0].rc == 1
    assert compare({"rc": 1, "du": "x"}, run.fields) == ["du"]
    assert compare({"rc": 1, "other": 5}, run.fields) == []
    assert compare({}, run.fields) == []
