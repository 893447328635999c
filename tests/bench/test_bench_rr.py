"""loose_route() throughput, parsing included (issue 2, requirement 8).

The suite runs with ``--benchmark-disable`` (pyproject addopts), so each benchmark
runs once as a plain test.  To time them:
``python3 -m pytest tests/bench/test_bench_rr.py --benchmark-enable``; for one figure
in decisions per second, ``python3 tests/bench/bench_rr.py`` (the same request again
and again) and ``python3 tests/bench/bench_rr_distinct.py`` (streams of different
requests: one dialog, many interleaved dialogs, all distinct).
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.bench.bench_rr import BYE, decide, run_batch, vector_lines
from tests.bench.bench_rr_distinct import as_vector_lines, decide_all, dialog_messages, distinct


def test_in_process_decision(benchmark: Any) -> None:
    # parse_message + Context.start + loose_route on an in-dialog BYE with 3 Routes.
    assert benchmark(decide, BYE) == 1


def test_distinct_in_dialog_requests(benchmark: Any) -> None:
    # The same three steps over 1,000 distinct BYEs (new Call-ID, tags, branch and
    # Route values each), new ones every round, so that the parsers' memos miss as
    # they do in real traffic.
    rounds = itertools.count()

    def fresh() -> tuple[tuple[list[str]], dict[str, Any]]:
        first = next(rounds) * 1000
        return ([distinct(i) for i in range(first, first + 1000)],), {}

    assert benchmark.pedantic(decide_all, setup=fresh, rounds=20) == 1000


def test_requests_of_a_thousand_open_dialogs(benchmark: Any) -> None:
    # 5,000 requests of 1,000 dialogs in random order: each dialog's Call-ID, tags and
    # Route set repeat, branch and CSeq are new with every request.
    texts = dialog_messages(1_000, 5_000)
    assert benchmark.pedantic(decide_all, args=(texts,), rounds=5) == 5_000


def test_batch_of_loose_route_vectors(benchmark: Any) -> None:
    # routelab rr --vectors, minus the file: JSON line -> run_vector -> JSON line.
    lines = vector_lines()
    out = benchmark(run_batch, lines)
    assert len(out) == len(lines) >= 91
    assert all('"rc":' in line and '"error"' not in line for line in out)


def test_batch_of_never_seen_requests(benchmark: Any) -> None:
    # The same, over 1,000 vector lines of distinct BYEs, new ones every round.
    rounds = itertools.count()

    def fresh() -> tuple[tuple[list[str]], dict[str, Any]]:
        first = next(rounds) * 1000
        return (as_vector_lines([distinct(i) for i in range(first, first + 1000)]),), {}

    out = benchmark.pedantic(run_batch, setup=fresh, rounds=20)
    assert len(out) == 1000
    assert all('"rc":1,' in line for line in out)
