"""engine/script.py: the rr calls of a proxy's request_route, as data."""

from __future__ import annotations

import pytest

from engine.errors import ScriptError
from engine.message import SipRequest, parse_message
from engine.proxy import Proxy
from engine.rr import Context
from engine.script import Call, parse_call, parse_script, run_call, run_script

PROXY = Proxy.build(listen=["udp:127.0.0.1:5060"])
REQUEST = parse_message(
    "BYE sip:b@10.0.0.2 SIP/2.0\r\nFrom: <sip:a@x>;tag=f\r\nTo: <sip:b@y>;tag=t\r\n"
    "Route: <sip:127.0.0.1;lr;nat=yes>\r\n\r\n"
)
assert isinstance(REQUEST, SipRequest)


@pytest.mark.parametrize(
    ("text", "calls"),
    [
        pytest.param("loose_route()", [Call("loose_route")], id="one"),
        pytest.param(
            'record_route(";a=1;b") ; loose_route()',
            [Call("record_route", (";a=1;b",)), Call("loose_route")],
            id="semicolons-in-quotes",
        ),
        pytest.param(
            'setflag(3);record_route_preset("1.2.3.4", "5.6.7.8")',
            [Call("setflag", (3,)), Call("record_route_preset", ("1.2.3.4", "5.6.7.8"))],
            id="int-and-two-strings",
        ),
        pytest.param(
            'check_route_param("a\\"b(c)")', [Call("check_route_param", ('a"b(c)',))], id="escapes"
        ),
        pytest.param("loose_route_mode(-1)", [Call("loose_route_mode", (-1,))], id="negative"),
        pytest.param(" ;; ", [], id="empty-statements"),
    ],
)
def test_parse_script(text: str, calls: list[Call]) -> None:
    assert list(parse_script(text)) == calls


def test_parse_script_list_form() -> None:
    assert parse_script(["loose_route()", 'record_route(";p=1"); add_rr_param(";x")']) == (
        Call("loose_route"),
        Call("record_route", (";p=1",)),
        Call("add_rr_param", (";x",)),
    )
    assert parse_script(("loose_route()",)) == (Call("loose_route"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("record_route(", r"expected name\(arguments\)", id="open-paren"),
        pytest.param("lose_route()", "did you mean loose_route", id="typo"),
        pytest.param("frobnicate()", "unknown function frobnicate", id="unknown"),
        pytest.param("loose_route(1)", "takes 0..0 arguments, got 1", id="too-many"),
        pytest.param("is_direction()", "takes 1..1 arguments, got 0", id="too-few"),
        pytest.param("record_route(p)", "must be", id="bare-word"),
        # Regression (fuzz): int() refused 5000 digits with ValueError, not ScriptError.
        pytest.param("setflag(" + "9" * 5000 + ")", "too large", id="huge-int"),
        pytest.param("setflag(\u0665)", "must be", id="unicode-digit"),
    ],
)
def test_parse_script_errors(text: str, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        parse_script(text)


def test_parse_script_rejects_non_strings() -> None:
    # Regression (fuzz): a list item that is not a string raised TypeError.
    with pytest.raises(ScriptError, match="statement 2: expected a string"):
        parse_script(["loose_route()", 7])  # type: ignore[list-item]


def test_call_text_and_statement_numbers() -> None:
    assert str(Call("record_route_preset", ("a", 2))) == 'record_route_preset("a", 2)'
    with pytest.raises(ScriptError, match="statement 4 'nope'"):
        parse_call("nope", 4)


def test_run_script_in_order() -> None:
    ctx = Context.start(REQUEST, PROXY)
    calls = parse_script(
        'setflag(2); setflag(5); resetflag(2); loose_route(); check_route_param("nat=yes");'
        'is_direction("downstream"); record_route()'
    )
    final, results = run_script(ctx, calls)
    assert [r.function for r in results] == [
        "setflag",
        "setflag",
        "resetflag",
        "loose_route",
        "check_route_param",
        "is_direction",
        "record_route",
    ]
    assert [r.rc for r in results] == [1, 1, 1, 1, 1, 1, 1]
    assert final.flags == 1 << 5
    assert final.record_routes == ("<sip:127.0.0.1;lr;ftag=f>",)
    assert results[0].steps[0].text == "setflag(2): message flag 2."


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(Call("setflag", (64,)), "flag must be 0..63", id="flag-range"),
        pytest.param(Call("setflag", ("x",)), "must be an integer", id="flag-not-int"),
        pytest.param(Call("record_route", (1,)), "must be a string", id="params-not-string"),
    ],
)
def test_run_call_errors(call: Call, message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        run_call(Context.start(REQUEST, PROXY), call)


def test_int_arguments_given_as_strings() -> None:
    ctx, res = run_call(Context.start(REQUEST, PROXY), Call("loose_route_mode", ("1",)))
    assert res.function == "loose_route_mode(1)"
    assert ctx.routes == Context.start(REQUEST, PROXY).routes
