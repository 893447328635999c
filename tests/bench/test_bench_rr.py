"""loose_route() throughput, parsing included (issue 2, requirement 8).

The suite runs with ``--benchmark-disable`` (pyproject addopts), so each benchmark
runs once as a plain test.  To time them:
``python3 -m pytest tests/bench/test_bench_rr.py --benchmark-enable``; for one figure
in decisions per second, ``python3 tests/bench/bench_rr.py``.
"""

from __future__ import annotations

from typing import Any

from tests.bench.bench_rr import BYE, decide, run_batch, vector_lines


def test_in_process_decision(benchmark: Any) -> None:
    # parse_message + Context.start + loose_route on an in-dialog BYE with 3 Routes.
    assert benchmark(decide, BYE) == 1


def test_batch_of_loose_route_vectors(benchmark: Any) -> None:
    # routelab rr --vectors, minus the file: JSON line -> run_vector -> JSON line.
    lines = vector_lines()
    out = benchmark(run_batch, lines)
    assert len(out) == len(lines) >= 91
    assert all('"rc": ' in line for line in out)
