"""engine.kamcfg: a scenario's proxy as the kamailio.cfg that runs it.

Kamailio itself reads these configs in tests/differential/test_chain.py: it accepts every one
the library's scenarios give, and the chain runs play scenarios on proxies running them.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from engine.kamcfg import (
    CORE_DEFAULTS,
    MODULES,
    config_name,
    proxy_config,
    scenario_configs,
    script_marks,
)
from engine.profiles import PROFILES, Kind
from engine.scenario import ProxyNode, loads
from engine.simulate import simulate
from engine.trace import StepKind

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = sorted((ROOT / "resources" / "scenarios").glob("*.json"))


def node(**extra: object) -> ProxyNode:
    """The proxy of a one-proxy scenario: P2 on 192.0.2.2, ``extra`` its other keys."""
    data = json.loads((ROOT / "resources" / "scenarios" / "no-record-route.json").read_text())
    data["user_agents"][0].pop("outbound_proxy")
    data["proxies"] = [{"name": "P2", "listen": ["udp:192.0.2.2:5060"], **extra}]
    return loads(json.dumps(data)).proxies[0]


def test_sockets_aliases_modparams_and_the_location_table() -> None:
    cfg = proxy_config(
        node(
            listen=["udp:192.0.2.2:5060", 'tcp:192.0.2.2:5070 advertise 203.0.113.2 name "lan"'],
            aliases=["biloxi.example.com", "udp:b.example.com:5080"],
            rr={"enable_full_lr": 1, "custom_user_avp": "$avp(u)"},
            outbound={"flow_token_secret": "s3", "force_outbound_flag": 2},
            location={"sip:bob@Biloxi.example.com": "sip:bob@192.0.2.20"},
        ),
        title="Bob's phone",
    )
    lines = cfg.splitlines()
    assert lines[0] == "#!KAMAILIO"
    assert '# P2: written by RouteLab from the scenario "Bob\'s phone"' in lines
    assert cfg.count("listen=") == 2
    assert 'listen=tcp:192.0.2.2:5070 advertise 203.0.113.2 name "lan"' in lines
    assert "alias=biloxi.example.com" in lines
    assert "alias=udp:b.example.com:5080" in lines
    assert "disable_tcp=no" in lines
    assert any(line.startswith("auto_aliases=no") for line in lines)
    assert 'modparam("rr", "enable_full_lr", 1)' in lines
    assert 'modparam("rr", "custom_user_avp", "$avp(u)")' in lines
    assert not any('"append_fromtag"' in line for line in lines), "defaults are left out"
    assert 'modparam("outbound", "flow_token_secret", "s3")' in lines
    assert 'modparam("outbound", "force_outbound_flag", 2)' in lines
    loaded = re.findall(r'^loadmodule "(\w+)\.so"$', cfg, re.M)
    assert loaded == ["tm", "sl", "outbound", "rr", *MODULES[3:]]
    # The location service as the simulation looks it up: user as written, host in any case.
    assert (
        '        if ($rU == "bob" && $(rd{s.tolower}) == "biloxi.example.com") '
        '{ $ru = "sip:bob@192.0.2.20"; $var(found) = 1; }'
    ) in lines
    assert 'lookup("location")' not in cfg.replace('call lookup("location")', "")
    assert "kamailio-outbound-modules" in cfg
    assert "Start: kamailio -DD -E -f P2.cfg" in cfg


def test_without_outbound_nor_tcp() -> None:
    cfg = proxy_config(node())
    assert "outbound" not in cfg
    assert "disable_tcp=yes" in cfg.splitlines()
    assert "# (the scenario gives P2 no entries)" in cfg
    assert "written by RouteLab\n" in cfg, "no scenario title, no 'from the scenario'"


def test_core_values_are_replaced_by_name_and_the_rest_kept() -> None:
    shown = proxy_config(node())
    logged = proxy_config(node(), core={"debug": "1", "log_stderror": "yes"})
    for name, value in CORE_DEFAULTS.items():
        assert f"\n{name}={value}\n" in shown
    assert "\ndebug=1\nlog_stderror=yes\nchildren=2\n" in logged
    assert logged.replace("debug=1\nlog_stderror=yes", "debug=2\nlog_stderror=no") == shown


def test_user_text_is_quoted_for_kamailio() -> None:
    cfg = proxy_config(node(record_route_params=';x="ab"', forward_to="sip:next.example.com;t=\\d"))
    assert 'record_route(";x=\\"ab\\"");' in cfg
    assert '$du = "sip:next.example.com;t=\\\\d";' in cfg


def test_pseudo_variables_are_written_for_kamailio_to_fill_in() -> None:
    cfg = proxy_config(node(record_route_params=";did=$ci"))
    assert 'record_route(";did=$ci");' in cfg
    assert 'record_route_preset("$Ri:$Rp");' in proxy_config(node(record_route_preset=["$Ri:$Rp"]))


def test_record_route_preset_and_loose_route_mode() -> None:
    cfg = proxy_config(node(record_route_preset=["192.0.2.2", "[2001:db8::2]"], loose_route_mode=1))
    assert 'record_route_preset("192.0.2.2", "[2001:db8::2]");' in cfg
    assert "if (loose_route_mode(1)) {" in cfg
    assert "loose_route()" not in cfg


def test_an_element_that_is_not_kamailio_is_described_not_configured() -> None:
    # (scenario_configs() names its file NAME.txt: test_every_proxy_of_the_library_has_its_config)
    cfg = proxy_config(node(profile="rfc2543-strict"), title="t")
    assert not cfg.startswith("#!KAMAILIO")
    assert "there is no Kamailio config to run" in cfg
    assert "listen=" not in cfg
    assert "loadmodule" not in cfg


@pytest.mark.parametrize("name", ["P1", "edge proxy", "x..y", "A+B", "1-.x ."])
def test_file_names_are_safe(name: str) -> None:
    stem = config_name(node(name=name)).removesuffix(".cfg")
    assert stem
    assert re.fullmatch(r"[A-Za-z0-9._-]+", stem)
    assert not stem.startswith(".")


def test_names_that_make_the_same_file_name_get_numbers() -> None:
    data = json.loads((ROOT / "resources" / "scenarios" / "no-record-route.json").read_text())
    data["user_agents"][0].pop("outbound_proxy")
    listen = [["udp:192.0.2.2:5060"], ["udp:192.0.2.3:5060"], ["udp:192.0.2.4:5060"]]
    names = ["P 1", "P-1", "P  1"]
    data["proxies"] = [{"name": n, "listen": s} for n, s in zip(names, listen, strict=True)]
    configs = scenario_configs(loads(json.dumps(data)))
    assert [c.name for c in configs] == ["P-1.cfg", "P-1-2.cfg", "P-1-3.cfg"]
    assert "kamailio -DD -E -f P-1-2.cfg" in configs[1].text


@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_every_proxy_of_the_library_has_its_config(path: Path) -> None:
    scenario = loads(path.read_text(encoding="utf-8"))
    configs = scenario_configs(scenario)
    assert len({c.name for c in configs}) == len(configs)
    for proxy, config in zip(scenario.proxies, configs, strict=True):
        assert config.kamailio is (PROFILES[proxy.profile].kind is Kind.KAMAILIO)
        stem = config_name(proxy).removesuffix(".cfg")
        assert config.name == stem + (".cfg" if config.kamailio else ".txt")
        assert f'from the scenario "{scenario.title}"' in config.text
        if config.kamailio:
            assert all(f"listen={s.describe()}" in config.text for s in proxy.listen)
            assert config.text.count("request_route {") == 1


def _ran(scenario: str, element: str, label: str, number: int = 0) -> list[str]:
    """The config lines script_marks() gives for the ``number``-th step of request ``label``
    at ``element`` in a library scenario, without their comments."""
    loaded = loads((ROOT / "resources" / "scenarios" / f"{scenario}.json").read_text())
    configs = dict(zip((p.name for p in loaded.proxies), scenario_configs(loaded), strict=True))
    steps = [s for s in simulate(loaded).steps if s.element == element and s.label == label]
    step = [s for s in steps if s.kind is StepKind.PROXY][number]
    lines = configs[element].text.splitlines()
    return [
        lines[n].partition("#")[0].strip() for n, _ in script_marks(configs[element].text, step)
    ]


def test_a_preloaded_route_naming_only_this_proxy_passes_over_the_loose_route_block() -> None:
    # loose_route() returns -3: its block is skipped, and record_route() and t_relay() are the
    # ones after it, not the ones inside it.
    assert _ran("tour", "P1", "INVITE from Alice") == [
        "if (loose_route()) {",
        'if (is_method("INVITE|SUBSCRIBE")) record_route();',
        '$du = "sip:192.0.2.2";',
        "t_relay();",
    ]


def test_a_preloaded_route_to_another_host_relays_inside_the_block() -> None:
    assert _ran("preloaded-route-foreign-host", "P1", "INVITE from Mallory") == [
        "if (loose_route()) {",
        'if (is_method("INVITE|SUBSCRIBE")) record_route();',
        "t_relay(); exit;",
    ]


def test_in_dialog_requests_run_the_in_dialog_block() -> None:
    assert _ran("subscribe-notify", "P1", "NOTIFY from Bob") == [
        "if (loose_route()) {",
        'if (is_method("NOTIFY")) record_route();',
        "t_relay();",
    ]
    # The gotcha's second pass at P1 (the R-URI names it, loose_route() returns -1).
    assert _ran("ruri-is-myself-gotcha", "P1", "BYE from Alice", 1) == [
        "if (loose_route()) {",
        'sl_send_reply("404", "Not here");',
    ]
    assert _ran("ruri-is-myself-gotcha", "P1", "ACK from Alice", 1) == [
        "if (loose_route()) {",
        'if (is_method("ACK")) exit;',
    ]
    assert _ran("outbound-flow-token-tampered", "Edge", "BYE from Bob") == [
        "if (loose_route()) {",
        'if ($rc == -2) { sl_send_reply("403", "Forbidden"); exit; }',
    ]


def test_initial_requests_pass_over_the_in_dialog_block() -> None:
    assert _ran("no-record-route", "P1", "INVITE from Alice") == [
        "$var(found) = 0;",
        "t_relay();",
    ]
    assert _ran("max-forwards-exhausted", "P3", "INVITE from Alice") == [
        'if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }'
    ]
    denied = _ran("deny-preloaded-route", "P1", "INVITE from Mallory")
    assert denied == [
        'if (is_present_hf("Route")) { sl_send_reply("403", "Preload Route denied"); exit; }'
    ]


def test_only_kamailio_proxies_have_script_marks() -> None:
    loaded = loads((ROOT / "resources" / "scenarios" / "tour.json").read_text())
    configs = scenario_configs(loaded)
    trace = simulate(loaded)
    strict = next(s for s in trace.steps if s.element == "P3" and s.kind is StepKind.PROXY)
    assert script_marks(configs[2].text, strict) == ()
    answer = next(s for s in trace.steps if s.element == "P1" and s.kind is StepKind.RESPONSE)
    assert script_marks(configs[0].text, answer) == ()


def test_each_mark_says_what_its_line_did() -> None:
    loaded = loads((ROOT / "resources" / "scenarios" / "deny-preloaded-route.json").read_text())
    config = scenario_configs(loaded)[0]
    step = next(s for s in simulate(loaded).steps if s.element == "P1" and s.kind is StepKind.PROXY)
    ((line, says),) = script_marks(config.text, step)  # both calls on one line
    assert 'if (is_present_hf("Route"))' in config.text.splitlines()[line]
    assert says.startswith('is_present_hf("Route") returned 1: ')
    assert 'sl_send_reply("403", "Preload Route denied") returned 1' in says
    assert says.count("answers 403") == 1, "the reply is said once, as the call"
    tour = loads((ROOT / "resources" / "scenarios" / "tour.json").read_text())
    config = scenario_configs(tour)[0]
    step = next(s for s in simulate(tour).steps if s.element == "P1" and s.rc == -3)
    marks = script_marks(config.text, step)
    assert marks[0].says.startswith("loose_route() returned -3: preloaded Route set consumed")
    assert marks[-1].says == "t_relay() returned 1: " + step.rr_calls[-1].decisions[0].text
    assert marks[-2].says.startswith('$du = "sip:192.0.2.2": The R-URI')


def test_a_step_that_names_no_relay_nor_reply_gets_them_from_what_it_did() -> None:
    # Steps read from a capture know loose_route()'s answer, not the script's other calls.
    loaded = loads((ROOT / "resources" / "scenarios" / "ruri-is-myself-gotcha.json").read_text())
    config = scenario_configs(loaded)[0].text
    steps = [s for s in simulate(loaded).steps if s.element == "P1" and s.kind is StepKind.PROXY]
    relayed = next(s for s in steps if s.rc == 1)
    answered = next(s for s in steps if s.status == 404)
    lines = config.splitlines()
    for step, last, says in (
        (relayed, "t_relay();", f"sends the request on to {relayed.next_element}"),
        (answered, 'sl_send_reply("404", "Not here");', "answers 404"),
    ):
        observed = replace(step, rr_calls=step.rr_calls[:1])
        assert observed.rr_calls[0].call == "loose_route()"
        marks = script_marks(config, observed)
        assert [lines[m.line].partition("#")[0].strip() for m in marks] == [
            "if (loose_route()) {",
            last,
        ]
        assert marks[-1].says == says
