"""Whole scenarios on a chain of real Kamailio 5.6.3 proxies, compared with the simulation.

See tests/differential/chain.py for how a scenario is played.  Every scenario of the library
that can run on real proxies (UDP over IPv4, Kamailio profiles, no DNS needed by a proxy) is
played, and so are the chain-check scenarios in ``chain_scenarios/``, written to reach what the
library does not: three proxies with different rr settings and a target refresh, preloaded
Route sets honoured (1 and -3 on initial requests), two IPv4 sockets on one proxy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.scenario import loads
from engine.simulate import simulate
from engine.trace import StepKind, Trace
from tests.differential import chain
from tests.differential.chain import ChainError, playable, relocate, render_chain_cfg, shape
from tests.differential.conftest import DiffStats

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = sorted((ROOT / "resources" / "scenarios").glob("*.json"))
CHECKS = sorted((Path(__file__).parent / "chain_scenarios").glob("*.json"))


def _why_not(path: Path) -> str | None:
    text = relocate(path.read_text(encoding="utf-8"))
    return playable(json.loads(text), simulate(loads(text)))


PLAYABLE = [p for p in LIBRARY if _why_not(p) is None] + CHECKS


@pytest.mark.kamailio
@pytest.mark.parametrize("path", PLAYABLE, ids=[p.stem for p in PLAYABLE])
def test_real_proxies_deliver_what_the_simulation_shows(
    path: Path, kamailio_binary: str, diff_stats: DiffStats
) -> None:
    run = chain.play(path.read_text(encoding="utf-8"), kamailio_binary)
    diff_stats.chain_scenarios += 1
    diff_stats.chain_messages += len(run.compared)
    diff_stats.chain_differ += len(run.differences)
    assert run.compared, "nothing was compared"
    assert not run.differences, "\n\n".join(map(str, run.differences))


@pytest.mark.kamailio
def test_a_wrong_simulation_is_caught(
    kamailio_binary: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check itself: a simulation that gets Bob's Request-URI wrong must be reported.
    def wrong(scenario: object) -> Trace:
        trace = simulate(scenario)  # type: ignore[arg-type]
        steps = tuple(
            step
            if step.kind is not StepKind.UAS
            else type(step)(
                **{
                    **{f: getattr(step, f) for f in step.__dataclass_fields__},
                    "message_in": step.message_in.replace(" sip:bob@", " sip:robert@", 1),
                }
            )
            for step in trace.steps
        )
        return Trace(trace.title, steps, trace.requests, trace.warnings)

    monkeypatch.setattr(chain, "simulate", wrong)
    path = ROOT / "resources" / "scenarios" / "five-proxy-chain.json"
    run = chain.play(path.read_text(encoding="utf-8"), kamailio_binary)
    assert [d.what for d in run.differences] == [
        "INVITE from Alice: the INVITE as Bob receives it",
        "ACK from Alice: the ACK as Bob receives it",
        "BYE from Alice: the BYE as Bob receives it",
    ]
    assert "sip:robert@" in str(run.differences[0])


# --------------------------------------------------------------------------- no Kamailio needed


def test_every_library_scenario_is_played_or_says_why_not() -> None:
    reasons = {p.stem: _why_not(p) for p in LIBRARY}
    played = sorted(name for name, why in reasons.items() if why is None)
    # The six that need no DNS, no IPv6, no outbound and no RFC 2543 element today.
    assert played == [
        "deny-preloaded-route",
        "five-proxy-chain",
        "lr-on-interop",
        "maddr-route",
        "max-forwards-exhausted",
        "no-record-route",
    ]
    assert "no DNS here" in (reasons["route-by-alias"] or "")
    assert "outbound" in (reasons["outbound-flow-token"] or "")
    assert "Kamailio profile" in (reasons["ua-strict-first-route"] or "")


def test_relocation_gives_each_network_its_own_loopback_network() -> None:
    text = '"udp:192.0.2.1:5060", "sip:b@198.51.100.20", "192.0.2.10", "10.1.2.3.4"'
    assert relocate(text) == (
        '"udp:127.0.10.1:5060", "sip:b@127.0.11.20", "127.0.10.10", "10.1.2.3.4"'
    )


def test_the_config_is_the_one_the_app_shows_with_a_location_table() -> None:
    cfg = render_chain_cfg(
        {
            "name": "P2",
            "listen": ["udp:127.0.10.2:5060"],
            "aliases": ["biloxi.example.com"],
            "rr": {"enable_full_lr": 1},
            "location": {"sip:bob@biloxi.example.com": "sip:bob@127.0.10.20"},
        }
    )
    assert "listen=udp:127.0.10.2:5060\nalias=biloxi.example.com\n" in cfg
    assert 'modparam("rr", "enable_full_lr", 1)' in cfg
    assert '$ru = "sip:bob@127.0.10.20"' in cfg
    assert 'lookup("location")' not in cfg
    assert "if (has_totag()) {" in cfg
    assert "t_relay();" in cfg


def test_the_shape_leaves_out_via_branches_only() -> None:
    text = (
        "BYE sip:b@x SIP/2.0\r\nRecord-Route: <sip:p1;lr>\r\n"
        "Via: SIP/2.0/UDP 127.0.10.1;branch=z9hG4bK-1, SIP/2.0/UDP 127.0.10.10:5062;rport\r\n"
        "v: SIP/2.0/UDP 127.0.10.9;branch=x\r\nMax-Forwards: 69\r\n\r\n"
    )
    assert shape(text) == {
        "start": "BYE sip:b@x SIP/2.0",
        "via": ["SIP/2.0/UDP 127.0.10.1", "SIP/2.0/UDP 127.0.10.10:5062", "SIP/2.0/UDP 127.0.10.9"],
        "headers": [("record-route", "<sip:p1;lr>"), ("max-forwards", "69")],
    }


def test_an_unplayable_scenario_is_refused_with_its_reason() -> None:
    path = ROOT / "resources" / "scenarios" / "route-by-alias.json"
    with pytest.raises(ChainError, match="relays to the host name"):
        chain.play(path.read_text(encoding="utf-8"), "/nonexistent/kamailio")
