"""engine.pv: pseudo-variables in the rr functions' formats.

What each pseudo-variable gives on a real Kamailio 5.6.3 is pinned by the recorded ``RL-PV-*``
vectors (tests/data/vectors); this file keeps the formats Kamailio refuses to start with (they
cannot be recorded), the ones RouteLab does not model, and how the steps say it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import ScenarioError, ScriptError
from engine.pv import MODELLED, NULL, Pv, parse_format
from engine.rr import loose_route, record_route
from engine.scenario import loads
from engine.script import parse_script, run_script
from engine.simulate import simulate
from tests.engine.test_rr import request, start

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("", ()),
        (";p=1", (";p=1",)),
        ("$$", ("$",)),
        (";x=$ci", (";x=", Pv("ci", None, "$ci"))),
        ("$ci$ft", (Pv("ci", None, "$ci"), Pv("ft", None, "$ft"))),
        (";h=$hdr(Call-ID);", (";h=", Pv("hdr", "Call-ID", "$hdr(Call-ID)"), ";")),
        ("$ci{", (Pv("ci", None, "$ci"), "{")),  # seen on 5.6.3: the brace is text
        ("$ci)", (Pv("ci", None, "$ci"), ")")),
        (";$$x=$rU", (";$x=", Pv("rU", None, "$rU"))),
    ],
)
def test_formats(text: str, pieces: tuple[object, ...]) -> None:
    assert parse_format(text) == pieces


# Seen on 5.6.3: each of these stops Kamailio from starting ("wrong format").
@pytest.mark.parametrize(
    ("text", "says"),
    [
        (";x=a$b", "$b is not a pseudo-variable RouteLab models"),
        (";x=$fooo", "$fooo is not a pseudo-variable RouteLab models"),
        (";x=$", "a '$' that starts no pseudo-variable"),
        (";x=$$$", "a '$' that starts no pseudo-variable"),
        (";x=$ sp", "a '$' that starts no pseudo-variable"),
        (";x=$hdr(To", "$hdr( without its ')'"),
        (";x=$var(x", "$var( without its ')'"),
        (";x=$(ci", "a '$(' without its ')'"),
        (";x=$rdir(foo)", "$rdir(foo): the rr module knows $rdir(id) and $rdir(name)"),
        (";x=$rdir(ID)", "$rdir(ID): the rr module knows"),
    ],
)
def test_formats_kamailio_refuses(text: str, says: str) -> None:
    with pytest.raises(ScriptError) as info:
        parse_format(text)
    assert says in str(info.value)
    if "RouteLab models" not in says:
        assert "Kamailio 5.6.3 refuses to start ('wrong format')" in str(info.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (";x=$(ci{s.len})", "does not model the $(...) forms"),  # Kamailio takes these
        (";x=$(ci)", "does not model the $(...) forms"),
        (";x=$sel(via[1].branch)", "$sel is not a pseudo-variable RouteLab models"),
        (";x=$hdr", "write $hdr(name)"),
        (";x=$ci(1)", "write $ci"),
        (";x=$rdir", "write $rdir(name)"),  # Kamailio: "expects an inner name"
        (";x=$route_uri(a)", "write $route_uri"),  # "does not get name param"
        (";x=$fti(a)", "write $fti"),
    ],
)
def test_formats_routelab_does_not_model(text: str, says: str) -> None:
    with pytest.raises(ScriptError) as info:
        parse_format(text)
    assert says in str(info.value)


def test_a_near_miss_gets_a_suggestion() -> None:
    with pytest.raises(ScriptError) as info:
        parse_format(";did=$cid")
    assert "$cid is not a pseudo-variable RouteLab models (did you mean $ci?)" in str(info.value)


def test_a_script_with_a_refused_format_is_refused_where_it_is_read() -> None:
    with pytest.raises(ScriptError) as info:
        parse_script('loose_route(); add_rr_param(";x=a$b")')
    assert str(info.value).startswith("statement 2 'add_rr_param(\";x=a$b\")': ';x=a$b': $b")
    # check_route_param() takes a regular expression, where '$' is an anchor.
    assert parse_script('check_route_param("lr$")')[0].args == ("lr$",)


def test_the_step_says_the_format_and_what_it_gave() -> None:
    ctx = start(request([], in_dialog=False))
    _, res = record_route(ctx, ";x=$ci;t=$tt")
    (filled,) = [s for s in res.steps if s.rule == "pv-filled"]
    assert filled.text == (
        "The parameter text ';x=$ci;t=$tt' is a format: Kamailio fills in its pseudo-variables "
        f"when record_route() runs ($ci (Call-ID) is spec@example.org; $tt (To tag) is {NULL}), "
        f"which gives ';x=spec@example.org;t={NULL}'."
    )
    _, res = record_route(ctx, ";x=1")
    assert not [s for s in res.steps if s.rule == "pv-filled"]


def test_add_rr_param_fills_in_before_it_buffers_and_after_it_appends() -> None:
    ctx = start(request([], in_dialog=False))
    final, results = run_script(
        ctx, parse_script('add_rr_param(";a=$fU"); record_route(); add_rr_param(";m=$rm")')
    )
    assert final.record_routes == ("<sip:127.0.0.1;lr;ftag=f-caller;a=caller;m=INVITE>",)
    assert [r.rc for r in results] == [1, 1, 1]


def test_every_modelled_name_is_recorded_on_a_real_kamailio() -> None:
    lines = (ROOT / "tests" / "data" / "vectors" / "kamailio-5.6.3-findings.jsonl").read_text()
    recorded = "".join(
        " ".join(v["script"])
        for v in map(json.loads, lines.splitlines())
        if v["id"].startswith(("RL-PV", "RL-RRPV"))
    )
    for name in MODELLED:
        assert f"${name}" in recorded, name


@pytest.mark.parametrize(
    ("from_tag", "to_tag", "expected"),
    [
        ("f-caller", "t-callee", "1,downstream,f-caller,t-callee"),  # ftag is the From tag
        ("t-callee", "f-caller", "2,upstream,f-caller,t-callee"),  # upstream: tags swapped
    ],
)
def test_the_rr_modules_own_pseudo_variables_RL_RRPV(  # noqa: N802
    from_tag: str, to_tag: str, expected: str
) -> None:
    fmt = ";d=$rdir(id),$rdir(name),$fti,$tti;u=$route_uri"
    routes = ["<sip:127.0.0.1;lr;ftag=f-caller>", "<sip:p2.example.net;lr>"]
    ctx = start(request(routes, from_tag=from_tag, to_tag=to_tag))
    for ctx_now in (ctx, loose_route(ctx)[0]):  # $route_uri: the Route as it came
        _, res = record_route(ctx_now, fmt)
        assert res.added[0].endswith(f";d={expected};u=sip:127.0.0.1;lr;ftag=f-caller>")
    # No Route: $route_uri is empty (not <null>); no To tag: $tti is <null>.
    _, res = record_route(start(request([], in_dialog=False)), ";u=$route_uri;t=$tti")
    assert res.added[0].endswith(f";u=;t={NULL}>")


def _scenario(**proxy: object) -> str:
    data = json.loads((ROOT / "resources" / "scenarios" / "no-record-route.json").read_text())
    data["proxies"][0].update(proxy)
    data["proxies"][0]["profile"] = "kamailio-default"
    return json.dumps(data)


def test_a_scenario_proxy_record_routes_with_a_format() -> None:
    trace = simulate(loads(_scenario(record_route_params=";c=$ci;u=$fU")))
    step = next(s for s in trace.steps if s.element == "P1" and s.record_routes_added)
    call_id = trace.steps[0].message_out.split("Call-ID: ")[1].split("\r\n")[0]
    assert step.record_routes_added[0].endswith(f";c={call_id};u=alice>")
    step = next(
        s
        for s in simulate(loads(_scenario(record_route_preset=["$Ri"]))).steps
        if s.record_routes_added
    )
    assert step.record_routes_added[0].startswith("<sip:192.0.2.1;")


def test_a_scenario_with_a_refused_format_says_where() -> None:
    with pytest.raises(ScenarioError) as info:
        loads(_scenario(record_route_params=";c=$nope"))
    assert info.value.path == "proxies[0].record_route_params"
    with pytest.raises(ScenarioError) as info:
        loads(_scenario(record_route_preset=["$hdr(To"]))
    assert info.value.path == "proxies[0].record_route_preset[0]"
