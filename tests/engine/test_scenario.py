"""Scenario files: the model, load/save round trips, and errors that name the exact place."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import resources
from engine.errors import ScenarioError
from engine.message import Header
from engine.proxy import Outbound, RrParams, parse_socket
from engine.scenario import (
    FORMAT,
    ProxyNode,
    RequestSpec,
    Scenario,
    UserAgent,
    check,
    dumps,
    loads,
    to_jsonable,
)


def base() -> dict[str, Any]:
    return {
        "format": 1,
        "title": "Base",
        "user_agents": [
            {"name": "Alice", "address": "udp:192.0.2.10:5060", "contact": "sip:alice@192.0.2.10"},
            {"name": "Bob", "address": "udp:192.0.2.20:5060", "contact": "sip:bob@192.0.2.20"},
        ],
        "proxies": [
            {"name": "P1", "listen": ["udp:192.0.2.1:5060"]},
            {"name": "P2", "listen": ["udp:192.0.2.2:5060"]},
            {"name": "P3", "listen": ["udp:192.0.2.3:5060", "tcp:192.0.2.3:5060"]},
        ],
        "names": {"p1.example.com": "P1"},
        "dialog": {"method": "INVITE", "from": "Alice", "to": "Bob"},
        "requests": [{"method": "ACK", "from": "Alice"}, {"method": "BYE", "from": "Bob"}],
    }


def error_of(data: object) -> ScenarioError:
    text = data if isinstance(data, str) else json.dumps(data)
    with pytest.raises(ScenarioError) as info:
        loads(text)
    return info.value


def edited(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = base()
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


# --------------------------------------------------------------------------
# the model


def test_loads_builds_the_model() -> None:
    s = loads(json.dumps(base()))
    assert s.title == "Base"
    assert [u.name for u in s.user_agents] == ["Alice", "Bob"]
    assert s.proxies[2].listen[1] == parse_socket("tcp:192.0.2.3:5060")
    assert s.proxies[0].rr == RrParams()
    assert s.proxies[0].profile == "kamailio-default"
    assert s.names == (("p1.example.com", "P1"),)
    assert s.dialog == RequestSpec(method="INVITE", sender="Alice", recipient="Bob")
    assert s.requests[1].sender == "Bob"
    assert s.element_names == ("Alice", "Bob", "P1", "P2", "P3")
    assert s.proxy("P2") is s.proxies[1]
    assert s.user_agent("Zed") is None


def test_every_key_round_trips() -> None:
    data = base()
    data["description"] = "Line one.\nLine two."
    data["highlights"] = ["one", "two"]
    data["call_id"] = "abc@host"
    data["user_agents"][0].update(
        aor="sip:alice@atlanta.example.com",
        display="Alice Smith",
        outbound_proxy="sip:p1.example.com;lr",
        route_style="comma",
        lr_on_as_strict=True,
    )
    data["proxies"][0].update(
        aliases=["proxy.example.com", "udp:pbx.example.org:5090"],
        rr={"enable_double_rr": 2, "append_fromtag": 0, "custom_user_avp": "$avp(u)"},
        outbound={"flow_token_secret": "s", "force_outbound_flag": 3},
        profile="honour-preloaded",
        loose_route_mode=1,
        record_route_params=";nat=yes",
        forward_to="sip:192.0.2.2",
        location={"sip:bob@example.com": "sip:bob@192.0.2.20"},
    )
    data["proxies"][1].update(
        listen=["udp:192.0.2.2:5060 advertise p2.example.com:5080", "udp:[2001:db8::2]:5060"],
        record_route_preset=["a.example.com;r2=on", "192.0.2.2;r2=on"],
        outbound={},
    )
    data["dialog"].update(
        request_uri="sip:bob@example.com",
        route=["<sip:p1.example.com;lr>"],
        responses=[180, 183, 200],
        headers=["Supported: outbound", "Subject: hi"],
        max_forwards=10,
        note="A note.",
    )
    data["requests"].append(
        {
            "method": "INVITE",
            "from": "Bob",
            "route": ["<sip:192.0.2.1;lr>"],
            "request_uri": "sip:alice@192.0.2.10",
            "contact": "sip:bob@192.0.2.21",
            "responses": [486],
        }
    )
    s = loads(json.dumps(data))
    assert s.proxies[0].outbound == Outbound("s", 3, None)
    assert s.proxies[1].outbound == Outbound()
    assert s.dialog.headers == (Header("Supported", "outbound"), Header("Subject", "hi"))
    text = dumps(s)
    assert loads(text) == s
    assert dumps(loads(text)) == text
    assert text.endswith("}\n")
    assert json.loads(text)["format"] == FORMAT


@pytest.mark.parametrize("name", resources.list_scenarios())
def test_library_load_save_load_is_lossless(name: str) -> None:
    s = loads(resources.scenario_text(name))
    assert loads(dumps(s)) == s


def test_defaults_are_left_out_of_the_file() -> None:
    data = json.loads(dumps(loads(json.dumps(base()))))
    assert "rr" not in data["proxies"][0]
    assert "max_forwards" not in data["dialog"]
    assert data["proxies"][0]["profile"] == "kamailio-default"


def test_the_model_is_replace_friendly_and_check_validates_edits() -> None:
    s = loads(json.dumps(base()))
    p1 = replace(s.proxies[0], profile="deny-preloaded", loose_route_mode=1)
    edited_s = replace(s, proxies=(p1, *s.proxies[1:]))
    check(edited_s)
    assert loads(dumps(edited_s)) == edited_s
    clash = replace(s.proxies[1], name="P1")
    with pytest.raises(ScenarioError, match=r"proxies\[1\]\.name: 'P1' is already the name of"):
        check(replace(s, proxies=(s.proxies[0], clash, s.proxies[2])))
    with pytest.raises(ScenarioError, match="unknown profile"):
        check(replace(s, proxies=(replace(p1, profile="nope"), *s.proxies[1:])))


def test_answers_defaults() -> None:
    assert RequestSpec(method="INVITE", sender="A").answers(initial=True) == (180, 200)
    assert RequestSpec(method="REFER", sender="A").answers(initial=True) == (202,)
    assert RequestSpec(method="ACK", sender="A").answers(initial=False) == ()
    assert RequestSpec(method="INFO", sender="A").answers(initial=False) == (200,)
    assert RequestSpec(method="BYE", sender="A", responses=(481,)).answers(initial=False) == (481,)


def test_proxy_node_as_proxy() -> None:
    node = ProxyNode(name="P", listen=(parse_socket("udp:192.0.2.1:5060"),))
    proxy = node.as_proxy()
    assert proxy.name == "P"
    assert proxy.listen == node.listen
    ua = UserAgent(name="A", address=parse_socket("udp:192.0.2.9:5060"), contact="sip:a@x")
    assert ua.address_of_record == "sip:a@x"


# --------------------------------------------------------------------------
# errors name the exact place


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ("proxies", 2, "listen", 0),
            "udp:192.0.2.3:70000",
            "proxies[2].listen[0]: port 70000 is out of range",
        ),
        (("proxies", 0, "listen", 0), "udp:p1.example.com:5060", "proxies[0].listen[0]: listen"),
        (("proxies", 0, "listen", 0), "quic:192.0.2.1:5060", "proxies[0].listen[0]: listen"),
        (("proxies", 0, "listen"), [], "proxies[0].listen: a proxy needs at least one"),
        (("proxies", 0, "listen"), "udp:192.0.2.1:5060", "proxies[0].listen: expected a list"),
        (("proxies", 1, "name"), "P1", "proxies[1].name: 'P1' is already the name of proxies[0]"),
        (("proxies", 1, "name"), "", "proxies[1].name: '': a name is 1 to 40"),
        (("proxies", 0, "profile"), "kamailio-defualt", "did you mean 'kamailio-default'?"),
        (("proxies", 0, "rr"), {"enable_dobule_rr": 1}, "did you mean 'enable_double_rr'?"),
        (("proxies", 0, "rr"), {"enable_double_rr": 3}, "proxies[0].rr.enable_double_rr: 3"),
        (("proxies", 0, "rr"), {"loose_route_mode": 1}, "loose_route_mode key instead"),
        (("proxies", 0, "rr"), {"append_fromtag": True}, "expected an integer, got a boolean"),
        (("proxies", 0, "loose_route_mode"), -1, "proxies[0].loose_route_mode: -1 is out of"),
        (("proxies", 0, "record_route_params"), "nat=yes", "must start with ';'"),
        (("proxies", 0, "record_route_preset"), ["a", "b", "c"], "one or two addresses"),
        (("proxies", 0, "record_route_preset"), ["bob@x"], "without scheme or user part"),
        (("proxies", 0, "forward_to"), "tel:+1555", "must be a sip: or sips: URI"),
        (("proxies", 0, "location"), {"sip:a@x": "bogus"}, 'proxies[0].location["sip:a@x"]'),
        (("proxies", 0, "outbound"), {"force_outbound_flag": 99}, "force_outbound_flag: 99"),
        (("proxies", 0, "aliases"), ["bad host!"], "proxies[0].aliases[0]:"),
        (("proxies", 1, "listen", 0), "udp:192.0.2.1:5060", "is already used by P1"),
        (("user_agents", 0, "contact"), "alice", "user_agents[0].contact: not a SIP URI"),
        (("user_agents", 0, "route_style"), "semicolon", "'semicolon' is not one of lines, comma"),
        (("user_agents", 0, "lr_on_as_strict"), "yes", "expected true or false, got a string"),
        (("user_agents", 0, "display"), 'A "B"', "a display name cannot contain"),
        (("user_agents", 1, "address"), "udp:192.0.2.10:5060", "is already used by Alice"),
        (("user_agents", 0, "nmae"), "x", "unknown key 'nmae' (did you mean 'name'?)"),
        (("dialog", "method"), "BYE", "dialog.method: BYE does not create a dialog"),
        (("dialog", "method"), "invite", "not a SIP method in upper case"),
        (("dialog", "from"), "P1", "dialog.from: 'P1' is a proxy, not a user agent"),
        (("dialog", "to"), "Bobb", "dialog.to: 'Bobb' is not a user agent (did you mean 'Bob'?)"),
        (("dialog", "responses"), [200, 180], "dialog.responses[0]: 200: only provisional"),
        (("dialog", "responses"), [180], "dialog.responses[0]: 180: the last response must be"),
        (("dialog", "responses"), [], "dialog.responses: give at least the final response"),
        (("dialog", "responses"), [99], "dialog.responses[0]: 99 is out of range"),
        (("dialog", "route"), ["sip:p1;lr"], "dialog.route[0]: not a Route value <uri>"),
        (("dialog", "headers"), ["NoColon"], "dialog.headers[0]: expected 'Name: value'"),
        (("dialog", "max_forwards"), 256, "dialog.max_forwards: 256 is out of range"),
        (("dialog", "request_uri"), "sip:bob@x\r\nEvil: 1", "control character"),
        (("requests", 0, "responses"), [200], "requests[0].responses: an ACK gets no response"),
        (("requests", 1, "responses"), [180, 200], "takes only its final response"),
        (("requests", 1, "from"), "P2", "requests[1].from: 'P2' is not a party of the dialog"),
        (("requests", 1, "to"), "Alice", "requests[1]: unknown key 'to'"),
        (("requests", 1, "method"), "REGISTER", "REGISTER is not an in-dialog request"),
        (("names",), {"p1.example.com": "P9"}, 'names["p1.example.com"]: no element is called'),
        (("names",), {"bad host!": "P1"}, "is not a host name"),
        (("names",), {"a.example.com": "P1", "A.example.com": "P2"}, "is listed twice"),
        (("title",), 7, "title: expected a string, got a number"),
        (("highlights",), "one", "highlights: expected a list"),
        (("call_id",), "two words", "call_id: a Call-ID is one word"),
        (("format",), 2, "format: this RouteLab reads scenario format 1, not 2"),
        (("format",), True, "format: this RouteLab reads scenario format 1, not true"),
        (("proxies",), {"P1": {}}, "proxies: expected a list, got an object"),
        (("proxies", 0), ["P1"], "proxies[0]: expected a proxy (an object), got a list"),
    ],
)
def test_error_names_the_place(path: tuple[Any, ...], value: Any, message: str) -> None:
    err = error_of(edited(path, value))
    assert message in str(err)


def test_add_username_with_the_outbound_module_is_refused_as_kamailio_refuses_it() -> None:
    # Seen on 5.6.3: rr's mod_init says 'cannot use "add_username" with outbound' and the
    # proxy does not start (found by the session 7 chain sweep once add_username was drawn).
    data = edited(("proxies", 0, "rr"), {"add_username": 1})
    loads(json.dumps(data))  # alone it is fine
    data["proxies"][0]["outbound"] = {"flow_token_secret": "s"}
    err = error_of(data)
    assert err.path == "proxies[0].rr.add_username"
    assert "refuses to start" in err.what


def test_the_issue_example_message_exactly() -> None:
    err = error_of(edited(("proxies", 2, "listen", 0), "udp:192.0.2.3:70000"))
    assert str(err) == "proxies[2].listen[0]: port 70000 is out of range"
    assert err.path == "proxies[2].listen[0]"
    assert err.what == "port 70000 is out of range"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ("[]", "expected a scenario (an object), got a list"),
        ("null", "got null"),
        ('{"format": 1}', "missing key 'title'"),
        ('{"title": "x"}', "missing key 'format'"),
        ('{"format": 1, "title": "t", "title": "u"}', "duplicate key 'title'"),
        ('{"format": NaN}', "NaN is not valid JSON"),
        ('{"format": Infinity}', "Infinity is not valid JSON"),
        ('{"format": 1e400}', "the number 1e400 is too large"),
        ('{"format": ' + "9" * 5000 + "}", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"format": 1, "title": "t", "dialog": {}}', "dialog: missing key 'method'"),
        ('{"format": 1, "titel": "t"}', "unknown key 'titel' (did you mean 'title'?)"),
    ],
)
def test_bad_documents(text: str, message: str) -> None:
    assert message in str(error_of(text))


def test_too_long_and_not_text() -> None:
    assert "too long" in str(error_of(" " * 1_000_001))
    with pytest.raises(ScenarioError, match="expected the scenario as text"):
        loads(b"{}")  # type: ignore[arg-type]


def test_huge_lists_are_refused() -> None:
    data = edited(("requests",), [{"method": "INFO", "from": "Alice"}] * 201)
    assert "201 entries is too many" in str(error_of(data))


def test_huge_integers_are_refused_cleanly() -> None:
    err = error_of(edited(("dialog", "max_forwards"), 10**40))
    assert str(err) == "dialog.max_forwards: a number is out of range (0..255)"


# --------------------------------------------------------------------------
# the parser contract: any JSON text gives a Scenario or a ScenarioError


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def _contract(text: str) -> None:
    try:
        s = loads(text)
    except ScenarioError:
        return
    assert isinstance(s, Scenario)
    assert loads(dumps(s)) == s


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_gives_a_scenario_or_a_scenario_error(value: Any) -> None:
    _contract(json.dumps(value))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_a_scenario_or_a_scenario_error(text: str) -> None:
    _contract(text)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


LIBRARY_DATA = [json.loads(resources.scenario_text(n)) for n in resources.list_scenarios()]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_library_scenarios_keep_the_contract(data: st.DataObject) -> None:
    doc = copy.deepcopy(data.draw(st.sampled_from(LIBRARY_DATA)))
    paths = _paths(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        node: Any = doc
        try:
            for key in path[:-1]:
                node = node[key]
            action = data.draw(st.sampled_from(["replace", "delete", "string"]))
            if action == "delete" and isinstance(node, dict):
                del node[path[-1]]
            elif action == "string" and isinstance(node[path[-1]], str):
                node[path[-1]] = data.draw(st.text(max_size=30))
            else:
                node[path[-1]] = data.draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue
    _contract(json.dumps(doc))


def test_to_jsonable_is_plain_data() -> None:
    s = loads(resources.scenario_text("tour"))
    assert json.loads(json.dumps(to_jsonable(s))) == to_jsonable(s)


# --------------------------------------------------------------------------
# review fixes: one set of validators for loads() and check(), addresses, contacts


def test_a_user_agent_clashes_with_a_proxy_socket_of_any_transport() -> None:
    # simulate finds a user agent by host and port alone: a proxy's TCP socket on Bob's UDP
    # address would send the proxy's traffic to Bob.
    data = edited(("proxies", 2, "listen"), ["tcp:192.0.2.20:5060"])
    err = error_of(data)
    assert err.path == "proxies[2].listen[0]"
    assert "already used by Bob" in str(err)
    # Two proxies may share host and port over different transports.
    ok = edited(("proxies", 2, "listen"), ["tcp:192.0.2.1:5060"])
    assert loads(json.dumps(ok)).proxies[2].listen[0].proto == "tcp"


def test_contact_only_on_a_target_refresh_request() -> None:
    data = base()
    data["requests"][1]["contact"] = "sip:bob@192.0.2.99"
    err = error_of(data)
    assert err.path == "requests[1].contact"
    assert "a BYE is not a target refresh request" in str(err)
    data["requests"][1]["method"] = "UPDATE"
    assert loads(json.dumps(data)).requests[1].contact == "sip:bob@192.0.2.99"
    s = loads(json.dumps(base()))
    bye = RequestSpec(method="BYE", sender="Bob", contact="sip:bob@192.0.2.99")
    with pytest.raises(ScenarioError) as info:
        check(replace(s, requests=(bye,)))
    assert info.value.path == "requests[0].contact"


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda s: replace(s, dialog=replace(s.dialog, method="BYE")), "dialog.method"),
        (lambda s: replace(s, proxies=(replace(s.proxies[0], listen=()), *s.proxies[1:])),
         "proxies[0].listen"),
        (lambda s: replace(s, user_agents=(replace(s.user_agents[0], contact="nonsense"),
                                           s.user_agents[1])), "user_agents[0].contact"),
        (lambda s: replace(s, call_id="a b"), "call_id"),
        (lambda s: replace(s, proxies=(replace(s.proxies[0], profile="nope"), *s.proxies[1:])),
         "proxies[0].profile"),
    ],
    ids=["dialog-method", "no-listen", "contact", "call-id", "profile"],
)  # fmt: skip
def test_check_finds_what_loads_finds_at_the_same_place(edit: Any, where: str) -> None:
    s = loads(json.dumps(base()))
    with pytest.raises(ScenarioError) as info:
        check(edit(s))
    assert info.value.path == where


def test_shared_validators() -> None:
    from engine.scenario import is_call_id, is_element_name, is_method

    assert is_element_name("P1 2")
    assert not is_element_name("P1/2")
    assert is_method("INFO")
    assert not is_method("info")
    assert is_call_id("x" * 200)
    assert not is_call_id("x" * 201)
    assert not is_call_id("a\u00a0b")


TOUR_TEXT = resources.scenario_text("tour")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            TOUR_TEXT.replace('"title": "', '"title": "\\ud800', 1),
            "title: the escape \\ud800 is a lone surrogate, not a character",
        ),
        (TOUR_TEXT.replace('"title":', '// why\n  "title":', 1), "a comment (JSON has none) at"),
        (
            TOUR_TEXT.rstrip().removesuffix("}").rstrip() + ",\n}",
            "a comma before '}' (JSON allows no trailing comma) at",
        ),
        (TOUR_TEXT.replace('"title": "', '"title": "\t', 1), "Invalid control character at line"),
    ],
    ids=["lone-surrogate", "comment", "trailing-comma", "control-character"],
)
def test_what_json_cannot_hold_is_said_where(text: str, said: str) -> None:
    with pytest.raises(ScenarioError) as info:
        loads(text)
    assert said in str(info.value)
    assert " at at " not in str(info.value)


def test_a_byte_order_mark_is_read_past() -> None:
    assert loads("\ufeff" + TOUR_TEXT) == loads(TOUR_TEXT)


@pytest.mark.parametrize(
    ("edit", "where", "said"),
    [
        (("user_agents", 0, "contact"), "user_agents[0].contact", "a blank is not allowed"),
        (("dialog", "route"), "dialog.route[0]", "'\"' is not allowed"),
        (("dialog", "headers"), "dialog.headers[0]", "RouteLab writes Call-ID itself"),
    ],
)
def test_malformed_uris_and_written_headers_are_refused(
    edit: tuple[Any, ...], where: str, said: str
) -> None:
    data = json.loads(TOUR_TEXT)
    values = {
        "contact": "sip:alice @192.0.2.10",
        "route": ['<sip:al"ice@192.0.2.1;lr>'],
        "headers": ["Call-ID: another"],
    }
    target = data
    for key in edit[:-1]:
        target = target[key]
    target[edit[-1]] = values[edit[-1]]
    with pytest.raises(ScenarioError) as info:
        loads(json.dumps(data))
    assert info.value.path == where
    assert said in str(info.value)


@pytest.mark.parametrize(
    ("edit", "where", "said"),
    [
        (lambda d: d["user_agents"][0].update(address="tcp:192.0.2.1:5060"),
         "proxies[0].listen[0]", "a user agent takes its host and port for every transport"),
        (lambda d: d["proxies"][0].update(record_route_preset=["sip:p1.example.com"]),
         "proxies[0].record_route_preset[0]", "without the scheme"),
        (lambda d: d["proxies"][0].update(aliases=["xyz:p1.example.com"]),
         "proxies[0].aliases[0]", "'xyz' is not a protocol"),
        (lambda d: d["proxies"][0].update(listen=["udp:192.0.2.1:5060 advertise"]),
         "proxies[0].listen[0]", "advertise needs host[:port] after it"),
        (lambda d: d["proxies"][0].update(listen=["udp:2001:db8::3:5060"]),
         "proxies[0].listen[0]", "brackets: [2001:db8::3:5060] or [2001:db8::3]:5060"),
        (lambda d: d["dialog"].update(max_forwards=70.5), "dialog.max_forwards", "number 70.5"),
        (lambda d: d.update(title="  "), "title", "empty"),
        (lambda d: d.update(format=1.0), "format", "reads scenario format 1, not 1.0"),
        (lambda d: d["proxies"][0].update(listen=["udp:192.0.2.1:5060"] * 2),
         "proxies[0].listen[1]", "(listed twice)"),
        (lambda d: d["proxies"][0].update(
            listen=['udp:192.0.2.1:5060 name "a"', 'udp:192.0.2.1:5070 name "A"']),
         "proxies[0].listen[1]", "another socket is named 'A'"),
    ],
    ids=["ua-any-transport", "preset-scheme", "alias-protocol", "advertise-alone", "ipv6-brackets",
         "float", "empty-title", "format-float", "socket-twice", "socket-name-twice"],
)  # fmt: skip
def test_a_wrong_value_is_said_in_the_words_of_what_to_write(
    edit: Any, where: str, said: str
) -> None:
    data = json.loads(TOUR_TEXT)
    edit(data)
    with pytest.raises(ScenarioError) as info:
        loads(json.dumps(data))
    assert info.value.path == where
    assert said in str(info.value)
