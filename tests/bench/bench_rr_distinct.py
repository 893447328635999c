"""loose_route() decisions per second when every request is a different one.

Run: ``python3 tests/bench/bench_rr_distinct.py``.  ``bench_rr.py`` sends the same
BYE again and again, so the parsers' memos answer most of the work; a real proxy
sees a stream of distinct in-dialog requests (new Call-ID, tags, branch and Route
values each time), where those memos miss.  This script pre-builds 60,000 such
requests and times ``parse_message`` + ``Context.start`` + ``loose_route`` over
them, in one process and so on one core, counting that process's CPU time
(``time.process_time``), and prints the best of several rounds for three
workloads:

1. all distinct: every request differs (Call-ID, both tags, branch, the second
   Route's host);
2. one dialog: the same dialog, with a new branch and CSeq per request;
3. identical: the same request every time (what ``bench_rr.py`` times).

Target: at least 50,000 decisions per second on one core for all three.
``test_bench_rr.py`` times the first workload with pytest-benchmark too.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from engine.message import SipRequest, parse_message  # noqa: E402
from engine.proxy import Proxy  # noqa: E402
from engine.rr import Context, loose_route  # noqa: E402
from tests.bench.bench_rr import BYE, PROXY  # noqa: E402

TARGET_PER_SECOND = 50_000
MESSAGES = 60_000


def distinct(i: int) -> str:
    """The benchmark BYE made unique by ``i``: branch, both tags, a Route host, Call-ID."""
    return (
        BYE.replace("z9hG4bK-776asdhds", f"z9hG4bK-{i}")
        .replace("tag=1928301774", f"tag={i}")
        .replace("tag=a6c85cf", f"tag=x{i}")
        .replace("p2.example.net", f"p{i}.example.net")
        .replace("a84b4c76e66710", f"c{i}")
    )


def same_dialog(i: int) -> str:
    """The benchmark BYE with a new branch and CSeq ``i``: one dialog, many requests."""
    return BYE.replace("z9hG4bK-776asdhds", f"z9hG4bK-{i}").replace("CSeq: 2 ", f"CSeq: {i} ")


def distinct_messages(n: int = MESSAGES) -> list[str]:
    """``n`` distinct in-dialog requests."""
    return [distinct(i) for i in range(n)]


def same_dialog_messages(n: int = MESSAGES) -> list[str]:
    """``n`` requests of one dialog."""
    return [same_dialog(i) for i in range(n)]


def decide_all(texts: list[str], proxy: Proxy = PROXY) -> int:
    """One decision per text: parse, start the script, run loose_route(); the rc sum."""
    total = 0
    for text in texts:
        msg = parse_message(text)
        assert isinstance(msg, SipRequest)
        _ctx, res = loose_route(Context.start(msg, proxy))
        total += res.rc
    return total


def best_rate(texts: list[str], rounds: int = 5) -> float:
    """Decisions per CPU second over ``texts``: the best of ``rounds`` passes."""
    best = 0.0
    for _ in range(rounds):
        start = time.process_time()
        decide_all(texts)
        elapsed = time.process_time() - start
        best = max(best, len(texts) / elapsed)
    return best


def main() -> int:
    workloads = {
        "all distinct": distinct_messages(),
        "one dialog, new branch and CSeq": same_dialog_messages(),
        "identical": [BYE] * MESSAGES,
    }
    for texts in workloads.values():
        assert decide_all(texts[:10]) == 10
    met = True
    for name, texts in workloads.items():
        rate = best_rate(texts)
        met = met and rate >= TARGET_PER_SECOND
        print(f"{name}: {rate:,.0f} decisions/s (one core)")
    print(f"target {TARGET_PER_SECOND:,}/s on every workload: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
