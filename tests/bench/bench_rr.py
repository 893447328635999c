"""How many loose_route() decisions per second the engine makes, parsing included.

Run: ``python3 tests/bench/bench_rr.py``.  It runs in one process, so on one core,
and counts that process's CPU time (``time.process_time``): decisions per second of
one core, whatever else the machine is running.  Prints the best of several rounds
for the two workloads that ``test_bench_rr.py`` also times with pytest-benchmark:

1. in-process: ``parse_message`` + ``Context.start`` + ``loose_route`` on a typical
   in-dialog BYE with three Route headers, at a Proxy built once;
2. batch, as ``routelab rr --vectors`` does it: JSON line -> ``run_vector`` -> JSON
   line, over the shared ``loose_route`` vectors.

Target (issue 2, requirement 8): at least 50,000 in-process decisions per second
on one core of the project machine.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from engine.message import SipRequest, parse_message  # noqa: E402
from engine.proxy import Proxy  # noqa: E402
from engine.rr import Context, loose_route  # noqa: E402
from gui.cli import vector_line  # noqa: E402
from tests.conftest import shared_dir  # noqa: E402

TARGET_PER_SECOND = 50_000

#: A typical in-dialog BYE arriving at the first of three record-routing proxies.
BYE = (
    "BYE sip:bob@192.0.2.20:5062 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-776asdhds\r\n"
    "Max-Forwards: 70\r\n"
    'From: "Alice" <sip:alice@example.org>;tag=1928301774\r\n'
    "To: <sip:bob@example.net>;tag=a6c85cf\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.org\r\n"
    "CSeq: 2 BYE\r\n"
    "Route: <sip:127.0.0.1;lr;ftag=1928301774>\r\n"
    "Route: <sip:p2.example.net;lr>\r\n"
    "Route: <sip:p3.example.com;lr>\r\n"
    "Content-Length: 0\r\n"
    "\r\n"
)

PROXY_JSON = {"listen": ["udp:127.0.0.1:5060"], "aliases": ["proxy.example.com"]}
PROXY = Proxy.build(listen=PROXY_JSON["listen"], aliases=PROXY_JSON["aliases"])

LOOSE_ROUTE_VECTORS = shared_dir() / "vectors" / "loose-route-kamailio-5.6.3.jsonl"


def decide(text: str = BYE, proxy: Proxy = PROXY) -> int:
    """One decision: parse the request, start the script, run loose_route()."""
    msg = parse_message(text)
    assert isinstance(msg, SipRequest)
    _ctx, res = loose_route(Context.start(msg, proxy))
    return res.rc


def vector_lines() -> list[str]:
    """The shared loose_route vectors, one JSON text a line."""
    return [ln for ln in LOOSE_ROUTE_VECTORS.read_text(encoding="utf-8").splitlines() if ln]


def run_batch(lines: list[str]) -> list[str]:
    """What ``routelab rr --vectors`` does per line: decode, run, encode (its own code)."""
    return [vector_line("bench", n, line)[0] for n, line in enumerate(lines, start=1)]


def best_rate(work: Callable[[], object], per_call: int, seconds: float = 1.0) -> float:
    """Decisions per CPU second: the best of five rounds of about ``seconds`` / 5 each."""
    best = 0.0
    for _ in range(5):
        calls = 0
        start = time.process_time()
        elapsed = 0.0
        while elapsed < seconds / 5:
            work()
            calls += 1
            elapsed = time.process_time() - start
        best = max(best, calls * per_call / elapsed)
    return best


def main() -> int:
    lines = vector_lines()
    assert decide() == 1
    in_process = best_rate(decide, 1, seconds=2.0)
    batch = best_rate(lambda: run_batch(lines), len(lines), seconds=2.0)
    print(f"in-process parse_message + loose_route: {in_process:,.0f} decisions/s (one core)")
    print(f"batch JSON line -> run_vector -> JSON line: {batch:,.0f} decisions/s (one core)")
    met = "met" if in_process >= TARGET_PER_SECOND else "NOT met"
    print(f"target {TARGET_PER_SECOND:,}/s in-process: {met}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
