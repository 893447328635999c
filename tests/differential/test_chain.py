"""Whole scenarios on a chain of real Kamailio 5.6.3 proxies, compared with the simulation.

See tests/differential/chain.py for how a scenario is played.  Where network namespaces can
be made (root, ``unshare``), every scenario plays in one of its own with its own addresses,
IPv6 and TCP included, and its name table as ``/etc/hosts``: every library scenario (an RFC
2543 strict router in it is played by the harness from the trace), the chain checks in
``chain_scenarios/`` (three proxies with different rr settings and a target refresh,
preloaded Route sets honoured with 1 and -3, two IPv4 sockets on one proxy, forced send
sockets that do not suit the next hop, ACKs after re-INVITEs that nobody answered or that
tm answered itself, requests a flow token sends back to their own sender, an OPTIONS nobody
answers and one from the other side with the same CSeq) and random chains.  Elsewhere the
scenarios that need neither names nor IPv6 nor TCP play on loopback addresses and the others
are skipped, saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from engine.kamcfg import proxy_config, scenario_configs, script_marks
from engine.message import SipRequest, parse_message
from engine.scenario import loads
from engine.simulate import simulate
from engine.trace import Flag, StepKind, Trace
from tests.differential import chain
from tests.differential.chain import (
    ChainError,
    hosts_file,
    playable,
    relocate,
    render_chain_cfg,
    run_isolated,
    shape,
)
from tests.differential.chain_generate import scenarios
from tests.differential.conftest import DiffStats

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = sorted((ROOT / "resources" / "scenarios").glob("*.json"))
CHECKS_DIR = Path(__file__).parent / "chain_scenarios"
CHECKS = sorted(CHECKS_DIR.glob("*.json"))


def _why_not(path: Path, *, isolated: bool) -> str | None:
    text = path.read_text(encoding="utf-8")
    if not isolated:
        text = relocate(text)
    return playable(json.loads(text), simulate(loads(text)), isolated=isolated)


PLAYABLE = [p for p in LIBRARY + CHECKS if _why_not(p, isolated=True) is None]


@pytest.fixture(scope="session")
def captures_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the packets of each isolated run are written (one pcap file a scenario)."""
    return tmp_path_factory.mktemp("chain-captures")


@pytest.fixture(scope="session")
def isolated_runs(kamailio_binary: str, captures_dir: Path) -> dict[str, dict[str, Any]] | None:
    """Every playable scenario, each played in a network namespace of its own, its packets
    captured; None when namespaces cannot be made here."""
    try:
        results = run_isolated(PLAYABLE, kamailio_binary, pcap_dir=captures_dir)
    except ChainError:
        return None
    return {r["path"]: r for r in results}


@pytest.mark.kamailio
@pytest.mark.parametrize("path", PLAYABLE, ids=[p.stem for p in PLAYABLE])
def test_real_proxies_deliver_what_the_simulation_shows(
    path: Path,
    kamailio_binary: str,
    isolated_runs: dict[str, dict[str, Any]] | None,
    diff_stats: DiffStats,
) -> None:
    if isolated_runs is not None:
        result = isolated_runs[str(path)]
        assert "error" not in result, result.get("error")
        diff_stats.chain_retried += "retried" in result
        compared, differences = result["compared"], result["differences"]
    else:
        why = _why_not(path, isolated=False)
        if why is not None:
            pytest.skip(f"needs a network namespace of its own (root and unshare): {why}")
        run = chain.play(path.read_text(encoding="utf-8"), kamailio_binary)
        compared, differences = run.compared, [str(d) for d in run.differences]
    diff_stats.chain_scenarios += 1
    diff_stats.chain_messages += len(compared)
    diff_stats.chain_differ += len(differences)
    assert compared, "nothing was compared"
    assert not differences, "\n\n".join(differences)


# ROUTELAB_CHAIN_SEED and ROUTELAB_CHAIN_COUNT draw other random chains, and more of them
# (a sweep: tests/differential/README.md).
GENERATED_SEED = int(os.environ.get("ROUTELAB_CHAIN_SEED", "7"))
GENERATED_COUNT = int(os.environ.get("ROUTELAB_CHAIN_COUNT", "40"))


@pytest.fixture(scope="session")
def generated_runs(
    kamailio_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, Any]]:
    """Random chain scenarios (tests/differential/chain_generate.py), each played in a
    network namespace of its own; skips where namespaces cannot be made."""
    folder = tmp_path_factory.mktemp("chains")
    paths = []
    for number, data in enumerate(scenarios(GENERATED_SEED, GENERATED_COUNT), start=1):
        path = folder / f"generated-{number:03d}.json"
        path.write_text(json.dumps(data, indent=1), encoding="utf-8")
        paths.append(path)
    try:
        return run_isolated(paths, kamailio_binary)
    except ChainError as exc:
        pytest.skip(f"random chains need network namespaces of their own: {exc}")


@pytest.mark.kamailio
@pytest.mark.parametrize("index", range(GENERATED_COUNT), ids=lambda i: f"generated-{i + 1:03d}")
def test_random_chains_agree_with_the_simulation(
    index: int, generated_runs: list[dict[str, Any]], diff_stats: DiffStats
) -> None:
    result = generated_runs[index]
    assert "error" not in result, result.get("error")
    diff_stats.chain_retried += "retried" in result
    assert "unplayable" not in result, result.get("unplayable")
    diff_stats.chain_scenarios += 1
    diff_stats.chain_messages += len(result["compared"])
    diff_stats.chain_differ += len(result["differences"])
    text = Path(result["path"]).read_text(encoding="utf-8")
    assert not result["differences"], text + "\n\n" + "\n\n".join(result["differences"])


@pytest.mark.kamailio
def test_without_a_namespace_the_scenario_moves_to_loopback(kamailio_binary: str) -> None:
    # The fallback where namespaces cannot be made: same comparison, 127.0.x addresses.
    path = ROOT / "resources" / "scenarios" / "outbound-flow-token.json"
    run = chain.play(path.read_text(encoding="utf-8"), kamailio_binary)
    assert sum("receives it" in what for what in run.compared) == 6  # the 180 too
    assert sum("the decisions at" in what for what in run.compared) == 8
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
    # In a namespace of its own every scenario plays, RFC 2543 strict routers included
    # (the harness plays them from the trace).
    assert {p.stem: _why_not(p, isolated=True) for p in LIBRARY} == {p.stem: None for p in LIBRARY}
    on_loopback = sorted(p.stem for p in LIBRARY if _why_not(p, isolated=False) is None)
    assert on_loopback == [
        "deny-preloaded-route",
        "five-proxy-chain",
        "lr-on-interop",
        "maddr-route",
        "max-forwards-exhausted",
        "no-record-route",
        "outbound-flow-token",
        "outbound-flow-token-tampered",
        "record-route-call-id-at-sign",
        "ua-strict-first-route",
    ]
    assert "no DNS here" in (
        _why_not(LIBRARY[0].parent / "route-by-alias.json", isolated=False) or ""
    )


def test_relocation_gives_each_network_its_own_loopback_network() -> None:
    text = '"udp:192.0.2.1:5060", "sip:b@198.51.100.20", "192.0.2.10", "10.1.2.3.4"'
    assert relocate(text) == (
        '"udp:127.0.10.1:5060", "sip:b@127.0.11.20", "127.0.10.10", "10.1.2.3.4"'
    )


def test_the_name_table_becomes_the_hosts_file() -> None:
    data = json.loads(
        (ROOT / "resources" / "scenarios" / "rfc3261-16-12-1-1-trapezoid.json").read_text()
    )
    hosts = hosts_file(data).splitlines()
    assert "192.0.2.1 p1.example.com" in hosts
    assert "203.0.113.2 domain.com" in hosts
    assert "192.0.2.102 u2.domain.com" in hosts


def test_the_config_played_is_the_one_the_app_shows_with_logging_added() -> None:
    node = loads((ROOT / "resources" / "scenarios" / "tour.json").read_text()).proxies[0]
    shown = proxy_config(node)
    played = render_chain_cfg(node)
    core = "debug=2\nlog_stderror=no\nchildren=2\n"
    assert core in shown
    assert played == chain.instrument(
        shown.replace(core, "debug=1\nlog_stderror=yes\nchildren=1\n")
    )
    assert played.count("xlog(") == shown.count("loose_route()") + shown.count("t_relay();")


@pytest.mark.kamailio
@pytest.mark.parametrize("path", LIBRARY, ids=[p.stem for p in LIBRARY])
def test_kamailio_accepts_every_config_the_app_shows(
    path: Path, kamailio_binary: str, tmp_path: Path
) -> None:
    # `kamailio -c` reads the syntax; the fixups (a pseudo-variable's format, say) run only
    # when Kamailio starts, which the chain runs above do with these very configs.
    configs = [c for c in scenario_configs(loads(path.read_text())) if c.kamailio]
    assert configs, "no Kamailio proxy in the scenario"
    for config in configs:
        cfg = tmp_path / config.name
        cfg.write_text(config.text, encoding="utf-8")
        done = subprocess.run(
            [kamailio_binary, "-c", "-f", str(cfg)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "config file ok" in done.stdout + done.stderr, (config.name, done.stderr[-2000:])


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


class _Runs:
    """subprocess.run for run_isolated(): namespaces work, and each play of a scenario
    prints the next of ``results`` (as the --isolated child does)."""

    def __init__(self, results: list[dict[str, Any]]) -> None:
        self.results = results
        self.plays = 0

    def __call__(self, command: list[str], **_kwargs: Any) -> Any:
        if command[-1] == "true":  # the namespace probe
            return subprocess.CompletedProcess(command, 0, b"", b"")
        self.plays += 1
        return subprocess.CompletedProcess(command, 0, json.dumps(self.results.pop(0)) + "\n", "")


@pytest.fixture
def fake_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chain.shutil, "which", lambda name: f"/usr/bin/{name}")


@pytest.mark.usefixtures("fake_namespaces")
def test_a_scenario_whose_kamailio_ended_at_start_up_is_played_once_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = f"{chain.STARTUP_EXIT}:\nchild process 21475 exited normally, status=0"
    runs = _Runs(
        [
            {"path": "s.json", "error": first},
            {"path": "s.json", "compared": ["x"], "differences": []},
        ]
    )
    monkeypatch.setattr(chain.subprocess, "run", runs)
    (result,) = run_isolated([Path("s.json")], "/usr/sbin/kamailio")
    assert runs.plays == 2
    assert result == {"path": "s.json", "compared": ["x"], "differences": [], "retried": first}


@pytest.mark.usefixtures("fake_namespaces")
def test_other_errors_and_a_second_start_up_exit_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    exit_ = f"{chain.STARTUP_EXIT}:\nagain"
    runs = _Runs(
        [
            {"path": "a.json", "error": "kamailio did not answer within the start-up timeout"},
            {"path": "b.json", "error": exit_},
            {"path": "b.json", "error": exit_},
        ]
    )
    monkeypatch.setattr(chain.subprocess, "run", runs)
    a, b = run_isolated([Path("a.json"), Path("b.json")], "/usr/sbin/kamailio")
    assert runs.plays == 3
    assert a == {"path": "a.json", "error": "kamailio did not answer within the start-up timeout"}
    assert b["error"] == exit_


def test_a_stand_in_ignores_retransmissions() -> None:
    """tm sends again an INVITE nobody answers (after 0.5 s, 1 s, 2 s ...): a stand-in (an
    RFC 2543 strict router played from the trace) must not take that for the next request
    the trace sends through it."""
    trace = simulate(loads((CHECKS_DIR / "ack-after-an-unanswered-invite.json").read_text()))
    steps = [s for s in trace.steps if s.element == "P2" and s.kind is StepKind.PROXY]

    class Agent:
        def __init__(self) -> None:
            self.sent: list[bytes] = []

        def send(self, data: bytes, to: object) -> None:
            self.sent.append(data)

    agent = Agent()
    stand_in = chain._StandIn("P2", agent)  # type: ignore[arg-type]
    stand_in.steps = list(steps)
    run = chain.ChainRun()
    first = steps[0].message_in
    stand_in.handle(first, ("192.0.2.1", 5060), run)
    stand_in.handle(first, ("192.0.2.1", 5060), run)  # the retransmission
    assert len(stand_in.steps) == len(steps) - 1  # one step taken, not two
    assert len(agent.sent) == 1
    assert run.compared == [f": the {steps[0].method} as P2 receives it"]
    assert run.differences == []


def _hop_log(trace: Trace, proxy: str) -> list[str]:
    """The RLHOP/RLRELAY lines the instrumented config of ``proxy`` would log for ``trace``."""
    lines = []
    for step in trace.steps:
        if step.kind is not StepKind.PROXY or step.element != proxy:
            continue
        msg = parse_message(step.message_in)
        assert isinstance(msg, SipRequest)
        branch = chain._branch(msg.header("Via") or "")
        key = f"{msg.header('Call-ID')}|{(msg.header('CSeq') or '').split()[0]}|{msg.method}"
        if step.rc is not None:
            lines.append(f" 1(1) NOTICE: <script>: RLHOP|{key}|{branch}|{step.rc}")
        if any(call.call == "t_relay()" for call in step.rr_calls):
            du, fs = step.du_after or "<null>", step.forced_socket or "<null>"
            lines.append(
                f" 1(1) NOTICE: <script>: RLRELAY|{key}|{branch}|{step.ruri_after}|{du}|{fs}"
            )
    return lines


def test_the_hop_comparison_leaves_out_retransmissions() -> None:
    """tm sends again a request nobody answers, and the script logs it again under the same
    Via branch: that is no new decision.  Here Alice's OPTIONS goes unanswered and Bob's
    OPTIONS later has the same Call-ID, CSeq number and method, so each retransmission of
    Alice's logged before Bob's would be taken for Bob's (seen on real proxies, seed 203)."""
    path = CHECKS_DIR / "retransmitted-options-and-a-cseq-both-sides-use.json"
    trace = simulate(loads(path.read_text()))
    lines = _hop_log(trace, "P2")
    alices = [line for line in lines if "OPTIONS|z9hG4bK-p1-" in line]
    bobs = [line for line in lines if "OPTIONS|z9hG4bK-p3-" in line]
    assert alices
    assert bobs
    assert alices[0].split("|")[1:4] == bobs[0].split("|")[1:4]  # Call-ID, CSeq, method
    at = lines.index(bobs[0])
    retransmitted = [*lines[:at], *alices, *alices, *lines[at:]]
    run = chain.ChainRun()
    chain._compare_hops(trace, "P2", "\n".join(retransmitted), run)
    assert run.differences == []
    # The same lines under a branch of their own are new decisions, and they differ.
    spiral = [line.replace("|z9hG4bK-p1-", "|z9hG4bK-again-p1-") for line in alices]
    run = chain.ChainRun()
    chain._compare_hops(trace, "P2", "\n".join([*lines[:at], *spiral, *lines[at:]]), run)
    assert [d.what for d in run.differences] == ["OPTIONS from Bob: the decisions at P2"]


# --------------------------------------------------------------------------
# captures of the real proxies, read by the capture analysis


def _dead_ends(trace: Trace) -> list[str]:
    return [f"{s.element} {s.method}" for s in trace.steps if Flag.DEAD_END in s.flags]


# The scenarios whose captures the analysis (engine.observe) must find without a difference
# (an RFC 2543 strict router, which record-routes without lr, is recognised and not judged;
# an edge proxy, whose Record-Route carries a flow token, is judged with outbound loaded).
# It assumes Kamailio's default config at every proxy and knows a proxy only by the addresses
# and Record-Route values the capture shows, so these are left out, each a documented limit
# (README, "Debugging real traffic", Limits):
#   - a proxy that does not take its own Record-Route name for itself (route-by-alias: the
#     difference shown is the fault the scenario teaches, a loop), or takes an alias the
#     capture never shows it use for itself (ruri-is-myself-gotcha).
NOT_OBSERVABLE = {"route-by-alias", "ruri-is-myself-gotcha"}
OBSERVABLE = [p for p in PLAYABLE if p.stem not in NOT_OBSERVABLE]


@pytest.mark.kamailio
@pytest.mark.parametrize("path", OBSERVABLE, ids=[p.stem for p in OBSERVABLE])
def test_the_capture_analysis_finds_no_difference_in_real_proxies_traffic(
    path: Path,
    isolated_runs: dict[str, dict[str, Any]] | None,
    captures_dir: Path,
    diff_stats: DiffStats,
) -> None:
    if isolated_runs is None:
        pytest.skip("no network namespaces here (root and unshare are needed)")
    from engine.observe import observe
    from gui.capture import list_dialogs, read_dialogs

    assert "error" not in isolated_runs[str(path)]
    pcap = captures_dir / f"{path.stem}.pcap"
    listing = list_dialogs(pcap)
    call_ids = [d.call_id for d in listing.catalog.dialogs()]
    found, _summary = read_dialogs(pcap, call_ids)
    checked = 0
    diff_stats.capture_scenarios += 1
    for call_id in call_ids:
        obs = observe(found[call_id], title=call_id, with_scenario=False)
        checked += len(obs.checks)
        diff_stats.capture_checks += len(obs.checks)
        diff_stats.capture_differences += len(obs.differences)
        assert not obs.differences, "\n".join(
            f"{call_id}: step {d.step + 1}, {d.element}, {d.method}: {d.text}"
            for d in obs.differences
        )
    # The dialog opened as a scenario (File > Open Capture, Open Dialog) replays: where the
    # scenario played has no dead end, neither has the one built from its capture (but for a
    # loose_route_mode, which a capture does not show).
    original = simulate(loads(path.read_text(encoding="utf-8")))
    if not _dead_ends(original) and path.stem not in {"ruri-is-myself-loose-route-mode"}:
        dialog = max(call_ids, key=lambda c: len(found[c]))  # the scenario's, not a probe
        seen = observe(found[dialog], title=dialog)
        built = seen.scenario
        assert built is not None
        assert not _dead_ends(simulate(built)), f"the scenario built from {pcap.name} dead-ends"
        # The Config tab of the observed dialog: each checked hop at a Kamailio proxy marks
        # the loose_route() line of that proxy's config.
        configs = dict(zip((p.name for p in built.proxies), scenario_configs(built), strict=True))
        for step in seen.trace.steps:
            config = configs.get(step.element)
            if config is None or not config.kamailio or step.rc is None:
                continue
            lines = config.text.splitlines()
            marked = [lines[n] for n, _ in script_marks(config.text, step)]
            assert any("loose_route" in line for line in marked), (step.index, step.element)
    # In these, no in-dialog request crosses a proxy: nothing to check, but the rest must.
    assert checked > 0 or path.stem in {
        "deny-preloaded-route",
        "max-forwards-exhausted",
        "no-record-route",
    }
