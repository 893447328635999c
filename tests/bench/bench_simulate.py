"""Time simulate() on a 20-proxy chain with 10 in-dialog requests; prints milliseconds.

Run: ``python3 tests/bench/bench_simulate.py [PROXIES] [REQUESTS]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a plain script from anywhere
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.proxy import parse_alias, parse_socket
from engine.scenario import ProxyNode, RequestSpec, Scenario, UserAgent, check
from engine.simulate import simulate

METHODS = ("ACK", "INFO", "UPDATE", "INFO", "INVITE", "ACK", "INFO", "UPDATE", "BYE", "BYE")


def build_scenario(proxies: int = 20, requests: int = 10) -> Scenario:
    """Alice -> P1 .. Pn -> Bob, every proxy record-routing; in-dialog requests both ways."""
    nodes = []
    for i in range(1, proxies + 1):
        last = i == proxies
        nodes.append(
            ProxyNode(
                name=f"P{i}",
                listen=(parse_socket(f"udp:10.0.{i // 250}.{i % 250 + 1}:5060"),),
                aliases=(parse_alias("biloxi.example.com"),) if last else (),
                forward_to=None if last else f"sip:10.0.{(i + 1) // 250}.{(i + 1) % 250 + 1}",
                location=(("sip:bob@biloxi.example.com", "sip:bob@192.0.2.20"),) if last else (),
            )
        )
    agents = (
        UserAgent(
            name="Alice",
            address=parse_socket("udp:192.0.2.10:5060"),
            contact="sip:alice@192.0.2.10",
            aor="sip:alice@atlanta.example.com",
            outbound_proxy="sip:10.0.0.2",
        ),
        UserAgent(
            name="Bob",
            address=parse_socket("udp:192.0.2.20:5060"),
            contact="sip:bob@192.0.2.20",
            aor="sip:bob@biloxi.example.com",
        ),
    )
    plays = tuple(
        RequestSpec(method=METHODS[i % len(METHODS)], sender="Alice" if i % 2 == 0 else "Bob")
        for i in range(requests)
    )
    # ACKs come from the INVITE's sender in a real dialog; here the alternation is enough.
    scenario = Scenario(
        title=f"Benchmark: {proxies} proxies, {requests} in-dialog requests",
        user_agents=agents,
        proxies=tuple(nodes),
        dialog=RequestSpec(method="INVITE", sender="Alice", recipient="Bob"),
        requests=plays,
    )
    check(scenario)
    return scenario


def best_ms(scenario: Scenario, runs: int = 7) -> float:
    """The fastest of ``runs`` simulations, in milliseconds."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        simulate(scenario)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main(argv: list[str]) -> int:
    proxies = int(argv[1]) if len(argv) > 1 else 20
    requests = int(argv[2]) if len(argv) > 2 else 10
    scenario = build_scenario(proxies, requests)
    steps = len(simulate(scenario).steps)
    print(
        f"simulate(): {proxies} proxies, {requests} in-dialog requests, {steps} steps: "
        f"{best_ms(scenario):.1f} ms (best of 7)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
