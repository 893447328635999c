"""loose_route() decisions per second over streams of different requests.

Run: ``python3 tests/bench/bench_rr_distinct.py``.  ``bench_rr.py`` sends one BYE
again and again, so the parsers' memos answer most of the work.  A proxy sees a
stream of in-dialog requests instead: each dialog keeps its Call-ID, tags and
Route set for all its requests, while every request brings a new branch and CSeq,
and many dialogs are open at once.  How much of a request the memos already know
depends on how many dialogs interleave, so this script times several streams, from
the most favourable to the least:

1. identical: the same request every time (what ``bench_rr.py`` times);
2. one dialog: a new branch and CSeq per request;
3. N dialogs (100, 1,000, 10,000): requests of N open dialogs in random order, each
   dialog with its own Call-ID, tags and ``ftag`` in this proxy's Route, its next hop
   one of 8 neighbouring proxies;
4. all distinct: every request new (Call-ID, both tags, branch, a next hop of its
   own): nothing can be remembered.

Each stream has 60,000 requests, built beforehand; the time is ``parse_message`` +
``Context.start`` + ``loose_route`` for each, in one process and so on one core,
counted as that process's CPU time (``time.process_time``), best of several rounds.
Last, the all-distinct and the 1,000-dialog streams run as ``routelab rr --vectors``
lines (JSON line -> run_vector -> JSON line): ``bench_rr.py``'s batch goes over the
shared vectors again and again, so its memos know every line after the first round;
here no line comes twice.
Target (issue 2, requirement 8): at least 50,000 decisions per second on one core.
``test_bench_rr.py`` times the 1,000-dialog and all-distinct streams with
pytest-benchmark too.
"""

from __future__ import annotations

import json
import random
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
from tests.bench.bench_rr import BYE, PROXY, PROXY_JSON, run_batch  # noqa: E402

TARGET_PER_SECOND = 50_000
MESSAGES = 60_000
NEIGHBOURS = tuple(f"p{i}.example.net" for i in range(8))


def request(number: int, dialog: int | None = None, next_hop: str | None = None) -> str:
    """The benchmark BYE as request ``number`` (branch, CSeq) of dialog ``dialog``
    (Call-ID, both tags, and so the ftag in Route 1), sent on to ``next_hop``.

    Without a dialog it is the benchmark's own dialog; without a next hop, Route 2
    stays p2.example.net.
    """
    text = BYE.replace("z9hG4bK-776asdhds", f"z9hG4bK-{number}").replace(
        "CSeq: 2 ", f"CSeq: {number} "
    )
    if dialog is not None:
        text = (
            text.replace("tag=1928301774", f"tag={dialog}")
            .replace("tag=a6c85cf", f"tag=x{dialog}")
            .replace("a84b4c76e66710", f"c{dialog}")
        )
    if next_hop is not None:
        text = text.replace("p2.example.net", next_hop)
    return text


def distinct(i: int) -> str:
    """Request ``i`` of a stream where every request is new, its next hop too."""
    return request(i, dialog=i, next_hop=f"p{i}.example.net")


def distinct_messages(n: int = MESSAGES) -> list[str]:
    """``n`` requests that share nothing but their layout."""
    return [distinct(i) for i in range(n)]


def same_dialog_messages(n: int = MESSAGES) -> list[str]:
    """``n`` requests of one dialog."""
    return [request(i) for i in range(n)]


def dialog_messages(dialogs: int, n: int = MESSAGES, seed: int = 2) -> list[str]:
    """``n`` requests of ``dialogs`` open dialogs, in random (seeded) order."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        d = rng.randrange(dialogs)
        out.append(request(i, dialog=d, next_hop=NEIGHBOURS[d % len(NEIGHBOURS)]))
    return out


def decide_all(texts: list[str], proxy: Proxy = PROXY) -> int:
    """One decision per text: parse, start the script, run loose_route(); the rc sum."""
    total = 0
    for text in texts:
        msg = parse_message(text)
        assert isinstance(msg, SipRequest)
        _ctx, res = loose_route(Context.start(msg, proxy))
        total += res.rc
    return total


def as_vector_lines(texts: list[str]) -> list[str]:
    """The requests as ``routelab rr --vectors`` lines for the benchmark proxy."""
    return [
        json.dumps({"id": f"v{i}", "proxy": PROXY_JSON, "raw": text, "script": ["loose_route()"]})
        for i, text in enumerate(texts)
    ]


def best_rate(
    texts: list[str], rounds: int = 5, work: Callable[[list[str]], object] = decide_all
) -> float:
    """Decisions per CPU second of ``work`` over ``texts``: the best of ``rounds`` passes."""
    best = 0.0
    for _ in range(rounds):
        start = time.process_time()
        work(texts)
        elapsed = time.process_time() - start
        best = max(best, len(texts) / elapsed)
    return best


def workloads() -> dict[str, list[str]]:
    """The streams, most favourable first."""
    return {
        "identical": [BYE] * MESSAGES,
        "one dialog": same_dialog_messages(),
        **{f"{n:,} dialogs": dialog_messages(n) for n in (100, 1_000, 10_000)},
        "all distinct": distinct_messages(),
    }


def main() -> int:
    streams = workloads()
    for name, texts in streams.items():
        assert decide_all(texts[:10]) == 10
        _report(name, best_rate(texts))
    for name in ("1,000 dialogs", "all distinct"):
        lines = as_vector_lines(streams[name])
        assert all('"rc":1' in line for line in run_batch(lines[:10]))
        _report(f"{name}, batch", best_rate(lines, work=run_batch))
    return 0


def _report(name: str, rate: float) -> None:
    verdict = "meets" if rate >= TARGET_PER_SECOND else "below"
    print(f"{name:>21}: {rate:8,.0f} decisions/s (one core), {verdict} {TARGET_PER_SECOND:,}")


if __name__ == "__main__":
    raise SystemExit(main())
