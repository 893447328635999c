"""Speed: a 20-proxy dialog with 10 in-dialog requests (target: under 50 ms).

Measured by pytest-benchmark (``pytest tests/bench --benchmark-enable``) and by
``python3 tests/bench/bench_simulate.py``; never by a timed assertion in the suite.
"""

from __future__ import annotations

from typing import Any

from engine.simulate import simulate
from engine.trace import Flag, StepKind
from tests.bench.bench_simulate import build_scenario


def test_bench_simulate_20_proxies(benchmark: Any) -> None:
    scenario = build_scenario(20, 10)
    trace = benchmark(simulate, scenario)
    assert len(trace.requests) == 11
    proxy_hops = [s for s in trace.steps if s.kind is StepKind.PROXY]
    assert len(proxy_hops) == 11 * 20
    assert not any(Flag.DEAD_END in s.flags for s in trace.steps)
